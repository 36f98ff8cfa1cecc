// Whether a GPU can run this build, decided on the CPU with made-up devices: the architectures a
// build carries against each GPU's compute capability, the driver against the runtime, a failed
// kernel load, and what a device named on the command line (cuda:N: an error) or not (auto, cuda:
// a warning) turns that into. Also the memory budget shared by the ranks of a node.
#include <gtest/gtest.h>

#include <map>
#include <string>

#include "gpu/cuda_fit.hpp"
#include "gpu/device.hpp"

namespace threadx::gpu {
namespace {

CudaBuild build_of(const std::string& archs, int runtime = 13000) {
  CudaBuild b;
  b.archs_text = archs;
  b.archs = parse_cuda_architectures(archs).value_or(std::vector<CudaArch>{});
  b.runtime_version = runtime;
  return b;
}

CudaDeviceFacts gpu(const std::string& name, int major, int minor, int index = 0) {
  CudaDeviceFacts d;
  d.index = index;
  d.name = name;
  d.cc_major = major;
  d.cc_minor = minor;
  return d;
}

bool has(const std::string& text, const std::string& part) {
  return text.find(part) != std::string::npos;
}

TEST(CudaFit, ParsesCmakeArchitectureLists) {
  const auto a = parse_cuda_architectures("75-real,80;90-virtual,90a");
  ASSERT_TRUE(a.has_value());
  ASSERT_EQ(a->size(), 4u);
  EXPECT_EQ((*a)[0], (CudaArch{75, true, false, false}));
  EXPECT_EQ((*a)[1], (CudaArch{80, true, true, false}));
  EXPECT_EQ((*a)[2], (CudaArch{90, false, true, false}));
  EXPECT_EQ((*a)[3], (CudaArch{90, true, true, true}));
  for (const char* bad : {"", "native", "all", "all-major", "80,sm_90", "8x", "-real"})
    EXPECT_FALSE(parse_cuda_architectures(bad).has_value()) << bad;
  EXPECT_EQ(describe_cuda_archs(build_of("75,80,90")),
            "sm_75, sm_80, sm_90 + PTX compute_75, compute_80, compute_90");
  EXPECT_EQ(describe_cuda_archs(build_of("80-real,90")), "sm_80, sm_90 + PTX compute_90");
  EXPECT_EQ(describe_cuda_archs(build_of("90-virtual")), "PTX compute_90");
  EXPECT_EQ(describe_cuda_archs(build_of("")), "unknown architectures");
  EXPECT_EQ(cuda_version_text(13000), "13.0");
  EXPECT_EQ(cuda_version_text(12040), "12.4");
}

TEST(CudaFit, MachineCodeRunsWithinAMajorVersionAndPtxOnNewerGpus) {
  const std::vector<CudaArch> archs = *parse_cuda_architectures("80,90");
  EXPECT_EQ(cuda_image_for(archs, true, 8, 0), CudaImage::Native);  // A100
  EXPECT_EQ(cuda_image_for(archs, true, 8, 6), CudaImage::Native);  // A10, RTX 30xx
  EXPECT_EQ(cuda_image_for(archs, true, 8, 9), CudaImage::Native);  // L4, L40S, RTX 40xx
  EXPECT_EQ(cuda_image_for(archs, true, 9, 0), CudaImage::Native);  // H100
  EXPECT_EQ(cuda_image_for(archs, true, 10, 0), CudaImage::Jit);    // B200, from compute_90
  EXPECT_EQ(cuda_image_for(archs, true, 12, 0), CudaImage::Jit);    // RTX 50xx
  EXPECT_EQ(cuda_image_for(archs, true, 7, 5), CudaImage::None);    // T4, RTX 20xx
  EXPECT_EQ(cuda_image_for(archs, true, 7, 0), CudaImage::None);    // V100
  EXPECT_EQ(cuda_image_for({}, false, 7, 0), CudaImage::Unknown);
  // Machine code only, no PTX: nothing for a newer major version.
  const std::vector<CudaArch> real = *parse_cuda_architectures("80-real,90-real");
  EXPECT_EQ(cuda_image_for(real, true, 12, 0), CudaImage::None);
  EXPECT_EQ(cuda_image_for(real, true, 8, 6), CudaImage::Native);
  // Arch-specific code (90a) runs on 9.0 only, and its PTX on nothing newer.
  const std::vector<CudaArch> specific = *parse_cuda_architectures("90a");
  EXPECT_EQ(cuda_image_for(specific, true, 9, 0), CudaImage::Native);
  EXPECT_EQ(cuda_image_for(specific, true, 10, 0), CudaImage::None);
  // A lower minor version than the code's cannot run it.
  EXPECT_EQ(cuda_image_for(*parse_cuda_architectures("86-real"), true, 8, 0), CudaImage::None);
}

TEST(CudaFit, AGpuTheBuildHasNoCodeForIsNamedWithItsCapabilityAndTheBuild) {
  const CudaVerdict v = judge_cuda_device(gpu("Tesla T4", 7, 5, 1), build_of("80,90"), 13000);
  EXPECT_FALSE(v.usable);
  EXPECT_TRUE(has(v.reason, "cuda:1 (Tesla T4, compute capability 7.5)")) << v.reason;
  EXPECT_TRUE(has(v.reason, "built with CUDA 13.0 for sm_80, sm_90 + PTX compute_80, compute_90"))
      << v.reason;
  EXPECT_TRUE(has(v.reason, "-DCMAKE_CUDA_ARCHITECTURES=\"75;...\"")) << v.reason;
  EXPECT_EQ(v.reason.find('\n'), std::string::npos);

  // A V100 needs CUDA 12: CUDA 13 has no sm_70, the message says so.
  const CudaVerdict v100 =
      judge_cuda_device(gpu("Tesla V100-SXM2-16GB", 7, 0), build_of("75,80,90"), 13000);
  EXPECT_FALSE(v100.usable);
  EXPECT_EQ(v100.reason,
            "cuda:0 (Tesla V100-SXM2-16GB, compute capability 7.0) cannot run this binary, built "
            "with CUDA 13.0 for sm_75, sm_80, sm_90 + PTX compute_75, compute_80, compute_90; "
            "rebuild with -DCMAKE_CUDA_ARCHITECTURES=\"70;...\" using CUDA 12 (CUDA 13 has no "
            "sm_70)");
}

TEST(CudaFit, TheDriverMustBeOfTheRuntimesMajorVersionOrNewer) {
  const CudaBuild b = build_of("80,90", 13000);
  const CudaVerdict old = judge_cuda_device(gpu("NVIDIA A100-SXM4-80GB", 8, 0), b, 12040);
  EXPECT_FALSE(old.usable);
  EXPECT_TRUE(has(old.reason, "the NVIDIA driver supports CUDA 12.4")) << old.reason;
  EXPECT_TRUE(has(old.reason, "a driver for CUDA 13.0 or newer")) << old.reason;
  EXPECT_FALSE(judge_cuda_device(gpu("A100", 8, 0), b, 0).usable);  // no driver
  // Minor version compatibility: a 13.2 build runs its machine code on a 13.0 driver...
  const CudaBuild newer = build_of("80,90", 13020);
  EXPECT_TRUE(judge_cuda_device(gpu("A100", 8, 0), newer, 13000).usable);
  // ...but that driver cannot compile the 13.2 compiler's PTX for a GPU without machine code.
  const CudaVerdict jit = judge_cuda_device(gpu("NVIDIA B200", 10, 0), newer, 13000);
  EXPECT_FALSE(jit.usable);
  EXPECT_TRUE(has(jit.reason, "compile the kernel from PTX")) << jit.reason;
  // With a recent enough driver it is used, and the note says the kernel is compiled from PTX.
  const CudaVerdict ok = judge_cuda_device(gpu("NVIDIA GeForce RTX 5080", 12, 0), b, 13000);
  EXPECT_TRUE(ok.usable) << ok.reason;
  EXPECT_TRUE(has(ok.note, "from PTX")) << ok.note;
  EXPECT_TRUE(has(ok.note, "\"...;120\"")) << ok.note;
}

TEST(CudaFit, AKernelThatDoesNotLoadIsTheLastWord) {
  CudaDeviceFacts d = gpu("NVIDIA H100 80GB HBM3", 9, 0);
  d.kernel_error = "";
  EXPECT_TRUE(judge_cuda_device(d, build_of("80,90"), 13000).usable);
  d.kernel_error = "cudaErrorNoKernelImageForDevice: no kernel image is available";
  const CudaVerdict v = judge_cuda_device(d, build_of("80,90"), 13000);
  EXPECT_FALSE(v.usable);
  EXPECT_TRUE(has(v.reason, "cannot load the kernel (cudaErrorNoKernelImageForDevice")) << v.reason;
  // Architectures not known at build time ("all"): only the kernel load decides.
  d.kernel_error.reset();
  EXPECT_TRUE(judge_cuda_device(d, build_of(""), 13000).usable);
}

// ---- what a request turns a verdict into ------------------------------------------------------

CudaProbe probe_with(std::vector<std::pair<std::string, std::pair<int, int>>> gpus,
                     const std::string& archs = "80,90", int driver = 13000) {
  CudaProbe p;
  p.compiled = true;
  p.build = build_of(archs);
  p.driver_version = driver;
  int i = 0;
  for (const auto& [name, cc] : gpus) {
    CudaDeviceInfo d;
    d.index = i++;
    d.name = name;
    d.memory_bytes = 16ull << 30;
    d.multiprocessors = 40;
    d.cc_major = cc.first;
    d.cc_minor = cc.second;
    p.devices.push_back(d);
  }
  if (gpus.empty()) p.error = "cudaErrorInsufficientDriver: CUDA driver version is insufficient";
  return p;
}

TEST(CudaFit, ANamedGpuThatCannotRunIsAnErrorOtherwiseAWarning) {
  const CudaProbe mixed = probe_with({{"NVIDIA A100-SXM4-80GB", {8, 0}}, {"Tesla T4", {7, 5}}});
  // cuda:1 named: an error, one line naming the GPU, its capability and the build.
  DeviceChoice c = resolve_devices(parse_device_list("cpu,cuda:1"), mixed);
  ASSERT_EQ(c.errors.size(), 1u);
  EXPECT_TRUE(has(c.errors[0], "cuda:1 (Tesla T4, compute capability 7.5) cannot run"))
      << c.errors[0];
  EXPECT_TRUE(has(c.errors[0], "sm_80, sm_90")) << c.errors[0];
  // auto: the A100 is used, the T4 left out with a warning.
  c = resolve_devices({}, mixed);
  EXPECT_TRUE(c.errors.empty());
  ASSERT_EQ(c.devices.size(), 2u);
  EXPECT_EQ(c.devices[1].str(), "cuda:0");
  ASSERT_EQ(c.warnings.size(), 1u);
  EXPECT_TRUE(has(c.warnings[0], "Tesla T4") && has(c.warnings[0], "it is not used"))
      << c.warnings[0];
  // "cuda" (= cuda:0, not named by number) on a machine whose only GPU cannot run: a warning
  // and the CPU.
  const CudaProbe t4 = probe_with({{"Tesla T4", {7, 5}}});
  c = resolve_devices(parse_device_list("cuda"), t4);
  EXPECT_TRUE(c.errors.empty());
  ASSERT_EQ(c.devices.size(), 1u);
  EXPECT_EQ(c.devices[0].str(), "cpu");
  EXPECT_EQ(c.warnings.size(), 2u);  // the T4, then "running on the CPU"
  // The same GPU named as cuda:0: an error, and no CPU fallback.
  c = resolve_devices(parse_device_list("cuda:0"), t4);
  ASSERT_EQ(c.errors.size(), 1u);
  EXPECT_TRUE(c.devices.empty());
  // An old driver: the named GPU is an error naming the driver's CUDA version.
  c = resolve_devices(parse_device_list("cuda:0"),
                      probe_with({{"NVIDIA A100", {8, 0}}}, "80,90", 12020));
  ASSERT_EQ(c.errors.size(), 1u);
  EXPECT_TRUE(has(c.errors[0], "supports CUDA 12.2")) << c.errors[0];
  // A named GPU that is not there at all is an error too; unnamed, a warning.
  c = resolve_devices(parse_device_list("cpu,cuda:0"), probe_with({}));
  ASSERT_EQ(c.errors.size(), 1u);
  EXPECT_TRUE(has(c.errors[0], "cuda:0 is not available: no CUDA device is visible"))
      << c.errors[0];
  c = resolve_devices(parse_device_list("cpu,cuda"), probe_with({}));
  EXPECT_TRUE(c.errors.empty());
  EXPECT_EQ(c.warnings.size(), 1u);
  // A GPU whose kernel would be compiled from PTX is used, with a note.
  c = resolve_devices(parse_device_list("cuda:0"),
                      probe_with({{"NVIDIA GeForce RTX 5080", {12, 0}}}));
  EXPECT_TRUE(c.errors.empty());
  ASSERT_EQ(c.devices.size(), 1u);
  EXPECT_EQ(c.notes.size(), 1u);
}

TEST(CudaFit, NoVisibleDeviceIsExplainedByTheDriver) {
  const CudaBuild b = build_of("80,90");
  const std::string err = "cudaErrorInsufficientDriver: CUDA driver version is insufficient";
  EXPECT_EQ(no_cuda_device_reason(b, 0, err),
            "no CUDA device is visible: no NVIDIA driver answers (" + err + ")");
  // An old driver hides every GPU from a newer runtime: say that, not just "insufficient".
  const std::string old = no_cuda_device_reason(b, 12080, err);
  EXPECT_TRUE(has(old,
                  "the NVIDIA driver supports CUDA 12.8 but this binary was built with CUDA "
                  "13.0: it needs a driver for CUDA 13.0 or newer"))
      << old;
  EXPECT_EQ(no_cuda_device_reason(b, 13000, ""), "no CUDA device is visible");
  // ...and a GPU job that names its GPU stops with that line.
  CudaProbe p = probe_with({}, "80,90", 12080);
  const DeviceChoice c = resolve_devices(parse_device_list("cuda:0"), p);
  ASSERT_EQ(c.errors.size(), 1u);
  EXPECT_TRUE(has(c.errors[0],
                  "cuda:0 is not available: no CUDA device is visible: the NVIDIA "
                  "driver supports CUDA 12.8"))
      << c.errors[0];
}

TEST(CudaFit, AKernelLoadFailureSeenByTheProbeStopsANamedGpu) {
  CudaProbe p = probe_with({{"NVIDIA H100", {9, 0}}});
  p.devices[0].kernels.push_back(CudaKernelInfo{});
  p.devices[0].kernels[0].error =
      "cudaErrorUnsupportedPtxVersion: the provided PTX was compiled with an "
      "unsupported toolchain";
  const DeviceChoice c = resolve_devices(parse_device_list("cuda:0"), p);
  ASSERT_EQ(c.errors.size(), 1u);
  EXPECT_TRUE(has(c.errors[0], "cannot load the kernel (cudaErrorUnsupportedPtxVersion"))
      << c.errors[0];
}

// ---- memory -----------------------------------------------------------------------------------

TEST(CudaFit, RanksPerGpuComesFromTheLaunchersEnvironment) {
  std::map<std::string, std::string> env;
  const EnvLookup lookup = [&](const char* name) -> std::optional<std::string> {
    const auto it = env.find(name);
    if (it == env.end()) return std::nullopt;
    return it->second;
  };
  EXPECT_EQ(ranks_per_gpu(lookup), 1);
  env["SLURM_NTASKS_PER_NODE"] = "8";
  EXPECT_EQ(ranks_per_gpu(lookup), 8);
  env["OMPI_COMM_WORLD_LOCAL_SIZE"] = "4";  // Open MPI's own count comes first
  EXPECT_EQ(ranks_per_gpu(lookup), 4);
  env["THREADX_RANKS_PER_GPU"] = "2";  // and an explicit one before any
  EXPECT_EQ(ranks_per_gpu(lookup), 2);
  env["THREADX_RANKS_PER_GPU"] = "zero";  // not a count: ignored
  EXPECT_EQ(ranks_per_gpu(lookup), 4);
  env["OMPI_COMM_WORLD_LOCAL_SIZE"] = "0";
  EXPECT_EQ(ranks_per_gpu(lookup), 8);
}

TEST(CudaFit, TheMemoryBudgetIsAShareOfTheDevicePerRank) {
  constexpr std::uint64_t GiB = 1ull << 30;
  // One rank on an idle 80 GB GPU: a quarter for series, a half for a batch.
  CudaMemoryBudget b = cuda_memory_budget(79 * GiB, 80 * GiB, 1);
  EXPECT_EQ(b.share_bytes, 79 * GiB / 10 * 9);
  EXPECT_EQ(b.mirror_bytes, b.share_bytes / 4);
  EXPECT_EQ(b.batch_bytes, b.share_bytes / 2);
  // Four ranks share it: each takes a quarter, however much is free when it starts.
  b = cuda_memory_budget(79 * GiB, 80 * GiB, 4);
  EXPECT_EQ(b.share_bytes, 20 * GiB);
  // The last rank to start sees what the others left: never more than 90% of that.
  b = cuda_memory_budget(10 * GiB, 80 * GiB, 4);
  EXPECT_EQ(b.share_bytes, 9 * GiB);
  // A small or full device still gets the 64 MiB floors.
  b = cuda_memory_budget(0, 2 * GiB, 64);
  EXPECT_EQ(b.mirror_bytes, 64ull << 20);
  EXPECT_EQ(b.batch_bytes, 64ull << 20);
}

}  // namespace
}  // namespace threadx::gpu

namespace threadx::gpu {
namespace {

// ---- the feeder's slices -------------------------------------------------------------------

TEST(CudaFit, BatchSlicesCoverTheBatchInWholeWaves) {
  EXPECT_TRUE(batch_slices(0, 100, 4).empty());
  EXPECT_EQ(batch_slices(50, 100, 4), (std::vector<BatchSlice>{{0, 50}}));
  EXPECT_EQ(batch_slices(300, 100, 4), (std::vector<BatchSlice>{{0, 300}}));  // below 4 waves
  EXPECT_EQ(batch_slices(350, 100, 4), (std::vector<BatchSlice>{{0, 200}, {200, 350}}));
  EXPECT_EQ(batch_slices(400, 100, 4), (std::vector<BatchSlice>{{0, 200}, {200, 400}}));
  EXPECT_EQ(batch_slices(1000, 100, 4),
            (std::vector<BatchSlice>{{0, 300}, {300, 600}, {600, 900}, {900, 1000}}));
  EXPECT_EQ(batch_slices(1000, 100, 1), (std::vector<BatchSlice>{{0, 1000}}));
  EXPECT_EQ(batch_slices(5, 0, 4), (std::vector<BatchSlice>{{0, 5}}));  // no wave known
  for (const std::uint64_t n : {1ull, 7ull, 128ull, 999ull, 55296ull, 1000001ull, 12345678ull})
    for (const std::uint64_t wave : {1ull, 128ull, 20480ull, 67584ull})
      for (const unsigned max : {1u, 2u, 4u, 8u}) {
        const std::vector<BatchSlice> s = batch_slices(n, wave, max);
        ASSERT_FALSE(s.empty());
        EXPECT_LE(s.size(), max);
        EXPECT_EQ(s.front().first, 0u);
        EXPECT_EQ(s.back().end, n);
        for (std::size_t k = 0; k < s.size(); ++k) {
          EXPECT_LT(s[k].first, s[k].end);
          if (k > 0) {
            EXPECT_EQ(s[k].first, s[k - 1].end);
          }
          if (k + 1 < s.size()) {
            EXPECT_EQ((s[k].end - s[k].first) % wave, 0u) << n << " " << wave;
            EXPECT_GE(s[k].end - s[k].first, 2 * wave);
          }
        }
      }
}

}  // namespace
}  // namespace threadx::gpu
