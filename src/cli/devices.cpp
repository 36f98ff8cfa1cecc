// `threadx devices`: what `sweep --devices` can use on this machine.
#include <algorithm>
#include <iostream>
#include <thread>

#include "cli/commands.hpp"
#include "gpu/device.hpp"
#include "strategy/catalog.hpp"

namespace threadx {

int run_devices_list() {
  gpu::CudaProbe probe = gpu::probe_cuda();
  // Registers, occupancy and wave of every strategy's kernel on each GPU.
  gpu::load_cuda_kernels(probe, {}, strategy_catalog());
  std::cout << gpu::describe_devices(probe, std::max(1u, std::thread::hardware_concurrency()));
  return 0;
}

}  // namespace threadx
