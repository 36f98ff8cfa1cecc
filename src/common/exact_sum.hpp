// An exact sum of doubles (a "superaccumulator", after Kulisch): every finite double is an
// integer multiple of 2^-1074 below 2^1024, so a sum of them is one fixed-point integer. It is
// kept in base-2^32 digits, each held in a signed 64-bit limb with room for 2^30 additions
// before the carries are propagated. Adding and merging are therefore exact, and the result is
// the same bits whatever the order of the additions and however they were split into partial
// sums and merged: what a sweep's aggregates need to be identical on any number of ranks.
//
// Cost: an addition is a few integer operations on three limbs; a merge or a read is a pass over
// the 69 limbs (552 bytes per sum).
#pragma once

#include <array>
#include <bit>
#include <cstddef>
#include <cstdint>
#include <span>
#include <vector>

namespace threadx {

class ExactSum {
 public:
  static constexpr std::size_t kLimbs = 69;  // 2^-1074 .. 2^1134: 2^110 of headroom over DBL_MAX

  // x must be finite (callers skip NaN and infinities, or count them apart).
  void add(double x) {
    if (x == 0) return;
    const auto bits = std::bit_cast<std::uint64_t>(x);
    const auto biased = static_cast<int>((bits >> 52) & 0x7ff);
    std::uint64_t mantissa = bits & ((std::uint64_t{1} << 52) - 1);
    unsigned lsb = 0;  // bit position of the mantissa's last bit above 2^-1074
    if (biased != 0) {
      mantissa |= std::uint64_t{1} << 52;
      lsb = static_cast<unsigned>(biased) - 1;
    }
    // mantissa << (lsb % 32): up to 84 bits, as three base-2^32 digits from limb lsb / 32.
    const std::size_t k = lsb / 32;
    const unsigned shift = lsb % 32;
    const std::uint64_t low = mantissa << shift;
    const std::uint64_t high = shift == 0 ? 0 : mantissa >> (64 - shift);
    const auto d0 = static_cast<std::int64_t>(low & 0xffffffffu);
    const auto d1 = static_cast<std::int64_t>(low >> 32);
    const auto d2 = static_cast<std::int64_t>(high);
    if (bits >> 63) {
      limb_[k] -= d0;
      limb_[k + 1] -= d1;
      limb_[k + 2] -= d2;
    } else {
      limb_[k] += d0;
      limb_[k + 1] += d1;
      limb_[k + 2] += d2;
    }
    if (++pending_ == kCarryEvery) normalize();
  }

  // this += other, exactly.
  void merge(const ExactSum& other);

  // The sum as a double (the top 96 bits rounded to 64, then to 53: within one unit in the last
  // place; +-inf beyond the double range). A function of the exact sum only.
  [[nodiscard]] double value() const;

  [[nodiscard]] bool is_zero() const;

  // Compact form, for messages and files: the normalised limbs from the lowest non-zero one to
  // the highest, after their index. from_compact(to_compact()) is the same sum;
  // std::invalid_argument on a malformed span.
  [[nodiscard]] std::vector<std::int64_t> to_compact() const;
  static ExactSum from_compact(std::span<const std::int64_t> compact);

  friend bool operator==(const ExactSum& a, const ExactSum& b);

 private:
  static constexpr std::uint32_t kCarryEvery = 1u << 30;
  // Carries propagated: limbs 0..kLimbs-2 in [0, 2^32), the last one signed.
  void normalize();

  std::array<std::int64_t, kLimbs> limb_{};
  std::uint32_t pending_ = 0;  // additions since the last normalize
};

}  // namespace threadx
