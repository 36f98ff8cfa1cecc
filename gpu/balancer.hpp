// The device balancer: runs the work units of one rank (a WorkSource) over every local device
// -- each CUDA device and the CPU as one device using the remaining cores -- and hands finished
// pieces to a ResultSink on the calling thread (their rows written into the sink's own storage
// when it offers some: ResultSink::rows_for).
//
// Devices pull work; nothing is assigned in advance and no device is named in the logic. A pull
// gets a batch of combinations cut from the front of the rank's units (a piece is a narrower
// WorkUnit inside the same key group), sized by the device's measured throughput: the first
// batch of each stream is a short calibration, after that a batch is what the device does in
// about `target_batch_s` by a running average of its batch rates. Once the source is exhausted,
// batches shrink to a share of what is left in proportion to each device's throughput, so the
// devices finish close together. A device that runs in waves (a GPU) calibrates with one full
// wave, takes whole waves only and leaves a tail the CPU finishes sooner to the CPU. A device that
// throws gives its batches in flight back to the queue and is dropped with a warning; another
// device redoes them.
#pragma once

#include <atomic>
#include <cstdint>
#include <functional>
#include <memory>
#include <string>
#include <utility>
#include <vector>

#include "engine/cpu_sweep.hpp"
#include "gpu/batch_policy.hpp"
#include "gpu/unit_runner.hpp"

namespace threadx::gpu {

// One device as the balancer sees it.
struct BalancedDevice {
  std::string name;                    // for logs and accounting only
  unsigned cpu_threads = 0;            // > 0: the CPU, run_cpu_sweep over this many threads
  Isa cpu_isa = best_isa();            //   (each thread pulls one piece at a time)
  std::unique_ptr<UnitRunner> runner;  // otherwise: one driver thread, one batch per pull
  // Combinations the device runs at once over all its streams: the CPU's threads x lanes, a
  // GPU's full wave (SMs x resident threads). Its first batch fills it.
  std::uint64_t width = 1;
  // > 0: the device runs a batch in waves of this many combinations, a part of a wave taking as
  // long as a full one (a GPU: one thread per combination, every thread steps every bar). Its
  // batches are whole waves, never below one; at the end, when the other devices (the CPU) would
  // finish all that is left before one of its waves, it leaves the rest to them. Its batches grow
  // without the `growth` cap (a small batch under-measures such a device: the cap would only
  // slow its ramp).
  std::uint64_t wave = 0;
  // Device memory for one batch (0: no limit) and what one combination takes in it, without
  // per-block cells (the balancer adds those for --blocks): bounds the batch size.
  std::uint64_t batch_bytes = 0;
  std::uint64_t bytes_per_combo = 0;

  static BalancedDevice cpu(unsigned threads, Isa isa = best_isa());
  static BalancedDevice batch(std::string name, std::unique_ptr<UnitRunner> runner);
  // A batch device that runs in waves of `wave` combinations (see wave).
  static BalancedDevice waves(std::string name, std::unique_ptr<UnitRunner> runner,
                              std::uint64_t wave);
};

// The batch sizing (gpu/batch_policy.hpp), and:
struct BalancerOptions : BatchSizing {
  // Stop (after the batches in flight), blocks, flushing and progress (on the calling thread).
  RunControl run;
  // Called on the calling thread once every combination of a unit taken from the source has
  // been written to the sink (e.g. to acknowledge a granted unit).
  std::function<void(const WorkUnit&)> on_source_unit_done;
  // Called with each piece's final rows (their metrics) before they go to the sink, on the thread
  // that computed them (a batch device's thread; each of the CPU pool's workers): where per-row
  // work that the devices should share is done (a sweep's summary, results/sweep_summary.hpp).
  // Must be thread-safe.
  std::function<void(const WorkUnit& piece, std::span<const Metrics> rows)> on_piece_rows;
};

struct DeviceReport {
  std::string name;
  // Pulls completed: a batch device's batches (a CPU thread pulls one piece at a time).
  std::uint64_t batches = 0;
  std::uint64_t pieces = 0;  // pieces written
  std::uint64_t combos = 0;
  double busy_s = 0;    // wall time with at least one batch in flight
  double finish_s = 0;  // from the start to its last completed batch
  double rate = 0;      // running average of its throughput at the end, combinations/s
  std::uint64_t first_batch = 0, smallest_batch = 0, largest_batch = 0;  // combinations
  bool failed = false;
  std::string error;
  std::uint64_t batches_returned = 0;  // in flight when it failed, given back to the queue
};

struct BalancerReport {
  std::vector<DeviceReport> devices;
  std::uint64_t pieces_done = 0;  // pieces written
  std::uint64_t combos_done = 0;
  std::uint64_t source_units = 0;  // units taken from the source
  double wall_s = 0;
  bool stopped = false;
  std::vector<WorkUnit> undone;  // taken from the source but not run (stop or error)
};

// Runs until the source is exhausted and every batch is written, or the stop flag is set.
// Throws after joining every device when the source or the sink throws, or when every device
// has failed with work left (finished rows are written first, except after a sink error).
BalancerReport run_devices(const SweepContext& ctx, WorkSource& source, ResultSink& sink,
                           std::vector<BalancedDevice> devices, const BalancerOptions& options);

// Per-device accounting as key/value pairs ("device.cuda:0.combinations", ...), for the
// results file's attributes, and as one log line per device.
std::vector<std::pair<std::string, std::string>> device_attributes(const BalancerReport& report);
std::vector<std::string> device_summary_lines(const BalancerReport& report);

}  // namespace threadx::gpu
