// Compute devices of one process: a small value type parsed once from "cpu", "cuda" or
// "cuda:N", the CUDA probe (implemented by cuda_runtime.cu, or by cuda_stub.cpp in a build
// without nvcc), and the resolution of a requested list against what is visible.
#pragma once

#include <cstdint>
#include <memory>
#include <span>
#include <string>
#include <string_view>
#include <vector>

#include "gpu/balancer.hpp"
#include "gpu/cuda_fit.hpp"
#include "gpu/unit_runner.hpp"
#include "strategy/spec.hpp"

namespace threadx::gpu {

struct Device {
  enum class Kind { Cpu, Cuda };
  Kind kind = Kind::Cpu;
  int index = 0;  // CUDA device ordinal (0 for the CPU)
  // Named by its number ("cuda:N"): if it cannot run, the sweep stops with an error. "cuda" and
  // "auto" ask for a GPU if one can run, and only warn.
  bool required = false;

  // "cpu", "cuda" (= cuda:0, not required) or "cuda:N"; InputError naming the spec otherwise.
  static Device parse(std::string_view spec);
  [[nodiscard]] std::string str() const;  // "cpu", "cuda:1"
  // The same device (whether it is required does not matter).
  friend bool operator==(const Device& a, const Device& b) {
    return a.kind == b.kind && a.index == b.index;
  }
};

// A comma-separated list ("cpu,cuda:0,cuda:1"); "auto" means the CPU and every visible CUDA
// device (returned as an empty list). InputError for a bad or repeated item.
std::vector<Device> parse_device_list(std::string_view list);

// A strategy's batch kernel as loaded on one device (cudaFuncGetAttributes and the occupancy
// calculator).
struct CudaKernelInfo {
  std::string strategy;           // whose kernel
  std::string error;              // empty: the kernel loaded
  int registers = 0;              // per thread
  int block_threads = 0;          // threads per block of a launch
  int blocks_per_sm = 0;          // resident blocks per multiprocessor
  std::uint64_t wave = 0;         // threads of one full wave: SMs x blocks_per_sm x block_threads
  std::uint64_t local_bytes = 0;  // local memory (spills, the block cells) per thread
};

struct CudaDeviceInfo {
  int index = 0;
  std::string name;
  std::uint64_t memory_bytes = 0;
  int multiprocessors = 0;
  int cc_major = 0, cc_minor = 0;
  std::vector<CudaKernelInfo> kernels;  // those load_cuda_kernels tried, one per strategy
};

struct CudaProbe {
  bool compiled = false;                // this build has the CUDA backend
  std::vector<CudaDeviceInfo> devices;  // visible devices
  std::string error;                    // why there are none, when there are none
  int driver_version = 0;               // cudaDriverGetVersion (0: no driver)
  CudaBuild build;                      // what this binary carries
};

// ---- implemented by cuda_runtime.cu (CUDA builds) or cuda_stub.cpp ----
CudaProbe probe_cuda();
// Loads the batch kernel of `strategy` on CUDA device `index` (creating its context) and reports
// what it takes; never throws (a failure is in .error).
CudaKernelInfo load_cuda_kernel(int index, const StrategySpec& strategy);
// What the balancer needs to know of a runner: the parallel width of the device and how much
// of its memory one batch may take.
struct CudaRunnerInfo {
  std::uint64_t wave = 0;             // combinations of one full wave
  std::uint64_t batch_bytes = 0;      // device memory for one batch's buffers
  std::uint64_t bytes_per_combo = 0;  // what one combination takes there, without block cells
  std::vector<std::string> warnings;  // from its start-up, for the caller to log
};
// A runner of `strategy`'s grids for CUDA device `index`; throws std::runtime_error (one line
// naming the GPU, its compute capability and what the binary was built for) when the device
// cannot run it.
std::unique_ptr<UnitRunner> make_cuda_runner(int index, const StrategySpec& strategy,
                                             CudaRunnerInfo* info = nullptr);

// The facts judge_cuda_device needs about a probed device (the first kernel that failed to load).
CudaDeviceFacts facts_of(const CudaDeviceInfo& device);
// Loads the kernels of `strategies` on each visible device that `wanted` (empty = auto: all)
// names.
void load_cuda_kernels(CudaProbe& probe, const std::vector<Device>& wanted,
                       std::span<const StrategySpec* const> strategies);

// The devices to use: `wanted` (empty = auto) against what is visible and can run this build
// (judge_cuda_device). A required device (cuda:N) that is not visible or cannot run is an error;
// any other GPU that cannot is a warning and is left out. The CPU is used when nothing else is
// left.
struct DeviceChoice {
  std::vector<Device> devices;
  std::vector<std::string> warnings;
  std::vector<std::string> errors;  // non-empty: the sweep must not start
  std::vector<std::string> notes;   // worth logging (e.g. a kernel compiled from PTX)
};
DeviceChoice resolve_devices(const std::vector<Device>& wanted, const CudaProbe& probe);
// probe_cuda, load_cuda_kernels (of `strategy`) and resolve_devices in one.
DeviceChoice choose_devices(const std::vector<Device>& wanted, const StrategySpec& strategy);

// The balancer's devices for a choice: a runner per CUDA device and the CPU with `cpu_threads`
// threads (0: every hardware thread but one per CUDA device, whose driver thread mostly
// waits). A required GPU whose runner cannot be set up throws; another is skipped with a
// warning. Falls back to the CPU alone when no device is left.
// The GPUs' runners run `strategy`'s grids.
std::vector<BalancedDevice> make_balanced_devices(const std::vector<Device>& chosen,
                                                  unsigned cpu_threads, Isa isa,
                                                  const StrategySpec& strategy);

// "threadx devices": the CPU and every CUDA device, one line each, and why none is visible.
std::string describe_devices(const CudaProbe& probe, unsigned cpu_threads);

}  // namespace threadx::gpu
