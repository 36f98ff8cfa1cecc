// A rank's own file of rows (see part_file.hpp).
#include "results/part_file.hpp"

#include <hdf5.h>

#include <algorithm>
#include <filesystem>
#include <mutex>
#include <stdexcept>
#include <system_error>
#include <utility>
#include <vector>

#include "results/h5_id.hpp"
#include "results/h5_lock.hpp"
#include "results/h5_support.hpp"

namespace threadx {

using h5::check;
using h5::check_status;
using h5::fail;

std::uint64_t part_chunk_rows(const Grid& grid, std::uint64_t ids, std::uint64_t slots) {
  constexpr std::uint64_t kLeast = 64, kMost = 16384, kChunksPerSlot = 512;
  const std::uint64_t cap = std::clamp<std::uint64_t>(
      ids / (std::max<std::uint64_t>(slots, 1) * kChunksPerSlot), kLeast, kMost);
  const std::uint64_t g = grid.group_size();
  if (g <= cap) return g;
  for (std::uint64_t r = cap; r >= kLeast; --r)
    if (g % r == 0) return r;
  // No divisor in [64, cap] (a prime group size, say): the smallest one above.
  for (std::uint64_t r = cap + 1; r < g; ++r)
    if (g % r == 0) return r;
  return g;
}

std::string part_name(const std::string& out_name, const std::string& session, int rank) {
  return out_name + ".parts/" + session + "-r" + std::to_string(rank) + ".h5";
}

std::string part_path(const std::string& out, const std::string& session, int rank) {
  const std::filesystem::path p(out);
  return (p.parent_path() / part_name(p.filename().string(), session, rank)).string();
}

std::vector<std::string> part_file_names(const std::string& attribute_text) {
  std::vector<std::string> names;
  for (std::size_t at = 0; at < attribute_text.size();) {
    const std::size_t nl = std::min(attribute_text.find('\n', at), attribute_text.size());
    names.push_back(attribute_text.substr(at, nl - at));
    at = nl + 1;
  }
  return names;
}

std::vector<std::string> recorded_part_files(const std::string& results_path) {
  std::error_code ec;
  if (!std::filesystem::is_regular_file(results_path, ec)) return {};
  const std::lock_guard lock(h5::library_mutex());
  h5::silence_hdf5();
  H5Id file(h5::open_read_only(results_path));
  if (!file.ok()) return {};
  return part_file_names(h5::read_attr_text(file.get(), "part_files").value_or(""));
}

std::size_t remove_unused_parts(const std::string& out, const std::vector<std::string>& candidates,
                                const std::vector<std::string>& used) {
  namespace fs = std::filesystem;
  const fs::path p(out);
  const std::string prefix = p.filename().string() + ".parts/";
  std::size_t removed = 0;
  std::error_code ec;
  for (const std::string& name : candidates) {
    // Only this results file's own directory of parts, as part_name() names them.
    if (name.rfind(prefix, 0) != 0 || name.find('/', prefix.size()) != std::string::npos) continue;
    if (std::find(used.begin(), used.end(), name) != used.end()) continue;
    if (fs::remove(p.parent_path() / name, ec)) ++removed;
  }
  const fs::path dir = p.parent_path() / (p.filename().string() + ".parts");
  if (fs::is_directory(dir, ec) && fs::is_empty(dir, ec)) fs::remove(dir, ec);
  return removed;
}

PartFile::PartFile(const std::string& path, const RowLayout& layout, const PartShape& shape)
    : path_(path),
      layout_(layout),
      shape_(shape),
      assembler_(layout, shape.end - shape.base(), shape.rows_per_chunk,
                 shape.first - shape.base()) {
  if (shape.level < 1 || shape.level > 9 || shape.first >= shape.end)
    throw std::invalid_argument("PartFile: deflate level 1..9 and a non-empty slice");
  const std::lock_guard lock(h5::library_mutex());
  h5::silence_hdf5();
  std::error_code ec;
  std::filesystem::create_directories(std::filesystem::path(path).parent_path(), ec);
  if (ec) fail(path, "cannot create its directory: " + ec.message());
  H5Id fapl(H5Pcreate(H5P_FILE_ACCESS));
  H5Pset_libver_bounds(fapl.get(), H5F_LIBVER_LATEST, H5F_LIBVER_LATEST);
  file_ = H5Fcreate(path.c_str(), H5F_ACC_EXCL, H5P_DEFAULT, fapl.get());
  if (file_ < 0) fail(path, "cannot create this rank's file of rows (exists, or not writable?)");
  // A file half made (disk full) is closed and removed: nothing reads it.
  try {
    H5Id no_cache(H5Pcreate(H5P_DATASET_ACCESS));
    H5Pset_chunk_cache(no_cache.get(), 0, 0, 1.0);
    const hsize_t n = shape.end - shape.base();
    {
      H5Id space(H5Screate_simple(1, &n, nullptr));
      const hsize_t chunk = shape.rows_per_chunk;
      H5Id dcpl(h5::rows_dcpl(1, &chunk, shape.level));
      H5Id type(h5::row_type(layout));
      results_ = check(H5Dcreate2(file_, "results", type.get(), space.get(), H5P_DEFAULT,
                                  dcpl.get(), no_cache.get()),
                       path, "create /results (disk full?)");
    }
    if (layout.blocks() > 0) {
      const hsize_t dims[2] = {n, static_cast<hsize_t>(layout.blocks())};
      H5Id space(H5Screate_simple(2, dims, nullptr));
      const hsize_t chunk[2] = {shape.rows_per_chunk, dims[1]};
      H5Id dcpl(h5::rows_dcpl(2, chunk, shape.level));
      H5Id type(h5::cell_type());
      blocks_ = check(H5Dcreate2(file_, "blocks", type.get(), space.get(), H5P_DEFAULT, dcpl.get(),
                                 no_cache.get()),
                      path, "create /blocks (disk full?)");
    }
    check_status(H5Fflush(file_, H5F_SCOPE_GLOBAL), path, "flush");
    check_status(H5Fstart_swmr_write(file_), path, "start of SWMR writing");
  } catch (...) {
    close_handles();
    std::filesystem::remove(path, ec);
    throw;
  }
}

PartFile::~PartFile() {
  const std::lock_guard lock(h5::library_mutex());
  close_handles();
}

void PartFile::close_handles() noexcept {
  for (std::int64_t* h : {&results_, &blocks_, &file_})
    if (*h >= 0) H5Idec_ref(std::exchange(*h, -1));
}

void PartFile::write(ComboId begin, std::span<const unsigned char> run) {
  if (begin < shape_.first) throw std::logic_error("PartFile: rows before the slice");
  std::vector<RawChunk> full;
  assembler_.add(begin - shape_.base(), run, full);
  if (assembler_.open_chunks() != 0)
    throw std::logic_error("PartFile: a unit that does not cover whole storage chunks");
  bytes_in_ += run.size();
  // Compressed here, stored under the library's lock (another thread of this process may be
  // writing the results file).
  auto store = [&](hid_t set, const hsize_t* offset, const char* what) {
    const std::lock_guard lock(h5::library_mutex());
    check_status(H5Dwrite_chunk(set, H5P_DEFAULT, 0, offset, scratch_.deflated.size(),
                                scratch_.deflated.data()),
                 path_, what);
    bytes_stored_ += scratch_.deflated.size();
  };
  for (RawChunk& c : full) {
    const hsize_t offset[2] = {c.index * shape_.rows_per_chunk, 0};
    compress_chunk(c.rows, layout_.row_size(), shape_.level, scratch_);
    store(results_, offset, "write of a /results chunk");
    if (blocks_ >= 0) {
      compress_chunk(c.cells, kBlockCellSize, shape_.level, scratch_);
      store(blocks_, offset, "write of a /blocks chunk");
    }
    assembler_.recycle(std::move(c));
  }
}

void PartFile::flush() {
  const std::lock_guard lock(h5::library_mutex());
  check_status(H5Fflush(file_, H5F_SCOPE_GLOBAL), path_, "flush");
}

}  // namespace threadx
