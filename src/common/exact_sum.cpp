// The exact sum (see exact_sum.hpp).
#include "common/exact_sum.hpp"

#include <algorithm>
#include <cmath>
#include <limits>
#include <stdexcept>
#include <string>

namespace threadx {

void ExactSum::normalize() {
  for (std::size_t i = 0; i + 1 < kLimbs; ++i) {
    const std::int64_t carry = limb_[i] >> 32;  // arithmetic: floor(limb / 2^32)
    limb_[i] -= carry * (std::int64_t{1} << 32);
    limb_[i + 1] += carry;
  }
  pending_ = 0;
}

void ExactSum::merge(const ExactSum& other) {
  ExactSum o = other;
  o.normalize();
  normalize();
  for (std::size_t i = 0; i < kLimbs; ++i) limb_[i] += o.limb_[i];
  pending_ = 2;  // each limb holds at most two normalised digits' worth
}

bool ExactSum::is_zero() const {
  ExactSum n = *this;
  n.normalize();
  for (const std::int64_t l : n.limb_)
    if (l != 0) return false;
  return true;
}

double ExactSum::value() const {
  ExactSum n = *this;
  n.normalize();
  // The magnitude's digits: negate a negative sum (two's complement over base-2^32 digits).
  const bool negative = n.limb_[kLimbs - 1] < 0;
  if (negative) {
    std::int64_t borrow = 0;
    for (std::size_t i = 0; i < kLimbs; ++i) {
      std::int64_t d = -n.limb_[i] - borrow;
      borrow = 0;
      if (i + 1 < kLimbs && d < 0) {
        d += std::int64_t{1} << 32;
        borrow = 1;
      }
      n.limb_[i] = d;
    }
  }
  std::size_t top = kLimbs;  // one past the highest non-zero limb
  while (top > 0 && n.limb_[top - 1] == 0) --top;
  if (top == 0) return 0.0;
  // The top three digits (up to 96 bits) in long double: rounded once to its 64-bit mantissa,
  // then to the double's 53 bits.
  const std::size_t low = top >= 3 ? top - 3 : 0;
  long double m = 0;
  for (std::size_t i = top; i-- > low;)
    m = m * 4294967296.0L + static_cast<long double>(n.limb_[i]);
  const auto d = static_cast<double>(std::ldexp(m, 32 * static_cast<int>(low) - 1074));
  return negative ? -d : d;
}

std::vector<std::int64_t> ExactSum::to_compact() const {
  ExactSum n = *this;
  n.normalize();
  std::size_t lo = 0, hi = kLimbs;  // the non-zero limbs: [lo, hi)
  while (lo < kLimbs && n.limb_[lo] == 0) ++lo;
  if (lo == kLimbs) return {};
  while (n.limb_[hi - 1] == 0) --hi;
  std::vector<std::int64_t> out;
  out.reserve(hi - lo + 1);
  out.push_back(static_cast<std::int64_t>(lo));
  for (std::size_t i = lo; i < hi; ++i) out.push_back(n.limb_[i]);
  return out;
}

ExactSum ExactSum::from_compact(std::span<const std::int64_t> compact) {
  ExactSum s;
  if (compact.empty()) return s;
  const std::int64_t lo = compact[0];
  const std::size_t count = compact.size() - 1;
  if (lo < 0 || count < 1 || static_cast<std::size_t>(lo) + count > kLimbs)
    throw std::invalid_argument("exact sum: " + std::to_string(count) + " limbs from limb " +
                                std::to_string(lo) + " do not fit");
  const auto first = static_cast<std::size_t>(lo);
  for (std::size_t i = 0; i < count; ++i) {
    const std::int64_t d = compact[i + 1];
    const bool last = first + i == kLimbs - 1;
    if (!last && (d < 0 || d >= (std::int64_t{1} << 32)))
      throw std::invalid_argument("exact sum: limb " + std::to_string(first + i) + " out of range");
    s.limb_[first + i] = d;
  }
  return s;
}

bool operator==(const ExactSum& a, const ExactSum& b) {
  ExactSum x = a, y = b;
  x.normalize();
  y.normalize();
  return x.limb_ == y.limb_;
}

}  // namespace threadx
