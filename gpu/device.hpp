// Compute devices of one process: a small value type parsed once from "cpu", "cuda" or
// "cuda:N", the CUDA probe (implemented by cuda_runtime.cu, or by cuda_stub.cpp in a build
// without nvcc), and the resolution of a requested list against what is visible.
#pragma once

#include <cstdint>
#include <memory>
#include <string>
#include <string_view>
#include <vector>

#include "gpu/balancer.hpp"
#include "gpu/unit_runner.hpp"

namespace threadx::gpu {

struct Device {
  enum class Kind { Cpu, Cuda };
  Kind kind = Kind::Cpu;
  int index = 0;  // CUDA device ordinal (0 for the CPU)

  // "cpu", "cuda" (= cuda:0) or "cuda:N"; InputError naming the spec otherwise.
  static Device parse(std::string_view spec);
  [[nodiscard]] std::string str() const;  // "cpu", "cuda:1"
  friend bool operator==(const Device&, const Device&) = default;
};

// A comma-separated list ("cpu,cuda:0,cuda:1"); "auto" means the CPU and every visible CUDA
// device (returned as an empty list). InputError for a bad or repeated item.
std::vector<Device> parse_device_list(std::string_view list);

struct CudaDeviceInfo {
  int index = 0;
  std::string name;
  std::uint64_t memory_bytes = 0;
  int multiprocessors = 0;
  int cc_major = 0, cc_minor = 0;
};

struct CudaProbe {
  bool compiled = false;                // this build has the CUDA backend
  std::vector<CudaDeviceInfo> devices;  // visible devices
  std::string error;                    // why there are none, when there are none
};

// ---- implemented by cuda_runtime.cu (CUDA builds) or cuda_stub.cpp ----
CudaProbe probe_cuda();
// A runner for CUDA device `index`; throws std::runtime_error when it cannot be set up.
std::unique_ptr<UnitRunner> make_cuda_runner(int index);

// The devices to use: `wanted` (empty = auto) minus CUDA devices that are not visible, each
// of which adds a warning. The CPU is used when nothing else is left.
struct DeviceChoice {
  std::vector<Device> devices;
  std::vector<std::string> warnings;
};
DeviceChoice resolve_devices(const std::vector<Device>& wanted, const CudaProbe& probe);

// The balancer's devices for a choice: a runner per CUDA device (one that cannot be set up is
// skipped with a warning) and the CPU with `cpu_threads` threads (0: every hardware thread but
// one per CUDA device, whose driver thread mostly waits). Falls back to the CPU alone when no
// device is left.
std::vector<BalancedDevice> make_balanced_devices(const std::vector<Device>& chosen,
                                                  unsigned cpu_threads, Isa isa);

// "threadx devices": the CPU and every CUDA device, one line each, and why none is visible.
std::string describe_devices(const CudaProbe& probe, unsigned cpu_threads);

}  // namespace threadx::gpu
