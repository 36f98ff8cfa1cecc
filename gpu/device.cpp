// Device specs, resolution against the visible devices, and the device listing (see device.hpp).
#include "gpu/device.hpp"

#include <algorithm>
#include <charconv>
#include <stdexcept>
#include <thread>
#include <utility>

#include <fmt/format.h>
#include <spdlog/spdlog.h>

#include "common/error.hpp"
#include "engine/isa.hpp"
#include "gpu/layout.hpp"  // host/device struct layouts, asserted by the host compiler

namespace threadx::gpu {

Device Device::parse(std::string_view spec) {
  const auto bad = [&](const std::string& why) {
    return InputError("--devices '" + std::string(spec) + "': " + why);
  };
  if (spec == "cpu") return Device{Kind::Cpu, 0};
  if (spec == "cuda") return Device{Kind::Cuda, 0, /*required=*/false};
  if (spec.starts_with("cuda:")) {
    const std::string_view digits = spec.substr(5);
    int index = -1;
    const auto [end, ec] = std::from_chars(digits.data(), digits.data() + digits.size(), index);
    if (digits.empty() || ec != std::errc() || end != digits.data() + digits.size() || index < 0)
      throw bad("the device number must be an integer >= 0 (e.g. cuda:1)");
    return Device{Kind::Cuda, index, /*required=*/true};
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

CudaDeviceFacts facts_of(const CudaDeviceInfo& d) {
  CudaDeviceFacts f;
  f.index = d.index;
  f.name = d.name;
  f.cc_major = d.cc_major;
  f.cc_minor = d.cc_minor;
  for (const CudaKernelInfo& k : d.kernels)
    if (!k.error.empty()) {
      f.kernel_error = k.error;
      break;
    }
  return f;
}

void load_cuda_kernels(CudaProbe& probe, const std::vector<Device>& wanted,
                       std::span<const StrategySpec* const> strategies) {
  for (CudaDeviceInfo& d : probe.devices) {
    const bool named = std::any_of(wanted.begin(), wanted.end(), [&](const Device& w) {
      return w.kind == Device::Kind::Cuda && w.index == d.index;
    });
    if (!wanted.empty() && !named) continue;
    for (const StrategySpec* s : strategies) {
      const bool loaded =
          std::any_of(d.kernels.begin(), d.kernels.end(),
                      [&](const CudaKernelInfo& k) { return k.strategy == s->name; });
      if (!loaded) d.kernels.push_back(load_cuda_kernel(d.index, *s));
    }
  }
}

DeviceChoice resolve_devices(const std::vector<Device>& wanted, const CudaProbe& probe) {
  DeviceChoice c;
  const int visible = static_cast<int>(probe.devices.size());
  const std::string why =
      !probe.compiled ? "this build has no CUDA support"
      : visible == 0  ? no_cuda_device_reason(probe.build, probe.driver_version, probe.error)
                      : fmt::format("{} CUDA device(s) visible", visible);
  // A GPU that cannot run: an error when it was named, else a warning and it is left out.
  const auto refuse = [&](const Device& d, const std::string& reason) {
    if (d.required) {
      c.errors.push_back(reason);
    } else {
      c.warnings.push_back(reason + "; it is not used");
    }
  };
  const auto consider = [&](const Device& d) {
    if (d.index >= visible) {
      refuse(d, d.str() + " is not available: " + why);
      return;
    }
    const CudaVerdict v =
        judge_cuda_device(facts_of(probe.devices[static_cast<std::size_t>(d.index)]), probe.build,
                          probe.driver_version);
    if (!v.usable) {
      refuse(d, v.reason);
      return;
    }
    if (!v.note.empty()) c.notes.push_back(v.note);
    c.devices.push_back(d);
  };
  if (wanted.empty()) {
    c.devices.push_back(Device{Device::Kind::Cpu, 0});
    for (int i = 0; i < visible; ++i) consider(Device{Device::Kind::Cuda, i, false});
    return c;
  }
  for (const Device& d : wanted) {
    if (d.kind == Device::Kind::Cpu) {
      c.devices.push_back(d);
    } else {
      consider(d);
    }
  }
  if (c.devices.empty() && c.errors.empty()) {
    c.warnings.push_back("no requested device is available; running on the CPU");
    c.devices.push_back(Device{Device::Kind::Cpu, 0});
  }
  return c;
}

DeviceChoice choose_devices(const std::vector<Device>& wanted, const StrategySpec& strategy) {
  CudaProbe probe = probe_cuda();
  const StrategySpec* const one[] = {&strategy};
  load_cuda_kernels(probe, wanted, one);
  return resolve_devices(wanted, probe);
}

std::vector<BalancedDevice> make_balanced_devices(const std::vector<Device>& chosen,
                                                  unsigned cpu_threads, Isa isa,
                                                  const StrategySpec& strategy) {
  std::vector<BalancedDevice> out;
  bool want_cpu = false;
  for (const Device& d : chosen) {
    if (d.kind == Device::Kind::Cpu) {
      want_cpu = true;
      continue;
    }
    try {
      CudaRunnerInfo info;
      std::unique_ptr<UnitRunner> runner = make_cuda_runner(d.index, strategy, &info);
      for (const std::string& w : info.warnings) spdlog::warn("{}", w);
      BalancedDevice b = BalancedDevice::waves(d.str(), std::move(runner), info.wave);
      b.batch_bytes = info.batch_bytes;
      b.bytes_per_combo = info.bytes_per_combo;
      out.push_back(std::move(b));
    } catch (const std::exception& e) {
      if (d.required) throw std::runtime_error(e.what());
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
  for (const CudaDeviceInfo& d : probe.devices) {
    s += fmt::format("cuda:{:<3} {} ({:.1f} GiB, {} SMs, compute capability {}.{})\n", d.index,
                     d.name, static_cast<double>(d.memory_bytes) / (1024.0 * 1024.0 * 1024.0),
                     d.multiprocessors, d.cc_major, d.cc_minor);
    const CudaVerdict v = judge_cuda_device(facts_of(d), probe.build, probe.driver_version);
    if (!v.usable) {
      s += "         cannot run: " + v.reason + "\n";
    } else {
      for (const CudaKernelInfo& k : d.kernels)
        s += fmt::format(
            "         {} kernel: {} registers/thread, {} B local/thread, {} blocks of {} per SM, "
            "one wave = {} combinations\n",
            k.strategy, k.registers, k.local_bytes, k.blocks_per_sm, k.block_threads, k.wave);
    }
    if (v.usable && !v.note.empty()) s += "         note: " + v.note + "\n";
  }
  if (probe.compiled)
    s += fmt::format("CUDA build: CUDA {}, {}; driver: {}\n",
                     cuda_version_text(probe.build.runtime_version),
                     describe_cuda_archs(probe.build),
                     probe.driver_version > 0 ? "CUDA " + cuda_version_text(probe.driver_version)
                                              : std::string("none"));
  if (!probe.compiled) {
    s += "no CUDA device: this build has no CUDA support (configure with nvcc available)\n";
  } else if (probe.devices.empty()) {
    s += no_cuda_device_reason(probe.build, probe.driver_version, probe.error) + "\n";
  }
  return s;
}

}  // namespace threadx::gpu
