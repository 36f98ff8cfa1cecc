// The robustness file as the report reads it (layout: src/report/robust_file.hpp), written here
// with the HDF5 C API. With THREADX_REPORT_ROBUST_FIXTURE=PATH the file is also left at PATH:
// tests/cli/report.sh renders a report with it.
#include <gtest/gtest.h>
#include <hdf5.h>

#include <cmath>
#include <cstdint>
#include <cstdlib>
#include <cstring>
#include <filesystem>
#include <string>
#include <vector>

#include <unistd.h>

#include "common/error.hpp"
#include "report/robust_file.hpp"

namespace threadx::report {
namespace {

void attr(hid_t obj, const char* name, double v) {
  const hid_t space = H5Screate(H5S_SCALAR);
  const hid_t a = H5Acreate2(obj, name, H5T_NATIVE_DOUBLE, space, H5P_DEFAULT, H5P_DEFAULT);
  H5Awrite(a, H5T_NATIVE_DOUBLE, &v);
  H5Aclose(a);
  H5Sclose(space);
}
void attr(hid_t obj, const char* name, std::int64_t v) {
  const hid_t space = H5Screate(H5S_SCALAR);
  const hid_t a = H5Acreate2(obj, name, H5T_NATIVE_INT64, space, H5P_DEFAULT, H5P_DEFAULT);
  H5Awrite(a, H5T_NATIVE_INT64, &v);
  H5Aclose(a);
  H5Sclose(space);
}
void attr(hid_t obj, const char* name, const std::string& v) {
  const hid_t space = H5Screate(H5S_SCALAR);
  const hid_t type = H5Tcopy(H5T_C_S1);
  H5Tset_size(type, v.size() + 1);
  const hid_t a = H5Acreate2(obj, name, type, space, H5P_DEFAULT, H5P_DEFAULT);
  H5Awrite(a, type, v.c_str());
  H5Aclose(a);
  H5Tclose(type);
  H5Sclose(space);
}

// A table of rows of doubles stored as a compound; fields named `i:` are stored as int64.
void table(hid_t parent, const char* name, const std::vector<std::string>& fields,
           const std::vector<std::vector<double>>& rows) {
  const std::size_t size = 8 * fields.size();
  const hid_t file_type = H5Tcreate(H5T_COMPOUND, size);
  std::size_t at = 0;
  for (const std::string& f : fields) {
    const bool is_int = f.rfind("i:", 0) == 0;
    H5Tinsert(file_type, (is_int ? f.substr(2) : f).c_str(), at,
              is_int ? H5T_STD_I64LE : H5T_IEEE_F64LE);
    at += 8;
  }
  std::vector<unsigned char> buf(size * rows.size());
  for (std::size_t r = 0; r < rows.size(); ++r)
    for (std::size_t k = 0; k < fields.size(); ++k) {
      unsigned char* p = buf.data() + r * size + k * 8;
      if (fields[k].rfind("i:", 0) == 0) {
        const auto v = static_cast<std::int64_t>(rows[r][k]);
        std::memcpy(p, &v, 8);
      } else {
        std::memcpy(p, &rows[r][k], 8);
      }
    }
  const hsize_t n = rows.size();
  const hid_t space = H5Screate_simple(1, &n, nullptr);
  const hid_t d = H5Dcreate2(parent, name, file_type, space, H5P_DEFAULT, H5P_DEFAULT, H5P_DEFAULT);
  H5Dwrite(d, file_type, H5S_ALL, H5S_ALL, H5P_DEFAULT, buf.data());
  H5Dclose(d);
  H5Sclose(space);
  H5Tclose(file_type);
}

// A small robustness file: S = 6 (20 splits), 5 DSR rows, 4 walk-forward folds.
void write_fixture(const std::string& path) {
  const hid_t f = H5Fcreate(path.c_str(), H5F_ACC_TRUNC, H5P_DEFAULT, H5P_DEFAULT);
  attr(f, "results_file", std::string("sweep.h5"));
  const hid_t cscv = H5Gcreate2(f, "cscv", H5P_DEFAULT, H5P_DEFAULT, H5P_DEFAULT);
  attr(cscv, "S", std::int64_t{6});
  attr(cscv, "splits", std::int64_t{20});
  attr(cscv, "candidates", std::int64_t{24});
  attr(cscv, "pbo", 0.35);
  attr(cscv, "prob_oos_loss", 0.4);
  attr(cscv, "slope", 0.5);
  attr(cscv, "intercept", -0.2);
  std::vector<std::vector<double>> splits;
  for (int s = 0; s < 20; ++s) {
    const double is = 1.0 + 0.1 * s;
    splits.push_back({std::sin(s) * 1.5, static_cast<double>(s % 24), is,
                      -0.2 + 0.5 * is + 0.3 * std::cos(3 * s)});
  }
  table(cscv, "splits", {"lambda", "i:chosen", "is_sharpe", "oos_sharpe"}, splits);
  H5Gclose(cscv);
  std::vector<std::vector<double>> dsr;
  for (int k = 0; k < 5; ++k)
    dsr.push_back(
        {static_cast<double>(23 - k), 4.6 - 0.3 * k, -0.1, 3.2, 24, 0.8, 1.9, 0.9 - 0.1 * k, 0.99});
  table(f, "dsr",
        {"i:combo_id", "sharpe", "skewness", "kurtosis", "i:trials", "var_sharpe", "sr0", "dsr",
         "psr0"},
        dsr);
  const hid_t wf = H5Gcreate2(f, "walk_forward", H5P_DEFAULT, H5P_DEFAULT, H5P_DEFAULT);
  attr(wf, "window", std::int64_t{2});
  attr(wf, "mode", std::string("rolling"));
  attr(wf, "min_trades", std::int64_t{0});
  attr(wf, "oos_sharpe", 1.25);
  attr(wf, "oos_total_return", 0.021);
  attr(wf, "oos_trades", std::int64_t{31});
  attr(wf, "wf_efficiency", 0.45);
  std::vector<std::vector<double>> folds;
  for (int k = 0; k < 4; ++k)
    folds.push_back({static_cast<double>(k), static_cast<double>(k), static_cast<double>(k + 1),
                     static_cast<double>(3 * k + 1), 2.0 + 0.1 * k, 0.5 - 0.4 * k,
                     1.0 + 0.01 * (k % 2 ? -1 : 2), static_cast<double>(7 + k)});
  table(wf, "folds",
        {"i:fold", "i:is_first_block", "i:is_last_block", "i:chosen", "is_sharpe", "oos_sharpe",
         "oos_growth", "i:oos_trades"},
        folds);
  H5Gclose(wf);
  H5Fclose(f);
}

TEST(ReportRobustFile, ReadsEveryPart) {
  const char* keep = std::getenv("THREADX_REPORT_ROBUST_FIXTURE");
  const std::string path = keep != nullptr && *keep != '\0'
                               ? std::string(keep)
                               : (std::filesystem::temp_directory_path() /
                                  ("threadx_robust_" + std::to_string(::getpid()) + ".h5"))
                                     .string();
  write_fixture(path);
  const RobustFile r = read_robust_file(path);
  if (keep == nullptr || *keep == '\0') std::filesystem::remove(path);
  ASSERT_TRUE(r.cscv.present);
  ASSERT_TRUE(r.dsr.present);
  ASSERT_TRUE(r.walk_forward.present);
  EXPECT_EQ(r.cscv.number("pbo"), 0.35);
  EXPECT_EQ(r.cscv.number("S"), 6.0);
  ASSERT_EQ(r.cscv.table.rows, 20u);
  ASSERT_NE(r.cscv.table.column("oos_sharpe"), nullptr);
  EXPECT_DOUBLE_EQ((*r.cscv.table.column("is_sharpe"))[3], 1.3);
  EXPECT_EQ((*r.cscv.table.column("chosen"))[5], 5.0);  // an int64 field, read as double
  EXPECT_EQ(r.dsr.table.rows, 5u);
  EXPECT_EQ((*r.dsr.table.column("combo_id"))[1], 22.0);
  EXPECT_EQ(r.walk_forward.table.rows, 4u);
  EXPECT_EQ(r.walk_forward.table.fields.size(), 8u);
  bool mode = false;
  for (const auto& [k, v] : r.walk_forward.attributes) mode |= k == "mode" && v == "rolling";
  EXPECT_TRUE(mode);
}

TEST(ReportRobustFile, BadFilesAreOneLineErrors) {
  EXPECT_THROW(read_robust_file("/nonexistent/robust.h5"), InputError);
  const std::string path = (std::filesystem::temp_directory_path() /
                            ("threadx_empty_" + std::to_string(::getpid()) + ".h5"))
                               .string();
  H5Fclose(H5Fcreate(path.c_str(), H5F_ACC_TRUNC, H5P_DEFAULT, H5P_DEFAULT));
  try {
    read_robust_file(path);
    ADD_FAILURE() << "no error";
  } catch (const InputError& e) {
    EXPECT_NE(std::string(e.what()).find("not a threadx robustness file"), std::string::npos);
  }
  std::filesystem::remove(path);
}

}  // namespace
}  // namespace threadx::report
