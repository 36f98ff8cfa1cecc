// `threadx devices`: what `sweep --devices` can use on this machine.
#include <algorithm>
#include <iostream>
#include <thread>

#include "cli/commands.hpp"
#include "gpu/device.hpp"

namespace threadx {

int run_devices_list() {
  gpu::CudaProbe probe = gpu::probe_cuda();
  gpu::load_cuda_kernels(probe, {});  // registers, occupancy and wave of each GPU
  std::cout << gpu::describe_devices(probe, std::max(1u, std::thread::hardware_concurrency()));
  return 0;
}

}  // namespace threadx
