// What the HDF5 writer (results_file.cpp) and reader (results_reader.cpp) of the results file
// share: failures as OutputError naming the file, HDF5's own error printing off, attributes read
// as text.
#pragma once

#include <hdf5.h>

#include <cstdint>
#include <optional>
#include <string>
#include <vector>

#include "results/h5_lock.hpp"
#include "results/row_layout.hpp"

namespace threadx::h5 {

// OutputError "<path>: <what>".
[[noreturn]] void fail(const std::string& path, const std::string& what);
// id, or OutputError "<path>: HDF5 <what> failed" when it is negative.
hid_t check(hid_t id, const std::string& path, const char* what);
// OutputError naming the file (and a likely cause) when status is negative.
void check_status(herr_t status, const std::string& path, const char* what);
// Turns off HDF5's printing of its error stack (every failure is reported by the caller).
void silence_hdf5();
// An attribute's value as text (strings as they are, numbers printed, arrays as "[a, b]"), or
// nullopt when the object has no such attribute.
std::optional<std::string> read_attr_text(hid_t obj, const std::string& name);
// Opens an HDF5 file read-only, also one whose compressed-results writer was killed (such a file
// is marked as open for writing, and opens only as a SWMR reader); negative when it cannot.
hid_t open_read_only(const std::string& path);
// How a dataset is stored: rows per chunk (0 when not chunked), its deflate level (0: none), and
// whether its filters are what threadx writes (none, or shuffle then deflate).
struct Storage {
  std::uint64_t chunk_rows = 0;
  std::uint64_t chunk_cols = 0;  // second chunk dimension of a 2-D dataset, else 0
  int deflate_level = 0;
  bool threadx_filters = true;
};
Storage storage_of(hid_t dataset);
// Writes / reads `count` elements of `type` at [start, start + count) of a 1-D dataset (count >
// 0); the status of H5Dwrite / H5Dread (check_status it).
herr_t write_range(hid_t set, hid_t type, std::uint64_t start, std::uint64_t count,
                   const void* data);
herr_t read_range(hid_t set, hid_t type, std::uint64_t start, std::uint64_t count, void* data);
// The packed /results row of `layout` and the /blocks cell (kBlockCellSize bytes) as HDF5 compound
// types, in memory as in the file (the caller closes them).
hid_t row_type(const RowLayout& layout);
hid_t cell_type();
// The creation properties of /results (rank 1) or /blocks (rank 2) with this chunk shape: level
// 1..9, shuffle + deflate, chunks allocated as they are stored; 0, allocated in full and never
// filtered, so that writing a row changes no metadata (the caller closes it).
hid_t rows_dcpl(int rank, const hsize_t* chunk, int level);
// The names of every attribute of obj, in name order.
std::vector<std::string> attribute_names(hid_t obj);

}  // namespace threadx::h5
