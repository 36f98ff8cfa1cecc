// `threadx devices`: what `sweep --devices` can use on this machine.
#include <algorithm>
#include <iostream>
#include <thread>

#include "cli/commands.hpp"
#include "gpu/device.hpp"

namespace threadx {

int run_devices_list() {
  std::cout << gpu::describe_devices(gpu::probe_cuda(),
                                     std::max(1u, std::thread::hardware_concurrency()));
  return 0;
}

}  // namespace threadx
