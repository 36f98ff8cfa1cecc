#include "robust/robust_output.hpp"

#include <hdf5.h>

#include <cstddef>
#include <cstdint>

#include "common/error.hpp"
#include "results/h5_id.hpp"

namespace threadx::robust {
namespace {

hid_t ok(hid_t id, const std::string& path, const std::string& what) {
  if (id < 0) throw OutputError(path + ": cannot create " + what + " (disk full or unwritable?)");
  return id;
}

// The rows of each table, in memory as in the file (every field 8 bytes, no padding).
struct SplitRow {
  double lambda;
  std::int64_t chosen;
  double is_sharpe;
  double oos_sharpe;
};
struct DsrTableRow {
  std::int64_t combo_id;
  double sharpe, skewness, kurtosis;
  std::int64_t trials;
  double var_sharpe, sr0, dsr, psr0;
};
struct FoldRow {
  std::int64_t fold, is_first_block, is_last_block, chosen;
  double is_sharpe, oos_sharpe, oos_growth;
  std::int64_t oos_trades;
};

struct Field {
  const char* name;
  std::size_t offset;
  bool is_int;
};

template <class Row>
void write_table(hid_t parent, const std::string& path, const char* name,
                 std::initializer_list<Field> fields, const std::vector<Row>& rows) {
  H5Id type(H5Tcreate(H5T_COMPOUND, sizeof(Row)));
  for (const Field& f : fields)
    H5Tinsert(type.get(), f.name, f.offset, f.is_int ? H5T_STD_I64LE : H5T_IEEE_F64LE);
  const hsize_t n = rows.size();
  H5Id space(H5Screate_simple(1, &n, nullptr));
  H5Id set(
      ok(H5Dcreate2(parent, name, type.get(), space.get(), H5P_DEFAULT, H5P_DEFAULT, H5P_DEFAULT),
         path, name));
  if (n > 0 && H5Dwrite(set.get(), type.get(), H5S_ALL, H5S_ALL, H5P_DEFAULT, rows.data()) < 0)
    throw OutputError(path + ": cannot write " + name + " (disk full?)");
}

void attributes(hid_t obj, const std::string& path, const std::vector<Attribute>& list) {
  for (const Attribute& a : list) write_attribute(obj, path, a);
}

void write_cscv(hid_t file, const std::string& path, const CscvResult& c) {
  H5Id g(ok(H5Gcreate2(file, "cscv", H5P_DEFAULT, H5P_DEFAULT, H5P_DEFAULT), path, "/cscv"));
  attributes(g.get(), path,
             {{"S", std::int64_t{c.blocks}},
              {"splits", c.splits},
              {"candidates", c.candidates},
              {"pbo", c.pbo},
              {"prob_oos_loss", c.prob_oos_loss},
              {"slope", c.slope},
              {"intercept", c.intercept}});
  std::vector<SplitRow> rows;
  rows.reserve(c.per_split.size());
  for (const CscvSplit& s : c.per_split)
    rows.push_back({s.lambda, s.chosen, s.is_sharpe, s.oos_sharpe});
  write_table(g.get(), path, "splits",
              {{"lambda", offsetof(SplitRow, lambda), false},
               {"chosen", offsetof(SplitRow, chosen), true},
               {"is_sharpe", offsetof(SplitRow, is_sharpe), false},
               {"oos_sharpe", offsetof(SplitRow, oos_sharpe), false}},
              rows);
}

void write_dsr(hid_t file, const std::string& path, const std::vector<DsrRow>& dsr) {
  std::vector<DsrTableRow> rows;
  rows.reserve(dsr.size());
  for (const DsrRow& d : dsr)
    rows.push_back({d.combo_id, d.sharpe, d.skewness, d.kurtosis, d.trials, d.var_sharpe, d.sr0,
                    d.dsr, d.psr0});
  write_table(file, path, "dsr",
              {{"combo_id", offsetof(DsrTableRow, combo_id), true},
               {"sharpe", offsetof(DsrTableRow, sharpe), false},
               {"skewness", offsetof(DsrTableRow, skewness), false},
               {"kurtosis", offsetof(DsrTableRow, kurtosis), false},
               {"trials", offsetof(DsrTableRow, trials), true},
               {"var_sharpe", offsetof(DsrTableRow, var_sharpe), false},
               {"sr0", offsetof(DsrTableRow, sr0), false},
               {"dsr", offsetof(DsrTableRow, dsr), false},
               {"psr0", offsetof(DsrTableRow, psr0), false}},
              rows);
}

void write_walk_forward(hid_t file, const std::string& path, const WalkForwardResult& w) {
  H5Id g(ok(H5Gcreate2(file, "walk_forward", H5P_DEFAULT, H5P_DEFAULT, H5P_DEFAULT), path,
            "/walk_forward"));
  attributes(g.get(), path,
             {{"window", std::int64_t{w.config.window}},
              {"mode", std::string(walk_mode_name(w.config.mode))},
              {"min_trades", w.config.min_trades},
              {"oos_sharpe", w.oos_sharpe},
              {"oos_total_return", w.oos_total_return},
              {"oos_trades", w.oos_trades},
              {"wf_efficiency", w.wf_efficiency}});
  std::vector<FoldRow> rows;
  rows.reserve(w.folds.size());
  for (const WalkForwardFold& f : w.folds)
    rows.push_back({f.fold, f.is_first_block, f.is_last_block, f.chosen, f.is_sharpe, f.oos_sharpe,
                    f.oos_growth, f.oos_trades});
  write_table(g.get(), path, "folds",
              {{"fold", offsetof(FoldRow, fold), true},
               {"is_first_block", offsetof(FoldRow, is_first_block), true},
               {"is_last_block", offsetof(FoldRow, is_last_block), true},
               {"chosen", offsetof(FoldRow, chosen), true},
               {"is_sharpe", offsetof(FoldRow, is_sharpe), false},
               {"oos_sharpe", offsetof(FoldRow, oos_sharpe), false},
               {"oos_growth", offsetof(FoldRow, oos_growth), false},
               {"oos_trades", offsetof(FoldRow, oos_trades), true}},
              rows);
}

}  // namespace

void write_robust_file(const std::string& path, const RobustOutput& out,
                       const std::vector<Attribute>& file_attributes) {
  H5Eset_auto2(H5E_DEFAULT, nullptr, nullptr);
  H5Id file(H5Fcreate(path.c_str(), H5F_ACC_TRUNC, H5P_DEFAULT, H5P_DEFAULT));
  if (file.get() < 0)
    throw OutputError(path + ": cannot create file (directory missing or not writable?)");
  attributes(file.get(), path, file_attributes);
  if (out.cscv) write_cscv(file.get(), path, *out.cscv);
  write_dsr(file.get(), path, out.dsr);
  if (out.walk_forward) write_walk_forward(file.get(), path, *out.walk_forward);
  if (H5Fflush(file.get(), H5F_SCOPE_GLOBAL) < 0)
    throw OutputError(path + ": cannot write (disk full?)");
}

}  // namespace threadx::robust
