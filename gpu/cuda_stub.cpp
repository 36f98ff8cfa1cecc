// The CUDA entry points of a build without nvcc: no device, and a runner that cannot be made.
// The rest of the program calls these as it would in a CUDA build (no #ifdef elsewhere).
#include <stdexcept>

#include "gpu/device.hpp"

namespace threadx::gpu {

CudaProbe probe_cuda() {
  return CudaProbe{};
}

CudaKernelInfo load_cuda_kernel(int index, const StrategySpec& strategy) {
  CudaKernelInfo k;
  k.strategy = strategy.name;
  k.error = "cuda:" + std::to_string(index) + ": this build has no CUDA support";
  return k;
}

std::unique_ptr<UnitRunner> make_cuda_runner(int index, const StrategySpec& /*strategy*/,
                                             CudaRunnerInfo* /*info*/) {
  throw std::runtime_error("cuda:" + std::to_string(index) + ": this build has no CUDA support");
}

}  // namespace threadx::gpu
