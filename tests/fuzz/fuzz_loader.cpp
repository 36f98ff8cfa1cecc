// libFuzzer target for the bar loader (plain CSV and Binance klines). The input is the file's
// bytes, held in a memfd and read through /proc/self/fd/N, so the production code path (file
// streaming included) is what runs. Each input is loaded three ways: as one file, split in two
// files at a line break (the continuation rules), and resampled to 1h.
#include <sys/mman.h>
#include <unistd.h>

#include <algorithm>
#include <cmath>
#include <cstdint>
#include <cstring>
#include <string>
#include <vector>

#include "common/error.hpp"
#include "data/loader.hpp"
#include "fuzz_contract.hpp"

namespace {

using threadx::fuzz::finding;
using threadx::fuzz::require;

// A memfd holding bytes; path() names it for the loader.
class MemFile {
 public:
  MemFile(const std::uint8_t* data, std::size_t size) : fd_(memfd_create("bars", 0)) {
    if (fd_ < 0) finding("memfd_create failed");
    std::size_t done = 0;
    while (done < size) {
      const ssize_t n = ::write(fd_, data + done, size - done);
      if (n <= 0) finding("memfd write failed");
      done += static_cast<std::size_t>(n);
    }
  }
  ~MemFile() { ::close(fd_); }
  MemFile(const MemFile&) = delete;
  MemFile& operator=(const MemFile&) = delete;
  [[nodiscard]] std::string path() const { return "/proc/self/fd/" + std::to_string(fd_); }

 private:
  int fd_;
};

void check_series(const threadx::BarSeries& s, std::size_t files, bool resampled) {
  const std::size_t n = s.size();
  require(n >= 2, "fewer than 2 bars accepted");
  require(s.time_ms.size() == n && s.open.size() == n && s.high.size() == n && s.low.size() == n &&
              s.volume.size() == n,
          "columns of different lengths");
  require(s.sources.size() == files, "one source per file");
  std::int64_t rows = 0;
  for (const auto& src : s.sources) {
    require(src.rows >= 1, "a source without rows");
    require(src.sha256.size() == 64, "sha256 is not 64 hex digits");
    rows += src.rows;
  }
  if (!resampled) require(rows == static_cast<std::int64_t>(n), "rows do not add up to the bars");
  std::int64_t smallest = INT64_MAX, gaps = 0;
  for (std::size_t i = 0; i < n; ++i) {
    const double o = s.open[i], h = s.high[i], l = s.low[i], c = s.close[i], v = s.volume[i];
    require(std::isfinite(o) && std::isfinite(h) && std::isfinite(l) && std::isfinite(c) &&
                std::isfinite(v),
            "non-finite value accepted");
    require(o > 0 && h > 0 && l > 0 && c > 0, "price <= 0 accepted");
    require(v >= 0, "negative volume accepted");
    require(h >= l && h >= std::max(o, c) && l <= std::min(o, c), "OHLC relation broken");
    require(s.time_ms[i] >= 0, "negative timestamp accepted");
    if (i > 0) {
      require(s.time_ms[i] > s.time_ms[i - 1], "timestamps not strictly increasing");
      smallest = std::min(smallest, s.time_ms[i] - s.time_ms[i - 1]);
    }
  }
  for (std::size_t i = 1; i < n; ++i) gaps += (s.time_ms[i] - s.time_ms[i - 1]) > smallest;
  require(s.bar_ms == smallest, "bar_ms is not the smallest step");
  require(s.gap_count == gaps, "gap_count is wrong");
}

void load(const std::vector<std::string>& paths, const threadx::LoadOptions& o) {
  try {
    const threadx::BarSeries s = threadx::load_bars(paths, o);
    check_series(s, paths.size(), o.timeframe_ms.has_value());
  } catch (const threadx::InputError& e) {
    threadx::fuzz::check_error_message(e.what(), paths);
  }
  // Anything else propagates out of LLVMFuzzerTestOneInput: libFuzzer reports it as a crash.
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  const MemFile whole(data, size);
  load({whole.path()}, {});

  threadx::LoadOptions hourly;
  hourly.timeframe_ms = 3'600'000;
  load({whole.path()}, hourly);

  // Two files: split after the line break nearest the middle.
  const auto* mid =
      static_cast<const std::uint8_t*>(std::memchr(data + size / 2, '\n', size - size / 2));
  if (mid != nullptr) {
    const std::size_t cut = static_cast<std::size_t>(mid - data) + 1;
    const MemFile a(data, cut), b(data + cut, size - cut);
    load({a.path(), b.path()}, {});
  }
  return 0;
}
