// Whether a CUDA device can run this build, and a runner's memory budget (see cuda_fit.hpp).
#include "gpu/cuda_fit.hpp"

#include <algorithm>
#include <charconv>
#include <cstdlib>

#include <fmt/format.h>

namespace threadx::gpu {

std::optional<std::vector<CudaArch>> parse_cuda_architectures(std::string_view list) {
  std::vector<CudaArch> out;
  std::size_t at = 0;
  while (at <= list.size()) {
    std::size_t end = list.find_first_of(",;", at);
    if (end == std::string_view::npos) end = list.size();
    std::string_view item = list.substr(at, end - at);
    at = end + 1;
    if (item.empty()) continue;
    CudaArch a;
    a.sass = a.ptx = true;
    if (item.ends_with("-real")) {
      a.ptx = false;
      item.remove_suffix(5);
    } else if (item.ends_with("-virtual")) {
      a.sass = false;
      item.remove_suffix(8);
    }
    if (item.ends_with('a')) {
      a.specific = true;
      item.remove_suffix(1);
    }
    const auto [p, ec] = std::from_chars(item.data(), item.data() + item.size(), a.cc);
    if (item.empty() || ec != std::errc() || p != item.data() + item.size() || a.cc < 10)
      return std::nullopt;
    out.push_back(a);
  }
  if (out.empty()) return std::nullopt;
  return out;
}

std::string cuda_version_text(int version) {
  return fmt::format("{}.{}", version / 1000, version % 1000 / 10);
}

std::string describe_cuda_archs(const CudaBuild& build) {
  if (build.archs.empty())
    return build.archs_text.empty() ? "unknown architectures"
                                    : "CUDA architectures " + build.archs_text;
  const auto name = [](const CudaArch& a, const char* prefix) {
    return fmt::format("{}{}{}", prefix, a.cc, a.specific ? "a" : "");
  };
  std::string sass, ptx;
  for (const CudaArch& a : build.archs) {
    if (a.sass) sass += (sass.empty() ? "" : ", ") + name(a, "sm_");
    if (a.ptx) ptx += (ptx.empty() ? "" : ", ") + name(a, "compute_");
  }
  if (sass.empty()) return "PTX " + ptx;
  return ptx.empty() ? sass : sass + " + PTX " + ptx;
}

CudaImage cuda_image_for(const std::vector<CudaArch>& archs, bool archs_known, int cc_major,
                         int cc_minor) {
  if (!archs_known) return CudaImage::Unknown;
  const int cc = cc_major * 10 + cc_minor;
  bool jit = false;
  for (const CudaArch& a : archs) {
    if (a.sass && (a.specific ? a.cc == cc : a.cc / 10 == cc_major && a.cc % 10 <= cc_minor))
      return CudaImage::Native;
    if (a.ptx && (a.specific ? a.cc == cc : a.cc <= cc)) jit = true;
  }
  return jit ? CudaImage::Jit : CudaImage::None;
}

CudaVerdict judge_cuda_device(const CudaDeviceFacts& d, const CudaBuild& build,
                              int driver_version) {
  CudaVerdict v;
  const std::string gpu = fmt::format("cuda:{} ({}, compute capability {}.{})", d.index, d.name,
                                      d.cc_major, d.cc_minor);
  const std::string built =
      fmt::format("built with CUDA {} for {}", cuda_version_text(build.runtime_version),
                  describe_cuda_archs(build));
  const int cc = d.cc_major * 10 + d.cc_minor;
  if (driver_version <= 0) {
    v.reason = fmt::format("{}: no NVIDIA driver answers; this binary was {}", gpu, built);
    return v;
  }
  if (driver_version / 1000 < build.runtime_version / 1000) {
    v.reason = fmt::format(
        "{}: the NVIDIA driver supports CUDA {} but this binary was {}: it needs a driver for "
        "CUDA {}.0 or newer",
        gpu, cuda_version_text(driver_version), built, build.runtime_version / 1000);
    return v;
  }
  const CudaImage image = cuda_image_for(build.archs, !build.archs.empty(), d.cc_major, d.cc_minor);
  if (image == CudaImage::None) {
    v.reason = fmt::format(
        "{} cannot run this binary, {}; rebuild with -DCMAKE_CUDA_ARCHITECTURES=\"{};...\"{}", gpu,
        built, cc,
        cc < 75 && build.runtime_version >= 13000
            ? fmt::format(" using CUDA 12 (CUDA 13 has no sm_{})", cc)
            : std::string());
    return v;
  }
  if (image == CudaImage::Jit && driver_version < build.runtime_version) {
    v.reason = fmt::format(
        "{}: this binary, {}, has no machine code for it, and its driver (CUDA {}) is too old to "
        "compile the kernel from PTX of CUDA {}; update the driver or rebuild with "
        "-DCMAKE_CUDA_ARCHITECTURES=\"...;{}\"",
        gpu, built, cuda_version_text(driver_version), cuda_version_text(build.runtime_version),
        cc);
    return v;
  }
  if (d.kernel_error && !d.kernel_error->empty()) {
    v.reason = fmt::format("{} cannot load the kernel ({}); this binary was {}", gpu,
                           *d.kernel_error, built);
    return v;
  }
  v.usable = true;
  if (image == CudaImage::Jit)
    v.note = fmt::format(
        "{}: this binary, {}, has no machine code for it: the driver compiles the kernel from PTX "
        "when the run starts (cached afterwards); -DCMAKE_CUDA_ARCHITECTURES=\"...;{}\" would "
        "carry it",
        gpu, built, cc);
  return v;
}

std::string no_cuda_device_reason(const CudaBuild& build, int driver_version,
                                  const std::string& error) {
  const std::string said = error.empty() ? "" : " (" + error + ")";
  if (driver_version <= 0) return "no CUDA device is visible: no NVIDIA driver answers" + said;
  if (driver_version / 1000 < build.runtime_version / 1000)
    return fmt::format(
        "no CUDA device is visible: the NVIDIA driver supports CUDA {} but this binary was built "
        "with CUDA {}: it needs a driver for CUDA {}.0 or newer",
        cuda_version_text(driver_version), cuda_version_text(build.runtime_version),
        build.runtime_version / 1000);
  return "no CUDA device is visible" + said;
}

int ranks_per_gpu(const EnvLookup& env) {
  for (const char* name : {"THREADX_RANKS_PER_GPU", "OMPI_COMM_WORLD_LOCAL_SIZE", "MPI_LOCALNRANKS",
                           "SLURM_NTASKS_PER_NODE"}) {
    const std::optional<std::string> value = env(name);
    if (!value) continue;
    int n = 0;
    const auto [p, ec] = std::from_chars(value->data(), value->data() + value->size(), n);
    if (ec == std::errc() && p == value->data() + value->size() && n >= 1) return n;
  }
  return 1;
}

int ranks_per_gpu() {
  return ranks_per_gpu([](const char* name) -> std::optional<std::string> {
    const char* v = std::getenv(name);
    if (v == nullptr) return std::nullopt;
    return std::string(v);
  });
}

CudaMemoryBudget cuda_memory_budget(std::uint64_t free_bytes, std::uint64_t total_bytes,
                                    int ranks) {
  constexpr std::uint64_t kFloor = std::uint64_t{64} << 20;
  CudaMemoryBudget b;
  b.share_bytes =
      std::min(total_bytes / static_cast<std::uint64_t>(std::max(1, ranks)), free_bytes / 10 * 9);
  b.mirror_bytes = std::max(kFloor, b.share_bytes / 4);
  b.batch_bytes = std::max(kFloor, b.share_bytes / 2);
  return b;
}

std::vector<BatchSlice> batch_slices(std::uint64_t n, std::uint64_t wave, unsigned max_slices) {
  if (n == 0) return {};
  if (wave == 0) return {{0, n}};  // no wave known: one launch
  const std::uint64_t waves = (n + wave - 1) / wave;
  const std::uint64_t slices = waves < 2 * std::max(1u, max_slices)
                                   ? std::max<std::uint64_t>(1, waves / 2)
                                   : std::max(1u, max_slices);
  const std::uint64_t per = (waves + slices - 1) / slices * wave;  // whole waves per slice
  std::vector<BatchSlice> out;
  for (std::uint64_t first = 0; first < n; first += per)
    out.push_back({first, std::min(n, first + per)});
  return out;
}

}  // namespace threadx::gpu
