// The CUDA backend: device probe and a runner that backtests a batch with one thread per
// combination. The thread body is gpu::run_batch_thread, which calls bb_atr::run_one, the same
// per-combination code as the CPU's reference path. Indicator series are copied to the device
// once and kept (a device-side mirror of the IndicatorBank) for every later batch that reads
// them. Every CUDA call is checked; device memory, streams and the current device are RAII.
// Compiled with --fmad=false (the host side uses -ffp-contract=off): the kernel does only
// correctly rounded IEEE double operations (+ - * / sqrt) in the same order as the CPU.
#include <cuda_runtime.h>

#include <algorithm>
#include <cstdint>
#include <memory>
#include <stdexcept>
#include <string>
#include <unordered_map>
#include <vector>

#include "gpu/batch_kernel.hpp"
#include "gpu/device.hpp"

namespace threadx::gpu {
namespace {

[[noreturn]] void cuda_fail(cudaError_t e, const char* call, const char* file, int line) {
  throw std::runtime_error(std::string(file) + ":" + std::to_string(line) + ": " + call + ": " +
                           cudaGetErrorName(e) + " (" + cudaGetErrorString(e) + ")");
}

#define THREADX_CUDA_CHECK(call)                                                             \
  do {                                                                                       \
    const cudaError_t threadx_cuda_e = (call);                                               \
    if (threadx_cuda_e != cudaSuccess) cuda_fail(threadx_cuda_e, #call, __FILE__, __LINE__); \
  } while (0)

// Makes `device` current for the scope and restores the previous device.
class DeviceScope {
 public:
  explicit DeviceScope(int device) {
    THREADX_CUDA_CHECK(cudaGetDevice(&previous_));
    THREADX_CUDA_CHECK(cudaSetDevice(device));
  }
  ~DeviceScope() { (void)cudaSetDevice(previous_); }
  DeviceScope(const DeviceScope&) = delete;
  DeviceScope& operator=(const DeviceScope&) = delete;

 private:
  int previous_ = 0;
};

// Device memory for n values of T; move-only.
template <class T>
class DeviceBuffer {
 public:
  DeviceBuffer() = default;
  explicit DeviceBuffer(std::size_t n) : n_(n) {
    if (n > 0) THREADX_CUDA_CHECK(cudaMalloc(reinterpret_cast<void**>(&p_), n * sizeof(T)));
  }
  ~DeviceBuffer() {
    if (p_ != nullptr) (void)cudaFree(p_);
  }
  DeviceBuffer(DeviceBuffer&& o) noexcept : p_(o.p_), n_(o.n_) {
    o.p_ = nullptr;
    o.n_ = 0;
  }
  DeviceBuffer& operator=(DeviceBuffer&& o) noexcept {
    if (this != &o) {
      if (p_ != nullptr) (void)cudaFree(p_);
      p_ = o.p_;
      n_ = o.n_;
      o.p_ = nullptr;
      o.n_ = 0;
    }
    return *this;
  }
  DeviceBuffer(const DeviceBuffer&) = delete;
  DeviceBuffer& operator=(const DeviceBuffer&) = delete;

  // At least n values (contents are not kept when it grows).
  void reserve(std::size_t n) {
    if (n > n_) *this = DeviceBuffer(n + n / 4);
  }
  void upload(const T* host, std::size_t n, cudaStream_t s) {
    reserve(n);
    THREADX_CUDA_CHECK(cudaMemcpyAsync(p_, host, n * sizeof(T), cudaMemcpyHostToDevice, s));
  }
  [[nodiscard]] T* get() const { return p_; }
  [[nodiscard]] std::size_t bytes() const { return n_ * sizeof(T); }

 private:
  T* p_ = nullptr;
  std::size_t n_ = 0;
};

class Stream {
 public:
  Stream() { THREADX_CUDA_CHECK(cudaStreamCreateWithFlags(&s_, cudaStreamNonBlocking)); }
  ~Stream() { (void)cudaStreamDestroy(s_); }
  Stream(const Stream&) = delete;
  Stream& operator=(const Stream&) = delete;
  [[nodiscard]] cudaStream_t get() const { return s_; }

 private:
  cudaStream_t s_ = nullptr;
};

__global__ void batch_kernel(BatchView batch, Metrics* out) {
  const std::uint64_t t =
      static_cast<std::uint64_t>(blockIdx.x) * blockDim.x + static_cast<std::uint64_t>(threadIdx.x);
  if (t < batch.n_combos) out[t] = run_batch_thread(batch, t);
}

constexpr unsigned kBlock = 128;

class CudaRunner final : public UnitRunner {
 public:
  explicit CudaRunner(int index) : index_(index) {
    DeviceScope scope(index_);
    // The driver thread sleeps while the kernel runs instead of spinning on a CPU core.
    const cudaError_t e = cudaSetDeviceFlags(cudaDeviceScheduleBlockingSync);
    if (e != cudaSuccess && e != cudaErrorSetOnActiveProcess)
      cuda_fail(e, "cudaSetDeviceFlags", __FILE__, __LINE__);
    (void)cudaGetLastError();
    THREADX_CUDA_CHECK(cudaFree(nullptr));  // creates the context now, not in the first batch
    std::size_t free = 0, total = 0;
    THREADX_CUDA_CHECK(cudaMemGetInfo(&free, &total));
    mirror_budget_ = std::max<std::size_t>(free / 4, std::size_t{64} << 20);
    stream_ = std::make_unique<Stream>();
  }
  ~CudaRunner() override {
    int previous = 0;  // frees on this runner's device, without throwing
    const bool restore = cudaGetDevice(&previous) == cudaSuccess;
    (void)cudaSetDevice(index_);
    mirror_.clear();
    views_ = {};
    piece_end_ = {};
    params_ = {};
    out_ = {};
    block_starts_ = {};
    block_out_ = {};
    stream_.reset();
    if (restore) (void)cudaSetDevice(previous);
  }

  void run(const Grid& grid, IndicatorBank& bank, std::span<const WorkUnit> pieces, Metrics* out,
           const BlockOutput& blocks) override {
    DeviceScope scope(index_);
    const cudaStream_t s = stream_->get();
    if (&bank != bank_ || bank.bars().close.data() != close_) {  // the mirror is per bank
      mirror_.clear();
      mirror_bytes_ = 0;
      bank_ = &bank;
      close_ = bank.bars().close.data();
    }
    const HostBatch host = make_batch(grid, bank, pieces);
    const std::size_t n_bars = bank.bars().size();

    // Series this batch needs that are not on the device yet; clear the mirror when they would
    // exceed its budget (a batch's own series always fit: a few per piece).
    std::size_t missing = 0;
    for (const bb_atr::SeriesView& v : host.views)
      for (const double* p : {v.close, v.mid, v.sd, v.atr, v.ema})
        if (p != nullptr && !mirror_.contains(p)) missing += n_bars * sizeof(double);
    if (mirror_bytes_ + missing > mirror_budget_) {
      mirror_.clear();
      mirror_bytes_ = 0;
    }
    std::vector<bb_atr::SeriesView> device_views = host.views;
    for (bb_atr::SeriesView& v : device_views) {
      v.close = on_device(v.close, n_bars, s);
      v.mid = on_device(v.mid, n_bars, s);
      v.sd = on_device(v.sd, n_bars, s);
      v.atr = on_device(v.atr, n_bars, s);
      v.ema = on_device(v.ema, n_bars, s);
    }

    const std::size_t n = host.params.size();
    views_.upload(device_views.data(), device_views.size(), s);
    piece_end_.upload(host.piece_end.data(), host.piece_end.size(), s);
    params_.upload(host.params.data(), n, s);
    out_.reserve(n);
    const std::size_t cells = n * static_cast<std::size_t>(blocks.blocks);
    if (blocks.enabled()) {
      block_starts_.upload(blocks.starts, static_cast<std::size_t>(blocks.blocks) + 1, s);
      block_out_.reserve(cells);
    }

    BatchView b = host.view();
    b.views = views_.get();
    b.piece_end = piece_end_.get();
    b.params = params_.get();
    b.blocks = blocks.blocks;
    b.block_starts = blocks.enabled() ? block_starts_.get() : nullptr;
    b.block_out = blocks.enabled() ? block_out_.get() : nullptr;
    const auto grid_blocks = static_cast<unsigned>((n + kBlock - 1) / kBlock);
    batch_kernel<<<grid_blocks, kBlock, 0, s>>>(b, out_.get());
    THREADX_CUDA_CHECK(cudaGetLastError());
    THREADX_CUDA_CHECK(
        cudaMemcpyAsync(out, out_.get(), n * sizeof(Metrics), cudaMemcpyDeviceToHost, s));
    if (blocks.enabled())
      THREADX_CUDA_CHECK(cudaMemcpyAsync(blocks.cells, block_out_.get(), cells * sizeof(BlockStats),
                                         cudaMemcpyDeviceToHost, s));
    THREADX_CUDA_CHECK(cudaStreamSynchronize(s));
  }

 private:
  // The device copy of a host series (copied on first use), or null for null.
  const double* on_device(const double* host, std::size_t n, cudaStream_t s) {
    if (host == nullptr) return nullptr;
    auto it = mirror_.find(host);
    if (it == mirror_.end()) {
      DeviceBuffer<double> buf(n);
      THREADX_CUDA_CHECK(
          cudaMemcpyAsync(buf.get(), host, n * sizeof(double), cudaMemcpyHostToDevice, s));
      mirror_bytes_ += buf.bytes();
      it = mirror_.emplace(host, std::move(buf)).first;
    }
    return it->second.get();
  }

  int index_;
  std::unique_ptr<Stream> stream_;
  const IndicatorBank* bank_ = nullptr;
  const double* close_ = nullptr;
  std::unordered_map<const double*, DeviceBuffer<double>> mirror_;  // host series -> device copy
  std::size_t mirror_bytes_ = 0, mirror_budget_ = 0;
  DeviceBuffer<bb_atr::SeriesView> views_;
  DeviceBuffer<std::uint64_t> piece_end_;
  DeviceBuffer<StrategyParams> params_;
  DeviceBuffer<Metrics> out_;
  DeviceBuffer<std::int64_t> block_starts_;
  DeviceBuffer<BlockStats> block_out_;
};

}  // namespace

CudaProbe probe_cuda() {
  CudaProbe p;
  p.compiled = true;
  int count = 0;  // left untouched when there is no driver
  const cudaError_t e = cudaGetDeviceCount(&count);
  if (e != cudaSuccess) {
    p.error = std::string(cudaGetErrorName(e)) + ": " + cudaGetErrorString(e);
    (void)cudaGetLastError();
    return p;
  }
  for (int i = 0; i < count; ++i) {
    cudaDeviceProp prop{};
    const cudaError_t pe = cudaGetDeviceProperties(&prop, i);
    if (pe != cudaSuccess) {
      p.error = "cuda:" + std::to_string(i) + ": " + cudaGetErrorString(pe);
      continue;
    }
    CudaDeviceInfo d;
    d.index = i;
    d.name = prop.name;
    d.memory_bytes = prop.totalGlobalMem;
    d.multiprocessors = prop.multiProcessorCount;
    d.cc_major = prop.major;
    d.cc_minor = prop.minor;
    p.devices.push_back(d);
  }
  return p;
}

std::unique_ptr<UnitRunner> make_cuda_runner(int index) {
  return std::make_unique<CudaRunner>(index);
}

}  // namespace threadx::gpu
