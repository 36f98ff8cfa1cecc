// Grid files (toml11) and the combination-id mapping (see grid.hpp).
#include "grid/grid.hpp"

#include <algorithm>
#include <cerrno>
#include <cmath>
#include <cstring>
#include <fstream>
#include <map>
#include <sstream>

#include <toml.hpp>

#include "common/error.hpp"
#include "common/time_format.hpp"

namespace threadx {

bool in_domain(ParamId id, double v) {
  const ParamSpec& s = kParams[id];
  if (!std::isfinite(v)) return false;
  if (s.type != ParamType::Double && v != std::floor(v)) return false;
  if (s.min_inclusive ? v < s.min : v <= s.min) return false;
  if (s.max_inclusive ? v > s.max : v >= s.max) return false;
  return true;
}

// ---- id mapping
// ----------------------------------------------------------------------------------

Grid Grid::defaults() {
  Grid g;
  for (std::size_t p = 0; p < kParamCount; ++p) g.values[p] = {kParams[p].default_value};
  return g;
}

ComboId Grid::size() const {
  return group_size() * group_count();
}

ComboId Grid::group_size() const {
  ComboId n = 1;
  for (std::size_t k = kKeyParamCount; k < kParamCount; ++k) n *= values[kIdOrder[k]].size();
  return n;
}

ComboId Grid::group_count() const {
  ComboId n = 1;
  for (std::size_t k = 0; k < kKeyParamCount; ++k) n *= values[kIdOrder[k]].size();
  return n;
}

std::array<std::uint32_t, kParamCount> Grid::indices_of(ComboId id) const {
  std::array<std::uint32_t, kParamCount> idx{};
  for (std::size_t k = kParamCount; k-- > 0;) {
    const ParamId p = kIdOrder[k];
    const ComboId radix = values[p].size();
    idx[p] = static_cast<std::uint32_t>(id % radix);
    id /= radix;
  }
  return idx;
}

ComboId Grid::id_of(const std::array<std::uint32_t, kParamCount>& idx) const {
  ComboId id = 0;
  for (std::size_t k = 0; k < kParamCount; ++k) {
    const ParamId p = kIdOrder[k];
    id = id * values[p].size() + idx[p];
  }
  return id;
}

StrategyParams Grid::params_of(ComboId id) const {
  const auto idx = indices_of(id);
  auto v = [&](ParamId p) { return values[p][idx[p]]; };
  auto i = [&](ParamId p) { return static_cast<int>(values[p][idx[p]]); };
  StrategyParams s;
  s.bb_period = i(kBbPeriod);
  s.bb_std = v(kBbStd);
  s.atr_period = i(kAtrPeriod);
  s.atr_multiplier = v(kAtrMultiplier);
  s.max_hold_bars = i(kMaxHoldBars);
  s.spacing_bars = i(kSpacingBars);
  s.trend_period = i(kTrendPeriod);
  s.trailing_stop = i(kTrailingStop);
  s.risk_per_trade = v(kRiskPerTrade);
  s.leverage = v(kLeverage);
  s.fee_bps = v(kFeeBps);
  s.slippage_bps = v(kSlippageBps);
  s.initial_capital = v(kInitialCapital);
  return s;
}

Grid::Key Grid::key_of_group(ComboId group) const {
  const ComboId trend_n = values[kTrendPeriod].size(), atr_n = values[kAtrPeriod].size();
  Key k{};
  k.trend_period = static_cast<int>(values[kTrendPeriod][group % trend_n]);
  group /= trend_n;
  k.atr_period = static_cast<int>(values[kAtrPeriod][group % atr_n]);
  group /= atr_n;
  k.bb_period = static_cast<int>(values[kBbPeriod][group]);
  return k;
}

// ---- parsing
// -------------------------------------------------------------------------------------

namespace {

using Value = toml::basic_value<toml::discard_comments, std::map, std::vector>;

[[noreturn]] void fail(const std::string& file, const Value& v, const std::string& key,
                       const std::string& reason) {
  throw InputError(file + ":" + std::to_string(v.location().line()) + ": key '" + key +
                   "': " + reason);
}

const char* type_name(const Value& v) {
  if (v.is_string()) return "a string";
  if (v.is_table()) return "a table";
  if (v.is_array()) return "a list";
  if (v.is_boolean()) return "a boolean";
  if (v.is_integer()) return "an integer";
  if (v.is_floating()) return "a number";
  return "a date or time";
}

std::string expected_type(ParamId p) {
  switch (kParams[p].type) {
    case ParamType::Int:
      return "an integer";
    case ParamType::Bool:
      return "0/1 or true/false";
    case ParamType::Double:
      break;
  }
  return "a number";
}

// One scalar parameter value, type-checked and domain-checked.
double scalar(const std::string& file, const Value& v, const std::string& key, ParamId p) {
  double x = 0;
  const ParamSpec& s = kParams[p];
  if (v.is_integer()) {
    x = static_cast<double>(v.as_integer());
  } else if (v.is_floating() && s.type == ParamType::Double) {
    x = v.as_floating();
  } else if (v.is_boolean() && s.type == ParamType::Bool) {
    x = v.as_boolean() ? 1 : 0;
  } else if (v.is_floating()) {
    fail(file, v, key, "expected " + expected_type(p) + ", got " + format_double(v.as_floating()));
  } else {
    fail(file, v, key, "expected " + expected_type(p) + ", got " + type_name(v));
  }
  if (!in_domain(p, x))
    fail(file, v, key,
         std::string(s.name) + " = " + format_double(x) + " is outside " + std::string(s.domain));
  return x;
}

std::vector<double> grid_values(const std::string& file, const Value& v, const std::string& key,
                                ParamId p) {
  std::vector<double> out;
  if (v.is_array()) {
    if (v.as_array().empty()) fail(file, v, key, "empty list");
    for (const Value& e : v.as_array()) out.push_back(scalar(file, e, key, p));
  } else if (v.is_table()) {
    const auto& t = v.as_table();
    for (const auto& [k, e] : t)
      if (k != "start" && k != "stop" && k != "step")
        fail(file, e, key + "." + k, "unknown range field (expected start, stop, step)");
    for (const char* need : {"start", "stop", "step"})
      if (t.find(need) == t.end()) fail(file, v, key, std::string("range needs '") + need + "'");
    // start and stop are parameter values; step only needs the right type.
    const double start = scalar(file, t.at("start"), key + ".start", p);
    const double stop = scalar(file, t.at("stop"), key + ".stop", p);
    const Value& sv = t.at("step");
    double step = 0;
    if (sv.is_integer())
      step = static_cast<double>(sv.as_integer());
    else if (sv.is_floating() && kParams[p].type == ParamType::Double)
      step = sv.as_floating();
    else
      fail(file, sv, key + ".step", "expected " + expected_type(p) + ", got " + type_name(sv));
    if (!(step > 0) || !std::isfinite(step))
      fail(file, sv, key + ".step", "step must be > 0, got " + format_double(step));
    if (stop < start)
      fail(file, v, key,
           "empty range: stop " + format_double(stop) + " < start " + format_double(start));
    const double count = std::floor((stop - start) / step + 1e-9);
    if (count >= 1e8) fail(file, v, key, "range has more than 1e8 values");
    for (double i = 0; i <= count; i += 1) {
      const double x = start + i * step;
      if (!in_domain(p, x))
        fail(file, v, key,
             std::string(kParams[p].name) + " = " + format_double(x) + " is outside " +
                 std::string(kParams[p].domain));
      out.push_back(x);
    }
  } else {
    fail(file, v, key,
         "expected a list or a range {start, stop, step}, got " + std::string(type_name(v)));
  }
  std::sort(out.begin(), out.end());
  const auto dup = std::adjacent_find(out.begin(), out.end());
  if (dup != out.end()) fail(file, v, key, "duplicate value " + format_double(*dup));
  return out;
}

ParamId param_of(const std::string& file, const Value& v, const std::string& section,
                 const std::string& name) {
  const std::size_t p = param_index(name);
  if (p == kParamCount) {
    std::string names;
    for (const ParamSpec& s : kParams) names += (names.empty() ? "" : ", ") + std::string(s.name);
    fail(file, v, section + "." + name, "unknown parameter (parameters: " + names + ")");
  }
  return static_cast<ParamId>(p);
}

// Entries of a table in file order (toml11's map is sorted by name), so the first error reported
// is the first one in the file.
std::vector<std::pair<std::string, const Value*>> in_file_order(const Value& table) {
  std::vector<std::pair<std::string, const Value*>> out;
  for (const auto& [k, v] : table.as_table()) out.emplace_back(k, &v);
  std::stable_sort(out.begin(), out.end(), [](const auto& a, const auto& b) {
    return a.second->location().line() < b.second->location().line();
  });
  return out;
}

}  // namespace

Grid parse_grid_text(const std::string& text, const std::string& name) {
  Value root;
  try {
    std::istringstream in(text);
    root = toml::parse<toml::discard_comments, std::map, std::vector>(in, name);
  } catch (const toml::exception& e) {
    // toml11's message spans several lines; keep the first, without its "[error] " prefix.
    std::string msg = e.what();
    msg = msg.substr(0, msg.find('\n'));
    if (msg.rfind("[error] ", 0) == 0) msg = msg.substr(8);
    throw InputError(name + ":" + std::to_string(e.location().line()) + ": invalid TOML: " + msg);
  }

  Grid g = Grid::defaults();
  g.path = name;
  g.source_text = text;
  const Value* fixed = nullptr;
  const Value* grid = nullptr;
  for (const auto& [key, v] : in_file_order(root)) {
    if (key == "strategy") {
      if (!v->is_string())
        fail(name, *v, key, std::string("expected a string, got ") + type_name(*v));
      if (v->as_string().str != kStrategyName)
        fail(name, *v, key, "unknown strategy '" + v->as_string().str + "' (known: bb_atr)");
    } else if (key == "fixed" || key == "grid") {
      if (!v->is_table()) fail(name, *v, key, "expected a table [" + key + "]");
      (key == "fixed" ? fixed : grid) = v;
    } else {
      fail(name, *v, key, "unknown key (expected strategy, [fixed], [grid])");
    }
  }
  if (fixed != nullptr) {
    for (const auto& [pname, v] : in_file_order(*fixed)) {
      const ParamId p = param_of(name, *v, "fixed", pname);
      g.values[p] = {scalar(name, *v, "fixed." + pname, p)};
      g.fixed[p] = true;
    }
  }
  if (grid != nullptr) {
    for (const auto& [pname, v] : in_file_order(*grid)) {
      const ParamId p = param_of(name, *v, "grid", pname);
      if (g.fixed[p]) fail(name, *v, "grid." + pname, "listed in both [fixed] and [grid]");
      g.values[p] = grid_values(name, *v, "grid." + pname, p);
      g.swept[p] = true;
    }
  }
  // The id space must fit 64 bits.
  ComboId total = 1;
  for (std::size_t p = 0; p < kParamCount; ++p) {
    const ComboId n = g.values[p].size();
    if (total > UINT64_MAX / n)
      throw InputError(name + ": the grid has more than 2^64 combinations");
    total *= n;
  }
  return g;
}

Grid parse_grid_file(const std::string& path) {
  std::ifstream in(path, std::ios::binary);
  if (!in) throw InputError(path + ": cannot read grid file: " + std::strerror(errno));
  std::ostringstream text;
  text << in.rdbuf();
  return parse_grid_text(text.str(), path);
}

}  // namespace threadx
