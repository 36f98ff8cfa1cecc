// The results file's reader (see results_reader.hpp). Every failing call is an error naming the
// file.
#include "results/results_reader.hpp"

#include <hdf5.h>

#include <cstddef>
#include <filesystem>
#include <stdexcept>

#include "common/error.hpp"
#include "results/h5_id.hpp"
#include "results/h5_support.hpp"

namespace threadx {

using h5::check_status;
using h5::fail;
using h5::read_attr_text;
using h5::silence_hdf5;

ResultsReader::ResultsReader(const std::string& path) : path_(path) {
  silence_hdf5();
  if (!std::filesystem::exists(path)) fail(path, "no such file");
  file_ = H5Fopen(path.c_str(), H5F_ACC_RDONLY, H5P_DEFAULT);
  if (file_ < 0) fail(path, "not an HDF5 file");
  results_ = H5Dopen2(file_, "results", H5P_DEFAULT);
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
  std::vector<unsigned char> out(count * row_size_);
  if (count == 0) return out;
  const hsize_t start = begin, cnt = count;
  H5Id mem(H5Screate_simple(1, &cnt, nullptr));
  H5Id fs(H5Dget_space(results_));
  H5Sselect_hyperslab(fs.get(), H5S_SELECT_SET, &start, nullptr, &cnt, nullptr);
  check_status(H5Dread(results_, type_, mem.get(), fs.get(), H5P_DEFAULT, out.data()), path_,
               "read /results");
  return out;
}

std::vector<std::uint8_t> ResultsReader::read_done() const {
  H5Id done(H5Dopen2(file_, "done", H5P_DEFAULT));
  if (done.get() < 0) fail(path_, "no /done dataset");
  std::vector<std::uint8_t> flags(rows_);
  check_status(H5Dread(done.get(), H5T_NATIVE_UINT8, H5S_ALL, H5S_ALL, H5P_DEFAULT, flags.data()),
               path_, "read /done");
  return flags;
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
