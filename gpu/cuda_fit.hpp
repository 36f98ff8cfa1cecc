// Whether a CUDA device can run this build, and how much of its memory a runner may use: pure
// functions of plain values (no CUDA header), compiled by the host compiler and tested on the
// CPU with made-up devices (tests/gpu/test_cuda_fit.cpp). cuda_runtime.cu feeds them what the
// CUDA runtime reports; device.cpp turns their verdicts into errors (a device named on the
// command line, `cuda:N`) or warnings (`auto`, `cuda`).
#pragma once

#include <cstdint>
#include <functional>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

namespace threadx::gpu {

// One entry of CMAKE_CUDA_ARCHITECTURES: "80" (machine code for sm_80 and PTX for compute_80),
// "80-real" (machine code only), "90-virtual" (PTX only), "90a" (code for exactly 9.0).
struct CudaArch {
  int cc = 0;             // compute capability x 10: 75, 80, 90, 120
  bool sass = false;      // machine code: runs on cc_major == cc / 10, cc_minor >= cc % 10
  bool ptx = false;       // PTX: the driver compiles it for any GPU of compute capability >= cc
  bool specific = false;  // "a" suffix: machine code for exactly this compute capability
  friend bool operator==(const CudaArch&, const CudaArch&) = default;
};

// What this binary carries: THREADX_CUDA_ARCHITECTURES (set by CMake from
// CMAKE_CUDA_ARCHITECTURES, ',' for ';') and the CUDA runtime it was built with.
struct CudaBuild {
  std::vector<CudaArch> archs;  // empty: not known (then only loading the kernel tells)
  std::string archs_text;       // as configured, e.g. "75-real,80,90"
  int runtime_version = 0;      // CUDART_VERSION, e.g. 13000 for 13.0
};

// "75-real,80,90" (or ';'-separated) -> entries; nullopt when an entry is not a plain number
// with an optional a, -real or -virtual ("all", "native", ...).
std::optional<std::vector<CudaArch>> parse_cuda_architectures(std::string_view list);
// "sm_75, sm_80, sm_90 + PTX compute_90" (or "75-real,... (not parsed)").
std::string describe_cuda_archs(const CudaBuild& build);
// 13000 -> "13.0", 12040 -> "12.4".
std::string cuda_version_text(int version);

// How a GPU of compute capability major.minor gets the kernel from `archs`.
enum class CudaImage { Native, Jit, None, Unknown };
CudaImage cuda_image_for(const std::vector<CudaArch>& archs, bool archs_known, int cc_major,
                         int cc_minor);

// One GPU as the probe sees it, plus the result of loading the kernel on it when that was tried.
struct CudaDeviceFacts {
  int index = 0;
  std::string name;
  int cc_major = 0, cc_minor = 0;
  std::optional<std::string> kernel_error;  // set once the kernel was loaded: "" = it loaded
};

struct CudaVerdict {
  bool usable = false;
  std::string reason;  // when not usable: one line naming the GPU, its compute capability and
                       // what the binary was built for
  std::string note;    // when usable but worth saying (e.g. the kernel is compiled from PTX)
};

// Can `device` run this build under a driver of `driver_version` (cudaDriverGetVersion; 0 = no
// driver)? Checks the driver against the build's runtime (CUDA runs on a driver of the same
// major version or newer; compiling PTX needs a driver at least as new as the compiler), the
// device's compute capability against the build's architectures, and a failed kernel load.
CudaVerdict judge_cuda_device(const CudaDeviceFacts& device, const CudaBuild& build,
                              int driver_version);

// Why a CUDA build sees no device: no driver, a driver older than the build's runtime (the CUDA
// runtime then sees no device at all), or what the runtime said (`error`).
std::string no_cuda_device_reason(const CudaBuild& build, int driver_version,
                                  const std::string& error);

// ---- memory ------------------------------------------------------------------------------------

// Ranks of this job that share each GPU of the node, from the environment: THREADX_RANKS_PER_GPU
// if set, else the launcher's local rank count (OMPI_COMM_WORLD_LOCAL_SIZE for Open MPI,
// MPI_LOCALNRANKS for MPICH, SLURM_NTASKS_PER_NODE), else 1. `env` looks a variable up (nullopt:
// unset); the default reads the process environment.
using EnvLookup = std::function<std::optional<std::string>(const char*)>;
int ranks_per_gpu(const EnvLookup& env);
int ranks_per_gpu();

// What one runner may use of a device: its share is total / ranks_per_gpu, at most 90% of what
// was free when it started. A quarter of that share is for the indicator series kept on the
// device, a half for one batch's buffers (parameters, rows, block cells), each at least 64 MiB.
struct CudaMemoryBudget {
  std::uint64_t share_bytes = 0;
  std::uint64_t mirror_bytes = 0;
  std::uint64_t batch_bytes = 0;
};
CudaMemoryBudget cuda_memory_budget(std::uint64_t free_bytes, std::uint64_t total_bytes,
                                    int ranks_per_gpu);

// ---- the feeder ----
// How a batch of n combinations is cut into launches so that the rows of one slice are copied
// back while the next slice runs (two streams, alternating): at most max_slices slices, each a
// whole number of waves except the last and at least two waves unless n is less (one slice
// below four waves; one when the wave is not known, 0), none empty. The slices are [first, end)
// pairs covering [0, n) in order.
struct BatchSlice {
  std::uint64_t first = 0, end = 0;
  friend bool operator==(const BatchSlice&, const BatchSlice&) = default;
};
std::vector<BatchSlice> batch_slices(std::uint64_t n, std::uint64_t wave, unsigned max_slices);

}  // namespace threadx::gpu
