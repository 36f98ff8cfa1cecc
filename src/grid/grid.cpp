// Grid files (TOML, parsed with toml11) and the combination-id mapping (see grid.hpp, SWEEP.md).
#include "grid/grid.hpp"

#include <algorithm>
#include <cerrno>
#include <cmath>
#include <cstdio>
#include <cstring>
#include <limits>
#include <map>
#include <memory>
#include <numeric>
#include <sstream>
#include <stdexcept>
#include <utility>

#include <toml.hpp>

#include "common/error.hpp"
#include "common/time_format.hpp"
#include "strategy/catalog.hpp"

namespace threadx {

// ---- id mapping ---------------------------------------------------------------------------------
//
// An id is a number in mixed radix: digit k (k = 0 most significant) is the value index of
// parameter id_order[k], and its radix is the number of values of that parameter. A Grid from
// defaults() or parse_grid_*() has at least one value per parameter and a size that fits 64 bits;
// the functions below assume such a grid and an id < size().

Grid Grid::defaults(const StrategySpec* strategy) {
  Grid g;
  g.strategy = strategy != nullptr ? strategy : &default_strategy();
  for (std::size_t p = 0; p < g.param_count(); ++p)
    g.values[p] = {g.strategy->params[p].default_value};
  return g;
}

namespace {

// Product of the radices of the id digits [first, last).
ComboId radix_product(const Grid& g, std::size_t first, std::size_t last) {
  ComboId n = 1;
  for (std::size_t k = first; k < last; ++k) n *= g.values[g.strategy->id_order[k]].size();
  return n;
}

}  // namespace

ComboId Grid::size() const {
  return radix_product(*this, 0, param_count());
}

ComboId Grid::group_size() const {
  return radix_product(*this, strategy->key_count, param_count());
}

ComboId Grid::group_count() const {
  return radix_product(*this, 0, strategy->key_count);
}

ParamIndex Grid::indices_of(ComboId id) const {
  ParamIndex idx{};
  for (std::size_t k = param_count(); k-- > 0;) {  // least significant digit first
    const std::size_t p = strategy->id_order[k];
    const ComboId radix = values[p].size();
    idx[p] = static_cast<std::uint32_t>(id % radix);
    id /= radix;
  }
  return idx;
}

ComboId Grid::id_of(const ParamIndex& idx) const {
  ComboId id = 0;
  for (std::size_t k = 0; k < param_count(); ++k) {  // most significant digit first
    const std::size_t p = strategy->id_order[k];
    id = id * values[p].size() + idx[p];
  }
  return id;
}

ParamValues Grid::values_of(ComboId id) const {
  return values_at(indices_of(id));
}

ParamValues Grid::values_at(const ParamIndex& idx) const {
  ParamValues v{};
  for (std::size_t p = 0; p < param_count(); ++p) v[p] = values[p][idx[p]];
  return v;
}

IdDigits Grid::digits(std::vector<double>& flat) const {
  IdDigits d;
  flat.clear();
  d.count = static_cast<std::uint32_t>(param_count());
  for (std::size_t k = 0; k < param_count(); ++k) {
    const std::size_t p = strategy->id_order[k];
    d.param[k] = static_cast<std::uint32_t>(p);
    d.radix[k] = values[p].size();
    d.first[k] = flat.size();
    flat.insert(flat.end(), values[p].begin(), values[p].end());
  }
  d.values = flat.data();
  return d;
}

// Group g holds ids [g * group_size(), (g + 1) * group_size()): its first id's key digits are g's.
ParamValues Grid::key_of_group(ComboId group) const {
  return values_of(group * group_size());
}

// ---- parsing ------------------------------------------------------------------------------------

namespace {

// std::map keeps toml11's tables deterministic; entries are re-sorted into file order below.
using Value = toml::basic_value<toml::discard_comments, std::map, std::vector>;

constexpr std::size_t kMaxGridFileBytes = 1 << 20;

// More values than this for one parameter is certainly a mistake (800 MB for the list alone).
constexpr double kMaxValuesPerParam = 1e8;

// Errors are one line: control characters from the file (a quoted key or a string may hold a
// newline) are escaped.
std::string one_line(const std::string& s) {
  std::string out;
  out.reserve(s.size());
  for (const char c : s) {
    const auto u = static_cast<unsigned char>(c);
    if (c == '\n') {
      out += "\\n";
    } else if (c == '\r') {
      out += "\\r";
    } else if (c == '\t') {
      out += "\\t";
    } else if (u < 0x20 || u == 0x7f) {
      char buf[8];
      std::snprintf(buf, sizeof buf, "\\x%02x", static_cast<unsigned>(u));
      out += buf;
    } else {
      out += c;
    }
  }
  return out;
}

// "<file>:<line>: key '<key>': <reason>", the line being the TOML source line of `at`.
[[noreturn]] void fail(const std::string& file, const Value& at, const std::string& key,
                       const std::string& reason) {
  throw InputError(one_line(file + ":" + std::to_string(at.location().line()) + ": key '" + key +
                            "': " + reason));
}

const char* type_name(const Value& v) {
  if (v.is_string()) return "a string";
  if (v.is_table()) return "a table";
  if (v.is_array()) return "a list";
  if (v.is_boolean()) return "a boolean";
  if (v.is_integer()) return "an integer";
  if (v.is_floating()) return "a float";
  return "a date or time";
}

const char* expected_type(const ParamSpec& s) {
  switch (s.type) {
    case ParamType::Int:
      return "an integer";
    case ParamType::Bool:
      return "0/1 or true/false";
    case ParamType::Double:
      break;
  }
  return "a number";
}

// A TOML float as written back: "2.5", and "20.0" rather than "20" so that a message about a float
// where an integer is expected does not show an integer.
std::string float_text(double x) {
  std::string s = format_double(x);
  if (s.find_first_not_of("-0123456789") == std::string::npos) s += ".0";
  return s;
}

// A value in a message: integers as integers ("3000000000", not "3e+09"), others shortest.
std::string value_text(double x) {
  if (x == std::trunc(x) && std::fabs(x) < 9007199254740992.0)  // 2^53: every integer exact
    return std::to_string(static_cast<long long>(x));
  return format_double(x);
}

std::string outside_domain(const ParamSpec& s, double x) {
  return std::string(s.name) + " = " + value_text(x) + " is outside " + std::string(s.domain);
}

// One parameter value (an element of a list, a [fixed] value or a range bound): type-checked and
// domain-checked. `what` prefixes the reason ("range start: ") when the value is part of a range.
double scalar(const std::string& file, const Value& v, const std::string& key, const ParamSpec& s,
              const std::string& what = "") {
  double x = 0;
  if (v.is_integer()) {
    // toml11 3.7 saturates an integer literal that does not fit 64 bits instead of rejecting it.
    const std::int64_t i = v.as_integer();
    if (i == std::numeric_limits<std::int64_t>::max() ||
        i == std::numeric_limits<std::int64_t>::min())
      fail(file, v, key, what + "integer out of the 64-bit range");
    x = static_cast<double>(i);
  } else if (v.is_floating()) {
    x = v.as_floating();
    if (s.type != ParamType::Double)
      fail(file, v, key, what + "expected " + expected_type(s) + ", got " + float_text(x));
    // toml11 3.7 saturates a float literal beyond the double range (1e400) to the largest double.
    if (std::fabs(x) == std::numeric_limits<double>::max())
      fail(file, v, key, what + "number out of the double range");
  } else if (v.is_boolean() && s.type == ParamType::Bool) {
    x = v.as_boolean() ? 1 : 0;
  } else {
    std::string reason = what + "expected " + expected_type(s) + ", got " + type_name(v);
    if (v.is_array() || v.is_table()) reason += " (lists and ranges go under [grid])";
    fail(file, v, key, reason);
  }
  if (!in_domain(s, x)) fail(file, v, key, what + outside_domain(s, x));
  return x + 0.0;  // -0.0 -> +0.0, so that every backend and the results file see one zero
}

// Entries of a table in file order (toml11's tables are maps), so that the first error reported
// is the first one in the file.
std::vector<std::pair<std::string, const Value*>> in_file_order(const Value& table) {
  std::vector<std::pair<std::string, const Value*>> out;
  for (const auto& [k, v] : table.as_table()) out.emplace_back(k, &v);
  std::stable_sort(out.begin(), out.end(), [](const auto& a, const auto& b) {
    const toml::source_location la = a.second->location(), lb = b.second->location();
    return std::pair(la.line(), la.column()) < std::pair(lb.line(), lb.column());
  });
  return out;
}

// A list of values: each element checked, no duplicates, sorted ascending.
std::vector<double> list_values(const std::string& file, const Value& v, const std::string& key,
                                const ParamSpec& s) {
  const auto& elems = v.as_array();
  if (elems.empty()) fail(file, v, key, "empty list");
  std::vector<double> out;
  out.reserve(elems.size());
  for (const Value& e : elems) out.push_back(scalar(file, e, key, s));

  // Duplicates: report the first element (in file order) whose value appeared before it.
  std::vector<std::size_t> order(out.size());
  std::iota(order.begin(), order.end(), std::size_t{0});
  std::stable_sort(order.begin(), order.end(),
                   [&](std::size_t a, std::size_t b) { return out[a] < out[b]; });
  std::size_t dup = out.size();
  for (std::size_t j = 1; j < order.size(); ++j)
    if (out[order[j]] == out[order[j - 1]]) dup = std::min(dup, order[j]);
  if (dup != out.size()) fail(file, elems[dup], key, "duplicate value " + value_text(out[dup]));

  std::sort(out.begin(), out.end());
  return out;
}

// An inclusive range {start, stop, step}: values start + i*step (multiplied, never accumulated),
// i = 0..floor((stop - start)/step + 1e-9). `room` is the largest value count that keeps the
// combination count within 64 bits.
std::vector<double> range_values(const std::string& file, const Value& v, const std::string& key,
                                 const ParamSpec& s, ComboId room) {
  const auto& fields = in_file_order(v);
  for (const auto& [field, e] : fields)
    if (field != "start" && field != "stop" && field != "step")
      fail(file, *e, key, "unknown range field '" + field + "' (a range is {start, stop, step})");
  const auto& t = v.as_table();
  for (const char* need : {"start", "stop", "step"})
    if (t.find(need) == t.end())
      fail(file, v, key,
           std::string("range needs '") + need + "' (a range is {start, stop, step})");

  const double start = scalar(file, t.at("start"), key, s, "range start: ");
  const double stop = scalar(file, t.at("stop"), key, s, "range stop: ");
  const Value& sv = t.at("step");
  const bool integral = s.type != ParamType::Double;
  double step = 0;
  if (sv.is_integer()) {
    step = static_cast<double>(sv.as_integer());
  } else if (sv.is_floating() && !integral) {
    step = sv.as_floating();
  } else {
    fail(file, sv, key,
         std::string("range step: expected ") + (integral ? "an integer" : "a number") + ", got " +
             (sv.is_floating() ? float_text(sv.as_floating()) : type_name(sv)));
  }
  if (!(step > 0)) fail(file, sv, key, "range step must be > 0, got " + value_text(step));
  if (!std::isfinite(step)) fail(file, sv, key, "range step must be finite");
  if (stop < start)
    fail(file, v, key, "empty range: stop " + value_text(stop) + " < start " + value_text(start));

  // For integer parameters the quotient is computed exactly; the 1e-9 tolerance only exists to
  // absorb the rounding of non-integer steps (and would add a value past stop for steps > 1e9).
  const double last =
      integral ? std::floor((stop - start) / step) : std::floor((stop - start) / step + 1e-9);
  if (!(last < static_cast<double>(room)))  // last + 1 values > room
    fail(file, v, key, "the grid has more than 2^64-1 combinations");
  if (!(last < kMaxValuesPerParam))
    fail(file, v, key, "range has more than 100000000 values; check start, stop and step");
  const auto count = static_cast<ComboId>(last) + 1;
  if (count > room) fail(file, v, key, "the grid has more than 2^64-1 combinations");

  std::vector<double> out;
  out.reserve(count);
  for (ComboId i = 0; i < count; ++i) {
    const double x = start + static_cast<double>(i) * step;
    if (!in_domain(s, x)) fail(file, v, key, outside_domain(s, x));
    // start + i*step never decreases in i; equal neighbours mean a step below the resolution.
    if (!out.empty() && x == out.back())
      fail(file, v, key, "duplicate value " + value_text(x) + " (step too small for start)");
    out.push_back(x + 0.0);
  }
  return out;
}

std::size_t param_of(const std::string& file, const Value& v, const StrategySpec& strategy,
                     const std::string& section, const std::string& name) {
  const std::size_t p = strategy.index_of(name);
  if (p == strategy.param_count()) {
    std::string reason = "unknown parameter";
    if (name == "strategy") {
      reason += " (strategy = \"...\" goes at the top of the file, before any [table])";
    } else {
      std::string names;
      for (const ParamSpec& s : strategy.params)
        names += (names.empty() ? "" : ", ") + std::string(s.name);
      reason += " (parameters: " + names + ")";
    }
    fail(file, v, section + "." + name, reason);
  }
  return p;
}

// The line a toml11 error is about: its location, else the last " <n> | " line of its message.
std::uint_least32_t toml_error_line(const toml::exception& e) {
  if (e.location().line() != 0) return e.location().line();
  std::uint_least32_t line = 0;
  std::istringstream msg(e.what());
  for (std::string l; std::getline(msg, l);) {
    const auto bar = l.find(" | ");
    if (bar == std::string::npos) continue;
    const auto digits = l.find_first_not_of(' ');
    if (digits >= bar) continue;
    const std::string n = l.substr(digits, bar - digits);
    if (n.find_first_not_of("0123456789") == std::string::npos)
      line = static_cast<std::uint_least32_t>(std::stoul(n));
  }
  return line;
}

// TOML is UTF-8; toml11 3.7 reads past the end of its buffer on some invalid sequences (found by
// fuzzing: a literal string holding byte 0xff), so anything else is refused first.
void check_utf8(const std::string& text, const std::string& name) {
  std::size_t line = 1;
  for (std::size_t i = 0; i < text.size();) {
    const auto b = static_cast<unsigned char>(text[i]);
    if (b == '\n') ++line;
    std::size_t len = 1;
    std::uint32_t min = 0, cp = b;
    if (b >= 0xF0 && b <= 0xF4) {
      len = 4, min = 0x10000, cp = b & 0x07u;
    } else if (b >= 0xE0 && b <= 0xEF) {
      len = 3, min = 0x800, cp = b & 0x0Fu;
    } else if (b >= 0xC2 && b <= 0xDF) {
      len = 2, min = 0x80, cp = b & 0x1Fu;
    } else if (b >= 0x80) {
      len = 0;
    }
    for (std::size_t k = 1; len != 0 && k < len; ++k) {
      const auto c = i + k < text.size() ? static_cast<unsigned char>(text[i + k]) : 0u;
      if ((c & 0xC0u) != 0x80u) len = 0;
      cp = (cp << 6) | (c & 0x3Fu);
    }
    if (len == 0 || cp < min || cp > 0x10FFFF || (cp >= 0xD800 && cp <= 0xDFFF)) {
      char hex[8];
      std::snprintf(hex, sizeof hex, "0x%02x", static_cast<unsigned>(b));
      throw InputError(name + ":" + std::to_string(line) + ": not UTF-8 text (byte " + hex +
                       "); a grid file is TOML, which is UTF-8");
    }
    i += len;
  }
}

// toml11 parses by recursive descent and overflows the stack on deeply nested lists or inline
// tables and on keys with very many dotted parts (about 10^5 levels, well within the 1 MiB file
// limit). A light scan (strings and comments skipped) refuses such a text before toml11 sees it;
// grid files nest two levels deep.
constexpr std::size_t kMaxNesting = 100;

void check_nesting(const std::string& text, const std::string& name) {
  std::vector<char> open;  // '[' and '{' of the lists and inline tables open at position i
  bool in_key = true;      // reading a key (line start at top level, after '{' or ',' in a table)
  std::size_t dots = 0, line = 1;
  auto fail_at = [&](const char* what) {
    throw InputError(name + ":" + std::to_string(line) + ": " + what + " (more than " +
                     std::to_string(kMaxNesting) + " levels)");
  };
  for (std::size_t i = 0; i < text.size(); ++i) {
    const char c = text[i];
    if (c == '\n') {
      ++line;
      if (open.empty()) in_key = true, dots = 0;
    } else if (c == '#') {
      while (i + 1 < text.size() && text[i + 1] != '\n') ++i;
    } else if (c == '"' || c == '\'') {
      const bool triple = text.compare(i, 3, std::string(3, c)) == 0;
      for (i += triple ? 3 : 1; i < text.size(); ++i) {
        if (text[i] == '\n') {
          if (!triple) break;  // unterminated: toml11 reports it
          ++line;
        } else if (c == '"' && text[i] == '\\') {
          ++i;
        } else if (text[i] == c && (!triple || text.compare(i, 3, std::string(3, c)) == 0)) {
          if (triple) i += 2;
          break;
        }
      }
      if (i < text.size() && text[i] == '\n') --i;  // counted by the loop
    } else if (in_key) {
      if (c == '.' && ++dots > kMaxNesting) fail_at("key with too many dotted parts");
      if (c == '=') in_key = false, dots = 0;
      if (c == '}' && !open.empty()) open.pop_back(), in_key = false;  // "{}"
    } else if (c == '[' || c == '{') {
      open.push_back(c);
      if (open.size() > kMaxNesting) fail_at("lists or inline tables nested too deep");
      if (c == '{') in_key = true, dots = 0;
    } else if ((c == ']' || c == '}') && !open.empty()) {
      open.pop_back();
    } else if (c == ',' && !open.empty() && open.back() == '{') {
      in_key = true, dots = 0;
    }
  }
}

}  // namespace

Grid parse_grid_text(const std::string& text, const std::string& name) {
  check_utf8(text, name);
  check_nesting(text, name);
  Value root;
  try {
    std::istringstream in(text);
    root = toml::parse<toml::discard_comments, std::map, std::vector>(in, name);
  } catch (const toml::exception& e) {
    // toml11's message spans several lines (an excerpt of the file); keep the first, without
    // its "[error] " prefix.
    std::string msg = e.what();
    msg = msg.substr(0, msg.find('\n'));
    if (msg.rfind("[error] ", 0) == 0) msg = msg.substr(8);
    const std::uint_least32_t line = toml_error_line(e);
    throw InputError(
        one_line(name + (line != 0 ? ":" + std::to_string(line) : std::string()) + ": " + msg));
  }

  const StrategySpec* strategy = &default_strategy();
  const Value* fixed = nullptr;
  const Value* grid = nullptr;
  for (const auto& [key, v] : in_file_order(root)) {
    if (key == "strategy") {
      if (!v->is_string())
        fail(name, *v, key, std::string("expected a string, got ") + type_name(*v));
      const std::string& s = v->as_string().str;
      strategy = find_strategy(s);
      if (strategy == nullptr)
        fail(name, *v, key, "unknown strategy '" + s + "' (known: " + strategy_names() + ")");
    } else if (key == "fixed" || key == "grid") {
      if (!v->is_table())
        fail(name, *v, key, "expected a table [" + key + "], got " + type_name(*v));
      (key == "fixed" ? fixed : grid) = v;
    } else if (v->is_table()) {
      fail(name, *v, key, "unknown table [" + key + "] (expected [fixed] or [grid])");
    } else {
      fail(name, *v, key, "unknown key (expected strategy, [fixed] or [grid])");
    }
  }

  Grid g = Grid::defaults(strategy);
  g.path = name;
  g.source_text = text;
  // The entry that set each parameter, for the cross-parameter rules; checked in this order.
  std::array<const Value*, kMaxParams> entry{};
  std::array<std::string, kMaxParams> entry_key;
  std::array<int, kMaxParams> entry_order{};
  int order = 0;
  if (fixed != nullptr) {
    for (const auto& [pname, v] : in_file_order(*fixed)) {
      const std::size_t p = param_of(name, *v, *strategy, "fixed", pname);
      g.values[p] = {scalar(name, *v, "fixed." + pname, strategy->params[p])};
      g.fixed[p] = true;
      entry[p] = v, entry_key[p] = "fixed." + pname, entry_order[p] = ++order;
    }
  }

  if (grid != nullptr) {
    constexpr ComboId kMax = std::numeric_limits<ComboId>::max();
    ComboId total = 1;  // combinations so far: fixed and default parameters count 1
    for (const auto& [pname, v] : in_file_order(*grid)) {
      const std::size_t p = param_of(name, *v, *strategy, "grid", pname);
      const ParamSpec& spec = strategy->params[p];
      const std::string key = "grid." + pname;
      if (g.fixed[p])
        fail(name, *v, key,
             "also listed in [fixed] (line " +
                 std::to_string(fixed->as_table().at(pname).location().line()) +
                 "); a parameter is either fixed or swept");
      if (v->is_array()) {
        g.values[p] = list_values(name, *v, key, spec);
      } else if (v->is_table()) {
        g.values[p] = range_values(name, *v, key, spec, kMax / total);
      } else {
        fail(name, *v, key,
             std::string("expected a list or a range {start, stop, step}, got ") + type_name(*v));
      }
      g.swept[p] = true;
      entry[p] = v, entry_key[p] = key, entry_order[p] = ++order;
      const ComboId n = g.values[p].size();
      if (n > kMax / total) fail(name, *v, key, "the grid has more than 2^64-1 combinations");
      total *= n;
    }
  }

  // Cross-parameter rules, once every entry passed its own checks: reported at the later of the
  // two entries in checking order (the only one written when the other keeps its default).
  for (const OrderedPair& rule : strategy->ordered) {
    const double hi = g.values[rule.lower].back(), lo = g.values[rule.upper].front();
    if (hi < lo) continue;
    const std::size_t at =
        entry_order[rule.upper] >= entry_order[rule.lower] ? rule.upper : rule.lower;
    if (entry[at] == nullptr)  // both at their defaults: the strategy's table is at fault
      throw std::logic_error("strategy " + std::string(strategy->name) +
                             ": the defaults break a cross-parameter rule");
    const std::string a(strategy->params[rule.lower].name), b(strategy->params[rule.upper].name);
    fail(name, *entry[at], entry_key[at],
         a + " must be < " + b + " in every combination, but " + a + " = " + value_text(hi) +
             " meets " + b + " = " + value_text(lo));
  }
  return g;
}

Grid parse_grid_file(const std::string& path) {
  auto cannot = [&](int err) {
    return InputError(path + ": cannot read grid file: " + std::strerror(err != 0 ? err : EIO));
  };
  struct Close {
    void operator()(std::FILE* file) const { std::fclose(file); }
  };
  errno = 0;
  const std::unique_ptr<std::FILE, Close> f(std::fopen(path.c_str(), "rb"));
  if (!f) throw cannot(errno);
  // Read through stdio rather than a stream: a directory opens fine and only fails on read
  // (EISDIR), which must not pass for an empty grid file.
  std::string text;
  char buf[1 << 16];
  std::size_t n = 0;
  errno = 0;
  while ((n = std::fread(buf, 1, sizeof buf, f.get())) > 0) {
    text.append(buf, n);
    // A grid file is a few hundred bytes; stop before toml11 spends minutes on a huge one.
    if (text.size() > kMaxGridFileBytes)
      throw InputError(path + ": grid file is larger than 1 MiB: not a grid file");
  }
  if (std::ferror(f.get()) != 0) throw cannot(errno);
  return parse_grid_text(text, path);
}

}  // namespace threadx
