// HDF5 results file (see results_file.hpp). HDF5's own error stack printing is turned off; every
// failing call becomes an OutputError naming the file and the operation.
#include "results/results_file.hpp"

#include <type_traits>
#include <variant>

#include <hdf5.h>

#include <algorithm>
#include <cstddef>
#include <cstring>
#include <filesystem>
#include <stdexcept>
#include <thread>
#include <tuple>
#include <utility>

#include "common/error.hpp"
#include "common/time_format.hpp"
#include "results/h5_id.hpp"
#include "results/h5_support.hpp"

namespace threadx {
namespace {

using h5::check;
using h5::check_status;
using h5::fail;
using h5::read_attr_text;
using h5::silence_hdf5;

constexpr std::uint64_t kRowsPerChunk = 16384;
constexpr std::uint64_t kFlagsPerChunk = 1 << 20;

void write_attr(hid_t obj, const std::string& path, const std::string& name,
                const std::string& value) {
  H5Id type(H5Tcopy(H5T_C_S1));
  H5Tset_size(type.get(), std::max<std::size_t>(value.size(), 1));
  H5Tset_strpad(type.get(), H5T_STR_NULLPAD);
  H5Id space(H5Screate(H5S_SCALAR));
  if (H5Aexists(obj, name.c_str()) > 0) H5Adelete(obj, name.c_str());
  H5Id attr(check(H5Acreate2(obj, name.c_str(), type.get(), space.get(), H5P_DEFAULT, H5P_DEFAULT),
                  path, "attribute create"));
  const std::string padded = value.empty() ? std::string(1, '\0') : value;
  check_status(H5Awrite(attr.get(), type.get(), padded.data()), path, "attribute write");
}

template <class T>
void write_attr_num(hid_t obj, const std::string& path, const std::string& name, T value,
                    hid_t type) {
  H5Id space(H5Screate(H5S_SCALAR));
  if (H5Aexists(obj, name.c_str()) > 0) H5Adelete(obj, name.c_str());
  H5Id attr(check(H5Acreate2(obj, name.c_str(), type, space.get(), H5P_DEFAULT, H5P_DEFAULT), path,
                  "attribute create"));
  check_status(H5Awrite(attr.get(), type, &value), path, "attribute write");
}

void write_attr(hid_t obj, const std::string& path, const std::string& name, std::int64_t v) {
  write_attr_num(obj, path, name, v, H5T_NATIVE_INT64);
}
void write_attr(hid_t obj, const std::string& path, const std::string& name, double v) {
  write_attr_num(obj, path, name, v, H5T_NATIVE_DOUBLE);
}

template <class T>
void write_attr_array(hid_t obj, const std::string& path, const std::string& name,
                      const std::vector<T>& values, hid_t type) {
  const hsize_t n = values.size();
  H5Id space(H5Screate_simple(1, &n, nullptr));
  if (H5Aexists(obj, name.c_str()) > 0) H5Adelete(obj, name.c_str());
  H5Id attr(check(H5Acreate2(obj, name.c_str(), type, space.get(), H5P_DEFAULT, H5P_DEFAULT), path,
                  "attribute create"));
  if (n > 0) check_status(H5Awrite(attr.get(), type, values.data()), path, "attribute write");
}

void write_attr(hid_t obj, const std::string& path, const Attribute& a) {
  std::visit(
      [&](const auto& v) {
        using T = std::decay_t<decltype(v)>;
        if constexpr (std::is_same_v<T, std::vector<std::int64_t>>)
          write_attr_array(obj, path, a.name, v, H5T_NATIVE_INT64);
        else if constexpr (std::is_same_v<T, std::vector<double>>)
          write_attr_array(obj, path, a.name, v, H5T_NATIVE_DOUBLE);
        else
          write_attr(obj, path, a.name, v);
      },
      a.value);
}

std::string join(const std::vector<std::string>& parts, const char* sep) {
  std::string out;
  for (std::size_t i = 0; i < parts.size(); ++i) out += (i ? sep : "") + parts[i];
  return out;
}

std::string data_files(const BarSeries& bars) {
  std::vector<std::string> v;
  for (const DataSource& s : bars.sources) v.push_back(std::filesystem::path(s.path).filename());
  return join(v, "\n");
}
std::string data_sha(const BarSeries& bars) {
  std::vector<std::string> v;
  for (const DataSource& s : bars.sources) v.push_back(s.sha256);
  return join(v, "\n");
}

std::string swept_names(const Grid& grid) {
  std::vector<std::string> v;
  for (std::size_t p = 0; p < grid.param_count(); ++p)
    if (grid.swept[p]) v.emplace_back(grid.param(p).name);
  return join(v, ",");
}

// Writes (or, on resume, rewrites) the run-specific attributes.
void write_run_attrs(hid_t file, const std::string& path, const Provenance& prov) {
  write_attr(file, path, "program_version", prov.program_version);
  write_attr(file, path, "command_line", prov.command_line);
  write_attr(file, path, "ranks", prov.ranks);
  write_attr(file, path, "devices", prov.devices);
  write_attr(file, path, "isa", prov.isa);
  write_attr(file, path, "start_time", prov.start_time);
  write_attr(file, path, "end_time", std::string());
  write_attr(file, path, "complete", std::int64_t{0});
}

// OutputError unless the file at `path` (open as `file`) was made for this strategy version, grid
// text, data (hashes and bar count) and timeframe.
void expect_same_run(hid_t file, const std::string& path, const Grid& grid, const BarSeries& bars,
                     const std::string& timeframe, int blocks) {
  auto expect = [&](const char* name, const std::string& want, const char* what) {
    const auto have = read_attr_text(file, name);
    if (!have)
      fail(path, std::string("--resume: not a threadx results file (no attribute ") + name + ")");
    if (*have != want)
      fail(path, std::string("--resume: the file was made for ") + what + " (attribute " + name +
                     " differs); use another --out, or --force to start over");
  };
  expect("strategy", std::string(grid.strategy->name), "another strategy");
  expect("strategy_version", std::to_string(grid.strategy->version), "another strategy version");
  expect("grid_text", grid.source_text, "another grid");
  expect("data_sha256", data_sha(bars), "other data");
  expect("bar_count", std::to_string(bars.size()), "other data");
  expect("timeframe", timeframe, "another timeframe");
  const std::string have_blocks = read_attr_text(file, "blocks").value_or("0");
  if (have_blocks != std::to_string(blocks))
    fail(path, "--resume: the file was made " +
                   (have_blocks == "0" ? std::string("without --blocks")
                                       : "with --blocks " + have_blocks) +
                   (blocks == 0 ? std::string(", this run has none")
                                : ", this run has --blocks " + std::to_string(blocks)) +
                   "; resume with the same --blocks, or --force to start over");
}

// File access for a results file: a compressed one is written in SWMR mode, which needs the file
// format of HDF5 1.10 (libver bounds "latest") on every open for writing.
H5Id file_access(bool compressed) {
  H5Id fapl(H5Pcreate(H5P_FILE_ACCESS));
  if (compressed) H5Pset_libver_bounds(fapl.get(), H5F_LIBVER_LATEST, H5F_LIBVER_LATEST);
  return fapl;
}

}  // namespace

void check_same_run(const std::string& path, const Grid& grid, const BarSeries& bars,
                    const std::string& timeframe, int blocks) {
  silence_hdf5();
  const hid_t file = h5::open_read_only(path);
  if (file < 0) fail(path, "--resume: not an HDF5 file, or not readable");
  H5Id closer(file);
  expect_same_run(file, path, grid, bars, timeframe, blocks);
}

// ---- ResultsFile -------------------------------------------------------------------------------

namespace {

// Calls f(begin, end, owner) for each run [begin, end) of neighbouring /parts entries that name
// the same part file (owner -1: chunks no part file holds yet).
template <class F>
void for_each_run(const std::vector<std::int32_t>& owner, F f) {
  for (std::uint64_t c = 0; c < owner.size();) {
    std::uint64_t e = c + 1;
    while (e < owner.size() && owner[e] == owner[c]) ++e;
    f(c, e, owner[c]);
    c = e;
  }
}

// The first id and the number of ids a file holds (the whole grid unless --ids).
std::pair<ComboId, std::uint64_t> id_slice(const Grid& grid, const ResultsStorage& storage) {
  const ComboId end = storage.ids_end == 0 ? grid.size() : storage.ids_end;
  if (storage.ids_begin >= end || end > grid.size())
    throw std::invalid_argument("ResultsFile: ids outside the grid");
  return {storage.ids_begin, end - storage.ids_begin};
}

}  // namespace

struct ResultsFile::PartReader {
  H5Id file, set;
};

ResultsFile::ResultsFile(std::string path, const Grid& grid, int blocks)
    : path_(std::move(path)), grid_(&grid), layout_(grid, blocks) {}

ResultsFile::ResultsFile(ResultsFile&& o) noexcept : grid_(o.grid_), layout_(o.layout_) {
  *this = std::move(o);
}

ResultsFile& ResultsFile::operator=(ResultsFile&& o) noexcept {
  if (this != &o) {
    close();
    path_ = std::move(o.path_);
    grid_ = o.grid_;
    layout_ = std::move(o.layout_);
    keep_ = std::move(o.keep_);
    aggregates_ = o.aggregates_;
    summary_ = std::move(o.summary_);
    level_ = o.level_;
    rows_per_chunk_ = o.rows_per_chunk_;
    first_ = o.first_;
    ids_ = o.ids_;
    assembler_ = std::move(o.assembler_);
    compressor_ = std::move(o.compressor_);
    stored_ = std::move(o.stored_);
    bytes_in_ = o.bytes_in_;
    bytes_stored_ = o.bytes_stored_;
    by_ranks_ = o.by_ranks_;
    part_base_ = o.part_base_;
    part_files_ = std::move(o.part_files_);
    mapped_parts_ = std::move(o.mapped_parts_);
    lost_part_chunks_ = o.lost_part_chunks_;
    parts_ = std::exchange(o.parts_, -1);
    part_readers_ = std::move(o.part_readers_);
    file_ = std::exchange(o.file_, -1);
    results_ = std::exchange(o.results_, -1);
    done_ = std::exchange(o.done_, -1);
    row_type_ = std::exchange(o.row_type_, -1);
    blocks_ = std::exchange(o.blocks_, -1);
    cell_type_ = std::exchange(o.cell_type_, -1);
  }
  return *this;
}

ResultsFile::~ResultsFile() {
  close();
}

void ResultsFile::close() noexcept {
  part_readers_.clear();
  compressor_.reset();  // joins its threads; what they still held is dropped
  assembler_.reset();
  summary_.reset();
  for (std::int64_t* h : {&results_, &done_, &parts_, &blocks_, &row_type_, &cell_type_, &file_}) {
    if (*h >= 0) H5Idec_ref(*h);
    *h = -1;
  }
}

ResultsFile ResultsFile::create(const std::string& path, const Grid& grid, const BarSeries& bars,
                                const Provenance& prov, bool overwrite, int blocks,
                                const ResultsStorage& storage) {
  if (storage.deflate_level < 0 || storage.deflate_level > 9)
    throw std::invalid_argument("ResultsFile::create: deflate level must be 0..9");
  silence_hdf5();
  if (!overwrite && std::filesystem::exists(path))
    fail(path, "already exists; use --resume to finish it or --force to replace it");
  // Built under a temporary name and renamed into place once complete and flushed, so that a
  // file under `path` always has all its attributes and datasets, whenever the process dies.
  const std::string tmp = path + ".creating";
  if (!storage.keep.all() && blocks > 0)
    throw std::invalid_argument("ResultsFile::create: --blocks needs --keep all");
  ResultsFile f(path, grid, blocks);  // named by its final path in messages
  f.keep_ = storage.keep;
  std::tie(f.first_, f.ids_) = id_slice(grid, storage);
  f.aggregates_ = storage.aggregates;
  f.level_ = storage.keep.all() ? storage.deflate_level : 0;
  f.rows_per_chunk_ = f.level_ == 0            ? kRowsPerChunk
                      : storage.chunk_rows > 0 ? storage.chunk_rows
                                               : threadx::rows_per_chunk(blocks);
  if (storage.rows_by_ranks) {
    if (f.level_ == 0 || !storage.keep.all())
      throw std::invalid_argument("ResultsFile::create: --write-path ranks needs compressed rows");
    f.by_ranks_ = true;
    f.rows_per_chunk_ =
        storage.chunk_rows > 0 ? storage.chunk_rows : part_chunk_rows(grid, f.ids_, 1);
    if (grid.group_size() % f.rows_per_chunk_ != 0)
      throw std::invalid_argument(
          "ResultsFile::create: chunks of the ranks' rows must divide a group");
    for (int r = 0; r < storage.part_ranks; ++r)
      f.part_files_.push_back(part_name(storage.out_name, storage.session, r));
  }
  try {
    f.populate(tmp, grid, bars, prov);
  } catch (...) {
    f.close();
    std::error_code ec;
    std::filesystem::remove(tmp, ec);
    throw;
  }
  std::error_code ec;
  std::filesystem::rename(tmp, path, ec);
  if (ec) {
    f.close();
    std::filesystem::remove(tmp, ec);
    fail(path, "cannot rename " + tmp + " into place: " + ec.message());
  }
  if (f.level_ > 0 && !f.by_ranks_)
    f.start_pipeline(storage.compress_threads);  // the ranks compress
  if (!f.keep_.all()) f.summary_ = std::make_unique<SummaryStore>(f.file_, f.path_);
  return f;
}

void ResultsFile::populate(const std::string& file_path, const Grid& grid, const BarSeries& bars,
                           const Provenance& prov) {
  ResultsFile& f = *this;
  const std::string& path = path_;
  const bool compressed = f.level_ > 0;
  if (compressed && H5Zfilter_avail(H5Z_FILTER_DEFLATE) <= 0)
    fail(path, "this HDF5 library has no deflate filter; use --compress 0");
  // A compressed file, or one with checkpoints, is written in SWMR mode, which needs the file
  // format of HDF5 1.10.
  H5Id fapl = file_access(f.swmr());
  f.file_ = H5Fcreate(file_path.c_str(), H5F_ACC_TRUNC, H5P_DEFAULT, fapl.get());
  if (f.file_ < 0) fail(path, "cannot create file (directory missing or not writable?)");

  const hsize_t n = f.ids_;
  if (!f.by_ranks_) f.rows_per_chunk_ = std::min<std::uint64_t>(n, f.rows_per_chunk_);
  f.row_type_ = h5::row_type(f.layout_);
  H5Id no_cache(H5Pcreate(H5P_DATASET_ACCESS));
  H5Pset_chunk_cache(no_cache.get(), 0, 0, 1.0);
  // /results and /blocks: compressed, chunks allocated as they are stored; or allocated in full
  // and never filtered, so that writing a row changes no metadata.
  auto rows_dcpl = [&](int rank, const hsize_t* chunk) {
    return H5Id(h5::rows_dcpl(rank, chunk, f.level_));
  };
  if (f.by_ranks_) {
    // /parts: the part file (index into attribute part_files) of each storage chunk, -1 none.
    const hsize_t chunks = f.part_chunks();
    H5Id space(H5Screate_simple(1, &chunks, nullptr));
    H5Id dcpl(H5Pcreate(H5P_DATASET_CREATE));
    const hsize_t chunk = std::min<hsize_t>(chunks, kFlagsPerChunk);
    H5Pset_chunk(dcpl.get(), 1, &chunk);
    H5Pset_obj_track_times(dcpl.get(), 0);
    H5Pset_alloc_time(dcpl.get(), H5D_ALLOC_TIME_EARLY);
    H5Pset_fill_time(dcpl.get(), H5D_FILL_TIME_ALLOC);
    const std::int32_t none = -1;
    H5Pset_fill_value(dcpl.get(), H5T_NATIVE_INT32, &none);
    f.parts_ = check(H5Dcreate2(f.file_, "parts", H5T_NATIVE_INT32, space.get(), H5P_DEFAULT,
                                dcpl.get(), no_cache.get()),
                     path, "create /parts (disk full?)");
    write_attr(f.file_, path, "write_path", std::string("ranks"));
    write_attr(f.file_, path, "chunk_rows", static_cast<std::int64_t>(f.rows_per_chunk_));
    write_attr(f.file_, path, "deflate_level", static_cast<std::int64_t>(f.level_));
    write_attr(f.file_, path, "part_files", join(f.part_files_, "\n"));
  }
  if (f.keep_.all() && !f.by_ranks_) {
    H5Id space(H5Screate_simple(1, &n, nullptr));
    const hsize_t chunk = f.rows_per_chunk_;
    H5Id dcpl = rows_dcpl(1, &chunk);
    f.results_ = check(H5Dcreate2(f.file_, "results", f.row_type_, space.get(), H5P_DEFAULT,
                                  dcpl.get(), no_cache.get()),
                       path, "create /results (disk full?)");
  }
  if (f.keep_.all()) {
    H5Id space(H5Screate_simple(1, &n, nullptr));
    H5Id dcpl(H5Pcreate(H5P_DATASET_CREATE));
    const hsize_t chunk = std::min<hsize_t>(n, kFlagsPerChunk);
    H5Pset_chunk(dcpl.get(), 1, &chunk);
    H5Pset_obj_track_times(dcpl.get(), 0);
    H5Pset_alloc_time(dcpl.get(), H5D_ALLOC_TIME_EARLY);
    H5Pset_fill_time(dcpl.get(), H5D_FILL_TIME_ALLOC);
    const std::uint8_t zero = 0;
    H5Pset_fill_value(dcpl.get(), H5T_NATIVE_UINT8, &zero);
    f.done_ = check(H5Dcreate2(f.file_, "done", H5T_NATIVE_UINT8, space.get(), H5P_DEFAULT,
                               dcpl.get(), no_cache.get()),
                    path, "create /done (disk full?)");
  }
  if (f.layout_.blocks() > 0 && !f.by_ranks_) {
    const hsize_t dims[2] = {n, static_cast<hsize_t>(f.layout_.blocks())};
    H5Id space(H5Screate_simple(2, dims, nullptr));
    const hsize_t chunk[2] = {f.rows_per_chunk_, dims[1]};
    H5Id dcpl = rows_dcpl(2, chunk);
    f.cell_type_ = h5::cell_type();
    f.blocks_ = check(H5Dcreate2(f.file_, "blocks", f.cell_type_, space.get(), H5P_DEFAULT,
                                 dcpl.get(), no_cache.get()),
                      path, "create /blocks (disk full?)");
  }

  const hid_t root = f.file_;
  write_attr(root, path, "strategy", std::string(grid.strategy->name));
  write_attr(root, path, "strategy_version", std::int64_t{grid.strategy->version});
  write_attr(root, path, "grid_file", grid.path);
  write_attr(root, path, "grid_text", grid.source_text);
  write_attr(root, path, "swept_parameters", swept_names(grid));
  write_attr(root, path, "combinations", static_cast<std::int64_t>(grid.size()));
  write_attr(root, path, "ids_begin", static_cast<std::int64_t>(f.first_));
  write_attr(root, path, "ids_end", static_cast<std::int64_t>(f.first_ + f.ids_));
  write_attr(root, path, "groups", static_cast<std::int64_t>(grid.group_count()));
  write_attr(root, path, "group_size", static_cast<std::int64_t>(grid.group_size()));
  write_attr(root, path, "data_files", data_files(bars));
  write_attr(root, path, "data_sha256", data_sha(bars));
  write_attr(root, path, "timeframe", prov.timeframe);
  write_attr(root, path, "bar_count", static_cast<std::int64_t>(bars.size()));
  write_attr(root, path, "bar_ms", bars.bar_ms);
  write_attr(root, path, "bars_per_year", bars.bars_per_year());
  write_attr(root, path, "first_timestamp_ms", bars.time_ms.front());
  write_attr(root, path, "last_timestamp_ms", bars.time_ms.back());
  write_attr(root, path, "first_time", format_utc_ms(bars.time_ms.front()));
  write_attr(root, path, "last_time", format_utc_ms(bars.time_ms.back()));
  for (std::size_t p = 0; p < grid.param_count(); ++p)
    if (!grid.swept[p])
      write_attr(root, path, "param." + std::string(grid.param(p).name), grid.values[p].front());
  if (f.layout_.blocks() > 0)
    write_attr(root, path, "blocks", static_cast<std::int64_t>(f.layout_.blocks()));
  write_attr(root, path, "keep", f.keep_.text());
  if (!f.keep_.all()) SummaryStore::create(f.file_, path);
  create_final_summary(f.file_, path, grid, AggregateLayout(grid, f.aggregates_),
                       f.keep_.mode == KeepSpec::Mode::Top, f.row_type_);
  write_run_attrs(root, path, prov);
  check_status(H5Fflush(f.file_, H5F_SCOPE_GLOBAL), path, "flush");
  // From here on no object or attribute is created until finish() reopens the file.
  if (f.swmr()) check_status(H5Fstart_swmr_write(f.file_), path, "start of SWMR writing");
}

ResultsFile ResultsFile::open_for_resume(const std::string& path, const Grid& grid,
                                         const BarSeries& bars, const Provenance& prov, int blocks,
                                         const ResultsStorage& storage) {
  silence_hdf5();
  if (!std::filesystem::exists(path)) fail(path, "--resume: no such file");
  // Checked read-only first: a file that does not match is left exactly as it was (opening it
  // for writing would touch it).
  check_same_run(path, grid, bars, prov.timeframe, blocks);
  ResultsFile f(path, grid, blocks);
  f.keep_ = storage.keep;
  std::tie(f.first_, f.ids_) = id_slice(grid, storage);
  {
    H5Id probe(h5::open_read_only(path));
    const std::string have = read_attr_text(probe.get(), "keep").value_or("all");
    if (have != storage.keep.text())
      fail(path, "--resume: the file was made with --keep " + have + ", this run has --keep " +
                     storage.keep.text() +
                     "; resume with the same --keep, or --force to start "
                     "over");
    // Files from before --ids hold the whole grid.
    const std::string begin = read_attr_text(probe.get(), "ids_begin").value_or("0");
    const std::string end =
        read_attr_text(probe.get(), "ids_end").value_or(std::to_string(grid.size()));
    const std::string want = std::to_string(f.first_) + ":" + std::to_string(f.first_ + f.ids_);
    if (begin + ":" + end != want)
      fail(path, "--resume: the file holds ids " + begin + ":" + end + ", this run has --ids " +
                     want + "; resume with the same --ids, or --force to start over");
  }
  if (f.keep_.all()) {
    H5Id probe(h5::open_read_only(path));
    if (read_attr_text(probe.get(), "write_path").value_or("rank0") == "ranks") {
      // The rows are in the part files: this run adds its own.
      f.by_ranks_ = true;
      f.level_ = std::stoi(read_attr_text(probe.get(), "deflate_level").value_or("0"));
      f.rows_per_chunk_ = std::stoull(read_attr_text(probe.get(), "chunk_rows").value_or("0"));
      if (f.level_ < 1 || f.level_ > 9 || f.rows_per_chunk_ == 0)
        fail(path,
             "--resume: attributes deflate_level and chunk_rows of a --write-path ranks "
             "file are missing or wrong");
      f.part_files_ = part_file_names(read_attr_text(probe.get(), "part_files").value_or(""));
      f.part_base_ = static_cast<int>(f.part_files_.size());
      for (int r = 0; r < storage.part_ranks; ++r)
        f.part_files_.push_back(part_name(storage.out_name, storage.session, r));
    }
  }
  if (f.keep_.all() && !f.by_ranks_) {
    H5Id probe(h5::open_read_only(path));
    H5Id results(check(H5Dopen2(probe.get(), "results", H5P_DEFAULT), path, "open /results"));
    const h5::Storage st = h5::storage_of(results.get());
    if (st.chunk_rows == 0 || !st.threadx_filters)
      fail(path, "--resume: /results is not stored as threadx writes it (repacked?)");
    f.level_ = st.deflate_level;
    f.rows_per_chunk_ = st.chunk_rows;
  }
  // A compressed file's writer may have been killed: its file still says it is open for SWMR
  // writing, which HDF5 refuses to open again unless told to clear that mark.
  H5Id fapl = file_access(f.swmr());
  if (f.swmr()) {
    hbool_t clear = 1;
    check_status(H5Pset(fapl.get(), "clear_status_flags", &clear), path,
                 "setting of clear_status_flags");
  }
  f.file_ = H5Fopen(path.c_str(), H5F_ACC_RDWR, fapl.get());
  if (f.file_ < 0)
    fail(path, "--resume: cannot open for writing (read-only, or in use by another run?)");
  // A writer killed inside a flush may have stored a chunk index that points past the file's
  // recorded end of allocated space (HDF5 writes that end last): new chunks must go after every
  // byte of the file, never over such a chunk, whose flags are unset and which is written again.
  if (f.swmr())
    check_status(H5Fincrement_filesize(f.file_, 0), path, "--resume: setting the end of the file");
  expect_same_run(f.file_, path, grid, bars, prov.timeframe, blocks);

  H5Id no_cache(H5Pcreate(H5P_DATASET_ACCESS));
  H5Pset_chunk_cache(no_cache.get(), 0, 0, 1.0);
  f.row_type_ = h5::row_type(f.layout_);
  if (!f.keep_.all()) {
    f.summary_ = std::make_unique<SummaryStore>(f.file_, path);
    write_run_attrs(f.file_, path, prov);
    check_status(H5Fflush(f.file_, H5F_SCOPE_GLOBAL), path, "flush");
    check_status(H5Fstart_swmr_write(f.file_), path, "start of SWMR writing");
    return f;
  }
  if (f.by_ranks_) {
    f.done_ = check(H5Dopen2(f.file_, "done", no_cache.get()), path, "open /done");
    f.parts_ = check(H5Dopen2(f.file_, "parts", no_cache.get()), path, "open /parts");
    // A stopped run whose rows were never joined has no /results; one from before this rule
    // may: the join is made again at the end.
    for (const char* name : {"results", "blocks"})
      if (H5Lexists(f.file_, name, H5P_DEFAULT) > 0)
        check_status(H5Ldelete(f.file_, name, H5P_DEFAULT), path, "removal of a stale join");
    f.recover_parts();
    write_attr(f.file_, path, "part_files", join(f.part_files_, "\n"));
    write_run_attrs(f.file_, path, prov);
    check_status(H5Fflush(f.file_, H5F_SCOPE_GLOBAL), path, "flush");
    check_status(H5Fstart_swmr_write(f.file_), path, "start of SWMR writing");
    return f;
  }
  f.results_ = check(H5Dopen2(f.file_, "results", no_cache.get()), path, "open /results");
  f.done_ = check(H5Dopen2(f.file_, "done", no_cache.get()), path, "open /done");
  {
    H5Id ftype(H5Dget_type(f.results_));
    if (H5Tget_size(ftype.get()) != f.layout_.row_size())
      fail(path, "--resume: /results has another row layout");
  }
  if (blocks > 0) {
    f.blocks_ = check(H5Dopen2(f.file_, "blocks", no_cache.get()), path, "open /blocks");
    f.cell_type_ = h5::cell_type();
    H5Id space(H5Dget_space(f.blocks_));
    hsize_t dims[2] = {0, 0};
    if (H5Sget_simple_extent_ndims(space.get()) != 2 ||
        H5Sget_simple_extent_dims(space.get(), dims, nullptr) != 2 || dims[0] != f.ids_ ||
        dims[1] != static_cast<hsize_t>(blocks))
      fail(path, "--resume: /blocks does not have the shape (combinations, blocks)");
  }
  write_run_attrs(f.file_, path, prov);
  check_status(H5Fflush(f.file_, H5F_SCOPE_GLOBAL), path, "flush");
  if (f.level_ > 0) {
    check_status(H5Fstart_swmr_write(f.file_), path, "start of SWMR writing");
    f.start_pipeline(storage.compress_threads);
  }
  return f;
}

std::vector<std::uint8_t> ResultsFile::read_done() const {
  if (!keep_.all())
    throw std::logic_error("read_done: a file without /done (--keep " + keep_.text() + ")");
  std::vector<std::uint8_t> flags(ids_);
  check_status(H5Dread(done_, H5T_NATIVE_UINT8, H5S_ALL, H5S_ALL, H5P_DEFAULT, flags.data()), path_,
               "read /done");
  if (by_ranks_) {
    // A flag counts once its chunk's part file is recorded (a run killed between the two writes
    // computes the unit again).
    const ComboId base = part_shape().base();
    const std::vector<std::int32_t> parts = read_parts(0, part_chunks());
    for (std::uint64_t k = 0; k < flags.size(); ++k)
      if (parts[(first_ + k - base) / rows_per_chunk_] < 0) flags[k] = 0;
    return flags;
  }
  if (level_ > 0) {
    // Flags are set a chunk at a time; a chunk with any flag unset is computed again whole.
    for (std::uint64_t first = 0; first < flags.size(); first += rows_per_chunk_) {
      const auto b = flags.begin() + static_cast<std::ptrdiff_t>(first);
      const auto e = flags.begin() + static_cast<std::ptrdiff_t>(std::min<std::uint64_t>(
                                         flags.size(), first + rows_per_chunk_));
      if (!std::all_of(b, e, [](std::uint8_t v) { return v == 1; })) std::fill(b, e, 0);
    }
  }
  return flags;
}

void ResultsFile::start_pipeline(int compress_threads) {
  if (compress_threads <= 0)
    compress_threads = static_cast<int>(std::clamp(std::thread::hardware_concurrency(), 1u, 8u));
  assembler_ = std::make_unique<ChunkAssembler>(layout_, ids_, rows_per_chunk_);
  compressor_ = std::make_unique<ChunkCompressor>(layout_.row_size(), kBlockCellSize, level_,
                                                  compress_threads);
}

void ResultsFile::store(std::vector<CompressedChunk> chunks) {
  for (const CompressedChunk& c : chunks) {
    const hsize_t offset[2] = {c.index * rows_per_chunk_, 0};
    check_status(H5Dwrite_chunk(results_, H5P_DEFAULT, 0, offset, c.rows.size(), c.rows.data()),
                 path_, "write of a /results chunk");
    if (blocks_ >= 0)
      check_status(H5Dwrite_chunk(blocks_, H5P_DEFAULT, 0, offset, c.cells.size(), c.cells.data()),
                   path_, "write of a /blocks chunk");
    bytes_stored_ += c.rows.size() + c.cells.size();
    stored_.push_back(c.index);
  }
}

void ResultsFile::set_done(std::uint64_t first, std::uint64_t count) {
  const std::vector<std::uint8_t> ones(count, 1);
  check_status(h5::write_range(done_, H5T_NATIVE_UINT8, first, count, ones.data()), path_,
               "write /done");
}

std::vector<std::int32_t> ResultsFile::read_parts(std::uint64_t first, std::uint64_t count) const {
  std::vector<std::int32_t> out(count);
  if (count == 0) return out;
  // (After finish() closed it: opened again.)
  H5Id opened(parts_ < 0 ? check(H5Dopen2(file_, "parts", H5P_DEFAULT), path_, "open /parts") : -1);
  const hid_t set = parts_ >= 0 ? parts_ : opened.get();
  check_status(h5::read_range(set, H5T_NATIVE_INT32, first, count, out.data()), path_,
               "read /parts");
  return out;
}

void ResultsFile::mark_stored(ComboId begin, ComboId end, int part) {
  if (!by_ranks_) throw std::logic_error("mark_stored: the rows are stored by rank 0");
  const ComboId base = part_shape().base();
  const std::uint64_t r = rows_per_chunk_;
  if (begin < first_ || end > first_ + ids_ || begin >= end ||
      (begin != first_ && begin % r != 0) || (end != first_ + ids_ && end % r != 0))
    throw std::logic_error("mark_stored: not whole chunks of the ids this file holds");
  const std::uint64_t c0 = (begin - base) / r, c1 = (end - 1 - base) / r + 1;
  const std::vector<std::int32_t> owner(c1 - c0, part);
  check_status(h5::write_range(parts_, H5T_NATIVE_INT32, c0, c1 - c0, owner.data()), path_,
               "write /parts");
  set_done(begin - first_, end - begin);
}

void ResultsFile::recover_parts() {
  // The earlier runs' part files: a rank killed while writing left its file marked as open for
  // SWMR writing, which HDF5 (and so the virtual datasets over it) refuses to read. Clearing the
  // mark makes it readable again; its reported chunks were flushed before they were reported.
  // A file that cannot be opened for another reason is an error: its chunks are not given up.
  std::vector<bool> lost(static_cast<std::size_t>(part_base_), false);
  for (int i = 0; i < part_base_; ++i) {
    const std::string p = part_file_path(i);
    std::error_code ec;
    if (!std::filesystem::exists(p, ec)) {
      if (ec) fail(p, "cannot look for this part file of the run: " + ec.message());
      lost[static_cast<std::size_t>(i)] = true;
      continue;
    }
    H5Id fapl(H5Pcreate(H5P_FILE_ACCESS));
    hbool_t clear = 1;
    H5Pset_libver_bounds(fapl.get(), H5F_LIBVER_LATEST, H5F_LIBVER_LATEST);
    check_status(H5Pset(fapl.get(), "clear_status_flags", &clear), p,
                 "setting of clear_status_flags");
    H5Id part(H5Fopen(p.c_str(), H5F_ACC_RDWR, fapl.get()));
    if (!part.ok())
      fail(p,
           "--resume: cannot open this part file of the run for writing (permissions, or in "
           "use by a process of the stopped job?)");
    if (H5Lexists(part.get(), "results", H5P_DEFAULT) <= 0)
      fail(p, "--resume: not a part file of this run (no /results)");
  }
  // Chunks in a file that is gone (a node's local disk) are computed again: their /parts entries
  // and their /done flags are cleared.
  if (std::find(lost.begin(), lost.end(), true) == lost.end()) return;
  const ComboId base = part_shape().base();
  std::vector<std::int32_t> owner = read_parts(0, part_chunks());
  const std::vector<std::uint8_t> zeros(rows_per_chunk_, 0);
  for (std::uint64_t c = 0; c < owner.size(); ++c) {
    std::int32_t& o = owner[c];
    if (o < 0 || o >= part_base_ || !lost[static_cast<std::size_t>(o)]) continue;
    o = -1;
    ++lost_part_chunks_;
    const ComboId lo = std::max<ComboId>(first_, base + c * rows_per_chunk_);
    const ComboId hi = std::min<ComboId>(first_ + ids_, base + (c + 1) * rows_per_chunk_);
    check_status(h5::write_range(done_, H5T_NATIVE_UINT8, lo - first_, hi - lo, zeros.data()),
                 path_, "write /done");
  }
  check_status(h5::write_range(parts_, H5T_NATIVE_INT32, 0, owner.size(), owner.data()), path_,
               "write /parts");
}

std::string ResultsFile::part_file_path(int part) const {
  return (std::filesystem::path(path_).parent_path() / part_files_[static_cast<std::size_t>(part)])
      .string();
}

void ResultsFile::map_parts() {
  const PartShape shape = part_shape();
  const ComboId base = shape.base();
  const std::uint64_t r = rows_per_chunk_;
  const std::vector<std::int32_t> owner = read_parts(0, part_chunks());
  for (const char* name : {"results", "blocks"})
    if (H5Lexists(file_, name, H5P_DEFAULT) > 0)
      check_status(H5Ldelete(file_, name, H5P_DEFAULT), path_, "replace of a virtual dataset");
  const int s = layout_.blocks();
  for (const char* name : {"results", "blocks"}) {
    const bool cells = std::string(name) == "blocks";
    if (cells && s == 0) continue;
    const int rank = cells ? 2 : 1;
    const hsize_t vdims[2] = {ids_, static_cast<hsize_t>(s)};
    const hsize_t sdims[2] = {shape.end - base, static_cast<hsize_t>(s)};
    H5Id vspace(H5Screate_simple(rank, vdims, nullptr));
    H5Id sspace(H5Screate_simple(rank, sdims, nullptr));
    H5Id dcpl(H5Pcreate(H5P_DATASET_CREATE));
    check_status(H5Pset_layout(dcpl.get(), H5D_VIRTUAL), path_, "virtual layout");
    for_each_run(owner, [&](std::uint64_t c, std::uint64_t e, std::int32_t o) {
      if (o < 0) return;
      if (static_cast<std::size_t>(o) >= part_files_.size())
        fail(path_, "/parts names part file " + std::to_string(o) + " of " +
                        std::to_string(part_files_.size()));
      const std::string& part = part_files_[static_cast<std::size_t>(o)];
      if (std::find(mapped_parts_.begin(), mapped_parts_.end(), part) == mapped_parts_.end()) {
        // Written by ranks on other nodes: rank 0 must see it, or the file would read zeros.
        std::error_code ec;
        if (!std::filesystem::exists(part_file_path(o), ec))
          fail(part_file_path(o),
               "a rank wrote this part file, but rank 0 cannot see it: --write-path ranks "
               "needs --out on a file system every node shares");
        mapped_parts_.push_back(part);
      }
      const ComboId lo = std::max<ComboId>(first_, base + c * r);
      const ComboId hi = std::min<ComboId>(first_ + ids_, base + e * r);
      const hsize_t vstart[2] = {lo - first_, 0}, sstart[2] = {lo - base, 0};
      const hsize_t count[2] = {hi - lo, static_cast<hsize_t>(s)};
      H5Sselect_hyperslab(vspace.get(), H5S_SELECT_SET, vstart, nullptr, count, nullptr);
      H5Sselect_hyperslab(sspace.get(), H5S_SELECT_SET, sstart, nullptr, count, nullptr);
      check_status(H5Pset_virtual(dcpl.get(), vspace.get(), part.c_str(), name, sspace.get()),
                   path_, "virtual mapping");
    });
    H5Sselect_all(vspace.get());
    H5Id type(cells ? h5::cell_type() : h5::row_type(layout_));
    H5Id set(check(
        H5Dcreate2(file_, name, type.get(), vspace.get(), H5P_DEFAULT, dcpl.get(), H5P_DEFAULT),
        path_, "create of a virtual dataset over the part files"));
  }
}

void ResultsFile::write_packed(ComboId first_id, std::span<const unsigned char> rows) {
  if (!keep_.all()) throw std::logic_error("write_packed: a file without /results");
  const std::size_t per_row = layout_.run_size(1);
  if (rows.size() % per_row != 0 || first_id < first_ ||
      first_id - first_ + rows.size() / per_row > ids_)
    throw std::logic_error("write_packed: not whole rows of the ids this file holds");
  const std::uint64_t begin = first_id - first_;  // the first row
  bytes_in_ += rows.size();
  if (level_ > 0) {
    for (RawChunk& c : compressor_->take_spent()) assembler_->recycle(std::move(c));
    std::vector<RawChunk> full;
    assembler_->add(begin, rows, full);
    for (RawChunk& c : full) compressor_->submit(std::move(c));
    store(compressor_->take_ready());
    return;
  }
  bytes_stored_ += rows.size();
  const hsize_t start = begin, count = rows.size() / per_row;
  if (layout_.blocks() > 0) {
    const hsize_t s = static_cast<hsize_t>(layout_.blocks());
    const hsize_t cell_start[2] = {start, 0}, cell_count[2] = {count, s};
    H5Id cell_mem(H5Screate_simple(2, cell_count, nullptr));
    H5Id file_space(H5Dget_space(blocks_));
    H5Sselect_hyperslab(file_space.get(), H5S_SELECT_SET, cell_start, nullptr, cell_count, nullptr);
    check_status(H5Dwrite(blocks_, cell_type_, cell_mem.get(), file_space.get(), H5P_DEFAULT,
                          rows.data() + count * layout_.row_size()),
                 path_, "write /blocks");
  }
  check_status(h5::write_range(results_, row_type_, begin, count, rows.data()), path_,
               "write /results");
  // The flags go out only after the rows: a kill in between loses this unit, never corrupts it.
  set_done(begin, count);
}

void ResultsFile::flush() {
  if (compressor_) store(compressor_->take_ready());
  check_status(H5Fflush(file_, H5F_SCOPE_GLOBAL), path_, "flush");
  if (by_ranks_ && parts_ >= 0) {
    check_status(H5Dflush(parts_), path_, "flush of /parts");
    check_status(H5Dflush(done_), path_, "flush of /done");
    return;
  }
  if (stored_.empty() || !keep_.all()) return;
  // The chunks are in the file (SWMR flushes their index after them): now their flags, in runs
  // of neighbouring chunks.
  std::sort(stored_.begin(), stored_.end());
  for (std::size_t i = 0; i < stored_.size();) {
    std::size_t j = i + 1;
    while (j < stored_.size() && stored_[j] == stored_[j - 1] + 1) ++j;
    const std::uint64_t first = stored_[i] * rows_per_chunk_;
    const std::uint64_t end =
        std::min<std::uint64_t>(ids_, stored_[j - 1] * rows_per_chunk_ + rows_per_chunk_);
    set_done(first, end - first);
    i = j;
  }
  stored_.clear();
  // In SWMR mode HDF5 keeps these raw writes until told: send them to the operating system now.
  check_status(H5Dflush(done_), path_, "flush of /done");
}

void ResultsFile::drain() {
  if (!compressor_) return;
  store(compressor_->drain());
  flush();
}

void ResultsFile::write_checkpoint(std::span<const std::byte> bytes) {
  if (!summary_) throw std::logic_error("write_checkpoint: a file with --keep all");
  summary_->write_checkpoint(bytes);
}

std::vector<std::byte> ResultsFile::read_checkpoint() const {
  if (!summary_) throw std::logic_error("read_checkpoint: a file with --keep all");
  return summary_->read_checkpoint();
}

std::vector<unsigned char> ResultsFile::read_rows(ComboId begin, std::uint64_t count) const {
  if (!keep_.all() || begin + count > ids_) throw std::logic_error("read_rows: no such rows");
  std::vector<unsigned char> out(count * layout_.row_size());
  if (count == 0) return out;
  if (!by_ranks_) {
    check_status(h5::read_range(results_, row_type_, begin, count, out.data()), path_,
                 "read /results");
    return out;
  }
  // From the part files, run by run of chunks in one file.
  const ComboId base = part_shape().base(), first = first_ + begin, end = first + count;
  const std::uint64_t r = rows_per_chunk_, c0 = (first - base) / r;
  const std::vector<std::int32_t> owner = read_parts(c0, (end - 1 - base) / r + 1 - c0);
  for_each_run(owner, [&](std::uint64_t c, std::uint64_t e, std::int32_t o) {
    const ComboId lo = std::max(first, base + (c0 + c) * r);
    const ComboId hi = std::min(end, base + (c0 + e) * r);
    unsigned char* to = out.data() + (lo - first) * layout_.row_size();
    if (o < 0) {
      std::memset(to, 0, (hi - lo) * layout_.row_size());
    } else {
      check_status(h5::read_range(part_results(o), row_type_, lo - base, hi - lo, to), path_,
                   "read of a part file's /results");
    }
  });
  return out;
}

std::int64_t ResultsFile::part_results(int part) const {
  auto it = part_readers_.find(part);
  if (it == part_readers_.end()) {
    if (part < 0 || static_cast<std::size_t>(part) >= part_files_.size())
      fail(path_, "/parts names part file " + std::to_string(part) + " of " +
                      std::to_string(part_files_.size()));
    const std::string p = part_file_path(part);
    H5Id file(h5::open_read_only(p));
    if (!file.ok()) fail(p, "cannot open this part file of " + path_);
    H5Id set(check(H5Dopen2(file.get(), "results", H5P_DEFAULT), p, "open /results"));
    it = part_readers_
             .emplace(part,
                      std::make_unique<PartReader>(PartReader{std::move(file), std::move(set)}))
             .first;
  }
  return it->second->set.get();
}

std::uint64_t ResultsFile::finish(const std::vector<Attribute>& extra_attributes,
                                  const SweepSummary* summary) {
  drain();
  std::uint64_t done = 0;
  if (keep_.all()) {
    const std::vector<std::uint8_t> flags = read_done();
    done = static_cast<std::uint64_t>(std::count(flags.begin(), flags.end(), 1));
  } else if (summary != nullptr) {
    done = summary->covered().count();
  }
  const bool complete = done == ids_;
  // The summary's datasets were made with the file: filling them is SWMR-safe. (A file from
  // before --keep has none: they are created after SWMR writing ends, below.)
  const bool precreated = H5Lexists(file_, "aggregates", H5P_DEFAULT) > 0;
  if (summary != nullptr && precreated) {
    write_final_summary(file_, path_, *grid_, *summary, row_type_, ids_);
    flush();
  }
  if (swmr()) {
    // SWMR writing cannot create objects or attributes: close (which ends it) and open again.
    const std::int64_t row_type = std::exchange(row_type_, -1);
    close();
    row_type_ = row_type;
    H5Id fapl = file_access(true);
    file_ = H5Fopen(path_.c_str(), H5F_ACC_RDWR, fapl.get());
    if (file_ < 0) fail(path_, "cannot open again to record the end of the run");
  }
  // The rows are joined once they are all there: a stopped run's part files are still to grow.
  if (by_ranks_ && complete) map_parts();
  if (summary != nullptr && !precreated)
    write_final_summary(file_, path_, *grid_, *summary, row_type_, ids_);
  for (const Attribute& a : extra_attributes) write_attr(file_, path_, a);
  write_attr(file_, path_, "end_time", now_utc_iso());
  flush();
  // "complete" goes last, after everything else is on its way to disk.
  write_attr(file_, path_, "complete", std::int64_t{complete ? 1 : 0});
  flush();
  close();
  return done;
}

std::uint64_t rows_per_chunk(int blocks) {
  std::uint64_t rows = kRowsPerChunk;
  while (rows > 1024 && rows * static_cast<std::uint64_t>(std::max(blocks, 0)) > kRowsPerChunk * 8)
    rows /= 2;
  return rows;
}

std::uint64_t max_chunk_rows(const RowLayout& layout) {
  return std::max<std::uint64_t>(1, (std::uint64_t{64} << 20) / layout.run_size(1));
}

void write_attribute(std::int64_t object, const std::string& path, const Attribute& attribute) {
  write_attr(object, path, attribute);
}

}  // namespace threadx
