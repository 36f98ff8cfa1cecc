// The CUDA backend: device probe and a runner that backtests a batch with one thread per
// combination. The kernel and the runner are templates over the strategy policy P, instantiated
// for every strategy of strategies/all.hpp; the thread body is gpu::run_batch_thread<P>, which
// steps the strategy's run_bars over the combination's candidate bars: the bars the CPU's lane
// blocks step, giving run_one's rows (the CPU's reference path) bit for bit.
// Indicator series are copied to the device once and kept (a device-side mirror of the
// IndicatorBank) for every later batch that reads them. Every CUDA call is checked; device memory,
// streams and the current device are RAII. Compiled with --fmad=false (the host side uses
// -ffp-contract=off): the kernel does only correctly rounded IEEE double operations (+ - * / sqrt)
// in the same order as the CPU. A runner checks when it starts that the device can run this binary
// (driver version, kernel image) and fails with one line naming the GPU and what the binary was
// built for.
#include <cuda_runtime.h>

#include <algorithm>
#include <array>
#include <atomic>
#include <cstdint>
#include <cstdio>
#include <memory>
#include <stdexcept>
#include <string>
#include <unordered_map>
#include <vector>

#include "gpu/batch_kernel.hpp"
#include "gpu/cuda_fit.hpp"
#include "gpu/device.hpp"
#include "gpu/host_batch.hpp"
#include "gpu/layout.hpp"  // host/device struct layouts, asserted in nvcc's passes too
#include "strategies/all.hpp"

#if !defined(THREADX_CUDA_ARCHITECTURES)
#error "THREADX_CUDA_ARCHITECTURES (CMAKE_CUDA_ARCHITECTURES, ',' for ';') must be defined"
#endif

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

  // At least n values; the contents are not kept when it grows. The old block is freed before
  // the new one is allocated (no peak of both), and it grows geometrically (to 1.5x, or n + n/4
  // when that is more), so a run allocates a few times while its batches grow and not after.
  void reserve(std::size_t n) {
    if (n <= n_) return;
    const std::size_t grown = std::max(n + n / 4, n_ + n_ / 2);
    release();
    if (cudaMalloc(reinterpret_cast<void**>(&p_), grown * sizeof(T)) == cudaSuccess) {
      n_ = grown;
      return;
    }
    (void)cudaGetLastError();  // out of memory with the margin: exactly n, or the error
    p_ = nullptr;
    THREADX_CUDA_CHECK(cudaMalloc(reinterpret_cast<void**>(&p_), n * sizeof(T)));
    n_ = n;
  }
  void release() {
    if (p_ != nullptr) (void)cudaFree(p_);
    p_ = nullptr;
    n_ = 0;
  }
  void upload(const T* host, std::size_t n, cudaStream_t s) {
    if (n == 0) return;
    reserve(n);
    THREADX_CUDA_CHECK(cudaMemcpyAsync(p_, host, n * sizeof(T), cudaMemcpyHostToDevice, s));
  }
  [[nodiscard]] T* get() const { return p_; }
  [[nodiscard]] std::size_t bytes() const { return n_ * sizeof(T); }

 private:
  T* p_ = nullptr;
  std::size_t n_ = 0;
};

// Page-locked host memory for n values of T (the rows copied back land here, so the copies run
// asynchronously); grown like DeviceBuffer, the old block freed first. Move-only.
template <class T>
class PinnedBuffer {
 public:
  PinnedBuffer() = default;
  ~PinnedBuffer() { release(); }
  PinnedBuffer(const PinnedBuffer&) = delete;
  PinnedBuffer& operator=(const PinnedBuffer&) = delete;

  void reserve(std::size_t n) {
    if (n <= n_) return;
    const std::size_t grown = std::max(n + n / 4, n_ + n_ / 2);
    release();
    if (cudaHostAlloc(reinterpret_cast<void**>(&p_), grown * sizeof(T), cudaHostAllocDefault) ==
        cudaSuccess) {
      n_ = grown;
      return;
    }
    (void)cudaGetLastError();
    p_ = nullptr;
    THREADX_CUDA_CHECK(
        cudaHostAlloc(reinterpret_cast<void**>(&p_), n * sizeof(T), cudaHostAllocDefault));
    n_ = n;
  }
  void release() {
    if (p_ != nullptr) (void)cudaFreeHost(p_);
    p_ = nullptr;
    n_ = 0;
  }
  [[nodiscard]] T* get() const { return p_; }

 private:
  T* p_ = nullptr;
  std::size_t n_ = 0;
};

// An event that orders one stream after work queued on another, or that the host waits for
// (flags: cudaEventBlockingSync, so that the waiting thread sleeps); no timing.
class Event {
 public:
  explicit Event(unsigned flags = 0) {
    THREADX_CUDA_CHECK(cudaEventCreateWithFlags(&e_, cudaEventDisableTiming | flags));
  }
  ~Event() { (void)cudaEventDestroy(e_); }
  Event(const Event&) = delete;
  Event& operator=(const Event&) = delete;
  [[nodiscard]] cudaEvent_t get() const { return e_; }

 private:
  cudaEvent_t e_ = nullptr;
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

// Indicator series copied to the device, kept for every later batch that reads them: the
// device-side mirror of one IndicatorBank. Copies live in fixed slots of n_bars values, allocated
// in slabs while the mirror fills up to its budget; when a batch's series do not fit, every slot
// is recycled, not freed, so once the working set is resident there is no cudaMalloc or cudaFree
// (each synchronises the device). A copy is keyed by the host pointer of its series within one
// bank generation: the bank never frees a series while it lives, and another bank, even at the
// same address, has another generation, which drops everything.
class SeriesMirror {
 public:
  explicit SeriesMirror(std::size_t budget_bytes) : budget_(budget_bytes) {}

  void use_bank(std::uint64_t generation, std::size_t n_bars) {
    if (generation == generation_ && n_bars == n_bars_) return;
    resident_.clear();
    free_.clear();
    slabs_.clear();
    slots_ = 0;
    generation_ = generation;
    n_bars_ = std::max<std::size_t>(1, n_bars);
  }
  [[nodiscard]] bool contains(const double* host) const { return resident_.contains(host); }

  // Room for `missing` more series: recycles every slot when they do not fit in what is free
  // plus what the budget still allows (a batch whose own series exceed the budget gets more).
  void make_room(std::size_t missing) {
    const std::size_t allowed = capacity() > slots_ ? capacity() - slots_ : 0;
    if (free_.size() + allowed >= missing) return;
    for (const auto& [host, slot] : resident_) free_.push_back(slot);
    resident_.clear();
  }

  // The device copy of a host series (copied on first use), or null for null.
  const double* on_device(const double* host, cudaStream_t s) {
    if (host == nullptr) return nullptr;
    if (const auto it = resident_.find(host); it != resident_.end()) return it->second;
    if (free_.empty()) add_slab();
    double* slot = free_.back();
    free_.pop_back();
    THREADX_CUDA_CHECK(
        cudaMemcpyAsync(slot, host, n_bars_ * sizeof(double), cudaMemcpyHostToDevice, s));
    resident_.emplace(host, slot);
    return slot;
  }

 private:
  static constexpr std::size_t kSlabSlots = 32;
  [[nodiscard]] std::size_t capacity() const {
    return std::max<std::size_t>(1, budget_ / (n_bars_ * sizeof(double)));
  }
  void add_slab() {
    const std::size_t allowed = capacity() > slots_ ? capacity() - slots_ : 1;
    const std::size_t n = std::min(kSlabSlots, allowed);
    DeviceBuffer<double> slab(n * n_bars_);
    for (std::size_t k = 0; k < n; ++k) free_.push_back(slab.get() + k * n_bars_);
    slabs_.push_back(std::move(slab));
    slots_ += n;
  }

  std::size_t budget_;
  std::uint64_t generation_ = 0;  // 0: no bank (bank generations start at 1)
  std::size_t n_bars_ = 1, slots_ = 0;
  std::vector<DeviceBuffer<double>> slabs_;
  std::vector<double*> free_;
  std::unordered_map<const double*, double*> resident_;  // host series -> its slot
};

constexpr unsigned kBlock = 128;

// Combinations [first, end) of the batch, one per thread; row t goes to out[t].
template <class P>
__global__ void __launch_bounds__(kBlock)
    batch_kernel(BatchView<P> batch, std::uint64_t first, std::uint64_t end, Metrics* out) {
  const std::uint64_t t = first + static_cast<std::uint64_t>(blockIdx.x) * blockDim.x +
                          static_cast<std::uint64_t>(threadIdx.x);
  if (t < end) out[t] = run_batch_thread(batch, t);
}

// Launches in flight at once: a slice's rows are copied back on its stream while the next slice
// runs on the other.
constexpr unsigned kStreams = 2;
constexpr unsigned kMaxSlices = 4;

// ---- what this binary carries, and whether a device can run it ----------------------------------

CudaBuild this_build() {
  CudaBuild b;
  b.archs_text = THREADX_CUDA_ARCHITECTURES;
  b.archs = parse_cuda_architectures(b.archs_text).value_or(std::vector<CudaArch>{});
  b.runtime_version = CUDART_VERSION;
  return b;
}

int driver_version() {
  int v = 0;  // stays 0 without a driver
  if (cudaDriverGetVersion(&v) != cudaSuccess) {
    (void)cudaGetLastError();
    v = 0;
  }
  return v;
}

// Loads strategy P's batch kernel on the current device: what cudaFuncGetAttributes reports (a
// "no kernel image" error shows here, not at the first launch) and the resident blocks per
// multiprocessor.
template <class P>
CudaKernelInfo kernel_on_current_device(int multiprocessors) {
  CudaKernelInfo k;
  k.strategy = P::spec().name;
  const auto* kernel = reinterpret_cast<const void*>(&batch_kernel<P>);
  cudaFuncAttributes attr{};
  cudaError_t e = cudaFuncGetAttributes(&attr, kernel);
  if (e == cudaSuccess)
    e = cudaOccupancyMaxActiveBlocksPerMultiprocessor(&k.blocks_per_sm, kernel,
                                                      static_cast<int>(kBlock), 0);
  if (e != cudaSuccess) {
    k.error = std::string(cudaGetErrorName(e)) + ": " + cudaGetErrorString(e);
    (void)cudaGetLastError();
    return k;
  }
  k.registers = attr.numRegs;
  k.local_bytes = attr.localSizeBytes;
  k.block_threads = static_cast<int>(kBlock);
  k.wave = static_cast<std::uint64_t>(multiprocessors) *
           static_cast<std::uint64_t>(std::max(1, k.blocks_per_sm)) * kBlock;
  if (k.blocks_per_sm == 0) k.error = "the kernel does not fit a multiprocessor (0 blocks)";
  return k;
}

// Throws, in one line naming the GPU, its compute capability and what the binary was built for,
// when the current device cannot run P's kernel; else what the kernel takes on it.
template <class P>
CudaKernelInfo require_runnable(int index) {
  cudaDeviceProp prop{};
  THREADX_CUDA_CHECK(cudaGetDeviceProperties(&prop, index));
  const CudaKernelInfo kernel = kernel_on_current_device<P>(prop.multiProcessorCount);
  CudaDeviceFacts facts;
  facts.index = index;
  facts.name = prop.name;
  facts.cc_major = prop.major;
  facts.cc_minor = prop.minor;
  facts.kernel_error = kernel.error;
  const CudaVerdict v = judge_cuda_device(facts, this_build(), driver_version());
  if (!v.usable) throw std::runtime_error(v.reason);
  return kernel;
}

// The driver thread should sleep in cudaStreamSynchronize, not spin on a core the CPU device
// counts on. Asked for when the device's primary context is created (cudaInitDevice, before
// anything else touches device `index`), and again with cudaSetDeviceFlags in case the context
// existed already (older drivers refuse that with cudaErrorSetOnActiveProcess).
void ask_blocking_sync(int index) {
  const cudaError_t e =
      cudaInitDevice(index, cudaDeviceScheduleBlockingSync, cudaInitDeviceFlagsAreValid);
  if (e != cudaSuccess) (void)cudaGetLastError();  // the check below reads the outcome
}

// On the current device `index`: the flags read back (cudaGetDeviceFlags); a warning, once per
// process, when blocking sync is not in effect.
std::string verify_blocking_sync(int index) {
  static std::atomic<bool> warned{false};
  const cudaError_t e = cudaSetDeviceFlags(cudaDeviceScheduleBlockingSync);
  if (e != cudaSuccess && e != cudaErrorSetOnActiveProcess)
    cuda_fail(e, "cudaSetDeviceFlags", __FILE__, __LINE__);
  (void)cudaGetLastError();
  THREADX_CUDA_CHECK(cudaFree(nullptr));  // creates the context now, not in the first batch
  unsigned flags = 0;
  THREADX_CUDA_CHECK(cudaGetDeviceFlags(&flags));
  if ((flags & cudaDeviceScheduleMask) == cudaDeviceScheduleBlockingSync || warned.exchange(true))
    return "";
  char hex[16];
  std::snprintf(hex, sizeof hex, "%x", flags);
  return "cuda:" + std::to_string(index) + ": blocking sync is not in effect (device flags 0x" +
         hex +
         (e == cudaErrorSetOnActiveProcess ? "; the context existed before they could be set"
                                           : "") +
         "): its driver thread spins on a CPU core while the GPU runs";
}

// Runs batches of strategy P's grids on one device.
template <class P>
class CudaRunner final : public UnitRunner {
 public:
  using Series = typename P::Series;

  explicit CudaRunner(int index) : index_(index) {
    ask_blocking_sync(index_);
    DeviceScope scope(index_);
    warning_ = verify_blocking_sync(index_);
    kernel_ = require_runnable<P>(index_);
    std::size_t free = 0, total = 0;
    THREADX_CUDA_CHECK(cudaMemGetInfo(&free, &total));
    budget_ = cuda_memory_budget(free, total, ranks_per_gpu());
    mirror_ = std::make_unique<SeriesMirror>(budget_.mirror_bytes);
    for (auto& st : streams_) st = std::make_unique<Stream>();
    uploaded_ = std::make_unique<Event>();
    for (auto& e : slice_done_) e = std::make_unique<Event>(cudaEventBlockingSync);
  }
  ~CudaRunner() override {
    int previous = 0;  // frees on this runner's device, without throwing
    const bool restore = cudaGetDevice(&previous) == cudaSuccess;
    (void)cudaSetDevice(index_);
    mirror_.reset();
    views_ = {};
    piece_end_ = {};
    piece_first_ = {};
    values_ = {};
    cand_ = {};
    list_end_ = {};
    list_of_ = {};
    out_ = {};
    block_starts_ = {};
    block_out_ = {};
    rows_.release();
    cells_.release();
    uploaded_.reset();
    for (auto& e : slice_done_) e.reset();
    for (auto& st : streams_) st.reset();
    if (restore) (void)cudaSetDevice(previous);
  }

  // For the balancer: one full wave, and the batch memory with room for the buffers' 1.5x growth.
  [[nodiscard]] CudaRunnerInfo info() const {
    CudaRunnerInfo i;
    i.wave = kernel_.wave;
    i.batch_bytes = budget_.batch_bytes / 3 * 2;
    // Its row and its candidate list's number (threads decode their parameters); the lists
    // themselves (at most one per key group and candidate key of a batch) are not counted.
    i.bytes_per_combo = sizeof(Metrics) + sizeof(std::uint32_t);
    if (!warning_.empty()) i.warnings.push_back(warning_);
    return i;
  }

  void run(const SweepContext& ctx, std::span<const WorkUnit> pieces, Metrics* out,
           const BlockOutput& blocks) override {
    DeviceScope scope(index_);
    mirror_->use_bank(ctx.bank().generation(), ctx.bars().size());  // the mirror is per bank
    run_fitting(ctx, pieces, out, blocks);
  }

 private:
  // Candidate lists are not in the balancer's per-combination budget (their size depends on the
  // grid: one list per key group and candidate key, up to n_bars each); a batch whose lists
  // take more than a quarter of the batch memory runs as two halves, recursively (one
  // combination has one list, which always fits).
  void run_fitting(const SweepContext& ctx, std::span<const WorkUnit> pieces, Metrics* out,
                   const BlockOutput& blocks) {
    HostBatch<P> host = make_batch<P>(ctx, pieces, &candidates_);
    const std::size_t n = host.list_of.size();
    if (host.cand.size() * sizeof(std::int32_t) > budget_.batch_bytes / 4 && n > 1) {
      const auto [head, tail] = split_pieces(pieces, n / 2);
      run_fitting(ctx, head, out, blocks);
      run_fitting(ctx, tail, out + n / 2, blocks.at(n / 2));
      return;
    }
    try {
      launch(host, out, blocks);
    } catch (...) {
      for (const auto& st : streams_) (void)cudaStreamSynchronize(st->get());
      throw;
    }
  }

  void launch(const HostBatch<P>& host, Metrics* out, const BlockOutput& blocks) {
    const cudaStream_t s = streams_[0]->get();  // uploads, then the even slices

    // Series this batch needs that are not on the device yet (distinct ones; views share some).
    std::vector<const double*> missing;
    std::vector<Series> device_views = host.views;
    for (Series& v : device_views)
      P::each_series(v, [&](const double* p) {
        if (p != nullptr && !mirror_->contains(p) &&
            std::find(missing.begin(), missing.end(), p) == missing.end())
          missing.push_back(p);
      });
    mirror_->make_room(missing.size());
    for (Series& v : device_views)
      P::each_series(v, [&](const double*& p) { p = mirror_->on_device(p, s); });

    const std::size_t n = host.list_of.size();
    views_.upload(device_views.data(), device_views.size(), s);
    piece_end_.upload(host.piece_end.data(), host.piece_end.size(), s);
    piece_first_.upload(host.piece_first.data(), host.piece_first.size(), s);
    values_.upload(host.values.data(), host.values.size(), s);
    cand_.upload(host.cand.data(), host.cand.size(), s);
    list_end_.upload(host.list_end.data(), host.list_end.size(), s);
    list_of_.upload(host.list_of.data(), n, s);
    out_.reserve(n);
    const std::size_t cells = n * static_cast<std::size_t>(blocks.blocks);
    if (blocks.enabled()) {
      block_starts_.upload(blocks.starts, static_cast<std::size_t>(blocks.blocks) + 1, s);
      block_out_.reserve(cells);
    }

    BatchView<P> b = host.view();
    b.views = views_.get();
    b.piece_end = piece_end_.get();
    b.piece_first = piece_first_.get();
    b.digits.values = values_.get();
    b.cand = host.cand.empty() ? nullptr : cand_.get();
    b.list_end = list_end_.get();
    b.list_of = list_of_.get();
    b.blocks = blocks.blocks;
    b.block_starts = blocks.enabled() ? block_starts_.get() : nullptr;
    b.block_out = blocks.enabled() ? block_out_.get() : nullptr;

    // The slices alternate between the streams; the second waits for the uploads. Each slice's
    // rows (and cells) are copied back into pinned memory on its own stream as soon as it is done,
    // while the next slice runs, and from there to the caller's buffers as each slice's copy
    // completes (its event), while later slices still run.
    rows_.reserve(n);
    if (blocks.enabled()) cells_.reserve(cells);
    THREADX_CUDA_CHECK(cudaEventRecord(uploaded_->get(), s));
    THREADX_CUDA_CHECK(cudaStreamWaitEvent(streams_[1]->get(), uploaded_->get(), 0));
    const std::vector<BatchSlice> slices = batch_slices(n, kernel_.wave, kMaxSlices);
    const auto row_cells = static_cast<std::size_t>(blocks.blocks);
    for (std::size_t k = 0; k < slices.size(); ++k) {
      const cudaStream_t st = streams_[k % kStreams]->get();
      const BatchSlice& sl = slices[k];
      const std::uint64_t count = sl.end - sl.first;
      const auto grid_blocks = static_cast<unsigned>((count + kBlock - 1) / kBlock);
      batch_kernel<P><<<grid_blocks, kBlock, 0, st>>>(b, sl.first, sl.end, out_.get());
      THREADX_CUDA_CHECK(cudaGetLastError());
      THREADX_CUDA_CHECK(cudaMemcpyAsync(rows_.get() + sl.first, out_.get() + sl.first,
                                         count * sizeof(Metrics), cudaMemcpyDeviceToHost, st));
      if (blocks.enabled())
        THREADX_CUDA_CHECK(cudaMemcpyAsync(
            cells_.get() + sl.first * row_cells, block_out_.get() + sl.first * row_cells,
            count * row_cells * sizeof(BlockStats), cudaMemcpyDeviceToHost, st));
      THREADX_CUDA_CHECK(cudaEventRecord(slice_done_[k]->get(), st));
    }
    for (std::size_t k = 0; k < slices.size(); ++k) {
      const BatchSlice& sl = slices[k];
      THREADX_CUDA_CHECK(cudaEventSynchronize(slice_done_[k]->get()));
      std::copy(rows_.get() + sl.first, rows_.get() + sl.end, out + sl.first);
      if (blocks.enabled())
        std::copy(cells_.get() + sl.first * row_cells, cells_.get() + sl.end * row_cells,
                  blocks.cells + sl.first * row_cells);
    }
    for (const auto& st : streams_) THREADX_CUDA_CHECK(cudaStreamSynchronize(st->get()));
  }

  // `pieces` cut after their first `first` combinations (0 < first < their total): the pieces
  // before the cut and after it (a piece straddling it becomes two).
  static std::pair<std::vector<WorkUnit>, std::vector<WorkUnit>> split_pieces(
      std::span<const WorkUnit> pieces, std::uint64_t first) {
    std::pair<std::vector<WorkUnit>, std::vector<WorkUnit>> out;
    std::uint64_t at = 0;
    for (const WorkUnit& p : pieces) {
      if (at + p.size() <= first) {
        out.first.push_back(p);
      } else if (at >= first) {
        out.second.push_back(p);
      } else {
        const ComboId cut = p.begin + (first - at);
        out.first.push_back({p.begin, cut, p.group});
        out.second.push_back({cut, p.end, p.group});
      }
      at += p.size();
    }
    return out;
  }

  int index_;
  std::string warning_;  // from start-up, for the caller to log
  CudaKernelInfo kernel_;
  CudaMemoryBudget budget_;
  std::array<std::unique_ptr<Stream>, kStreams> streams_;
  std::unique_ptr<Event> uploaded_;
  std::array<std::unique_ptr<Event>, kMaxSlices> slice_done_;  // a slice's rows are in rows_
  CandidateCache<P> candidates_;
  PinnedBuffer<Metrics> rows_;
  PinnedBuffer<BlockStats> cells_;
  std::unique_ptr<SeriesMirror> mirror_;
  DeviceBuffer<Series> views_;
  DeviceBuffer<std::uint64_t> piece_end_;
  DeviceBuffer<std::uint64_t> piece_first_;
  DeviceBuffer<double> values_;
  DeviceBuffer<std::int32_t> cand_;
  DeviceBuffer<std::uint64_t> list_end_;
  DeviceBuffer<std::uint32_t> list_of_;
  DeviceBuffer<Metrics> out_;
  DeviceBuffer<std::int64_t> block_starts_;
  DeviceBuffer<BlockStats> block_out_;
};

}  // namespace

CudaProbe probe_cuda() {
  CudaProbe p;
  p.compiled = true;
  p.build = this_build();
  p.driver_version = driver_version();
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

CudaKernelInfo load_cuda_kernel(int index, const StrategySpec& strategy) {
  CudaKernelInfo k;
  k.strategy = strategy.name;
  try {
    ask_blocking_sync(index);  // this creates the context the runner will use
    DeviceScope scope(index);
    cudaDeviceProp prop{};
    THREADX_CUDA_CHECK(cudaGetDeviceProperties(&prop, index));
    with_policy(strategy,
                [&]<class P>() { k = kernel_on_current_device<P>(prop.multiProcessorCount); });
  } catch (const std::exception& e) {
    k.error = e.what();
  }
  return k;
}

std::unique_ptr<UnitRunner> make_cuda_runner(int index, const StrategySpec& strategy,
                                             CudaRunnerInfo* info) {
  std::unique_ptr<UnitRunner> made;
  with_policy(strategy, [&]<class P>() {
    auto runner = std::make_unique<CudaRunner<P>>(index);
    if (info != nullptr) *info = runner->info();
    made = std::move(runner);
  });
  return made;
}

}  // namespace threadx::gpu
