// The results file's reader (see results_reader.hpp). Every failing call is an error naming the
// file.
#include "results/results_reader.hpp"

#include <hdf5.h>

#include <algorithm>
#include <atomic>
#include <bit>
#include <cstddef>
#include <cstring>
#include <exception>
#include <filesystem>
#include <mutex>
#include <stdexcept>
#include <thread>

#include "common/error.hpp"
#include "results/chunk_codec.hpp"
#include "results/h5_id.hpp"
#include "results/h5_support.hpp"

namespace threadx {

namespace {

// Rows [begin, begin + count) of a dataset whose chunks of `chunk_rows` rows (row_bytes each,
// shuffled by elem_size) threadx deflated, read by decompressing the chunks directly: HDF5 reads
// the stored bytes (one thread: the library is not thread-safe), then up to one thread per core
// unshuffles and inflates them. A chunk never stored reads as zeros (its /done flags are 0).
// False when a chunk was stored with a filter skipped: the caller reads through HDF5 instead.
bool read_deflated(hid_t dset, std::uint64_t chunk_rows, std::size_t elem_size,
                   std::size_t row_bytes, std::uint64_t begin, std::uint64_t count,
                   unsigned char* out) {
  const std::uint64_t first = begin / chunk_rows, last = (begin + count - 1) / chunk_rows;
  std::vector<std::vector<unsigned char>> stored(last - first + 1);
  for (std::uint64_t k = first; k <= last; ++k) {
    const hsize_t offset[2] = {k * chunk_rows, 0};
    hsize_t size = 0;
    if (H5Dget_chunk_storage_size(dset, offset, &size) < 0) return false;
    if (size == 0) continue;
    std::vector<unsigned char>& bytes = stored[k - first];
    bytes.resize(size);
    std::uint32_t mask = 0;
    if (H5Dread_chunk(dset, H5P_DEFAULT, offset, &mask, bytes.data()) < 0 || mask != 0)
      return false;
  }
  std::atomic<std::uint64_t> next{first};
  std::exception_ptr error;
  std::mutex error_mutex;
  auto work = [&] {
    for (std::uint64_t k = next++; k <= last; k = next++) {
      const std::uint64_t lo = std::max(begin, k * chunk_rows);
      const std::uint64_t hi = std::min(begin + count, (k + 1) * chunk_rows);
      unsigned char* to = out + (lo - begin) * row_bytes;
      const std::vector<unsigned char>& bytes = stored[k - first];
      if (bytes.empty()) {
        std::memset(to, 0, (hi - lo) * row_bytes);
        continue;
      }
      try {
        const std::vector<unsigned char> raw =
            decompress_chunk(bytes, elem_size, chunk_rows * row_bytes);
        std::memcpy(to, raw.data() + (lo - k * chunk_rows) * row_bytes, (hi - lo) * row_bytes);
      } catch (...) {
        std::lock_guard lock(error_mutex);
        error = std::current_exception();
        return;
      }
    }
  };
  const std::uint64_t chunks = last - first + 1;
  const unsigned helpers = static_cast<unsigned>(
      std::min<std::uint64_t>(chunks, std::max(1u, std::thread::hardware_concurrency())) - 1);
  std::vector<std::thread> threads;
  for (unsigned t = 0; t < helpers; ++t) threads.emplace_back(work);
  work();
  for (std::thread& t : threads) t.join();
  if (error) std::rethrow_exception(error);
  return true;
}

// Rows per chunk when the dataset is stored as threadx compresses it (for /blocks, chunks of
// whole rows of `cols` cells), else 0.
std::uint64_t deflated_chunk_rows(hid_t dset, std::uint64_t cols = 0) {
  const h5::Storage st = h5::storage_of(dset);
  if (!st.threadx_filters || st.deflate_level == 0 || st.chunk_cols != cols) return 0;
  return st.chunk_rows;
}

// Whether /blocks' cells are stored as threadx packs them: {sum_r, sum_r2, equity: f64 at 0, 8,
// 16; trades: i32 at 24}, 28 bytes, little-endian.
bool packed_cells(hid_t blocks) {
  H5Id type(H5Dget_type(blocks));
  if (H5Tget_class(type.get()) != H5T_COMPOUND || H5Tget_size(type.get()) != kBlockCellSize ||
      H5Tget_nmembers(type.get()) != 4)
    return false;
  const char* names[4] = {"sum_r", "sum_r2", "equity", "trades"};
  for (int m = 0; m < 4; ++m) {
    const int i = H5Tget_member_index(type.get(), names[m]);
    if (i < 0) return false;
    H5Id mt(H5Tget_member_type(type.get(), static_cast<unsigned>(i)));
    const hid_t want = m < 3 ? H5T_IEEE_F64LE : H5T_STD_I32LE;
    if (H5Tget_member_offset(type.get(), static_cast<unsigned>(i)) !=
            static_cast<std::size_t>(8 * m) ||
        H5Tequal(mt.get(), want) <= 0)
      return false;
  }
  return true;
}

}  // namespace

using h5::check_status;
using h5::fail;
using h5::read_attr_text;
using h5::silence_hdf5;

ResultsReader::ResultsReader(const std::string& path) : path_(path) {
  silence_hdf5();
  if (!std::filesystem::exists(path)) fail(path, "no such file");
  file_ = h5::open_read_only(path);
  if (file_ < 0) fail(path, "not an HDF5 file");
  try {
    first_id_ = std::stoull(read_attr_text(file_, "ids_begin").value_or("0"));
  } catch (const std::logic_error&) {
    fail(path, "attribute ids_begin is not a number");
  }
  // A run with --keep top:... stores its kept rows in /kept (ids ascending) instead of /results.
  if (H5Lexists(file_, "results", H5P_DEFAULT) > 0) {
    results_ = H5Dopen2(file_, "results", H5P_DEFAULT);
  } else if (H5Lexists(file_, "kept", H5P_DEFAULT) > 0 &&
             read_attr_text(file_, "complete").value_or("0") == "1") {
    results_ = H5Dopen2(file_, "kept", H5P_DEFAULT);  // written once the run is complete
    kept_only_ = true;
  } else if (read_attr_text(file_, "keep").value_or("all") != "all") {
    return;  // --keep none (or a run not ended yet): attributes and /aggregates only
  }
  if (results_ < 0) fail(path, "no /results dataset: not a threadx results file");
  type_ = H5Dget_type(results_);
  row_size_ = H5Tget_size(type_);
  const int members = H5Tget_nmembers(type_);
  for (int m = 0; m < members; ++m) {
    const auto idx = static_cast<unsigned>(m);
    char* name = H5Tget_member_name(type_, idx);
    H5Id mt(H5Tget_member_type(type_, idx));
    const std::size_t size = H5Tget_size(mt.get());
    Column::Kind kind = Column::Kind::F64;
    if (H5Tget_class(mt.get()) == H5T_INTEGER) {
      if (size == 4)
        kind = Column::Kind::I32;
      else
        kind = H5Tget_sign(mt.get()) == H5T_SGN_NONE ? Column::Kind::U64 : Column::Kind::I64;
    }
    columns_.push_back({name, kind, H5Tget_member_offset(type_, idx), size});
    H5free_memory(name);
  }
  H5Id space(H5Dget_space(results_));
  hsize_t n = 0;
  H5Sget_simple_extent_dims(space.get(), &n, nullptr);
  rows_ = n;
  if (std::endian::native == std::endian::little)
    results_chunk_rows_ = deflated_chunk_rows(results_);
  if (H5Lexists(file_, "blocks", H5P_DEFAULT) > 0) {
    blocks_set_ = H5Dopen2(file_, "blocks", H5P_DEFAULT);
    if (blocks_set_ < 0) fail(path, "cannot open /blocks");
    H5Id bspace(H5Dget_space(blocks_set_));
    hsize_t dims[2] = {0, 0};
    if (H5Sget_simple_extent_ndims(bspace.get()) != 2 ||
        H5Sget_simple_extent_dims(bspace.get(), dims, nullptr) < 0 || dims[0] != rows_ ||
        dims[1] < static_cast<hsize_t>(kMinBlocks) || dims[1] > static_cast<hsize_t>(kMaxBlocks))
      fail(path, "/blocks is not a (combinations, S) table with 2 <= S <= 64");
    blocks_ = static_cast<int>(dims[1]);
    if (std::endian::native == std::endian::little && packed_cells(blocks_set_))
      blocks_chunk_rows_ = deflated_chunk_rows(blocks_set_, dims[1]);
  }
}

ResultsReader::~ResultsReader() {
  for (std::int64_t h : {blocks_set_, type_, results_, file_})
    if (h >= 0) H5Idec_ref(h);
}

std::vector<BlockStats> ResultsReader::read_blocks(std::uint64_t begin, std::uint64_t count) const {
  if (blocks_ == 0) throw InputError(path_ + ": no /blocks: run the sweep with --blocks S");
  if (begin + count > rows_) throw std::logic_error("read_blocks: rows outside /blocks");
  const auto s = static_cast<std::uint64_t>(blocks_);
  std::vector<BlockStats> out(count * s);
  if (count == 0) return out;
  // The file's packed 28-byte cells, converted by field name into the padded struct.
  H5Id mem_type(H5Tcreate(H5T_COMPOUND, sizeof(BlockStats)));
  H5Tinsert(mem_type.get(), "sum_r", offsetof(BlockStats, sum_r), H5T_NATIVE_DOUBLE);
  H5Tinsert(mem_type.get(), "sum_r2", offsetof(BlockStats, sum_r2), H5T_NATIVE_DOUBLE);
  H5Tinsert(mem_type.get(), "equity", offsetof(BlockStats, equity), H5T_NATIVE_DOUBLE);
  H5Tinsert(mem_type.get(), "trades", offsetof(BlockStats, trades), H5T_NATIVE_INT32);
  if (blocks_chunk_rows_ > 0) {
    std::vector<unsigned char> cells(count * s * kBlockCellSize);
    if (read_deflated(blocks_set_, blocks_chunk_rows_, kBlockCellSize, s * kBlockCellSize, begin,
                      count, cells.data())) {
      for (std::size_t i = 0; i < out.size(); ++i) {
        const unsigned char* c = cells.data() + i * kBlockCellSize;
        std::memcpy(&out[i].sum_r, c, 8);
        std::memcpy(&out[i].sum_r2, c + 8, 8);
        std::memcpy(&out[i].equity, c + 16, 8);
        std::memcpy(&out[i].trades, c + 24, 4);
      }
      return out;
    }
  }
  const hsize_t start[2] = {begin, 0}, cnt[2] = {count, s};
  H5Id mem(H5Screate_simple(2, cnt, nullptr));
  H5Id fs(H5Dget_space(blocks_set_));
  H5Sselect_hyperslab(fs.get(), H5S_SELECT_SET, start, nullptr, cnt, nullptr);
  if (H5Dread(blocks_set_, mem_type.get(), mem.get(), fs.get(), H5P_DEFAULT, out.data()) < 0)
    throw InputError(path_ +
                     ": cannot read /blocks (its cells must be {sum_r, sum_r2, equity, "
                     "trades})");
  return out;
}

std::vector<unsigned char> ResultsReader::read_rows(std::uint64_t begin,
                                                    std::uint64_t count) const {
  require_rows();
  std::vector<unsigned char> out(count * row_size_);
  if (count == 0) return out;
  if (results_chunk_rows_ > 0 &&
      read_deflated(results_, results_chunk_rows_, row_size_, row_size_, begin, count, out.data()))
    return out;
  check_status(h5::read_range(results_, type_, begin, count, out.data()), path_, "read /results");
  return out;
}

std::string ResultsReader::storage() const {
  const h5::Storage st = h5::storage_of(results_);
  const std::string chunks = st.chunk_rows > 0
                                 ? ", chunks of " + std::to_string(st.chunk_rows) + " rows"
                                 : std::string(", contiguous");
  if (!st.threadx_filters) return "filtered (not as threadx writes it)" + chunks;
  if (st.deflate_level == 0) return "uncompressed" + chunks;
  return "shuffle + deflate level " + std::to_string(st.deflate_level) + chunks;
}

void ResultsReader::require_rows() const {
  if (results_ >= 0) return;
  fail(path_, "made with --keep " + read_attr_text(file_, "keep").value_or("") +
                  ": it holds no rows" +
                  (read_attr_text(file_, "complete").value_or("0") == "1"
                       ? std::string(", only /aggregates")
                       : std::string(" yet (the run has not ended: --resume it)")));
}

std::vector<std::uint8_t> ResultsReader::read_done() const {
  require_rows();
  if (kept_only_) return std::vector<std::uint8_t>(rows_, 1);  // every kept row is done
  H5Id done(H5Dopen2(file_, "done", H5P_DEFAULT));
  if (done.get() < 0) fail(path_, "no /done dataset");
  std::vector<std::uint8_t> flags(rows_);
  check_status(H5Dread(done.get(), H5T_NATIVE_UINT8, H5S_ALL, H5S_ALL, H5P_DEFAULT, flags.data()),
               path_, "read /done");
  return flags;
}

std::optional<StoredAggregates> ResultsReader::read_aggregates() const {
  if (H5Lexists(file_, "aggregates", H5P_DEFAULT) <= 0) return std::nullopt;
  H5Id group(H5Gopen2(file_, "aggregates", H5P_DEFAULT));
  if (group.get() < 0) fail(path_, "cannot open /aggregates");
  StoredAggregates a;
  auto text = [&](const char* name) {
    const std::optional<std::string> v = read_attr_text(group.get(), name);
    if (!v) fail(path_, std::string("/aggregates has no attribute '") + name + "'");
    return *v;
  };
  auto list = [&](const char* name) {
    std::vector<std::string> out;
    const std::string v = text(name);
    for (std::size_t at = 0; at < v.size();) {
      const std::size_t comma = std::min(v.find(',', at), v.size());
      out.push_back(v.substr(at, comma - at));
      at = comma + 1;
    }
    return out;
  };
  auto number = [&](const char* name) {
    try {
      return std::stod(text(name));
    } catch (const std::logic_error&) {
      fail(path_, std::string("/aggregates attribute '") + name + "' is not a number");
    }
  };
  a.metrics = list("metrics");
  a.axes = list("axes");
  a.histogram_metric = text("histogram_metric");
  a.histogram_lo = number("histogram_lo");
  a.histogram_hi = number("histogram_hi");
  // Reads dataset `name` whole into out, which must hold `n` elements of its shape.
  auto read = [&](const char* name, hid_t type, auto& out, std::uint64_t n) {
    H5Id set(H5Dopen2(group.get(), name, H5P_DEFAULT));
    if (set.get() < 0) fail(path_, std::string("/aggregates has no dataset '") + name + "'");
    H5Id space(H5Dget_space(set.get()));
    if (H5Sget_simple_extent_npoints(space.get()) != static_cast<hssize_t>(n))
      fail(path_,
           std::string("/aggregates/") + name + " does not have " + std::to_string(n) + " values");
    out.resize(n);
    check_status(H5Dread(set.get(), type, H5S_ALL, H5S_ALL, H5P_DEFAULT, out.data()), path_,
                 "read /aggregates");
  };
  {
    H5Id set(H5Dopen2(group.get(), "count", H5P_DEFAULT));
    if (set.get() < 0) fail(path_, "/aggregates has no dataset 'count'");
    H5Id space(H5Dget_space(set.get()));
    hsize_t dims[2] = {0, 0};
    if (H5Sget_simple_extent_ndims(space.get()) != 2 ||
        H5Sget_simple_extent_dims(space.get(), dims, nullptr) < 0 || dims[1] != a.metrics.size())
      fail(path_, "/aggregates/count is not a (cells, metrics) table");
    a.cells = dims[0];
  }
  const std::uint64_t n = a.cells * a.metrics.size();
  read("count", H5T_NATIVE_UINT64, a.count, n);
  read("max_id", H5T_NATIVE_UINT64, a.max_id, n);
  read("min_id", H5T_NATIVE_UINT64, a.min_id, n);
  read("sum", H5T_NATIVE_DOUBLE, a.sum, n);
  read("sumsq", H5T_NATIVE_DOUBLE, a.sumsq, n);
  read("max", H5T_NATIVE_DOUBLE, a.max, n);
  read("min", H5T_NATIVE_DOUBLE, a.min, n);
  const double bins = number("histogram_bins");
  if (!(bins >= 1 && bins <= 1e6)) fail(path_, "/aggregates attribute 'histogram_bins' is not 1+");
  read("histogram", H5T_NATIVE_UINT64, a.histogram, static_cast<std::uint64_t>(bins) + 3);
  std::vector<std::uint64_t> combinations;
  read("combinations", H5T_NATIVE_UINT64, combinations, 1);
  a.combinations = combinations.front();
  return a;
}

std::vector<std::pair<std::string, std::string>> ResultsReader::attributes() const {
  const std::vector<std::string> names = h5::attribute_names(file_);
  std::vector<std::pair<std::string, std::string>> out;
  for (const std::string& n : names) out.emplace_back(n, read_attr_text(file_, n).value_or(""));
  return out;
}

std::optional<std::string> ResultsReader::attribute(const std::string& name) const {
  return read_attr_text(file_, name);
}

const Column* ResultsReader::find(const std::string& name) const {
  return find_column(columns_, name);
}

}  // namespace threadx
