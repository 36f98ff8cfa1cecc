#include "report/robust_file.hpp"

#include <hdf5.h>

#include <algorithm>
#include <cstring>
#include <filesystem>
#include <sstream>

#include "common/error.hpp"
#include "results/h5_id.hpp"
#include "results/h5_support.hpp"

namespace threadx::report {
namespace {

[[noreturn]] void fail(const std::string& path, const std::string& what) {
  throw InputError(path + ": " + what);
}

std::string number_text(double v) {
  std::ostringstream s;
  s.precision(10);
  s << v;
  return s.str();
}

// Every attribute of obj: text for all, and the numeric scalars as numbers too.
void read_attributes(hid_t obj, std::vector<std::pair<std::string, std::string>>& text,
                     std::map<std::string, double>* numbers) {
  const std::vector<std::string> names = h5::attribute_names(obj);
  for (const std::string& name : names) {
    H5Id attr(H5Aopen(obj, name.c_str(), H5P_DEFAULT));
    H5Id type(H5Aget_type(attr.get()));
    H5Id space(H5Aget_space(attr.get()));
    const hssize_t n = H5Sget_simple_extent_npoints(space.get());
    const H5T_class_t cls = H5Tget_class(type.get());
    if (cls == H5T_STRING) {
      std::string s;
      if (H5Tis_variable_str(type.get()) > 0) {
        char* p = nullptr;
        H5Id mem(H5Tcopy(H5T_C_S1));
        H5Tset_size(mem.get(), H5T_VARIABLE);
        if (H5Aread(attr.get(), mem.get(), &p) >= 0 && p != nullptr) {
          s = p;
          H5free_memory(p);
        }
      } else {
        s.assign(H5Tget_size(type.get()) + 1, '\0');
        H5Id mem(H5Tcopy(H5T_C_S1));
        H5Tset_size(mem.get(), s.size());
        H5Tset_strpad(mem.get(), H5T_STR_NULLTERM);
        H5Aread(attr.get(), mem.get(), s.data());
        s.resize(std::strlen(s.c_str()));
      }
      text.emplace_back(name, s);
    } else if ((cls == H5T_INTEGER || cls == H5T_FLOAT) && n >= 1) {
      std::vector<double> v(static_cast<std::size_t>(n));
      H5Aread(attr.get(), H5T_NATIVE_DOUBLE, v.data());
      std::string s;
      for (std::size_t i = 0; i < v.size(); ++i) s += (i ? ", " : "") + number_text(v[i]);
      text.emplace_back(name, v.size() == 1 ? s : "[" + s + "]");
      if (numbers != nullptr && v.size() == 1) (*numbers)[name] = v[0];
    } else {
      text.emplace_back(name, "<unsupported type>");
    }
  }
}

// A compound dataset's numeric fields, each read as double by name.
Table read_table(hid_t dset, const std::string& path, const std::string& name) {
  Table t;
  H5Id type(H5Dget_type(dset));
  if (H5Tget_class(type.get()) != H5T_COMPOUND) fail(path, name + " is not a table");
  H5Id space(H5Dget_space(dset));
  if (H5Sget_simple_extent_ndims(space.get()) != 1) fail(path, name + " is not a 1-D table");
  hsize_t rows = 0;
  H5Sget_simple_extent_dims(space.get(), &rows, nullptr);
  t.rows = static_cast<std::size_t>(rows);
  const int members = H5Tget_nmembers(type.get());
  for (int m = 0; m < members; ++m) {
    const auto idx = static_cast<unsigned>(m);
    H5Id mt(H5Tget_member_type(type.get(), idx));
    const H5T_class_t cls = H5Tget_class(mt.get());
    if (cls != H5T_INTEGER && cls != H5T_FLOAT) continue;
    char* field = H5Tget_member_name(type.get(), idx);
    std::vector<double> v(t.rows);
    H5Id mem(H5Tcreate(H5T_COMPOUND, sizeof(double)));
    H5Tinsert(mem.get(), field, 0, H5T_NATIVE_DOUBLE);
    if (t.rows > 0 && H5Dread(dset, mem.get(), H5S_ALL, H5S_ALL, H5P_DEFAULT, v.data()) < 0)
      fail(path, "cannot read field " + std::string(field) + " of " + name);
    t.fields.emplace_back(field);
    t.columns.push_back(std::move(v));
    H5free_memory(field);
  }
  return t;
}

// A group with attributes and an optional table inside (`table_name`), or a table dataset itself.
RobustPart read_part(hid_t file, const std::string& path, const std::string& name,
                     const std::string& table_name) {
  RobustPart part;
  if (H5Lexists(file, name.c_str(), H5P_DEFAULT) <= 0) return part;
  H5O_info_t info;
#if H5_VERSION_GE(1, 12, 0)
  if (H5Oget_info_by_name3(file, name.c_str(), &info, H5O_INFO_BASIC, H5P_DEFAULT) < 0)
#else
  if (H5Oget_info_by_name2(file, name.c_str(), &info, H5O_INFO_BASIC, H5P_DEFAULT) < 0)
#endif
    fail(path, "cannot open " + name);
  part.present = true;
  if (info.type == H5O_TYPE_DATASET) {
    H5Id d(H5Dopen2(file, name.c_str(), H5P_DEFAULT));
    read_attributes(d.get(), part.attributes, &part.numbers);
    part.table = read_table(d.get(), path, name);
    return part;
  }
  H5Id g(H5Gopen2(file, name.c_str(), H5P_DEFAULT));
  if (!g.ok()) fail(path, "cannot open " + name);
  read_attributes(g.get(), part.attributes, &part.numbers);
  if (!table_name.empty() && H5Lexists(g.get(), table_name.c_str(), H5P_DEFAULT) > 0) {
    H5Id d(H5Dopen2(g.get(), table_name.c_str(), H5P_DEFAULT));
    if (!d.ok()) fail(path, "cannot open " + name + "/" + table_name);
    part.table = read_table(d.get(), path, name + "/" + table_name);
  }
  return part;
}

}  // namespace

const std::vector<double>* Table::column(const std::string& name) const {
  const auto it = std::find(fields.begin(), fields.end(), name);
  return it == fields.end() ? nullptr : &columns[static_cast<std::size_t>(it - fields.begin())];
}

std::optional<double> RobustPart::number(const std::string& name) const {
  const auto it = numbers.find(name);
  if (it == numbers.end()) return std::nullopt;
  return it->second;
}

RobustFile read_robust_file(const std::string& path) {
  H5Eset_auto2(H5E_DEFAULT, nullptr, nullptr);
  if (!std::filesystem::exists(path)) fail(path, "no such file");
  H5Id file(H5Fopen(path.c_str(), H5F_ACC_RDONLY, H5P_DEFAULT));
  if (!file.ok()) fail(path, "not an HDF5 file");
  RobustFile r;
  r.path = path;
  read_attributes(file.get(), r.attributes, nullptr);
  r.cscv = read_part(file.get(), path, "/cscv", "splits");
  r.dsr = read_part(file.get(), path, "/dsr", "table");
  r.walk_forward = read_part(file.get(), path, "/walk_forward", "folds");
  if (!r.cscv.present && !r.dsr.present && !r.walk_forward.present)
    fail(path, "no /cscv, /dsr or /walk_forward: not a threadx robustness file");
  return r;
}

}  // namespace threadx::report
