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
#include <map>
#include <memory>
#include <mutex>
#include <set>
#include <stdexcept>
#include <thread>

#include "common/error.hpp"
#include "results/chunk_codec.hpp"
#include "results/h5_id.hpp"
#include "results/h5_support.hpp"

namespace threadx {

// Where a dataset stored as threadx deflates it keeps its chunks: itself, or for a virtual
// dataset (--write-path ranks) the part files' datasets, runs of rows each.
struct StoredChunks {
  struct Piece {
    std::uint64_t begin = 0, end = 0;  // rows [begin, end) of the dataset read
    std::uint64_t src_begin = 0;       // are rows [src_begin, ...) of `set`
    hid_t set = -1;
  };
  std::uint64_t chunk_rows = 0;  // 0: not stored as threadx deflates it (read through HDF5)
  std::vector<Piece> pieces;     // in row order
  bool is_virtual = false;
};

namespace {

// One stored chunk to inflate, and where its wanted rows go.
struct ChunkJob {
  std::vector<unsigned char> bytes;  // as stored (empty: never stored, reads as zeros)
  std::size_t from = 0, size = 0;    // the wanted bytes in the inflated chunk
  unsigned char* to = nullptr;
};

// Rows [begin, begin + count) of a dataset stored as threadx deflates it, possibly over several
// datasets (the part files of a virtual dataset), read by decompressing the chunks directly: HDF5
// reads the stored bytes (one thread: the library is not thread-safe), then up to one thread per
// core unshuffles and inflates them. Rows no piece covers, and chunks never stored, read as zeros
// (their /done flags are 0). False when a chunk was stored with a filter skipped: the caller
// reads through HDF5 instead.
bool read_deflated(const StoredChunks& source, std::size_t elem_size, std::size_t row_bytes,
                   std::uint64_t begin, std::uint64_t count, unsigned char* out) {
  const std::uint64_t r = source.chunk_rows, end = begin + count;
  std::memset(out, 0, count * row_bytes);
  std::vector<ChunkJob> jobs;
  for (const StoredChunks::Piece& p : source.pieces) {
    const std::uint64_t lo = std::max(begin, p.begin), hi = std::min(end, p.end);
    if (lo >= hi) continue;
    // In the piece's own dataset: rows [s_lo, s_hi).
    const std::uint64_t s_lo = p.src_begin + (lo - p.begin), s_hi = s_lo + (hi - lo);
    for (std::uint64_t k = s_lo / r; k * r < s_hi; ++k) {
      const hsize_t offset[2] = {k * r, 0};
      hsize_t size = 0;
      if (H5Dget_chunk_storage_size(p.set, offset, &size) < 0) return false;
      if (size == 0) continue;
      ChunkJob job;
      job.bytes.resize(size);
      std::uint32_t mask = 0;
      if (H5Dread_chunk(p.set, H5P_DEFAULT, offset, &mask, job.bytes.data()) < 0 || mask != 0)
        return false;
      const std::uint64_t a = std::max(s_lo, k * r), b = std::min(s_hi, (k + 1) * r);
      job.from = (a - k * r) * row_bytes;
      job.size = (b - a) * row_bytes;
      job.to = out + (lo + (a - s_lo) - begin) * row_bytes;
      jobs.push_back(std::move(job));
    }
  }
  std::atomic<std::size_t> next{0};
  std::exception_ptr error;
  std::mutex error_mutex;
  auto work = [&] {
    for (std::size_t j = next++; j < jobs.size(); j = next++) {
      try {
        const std::vector<unsigned char> raw =
            decompress_chunk(jobs[j].bytes, elem_size, r * row_bytes);
        std::memcpy(jobs[j].to, raw.data() + jobs[j].from, jobs[j].size);
      } catch (...) {
        std::lock_guard lock(error_mutex);
        error = std::current_exception();
        return;
      }
    }
  };
  const unsigned helpers = static_cast<unsigned>(
      std::min<std::size_t>(jobs.size(), std::max(1u, std::thread::hardware_concurrency())));
  std::vector<std::thread> threads;
  for (unsigned t = 1; t < helpers; ++t) threads.emplace_back(work);
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

bool is_virtual(hid_t dset) {
  H5Id dcpl(H5Dget_create_plist(dset));
  return dcpl.ok() && H5Pget_layout(dcpl.get()) == H5D_VIRTUAL;
}

std::string virtual_text(hid_t dcpl, std::size_t i, ssize_t (*get)(hid_t, size_t, char*, size_t)) {
  const ssize_t n = get(dcpl, i, nullptr, 0);
  if (n < 0) return {};
  std::string s(static_cast<std::size_t>(n) + 1, '\0');
  get(dcpl, i, s.data(), s.size());
  s.resize(static_cast<std::size_t>(n));
  return s;
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
  } else if (read_attr_text(file_, "keep").value_or("all") != "all" ||
             read_attr_text(file_, "write_path").value_or("") == "ranks") {
    // --keep none, a --keep top run not ended yet, or rows stored by the ranks and not joined
    // yet (the run has not ended): attributes and /aggregates only.
    return;
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
  results_chunks_ = stored_chunks(results_, 0);
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
    blocks_chunks_ = stored_chunks(blocks_set_, dims[1]);
    if (!packed_cells(blocks_set_)) blocks_chunks_->chunk_rows = 0;
  }
}

ResultsReader::~ResultsReader() {
  for (auto it = sources_.rbegin(); it != sources_.rend(); ++it) H5Idec_ref(*it);
  for (std::int64_t h : {blocks_set_, type_, results_, file_})
    if (h >= 0) H5Idec_ref(h);
}

std::unique_ptr<StoredChunks> ResultsReader::stored_chunks(std::int64_t dset, std::uint64_t cols) {
  auto out = std::make_unique<StoredChunks>();
  const bool little = std::endian::native == std::endian::little;
  if (!is_virtual(dset)) {
    out->chunk_rows = little ? deflated_chunk_rows(dset, cols) : 0;
    out->pieces.push_back({0, rows_, 0, dset});
    return out;
  }
  // A virtual dataset over the part files the ranks wrote (--write-path ranks). HDF5 reads a
  // missing source as zeros: every one must be there.
  H5Id dcpl(H5Dget_create_plist(dset));
  std::size_t n = 0;
  check_status(H5Pget_virtual_count(dcpl.get(), &n), path_, "read of a virtual dataset's map");
  std::uint64_t r = 0;
  bool fast = little;
  for (std::size_t i = 0; i < n; ++i) {
    const std::string name = virtual_text(dcpl.get(), i, H5Pget_virtual_filename);
    const std::string set = virtual_text(dcpl.get(), i, H5Pget_virtual_dsetname);
    std::filesystem::path src(name);
    if (src.is_relative()) src = std::filesystem::path(path_).parent_path() / src;
    const std::string key = src.string() + "\n" + set;
    auto it = source_sets_.find(key);
    if (it == source_sets_.end()) {
      std::error_code ec;
      if (!std::filesystem::exists(src, ec))
        fail(path_, "its rows are in part file " + src.string() +
                        ", which is missing (keep the .parts directory beside the file)");
      auto file = source_files_.find(src.string());
      if (file == source_files_.end()) {
        const hid_t f = h5::open_read_only(src.string());
        if (f < 0) fail(src.string(), "cannot open this part file of " + path_);
        sources_.push_back(f);
        file = source_files_.emplace(src.string(), f).first;
      }
      const hid_t d = H5Dopen2(file->second, set.c_str(), H5P_DEFAULT);
      if (d < 0) fail(src.string(), "no /" + set + " in this part file of " + path_);
      sources_.push_back(d);
      it = source_sets_.emplace(key, d).first;
    }
    H5Id vspace(H5Pget_virtual_vspace(dcpl.get(), i));
    H5Id sspace(H5Pget_virtual_srcspace(dcpl.get(), i));
    hsize_t v0[2] = {0, 0}, v1[2] = {0, 0}, s0[2] = {0, 0}, s1[2] = {0, 0};
    if (H5Sget_select_bounds(vspace.get(), v0, v1) < 0 ||
        H5Sget_select_bounds(sspace.get(), s0, s1) < 0 || v1[0] - v0[0] != s1[0] - s0[0] ||
        (cols > 0 && (v0[1] != 0 || v1[1] + 1 != cols))) {
      fast = false;
      continue;
    }
    out->pieces.push_back({v0[0], v1[0] + 1, s0[0], it->second});
    const std::uint64_t cr = deflated_chunk_rows(it->second, cols);
    if (cr == 0 || (r != 0 && cr != r)) fast = false;
    r = cr;
  }
  std::sort(
      out->pieces.begin(), out->pieces.end(),
      [](const StoredChunks::Piece& a, const StoredChunks::Piece& b) { return a.begin < b.begin; });
  out->chunk_rows = fast ? r : 0;
  out->is_virtual = true;
  return out;
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
  if (blocks_chunks_->chunk_rows > 0) {
    std::vector<unsigned char> cells(count * s * kBlockCellSize);
    if (read_deflated(*blocks_chunks_, kBlockCellSize, s * kBlockCellSize, begin, count,
                      cells.data())) {
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
  if (results_chunks_->chunk_rows > 0 &&
      read_deflated(*results_chunks_, row_size_, row_size_, begin, count, out.data()))
    return out;
  check_status(h5::read_range(results_, type_, begin, count, out.data()), path_, "read /results");
  return out;
}

std::string ResultsReader::storage() const {
  if (!results_chunks_) return "no rows";
  if (results_chunks_->is_virtual) {
    if (results_chunks_->pieces.empty()) return "virtual, over no part file";
    const StoredChunks::Piece& p = results_chunks_->pieces.front();
    const h5::Storage st = h5::storage_of(p.set);
    std::set<hid_t> files;
    for (const StoredChunks::Piece& q : results_chunks_->pieces) files.insert(q.set);
    std::string text = "virtual, over " + std::to_string(files.size()) + " part file(s) in " +
                       std::to_string(results_chunks_->pieces.size()) + " runs of chunks";
    if (st.threadx_filters && st.deflate_level > 0)
      text += ": shuffle + deflate level " + std::to_string(st.deflate_level) + ", chunks of " +
              std::to_string(st.chunk_rows) + " rows";
    return text;
  }
  const h5::Storage st = h5::storage_of(results_);
  const std::string chunks = st.chunk_rows > 0
                                 ? ", chunks of " + std::to_string(st.chunk_rows) + " rows"
                                 : std::string(", contiguous");
  if (!st.threadx_filters) return "filtered (not as threadx writes it)" + chunks;
  if (st.deflate_level == 0) return "uncompressed" + chunks;
  return "shuffle + deflate level " + std::to_string(st.deflate_level) + chunks;
}

bool ResultsReader::rows_joined_later() const {
  return results_ < 0 && read_attr_text(file_, "write_path").value_or("") == "ranks";
}

void ResultsReader::require_rows() const {
  if (results_ >= 0) return;
  if (read_attr_text(file_, "write_path").value_or("") == "ranks")
    fail(path_,
         "its rows are in part files the ranks wrote, joined when the run ends: the run has not "
         "ended (--resume it)");
  fail(path_, "made with --keep " + read_attr_text(file_, "keep").value_or("") +
                  ": it holds no rows" +
                  (read_attr_text(file_, "complete").value_or("0") == "1"
                       ? std::string(", only /aggregates")
                       : std::string(" yet (the run has not ended: --resume it)")));
}

std::vector<std::uint8_t> ResultsReader::read_done() const {
  if (!rows_joined_later()) require_rows();
  if (kept_only_) return std::vector<std::uint8_t>(rows_, 1);  // every kept row is done
  H5Id done(H5Dopen2(file_, "done", H5P_DEFAULT));
  if (done.get() < 0) fail(path_, "no /done dataset");
  H5Id space(H5Dget_space(done.get()));
  hsize_t n = 0;
  if (H5Sget_simple_extent_ndims(space.get()) != 1 ||
      H5Sget_simple_extent_dims(space.get(), &n, nullptr) < 0 || (results_ >= 0 && n != rows_))
    fail(path_, "/done does not have one flag per row");
  std::vector<std::uint8_t> flags(n);
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
