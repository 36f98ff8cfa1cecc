// The device balancer's sizing policy (gpu/balancer.hpp): how many combinations a device's next
// batch gets, from what has been measured of every device and what is left. Pure: no threads, no
// clock, no queue; the balancer holds the lock and the measurements, this decides.
//
// - Calibration: a device's first batch fills it once (its width, at least calibration_combos).
// - Then about target_batch_s of work at the device's measured rate, growing at most `growth`
//   times from one batch to the next (not for wave devices), within [min_batch, max_batch].
// - Once the source is exhausted: at most half of the device's share of what is left (shares in
//   proportion to throughput), so that the devices finish close together.
// - A device that runs in waves takes whole waves only (a part of one costs a whole one), and at
//   the end leaves the rest to the devices that do not run in waves when they would finish it
//   before one of its waves would (leaves_tail).
// - A device whose memory holds fewer combinations (max_combos) gets no more than that.
#pragma once

#include <cstddef>
#include <cstdint>
#include <span>

namespace threadx::gpu {

struct BatchSizing {
  double target_batch_s = 0.5;  // a calibrated batch's duration on its device
  // Size of each stream's first batch at least; a device's first batch fills its width.
  std::uint64_t calibration_combos = 256;
  std::uint64_t min_batch = 32;        // smallest batch once calibrated (end of the run)
  std::uint64_t max_batch = 1u << 22;  // largest batch
  double growth = 8.0;  // a batch is at most this times the previous one (not for wave devices)
  double average_weight = 0.3;  // weight of the newest batch in the running average
};

// What the policy knows of one device.
struct DevicePace {
  unsigned streams = 1;          // threads pulling for this device
  std::uint64_t width = 1;       // combinations it runs at once (BalancedDevice::width)
  std::uint64_t wave = 0;        // > 0: it runs in waves (BalancedDevice::wave)
  std::uint64_t max_combos = 0;  // largest batch its memory takes (0: no limit)
  bool alive = true;
  double rate = 0;  // running average of batch rates, combinations/s per stream
  std::uint64_t samples = 0;
  std::uint64_t last_batch = 0;

  // Combinations/s over all its streams (0 before calibration).
  [[nodiscard]] double throughput() const { return rate * streams; }
  // One finished batch of `combos` that took `seconds` (> 0) on one stream.
  void record(std::uint64_t combos, double seconds, double average_weight);
};

// A view over the balancer's state for one decision: it keeps references to `sizing` and
// `devices`, which must outlive it (build it where it is used, as the balancer does).
class BatchPolicy {
 public:
  // left: combinations queued and not yet taken (counted only once source_done).
  BatchPolicy(const BatchSizing& sizing, std::span<const DevicePace> devices, bool source_done,
              std::uint64_t left)
      : sizing_(sizing), devices_(devices), source_done_(source_done), left_(left) {}

  // Combinations of device d's next batch (>= 1).
  [[nodiscard]] std::uint64_t batch_size(std::size_t d) const;
  // Device d runs in waves and the source is exhausted: true when the live devices that do not
  // run in waves would finish everything left before one wave of d would.
  [[nodiscard]] bool leaves_tail(std::size_t d) const;
  // One batch per stream of every live device, added up: how far the balancer reads ahead.
  [[nodiscard]] std::uint64_t round() const;

 private:
  const BatchSizing& sizing_;
  std::span<const DevicePace> devices_;
  bool source_done_;
  std::uint64_t left_;
};

}  // namespace threadx::gpu
