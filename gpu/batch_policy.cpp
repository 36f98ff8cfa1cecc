// The balancer's sizing policy (see batch_policy.hpp).
#include "gpu/batch_policy.hpp"

#include <algorithm>
#include <cmath>

namespace threadx::gpu {

void DevicePace::record(std::uint64_t combos, double seconds, double average_weight) {
  const double sample = static_cast<double>(combos) / seconds;
  rate = samples == 0 ? sample : average_weight * sample + (1.0 - average_weight) * rate;
  ++samples;
  last_batch = combos;
}

bool BatchPolicy::leaves_tail(std::size_t d) const {
  const DevicePace& dev = devices_[d];
  if (dev.wave == 0 || !source_done_ || dev.samples == 0) return false;
  double others = 0;
  for (const DevicePace& s : devices_)
    if (s.alive && s.wave == 0 && s.samples > 0) others += s.throughput();
  if (others <= 0) return false;
  const double wave_s = static_cast<double>(dev.wave) / dev.throughput();
  return static_cast<double>(left_) / others < wave_s;
}

std::uint64_t BatchPolicy::round() const {
  std::uint64_t n = 0;
  for (std::size_t d = 0; d < devices_.size(); ++d)
    if (devices_[d].alive) n += batch_size(d) * devices_[d].streams;
  return n;
}

std::uint64_t BatchPolicy::batch_size(std::size_t d) const {
  const DevicePace& dev = devices_[d];
  double want;
  if (dev.samples == 0) {
    // Calibration: at least enough to fill the device once.
    want = std::max(static_cast<double>(sizing_.calibration_combos),
                    std::ceil(static_cast<double>(dev.width) / dev.streams));
  } else {
    want = dev.rate * sizing_.target_batch_s;
    if (dev.wave == 0) want = std::min(want, sizing_.growth * static_cast<double>(dev.last_batch));
    want = std::clamp(want, static_cast<double>(sizing_.min_batch),
                      static_cast<double>(sizing_.max_batch));
  }
  const std::uint64_t left = source_done_ ? left_ : 0;
  if (source_done_ && dev.samples > 0) {
    // The end of the run: at most half of this device's share of what is left, so that the
    // devices finish close together. A device that leaves the rest to the others has no share.
    double total = 0;
    for (std::size_t k = 0; k < devices_.size(); ++k)
      if (devices_[k].alive && !leaves_tail(k)) total += devices_[k].throughput();
    const double share = total > 0 ? dev.throughput() / total : 1.0;
    const double end =
        std::ceil(static_cast<double>(left) * share / 2.0 / static_cast<double>(dev.streams));
    want = std::min(want, std::max(end, static_cast<double>(sizing_.min_batch)));
  }
  if (dev.max_combos > 0) want = std::min(want, static_cast<double>(dev.max_combos));
  if (dev.wave > 0) {
    // Whole waves, at least one; at the end no more whole waves than are left, the rest going to
    // whichever device finishes it first.
    const auto wave = static_cast<double>(dev.wave);
    double waves = std::max(1.0, std::floor(want / wave));
    if (source_done_ && left >= dev.wave)
      waves = std::min(waves, std::floor(static_cast<double>(left) / wave));
    want = waves * wave;
    // A device whose memory holds less than a wave runs what it holds.
    if (dev.max_combos > 0) want = std::min(want, static_cast<double>(dev.max_combos));
  }
  return std::max<std::uint64_t>(1, static_cast<std::uint64_t>(want));
}

}  // namespace threadx::gpu
