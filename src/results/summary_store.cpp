// A results file's summary datasets (see summary_store.hpp).
#include "results/summary_store.hpp"

#include <hdf5.h>

#include <algorithm>
#include <array>
#include <cmath>
#include <limits>

#include "results/h5_id.hpp"
#include "results/h5_support.hpp"
#include "results/results_file.hpp"

namespace threadx {
namespace {

using h5::check;
using h5::check_status;
using h5::fail;

constexpr hsize_t kSlotChunk = hsize_t{1} << 20;

std::uint64_t fnv1a(std::span<const std::byte> bytes) {
  std::uint64_t h = 0xcbf29ce484222325ULL;
  for (const std::byte b : bytes) {
    h ^= static_cast<std::uint64_t>(b);
    h *= 0x100000001b3ULL;
  }
  return h;
}

const char* kSlotNames[2] = {"checkpoint_0", "checkpoint_1"};

// A 1-D or 2-D dataset of `type` holding `data` (rows x cols; cols 0 for 1-D).
template <class T>
void write_array(hid_t group, const std::string& path, const char* name, hid_t type,
                 const std::vector<T>& data, hsize_t rows, hsize_t cols = 0) {
  const hsize_t dims[2] = {rows, cols};
  H5Id space(H5Screate_simple(cols == 0 ? 1 : 2, dims, nullptr));
  // Allocated now: filling it later changes no metadata (what SWMR writing allows).
  H5Id dcpl(H5Pcreate(H5P_DATASET_CREATE));
  H5Pset_alloc_time(dcpl.get(), H5D_ALLOC_TIME_EARLY);
  H5Id set(check(H5Dcreate2(group, name, type, space.get(), H5P_DEFAULT, dcpl.get(), H5P_DEFAULT),
                 path, "create a summary dataset"));
  if (!data.empty())
    check_status(H5Dwrite(set.get(), type, H5S_ALL, H5S_ALL, H5P_DEFAULT, data.data()), path,
                 "write a summary dataset");
}

std::string join(const std::vector<std::string>& parts) {
  std::string out;
  for (const std::string& p : parts) out += (out.empty() ? "" : ",") + p;
  return out;
}

}  // namespace

void SummaryStore::create(std::int64_t file, const std::string& path) {
  H5Id group(check(H5Gcreate2(file, "summary", H5P_DEFAULT, H5P_DEFAULT, H5P_DEFAULT), path,
                   "create /summary"));
  {
    const hsize_t n = 6;
    H5Id space(H5Screate_simple(1, &n, nullptr));
    H5Id dcpl(H5Pcreate(H5P_DATASET_CREATE));
    H5Pset_alloc_time(dcpl.get(), H5D_ALLOC_TIME_EARLY);
    H5Pset_fill_time(dcpl.get(), H5D_FILL_TIME_ALLOC);
    H5Id set(check(H5Dcreate2(group.get(), "slots", H5T_NATIVE_UINT64, space.get(), H5P_DEFAULT,
                              dcpl.get(), H5P_DEFAULT),
                   path, "create /summary/slots"));
  }
  for (const char* name : kSlotNames) {
    const hsize_t zero = 0, unlimited = H5S_UNLIMITED;
    H5Id space(H5Screate_simple(1, &zero, &unlimited));
    H5Id dcpl(H5Pcreate(H5P_DATASET_CREATE));
    H5Pset_chunk(dcpl.get(), 1, &kSlotChunk);
    H5Id set(check(H5Dcreate2(group.get(), name, H5T_NATIVE_UINT8, space.get(), H5P_DEFAULT,
                              dcpl.get(), H5P_DEFAULT),
                   path, "create a /summary checkpoint slot"));
  }
}

SummaryStore::SummaryStore(std::int64_t file, std::string path)
    : file_(file), path_(std::move(path)) {
  group_ = H5Gopen2(file_, "summary", H5P_DEFAULT);
  if (group_ < 0) fail(path_, "no /summary group (made by another threadx, or damaged)");
  slots_ = check(H5Dopen2(group_, "slots", H5P_DEFAULT), path_, "open /summary/slots");
  for (int k = 0; k < 2; ++k)
    data_[k] = check(H5Dopen2(group_, kSlotNames[k], H5P_DEFAULT), path_,
                     "open a /summary checkpoint slot");
  std::array<std::uint64_t, 6> rec{};
  check_status(H5Dread(slots_, H5T_NATIVE_UINT64, H5S_ALL, H5S_ALL, H5P_DEFAULT, rec.data()), path_,
               "read /summary/slots");
  seq_ = std::max(rec[0], rec[3]);
  const int whole = newest_whole(nullptr);
  next_ = whole < 0 ? (rec[0] <= rec[3] ? 0 : 1) : 1 - whole;
}

SummaryStore::~SummaryStore() {
  for (const std::int64_t id : {data_[0], data_[1], slots_, group_})
    if (id >= 0) H5Idec_ref(id);
}

void SummaryStore::write_checkpoint(std::span<const std::byte> bytes) {
  const hid_t set = data_[next_];
  const hsize_t n = bytes.size();
  {
    H5Id space(H5Dget_space(set));
    hsize_t have = 0;
    H5Sget_simple_extent_dims(space.get(), &have, nullptr);
    if (n > have) check_status(H5Dset_extent(set, &n), path_, "extend a /summary checkpoint slot");
  }
  if (n > 0)
    check_status(h5::write_range(set, H5T_NATIVE_UINT8, 0, n, bytes.data()), path_,
                 "write a /summary checkpoint");
  check_status(H5Dflush(set), path_, "flush of a /summary checkpoint");
  check_status(H5Fflush(file_, H5F_SCOPE_GLOBAL), path_, "flush");
  // Only now does the record point to it.
  const std::array<std::uint64_t, 3> rec{seq_ + 1, n, fnv1a(bytes)};
  check_status(h5::write_range(slots_, H5T_NATIVE_UINT64, static_cast<std::uint64_t>(next_) * 3,
                               rec.size(), rec.data()),
               path_, "write /summary/slots");
  check_status(H5Dflush(slots_), path_, "flush of /summary/slots");
  check_status(H5Fflush(file_, H5F_SCOPE_GLOBAL), path_, "flush");
  ++seq_;
  next_ ^= 1;
}

std::vector<std::byte> SummaryStore::read_checkpoint() const {
  std::vector<std::byte> bytes;
  if (newest_whole(&bytes) >= 0) return bytes;
  std::array<std::uint64_t, 6> rec{};
  check_status(H5Dread(slots_, H5T_NATIVE_UINT64, H5S_ALL, H5S_ALL, H5P_DEFAULT, rec.data()), path_,
               "read /summary/slots");
  if (rec[0] > 0 || rec[3] > 0)
    fail(path_,
         "--resume: no whole checkpoint in /summary (the file is damaged); --force starts "
         "over");
  return {};
}

int SummaryStore::newest_whole(std::vector<std::byte>* out) const {
  std::array<std::uint64_t, 6> rec{};
  check_status(H5Dread(slots_, H5T_NATIVE_UINT64, H5S_ALL, H5S_ALL, H5P_DEFAULT, rec.data()), path_,
               "read /summary/slots");
  std::array<int, 2> order{0, 1};
  if (rec[3] > rec[0]) std::swap(order[0], order[1]);
  for (const int k : order) {
    const std::uint64_t seq = rec[static_cast<std::size_t>(k) * 3];
    const hsize_t n = rec[static_cast<std::size_t>(k) * 3 + 1];
    if (seq == 0) continue;
    H5Id space(H5Dget_space(data_[k]));
    hsize_t have = 0;
    H5Sget_simple_extent_dims(space.get(), &have, nullptr);
    if (n > have) continue;
    std::vector<std::byte> bytes(n);
    if (n > 0 && h5::read_range(data_[k], H5T_NATIVE_UINT8, 0, n, bytes.data()) < 0) continue;
    if (fnv1a(bytes) != rec[static_cast<std::size_t>(k) * 3 + 2]) continue;
    if (out != nullptr) *out = std::move(bytes);
    return k;
  }
  return -1;
}

void summarize_stored_rows(const ResultsFile& file, const std::vector<std::uint8_t>& done,
                           SweepSummary& summary) {
  constexpr std::uint64_t kRead = 1 << 16;
  const RowLayout& layout = file.layout();
  std::vector<Metrics> metrics;
  for (ComboId at = 0; at < done.size();) {
    if (done[at] == 0) {
      ++at;
      continue;
    }
    ComboId end = at;
    while (end < done.size() && done[end] != 0 && end - at < kRead) ++end;
    const std::vector<unsigned char> rows = file.read_rows(at, end - at);
    metrics.resize(end - at);
    for (std::size_t k = 0; k < metrics.size(); ++k)
      metrics[k] = layout.unpack_metrics(rows.data() + k * layout.row_size());
    const ComboId first = file.first_id();
    summary.add(WorkUnit{first + at, first + end, 0}, metrics);
    at = end;
  }
}

void create_final_summary(std::int64_t file, const std::string& path, const Grid& grid,
                          const AggregateLayout& layout, bool with_kept, std::int64_t row_type) {
  H5Id group(check(H5Gcreate2(file, "aggregates", H5P_DEFAULT, H5P_DEFAULT, H5P_DEFAULT), path,
                   "create /aggregates"));
  const std::size_t cells = layout.cell_count();
  const std::vector<std::size_t>& axes = layout.axes();
  std::vector<std::string> metric_names, axis_names;
  for (const MetricSpec& m : kMetrics) metric_names.emplace_back(m.name);
  for (const std::size_t p : axes) axis_names.emplace_back(grid.param(p).name);
  const AggregateSpec& spec = layout.spec();
  write_attribute(group.get(), path, {"metrics", join(metric_names)});
  write_attribute(group.get(), path, {"axes", join(axis_names)});
  write_attribute(group.get(), path, {"block_rows", static_cast<std::int64_t>(spec.block_rows)});
  write_attribute(group.get(), path,
                  {"histogram_metric", std::string(kMetrics[spec.histogram_metric].name)});
  write_attribute(group.get(), path, {"histogram_lo", spec.histogram_lo});
  write_attribute(group.get(), path, {"histogram_hi", spec.histogram_hi});
  write_attribute(group.get(), path,
                  {"histogram_bins", static_cast<std::int64_t>(spec.histogram_bins)});

  // Which cell is which: axis indices (b = -1 for one axis) and their values.
  std::vector<std::int32_t> axis_a(cells), axis_b(cells, -1);
  std::vector<double> value_a(cells), value_b(cells, std::numeric_limits<double>::quiet_NaN());
  for (std::size_t x = 0; x < axes.size(); ++x) {
    for (std::size_t i = 0; i < layout.values(x); ++i) {
      const std::size_t c = layout.single(x, i);
      axis_a[c] = static_cast<std::int32_t>(x);
      value_a[c] = grid.values[axes[x]][i];
    }
    for (std::size_t y = x + 1; y < axes.size(); ++y)
      for (std::size_t i = 0; i < layout.values(x); ++i)
        for (std::size_t j = 0; j < layout.values(y); ++j) {
          const std::size_t c = layout.pair(x, y, i, j);
          axis_a[c] = static_cast<std::int32_t>(x);
          axis_b[c] = static_cast<std::int32_t>(y);
          value_a[c] = grid.values[axes[x]][i];
          value_b[c] = grid.values[axes[y]][j];
        }
  }
  write_array(group.get(), path, "axis_a", H5T_NATIVE_INT32, axis_a, cells);
  write_array(group.get(), path, "axis_b", H5T_NATIVE_INT32, axis_b, cells);
  write_array(group.get(), path, "value_a", H5T_NATIVE_DOUBLE, value_a, cells);
  write_array(group.get(), path, "value_b", H5T_NATIVE_DOUBLE, value_b, cells);
  // The figures, allocated now and written at the end (zeros until then).
  const std::vector<std::uint64_t> none;
  for (const char* name : {"count", "max_id", "min_id"})
    write_array(group.get(), path, name, H5T_NATIVE_UINT64, none, cells, kAggMetrics);
  const std::vector<double> nothing;
  for (const char* name : {"sum", "sumsq", "max", "min"})
    write_array(group.get(), path, name, H5T_NATIVE_DOUBLE, nothing, cells, kAggMetrics);
  write_array(group.get(), path, "histogram", H5T_NATIVE_UINT64, none, spec.histogram_bins + 3);
  write_array(group.get(), path, "combinations", H5T_NATIVE_UINT64, none, 1);

  if (with_kept) {
    const hsize_t zero = 0, unlimited = H5S_UNLIMITED, chunk = 4096;
    H5Id space(H5Screate_simple(1, &zero, &unlimited));
    H5Id dcpl(H5Pcreate(H5P_DATASET_CREATE));
    H5Pset_chunk(dcpl.get(), 1, &chunk);
    H5Id set(
        check(H5Dcreate2(file, "kept", row_type, space.get(), H5P_DEFAULT, dcpl.get(), H5P_DEFAULT),
              path, "create /kept"));
  }
}

void write_final_summary(std::int64_t file, const std::string& path, const Grid& grid,
                         const SweepSummary& summary, std::int64_t row_type, std::uint64_t ids) {
  const AggregateLayout& layout = summary.layout();
  if (H5Lexists(file, "aggregates", H5P_DEFAULT) <= 0)
    create_final_summary(file, path, grid, layout, summary.keeper() != nullptr, row_type);
  // A stopped run's summary may hold parts of blocks: its aggregates leave them out (their ids
  // are summarised once the blocks are whole, on --resume); "combinations" says how many are in.
  const bool whole = summary.covered().count() == ids;
  const SweepAggregates a = summary.aggregates(/*allow_open=*/!whole);
  H5Id group(check(H5Gopen2(file, "aggregates", H5P_DEFAULT), path, "open /aggregates"));
  const std::size_t cells = layout.cell_count(), n = cells * kAggMetrics;
  constexpr double nan = std::numeric_limits<double>::quiet_NaN();
  std::vector<std::uint64_t> count(n), max_id(n), min_id(n);
  std::vector<double> sum(n), sumsq(n), max(n, nan), min(n, nan);
  for (std::size_t c = 0; c < cells; ++c)
    for (std::size_t m = 0; m < kAggMetrics; ++m) {
      const MetricStats& s = a.stats(c, m);
      const std::size_t k = c * kAggMetrics + m;
      count[k] = s.count;
      sum[k] = s.overflow ? nan : s.sum.value();
      sumsq[k] = s.overflow ? nan : s.sumsq.value();
      if (s.count == 0) continue;
      max[k] = s.max;
      max_id[k] = s.max_id;
      min[k] = s.min;
      min_id[k] = s.min_id;
    }
  auto fill = [&](const char* name, hid_t type, const void* data) {
    H5Id set(check(H5Dopen2(group.get(), name, H5P_DEFAULT), path, "open an /aggregates dataset"));
    check_status(H5Dwrite(set.get(), type, H5S_ALL, H5S_ALL, H5P_DEFAULT, data), path,
                 "write an /aggregates dataset");
  };
  fill("count", H5T_NATIVE_UINT64, count.data());
  fill("sum", H5T_NATIVE_DOUBLE, sum.data());
  fill("sumsq", H5T_NATIVE_DOUBLE, sumsq.data());
  fill("max", H5T_NATIVE_DOUBLE, max.data());
  fill("max_id", H5T_NATIVE_UINT64, max_id.data());
  fill("min", H5T_NATIVE_DOUBLE, min.data());
  fill("min_id", H5T_NATIVE_UINT64, min_id.data());
  fill("histogram", H5T_NATIVE_UINT64, a.histogram().data());

  // The kept rows once the run is whole (a stopped run's are in its checkpoint; /kept is
  // written once, so it never has to shrink).
  const TopKeeper* keeper = whole ? summary.keeper() : nullptr;
  if (keeper != nullptr) {
    const std::vector<unsigned char> rows = keeper->rows();
    const hsize_t kept = keeper->ids().size();
    H5Id set(check(H5Dopen2(file, "kept", H5P_DEFAULT), path, "open /kept"));
    check_status(H5Dset_extent(set.get(), &kept), path, "size /kept");
    if (kept > 0) {
      H5Id space(H5Dget_space(set.get()));
      check_status(H5Dwrite(set.get(), row_type, H5S_ALL, space.get(), H5P_DEFAULT, rows.data()),
                   path, "write /kept");
    }
  }
  // "combinations" last, once the rest is on its way to disk: 0 says the figures are not filled.
  check_status(H5Fflush(file, H5F_SCOPE_GLOBAL), path, "flush");
  const std::uint64_t combinations = a.combinations();
  fill("combinations", H5T_NATIVE_UINT64, &combinations);
}

}  // namespace threadx
