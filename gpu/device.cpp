// Device specs, resolution against the visible devices, and the device listing (see device.hpp).
#include "gpu/device.hpp"

#include <algorithm>
#include <charconv>
#include <thread>

#include <fmt/format.h>
#include <spdlog/spdlog.h>

#include "common/error.hpp"
#include "engine/isa.hpp"

namespace threadx::gpu {

Device Device::parse(std::string_view spec) {
  const auto bad = [&](const std::string& why) {
    return InputError("--devices '" + std::string(spec) + "': " + why);
  };
  if (spec == "cpu") return Device{Kind::Cpu, 0};
  if (spec == "cuda") return Device{Kind::Cuda, 0};
  if (spec.starts_with("cuda:")) {
    const std::string_view digits = spec.substr(5);
    int index = -1;
    const auto [end, ec] = std::from_chars(digits.data(), digits.data() + digits.size(), index);
    if (digits.empty() || ec != std::errc() || end != digits.data() + digits.size() || index < 0)
      throw bad("the device number must be an integer >= 0 (e.g. cuda:1)");
    return Device{Kind::Cuda, index};
  }
  throw bad("expected cpu, cuda or cuda:N");
}

std::string Device::str() const {
  return kind == Kind::Cpu ? "cpu" : "cuda:" + std::to_string(index);
}

std::vector<Device> parse_device_list(std::string_view list) {
  std::vector<Device> out;
  if (list == "auto") return out;
  std::size_t at = 0;
  for (;;) {
    const std::size_t comma = list.find(',', at);
    const std::string_view item =
        list.substr(at, comma == std::string_view::npos ? std::string_view::npos : comma - at);
    if (item.empty())
      throw InputError("--devices '" + std::string(list) +
                       "': empty item (expected e.g. cpu,cuda:0 or auto)");
    const Device d = Device::parse(item);
    if (std::find(out.begin(), out.end(), d) != out.end())
      throw InputError("--devices '" + std::string(list) + "': " + d.str() + " is listed twice");
    out.push_back(d);
    if (comma == std::string_view::npos) break;
    at = comma + 1;
  }
  return out;
}

DeviceChoice resolve_devices(const std::vector<Device>& wanted, const CudaProbe& probe) {
  DeviceChoice c;
  const int visible = static_cast<int>(probe.devices.size());
  const std::string why = !probe.compiled ? "this build has no CUDA support"
                          : visible == 0  ? "no CUDA device is visible" +
                                               (probe.error.empty() ? "" : " (" + probe.error + ")")
                                         : fmt::format("{} CUDA device(s) visible", visible);
  if (wanted.empty()) {
    c.devices.push_back(Device{Device::Kind::Cpu, 0});
    for (int i = 0; i < visible; ++i) c.devices.push_back(Device{Device::Kind::Cuda, i});
    return c;
  }
  for (const Device& d : wanted) {
    if (d.kind == Device::Kind::Cuda && d.index >= visible) {
      c.warnings.push_back(d.str() + " is not available: " + why + "; it is not used");
      continue;
    }
    c.devices.push_back(d);
  }
  if (c.devices.empty()) {
    c.warnings.push_back("no requested device is available; running on the CPU");
    c.devices.push_back(Device{Device::Kind::Cpu, 0});
  }
  return c;
}

std::vector<BalancedDevice> make_balanced_devices(const std::vector<Device>& chosen,
                                                  unsigned cpu_threads, Isa isa) {
  std::vector<BalancedDevice> out;
  bool want_cpu = false;
  for (const Device& d : chosen) {
    if (d.kind == Device::Kind::Cpu) {
      want_cpu = true;
      continue;
    }
    try {
      out.push_back(BalancedDevice::batch(d.str(), make_cuda_runner(d.index)));
    } catch (const std::exception& e) {
      spdlog::warn("{} cannot be used ({}); it is skipped", d.str(), e.what());
    }
  }
  if (want_cpu || out.empty()) {
    if (!want_cpu) spdlog::warn("no device is left; running on the CPU");
    unsigned threads = cpu_threads;
    if (threads == 0) {
      const unsigned hw = std::max(1u, std::thread::hardware_concurrency());
      const auto gpus = static_cast<unsigned>(out.size());
      threads = hw > gpus ? hw - gpus : 1;
    }
    out.insert(out.begin(), BalancedDevice::cpu(threads, isa));
  }
  return out;
}

std::string describe_devices(const CudaProbe& probe, unsigned cpu_threads) {
  std::string paths;
  for (Isa isa : supported_isas())
    paths += fmt::format("{}{}{}", paths.empty() ? "" : ", ", isa_name(isa),
                         isa == best_isa() ? " (auto)" : "");
  std::string s = fmt::format("cpu      {} ({} hardware threads); SIMD paths: {}\n", cpu_model(),
                              cpu_threads, paths);
  for (const CudaDeviceInfo& d : probe.devices)
    s += fmt::format("cuda:{:<3} {} ({:.1f} GiB, {} SMs, compute capability {}.{})\n", d.index,
                     d.name, static_cast<double>(d.memory_bytes) / (1024.0 * 1024.0 * 1024.0),
                     d.multiprocessors, d.cc_major, d.cc_minor);
  if (!probe.compiled) {
    s += "no CUDA device: this build has no CUDA support (configure with nvcc available)\n";
  } else if (probe.devices.empty()) {
    s += "no CUDA device visible" + (probe.error.empty() ? "" : ": " + probe.error) + "\n";
  }
  return s;
}

}  // namespace threadx::gpu
