// HDF5 helpers of the results file (see h5_support.hpp).
#include "results/h5_support.hpp"

#include <algorithm>
#include <cstdint>
#include <cstring>
#include <vector>

#include "common/error.hpp"
#include "common/time_format.hpp"
#include "results/h5_id.hpp"

namespace threadx::h5 {

std::mutex& library_mutex() {
  static std::mutex m;
  return m;
}

[[noreturn]] void fail(const std::string& path, const std::string& what) {
  throw OutputError(path + ": " + what);
}

hid_t check(hid_t id, const std::string& path, const char* what) {
  if (id < 0) fail(path, std::string("HDF5 ") + what + " failed");
  return id;
}

void check_status(herr_t status, const std::string& path, const char* what) {
  if (status < 0) fail(path, std::string("HDF5 ") + what + " failed (disk full or unwritable?)");
}

namespace {
hid_t native_type(Column::Kind kind) {
  switch (kind) {
    case Column::Kind::U64:
      return H5T_NATIVE_UINT64;
    case Column::Kind::I32:
      return H5T_NATIVE_INT32;
    case Column::Kind::I64:
      return H5T_NATIVE_INT64;
    default:
      return H5T_NATIVE_DOUBLE;
  }
}
}  // namespace

hid_t row_type(const RowLayout& layout) {
  const hid_t type = H5Tcreate(H5T_COMPOUND, layout.row_size());
  for (const Column& c : layout.columns())
    H5Tinsert(type, c.name.c_str(), c.offset, native_type(c.kind));
  return type;
}

hid_t cell_type() {
  const hid_t type = H5Tcreate(H5T_COMPOUND, kBlockCellSize);
  H5Tinsert(type, "sum_r", 0, H5T_NATIVE_DOUBLE);
  H5Tinsert(type, "sum_r2", 8, H5T_NATIVE_DOUBLE);
  H5Tinsert(type, "equity", 16, H5T_NATIVE_DOUBLE);
  H5Tinsert(type, "trades", 24, H5T_NATIVE_INT32);
  return type;
}

hid_t rows_dcpl(int rank, const hsize_t* chunk, int level) {
  const hid_t dcpl = H5Pcreate(H5P_DATASET_CREATE);
  H5Pset_chunk(dcpl, rank, chunk);
  H5Pset_obj_track_times(dcpl, 0);
  if (level > 0) {
    H5Pset_shuffle(dcpl);
    H5Pset_deflate(dcpl, static_cast<unsigned>(level));
  } else {
    H5Pset_alloc_time(dcpl, H5D_ALLOC_TIME_EARLY);
    H5Pset_fill_time(dcpl, H5D_FILL_TIME_NEVER);
  }
  return dcpl;
}

void silence_hdf5() {
  H5Eset_auto2(H5E_DEFAULT, nullptr, nullptr);
}

std::optional<std::string> read_attr_text(hid_t obj, const std::string& name) {
  if (H5Aexists(obj, name.c_str()) <= 0) return std::nullopt;
  H5Id attr(H5Aopen(obj, name.c_str(), H5P_DEFAULT));
  H5Id type(H5Aget_type(attr.get()));
  switch (H5Tget_class(type.get())) {
    case H5T_STRING: {
      if (H5Tis_variable_str(type.get()) > 0) return std::string("<variable-length string>");
      // One byte more than stored, for the terminator the null-terminated memory type adds.
      std::string s(H5Tget_size(type.get()) + 1, '\0');
      H5Id mem(H5Tcopy(H5T_C_S1));
      H5Tset_size(mem.get(), s.size());
      H5Tset_strpad(mem.get(), H5T_STR_NULLTERM);
      H5Aread(attr.get(), mem.get(), s.data());
      s.resize(std::strlen(s.c_str()));
      return s;
    }
    case H5T_INTEGER:
    case H5T_FLOAT: {
      H5Id space(H5Aget_space(attr.get()));
      const hssize_t n = H5Sget_simple_extent_npoints(space.get());
      const bool is_int = H5Tget_class(type.get()) == H5T_INTEGER;
      std::vector<std::int64_t> ints(static_cast<std::size_t>(std::max<hssize_t>(n, 1)));
      std::vector<double> reals(ints.size());
      if (is_int)
        H5Aread(attr.get(), H5T_NATIVE_INT64, ints.data());
      else
        H5Aread(attr.get(), H5T_NATIVE_DOUBLE, reals.data());
      auto text = [&](std::size_t i) {
        return is_int ? std::to_string(ints[i]) : format_double(reals[i]);
      };
      if (H5Sget_simple_extent_type(space.get()) == H5S_SCALAR) return text(0);
      std::string out = "[";
      for (std::size_t i = 0; i < static_cast<std::size_t>(n); ++i)
        out += (i ? ", " : "") + text(i);
      return out + "]";
    }
    default:
      return std::string("<unsupported type>");
  }
}

namespace {
// The memory and file spaces of [start, start + count) of a 1-D dataset.
struct Range {
  H5Id mem, file;
  Range(hid_t set, hsize_t start, hsize_t count)
      : mem(H5Screate_simple(1, &count, nullptr)), file(H5Dget_space(set)) {
    H5Sselect_hyperslab(file.get(), H5S_SELECT_SET, &start, nullptr, &count, nullptr);
  }
};
}  // namespace

herr_t write_range(hid_t set, hid_t type, std::uint64_t start, std::uint64_t count,
                   const void* data) {
  const Range r(set, start, count);
  return H5Dwrite(set, type, r.mem.get(), r.file.get(), H5P_DEFAULT, data);
}

herr_t read_range(hid_t set, hid_t type, std::uint64_t start, std::uint64_t count, void* data) {
  const Range r(set, start, count);
  return H5Dread(set, type, r.mem.get(), r.file.get(), H5P_DEFAULT, data);
}

hid_t open_read_only(const std::string& path) {
  const hid_t file = H5Fopen(path.c_str(), H5F_ACC_RDONLY, H5P_DEFAULT);
  if (file >= 0) return file;
  return H5Fopen(path.c_str(), H5F_ACC_RDONLY | H5F_ACC_SWMR_READ, H5P_DEFAULT);
}

Storage storage_of(hid_t dataset) {
  Storage st;
  H5Id dcpl(H5Dget_create_plist(dataset));
  if (dcpl.get() < 0 || H5Pget_layout(dcpl.get()) != H5D_CHUNKED) return st;
  const int rank = H5Pget_chunk(dcpl.get(), 0, nullptr);
  std::vector<hsize_t> dims(static_cast<std::size_t>(std::max(rank, 1)), 0);
  if (rank < 1 || H5Pget_chunk(dcpl.get(), rank, dims.data()) != rank) return st;
  st.chunk_rows = dims[0];
  if (rank == 2) st.chunk_cols = dims[1];
  const int filters = H5Pget_nfilters(dcpl.get());
  for (int i = 0; i < filters; ++i) {
    unsigned flags = 0, config = 0, values[1] = {0};
    std::size_t nvalues = 1;
    const H5Z_filter_t id = H5Pget_filter2(dcpl.get(), static_cast<unsigned>(i), &flags, &nvalues,
                                           values, 0, nullptr, &config);
    if (i == 0 && id == H5Z_FILTER_SHUFFLE) continue;
    if (i == 1 && id == H5Z_FILTER_DEFLATE)
      st.deflate_level = nvalues > 0 ? static_cast<int>(values[0]) : 1;
    else
      st.threadx_filters = false;
  }
  if (filters != 0 && (filters != 2 || st.deflate_level == 0)) st.threadx_filters = false;
  return st;
}

std::vector<std::string> attribute_names(hid_t obj) {
  std::vector<std::string> names;
  H5Aiterate2(
      obj, H5_INDEX_NAME, H5_ITER_INC, nullptr,
      [](hid_t, const char* name, const H5A_info_t*, void* data) -> herr_t {
        static_cast<std::vector<std::string>*>(data)->emplace_back(name);
        return 0;
      },
      &names);
  return names;
}

}  // namespace threadx::h5
