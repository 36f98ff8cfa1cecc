#include "report/html.hpp"

#include <algorithm>
#include <array>
#include <charconv>
#include <cmath>
#include <cstdio>
#include <string_view>

#include "report/assets.hpp"

#ifndef THREADX_VEGA_VERSION
#define THREADX_VEGA_VERSION "?"
#endif

namespace threadx::report {
namespace {

// ---- text helpers ---------------------------------------------------------------------------

// Shortest text that reads back as v; "null" for NaN and infinities (JSON has neither).
std::string num(double v) {
  if (!std::isfinite(v)) return "null";
  char buf[32];
  const auto r = std::to_chars(buf, buf + sizeof buf, v);
  return {buf, r.ptr};
}

// Six significant digits: chart data, where more would only grow the page.
std::string num6(double v) {
  if (!std::isfinite(v)) return "null";
  char buf[32];
  std::snprintf(buf, sizeof buf, "%.6g", v);
  return buf;
}

// A JSON string; <, > and & escaped too, so no "</script>" can appear inside the page's script.
std::string str(std::string_view s) {
  std::string out = "\"";
  for (const char ch : s) {
    const auto c = static_cast<unsigned char>(ch);
    switch (ch) {
      case '"':
        out += "\\\"";
        break;
      case '\\':
        out += "\\\\";
        break;
      case '\n':
        out += "\\n";
        break;
      default:
        if (c < 0x20 || ch == '<' || ch == '>' || ch == '&') {
          char buf[8];
          std::snprintf(buf, sizeof buf, "\\u%04x", c);
          out += buf;
        } else {
          out += ch;
        }
    }
  }
  return out + "\"";
}

std::string html(std::string_view s) {
  std::string out;
  for (const char ch : s) {
    switch (ch) {
      case '<':
        out += "&lt;";
        break;
      case '>':
        out += "&gt;";
        break;
      case '&':
        out += "&amp;";
        break;
      case '"':
        out += "&quot;";
        break;
      default:
        out += ch;
    }
  }
  return out;
}

std::string fixed(double v, int digits) {
  if (std::isnan(v)) return "-";
  if (std::isinf(v)) return v > 0 ? "inf" : "-inf";
  char buf[64];
  std::snprintf(buf, sizeof buf, "%.*f", digits, v);
  return buf;
}

std::string label_of(double v) {
  return num(v);
}

// ---- charts -----------------------------------------------------------------------------------

struct Chart {
  std::string id;
  std::string spec;  // Vega 5 JSON
  bool heatmap = false;
};

class Charts {
 public:
  // The <div> of a new chart (its spec is inlined at the end of the page).
  std::string add(std::string spec, bool heatmap = false) {
    Chart c{"chart" + std::to_string(charts_.size()), std::move(spec), heatmap};
    charts_.push_back(std::move(c));
    return "<div class=\"chart\" id=\"" + charts_.back().id + "\"></div>\n";
  }
  [[nodiscard]] const std::vector<Chart>& all() const { return charts_; }

 private:
  std::vector<Chart> charts_;
};

std::string json_list(const std::vector<std::string>& items) {
  std::string s = "[";
  for (std::size_t i = 0; i < items.size(); ++i) s += (i ? "," : "") + items[i];
  return s + "]";
}

// "#id: name=value name=value ..." over the swept parameters.
std::string combo_label(const Aggregates& a, const Grid& grid, ComboId id) {
  const ParamIndex idx = grid.indices_of(id);
  std::string s = "#";
  s += std::to_string(id);
  s += ':';
  for (const Axis& ax : a.axes) {
    s += ' ';
    s += ax.name;
    s += '=';
    s += label_of(ax.values[idx[ax.param]]);
  }
  return s;
}

std::string metric_title(const Aggregates& a) {
  return a.metric + (a.higher_is_better ? "" : " (lower is better)");
}

std::string heatmap_spec(const Aggregates& ag, const PairMap& pm,
                         const std::vector<std::string>& best_labels) {
  const Axis& ax = ag.axes[pm.a];
  const Axis& ay = ag.axes[pm.b];
  std::vector<std::string> xs, ys, cells;
  for (const double v : ax.values) xs.push_back(str(label_of(v)));
  for (const double v : ay.values) ys.push_back(str(label_of(v)));
  for (std::size_t i = 0; i < ax.values.size(); ++i)
    for (std::size_t j = 0; j < ay.values.size(); ++j) {
      const std::size_t k = i * ay.values.size() + j;
      const Cell& c = pm.cells[k];
      if (c.count == 0) continue;
      cells.push_back("{\"x\":" + xs[i] + ",\"y\":" + ys[j] + ",\"best\":" + num6(c.best) +
                      ",\"mid\":" + num6(centre(ag, c)) + ",\"n\":" + std::to_string(c.count) +
                      ",\"combo\":" + str(best_labels[k]) + "}");
    }
  const double cell =
      std::clamp(360.0 / static_cast<double>(std::max(xs.size(), ys.size())), 12.0, 32.0);
  const std::string best_word = ag.higher_is_better ? "max" : "min";
  const std::string mid_word = centre_word(ag);
  std::string s =
      R"J({"width":)J" + num(cell * static_cast<double>(xs.size())) + R"J(,"height":)J" +
      num(cell * static_cast<double>(ys.size())) + R"J(,"padding":5,"title":{"text":)J" +
      str(ax.name + " x " + ay.name) +
      R"J(,"anchor":"start"},"signals":[{"name":"stat","value":"best"}],
"data":[{"name":"cells","values":)J" +
      json_list(cells) +
      R"J(,"transform":[{"type":"formula","as":"v","expr":"stat === 'best' ? datum.best : datum.mid"}]}],
"scales":[{"name":"x","type":"band","domain":)J" +
      json_list(xs) + R"J(,"range":"width"},
{"name":"y","type":"band","domain":)J" +
      json_list(ys) + R"J(,"range":"height","reverse":true},
{"name":"color","type":"linear","zero":false,"domain":{"data":"cells","field":"v"},"range":{"scheme":"viridis"},"reverse":)J" +
      (ag.higher_is_better ? "false" : "true") + R"J(}],
"axes":[{"orient":"bottom","scale":"x","title":)J" +
      str(ax.name) + R"J(,"labelOverlap":true},{"orient":"left","scale":"y","title":)J" +
      str(ay.name) + R"J(,"labelOverlap":true}],
"legends":[{"fill":"color","type":"gradient","title":{"signal":"(stat === 'best' ? ')J" +
      best_word + R"J( ' : ')J" + mid_word + R"J( ') + ')J" + ag.metric + "'" +
      R"J("},"gradientLength":{"signal":"max(60, height)"}}],
"marks":[{"type":"rect","from":{"data":"cells"},"encode":{"update":{
"x":{"scale":"x","field":"x"},"width":{"scale":"x","band":1},
"y":{"scale":"y","field":"y"},"height":{"scale":"y","band":1},
"fill":{"scale":"color","field":"v"},
"tooltip":{"signal":"{title: 'best: ' + datum.combo, )J" +
      "'" + ax.name + "': datum.x, '" + ay.name + R"J(': datum.y, ')J" + best_word +
      R"J(': format(datum.best, '.4~f'), ')J" + mid_word +
      R"J(': format(datum.mid, '.4~f'), 'combinations': datum.n}"}},
"hover":{"stroke":{"value":"#000"},"strokeWidth":{"value":1.5}}}}]})J";
  return s;
}

std::string sensitivity_spec(const Aggregates& ag, std::size_t a) {
  const Axis& ax = ag.axes[a];
  std::vector<std::string> xs, rows;
  for (std::size_t i = 0; i < ax.values.size(); ++i) {
    const Cell& c = ag.sensitivity[a][i];
    xs.push_back(str(label_of(ax.values[i])));
    if (c.count == 0) continue;
    rows.push_back("{\"x\":" + xs.back() + ",\"lo\":" + num6(band_low(ag, c)) +
                   ",\"mid\":" + num6(centre(ag, c)) + ",\"hi\":" + num6(band_high(ag, c)) +
                   ",\"best\":" + num6(c.best) + ",\"n\":" + std::to_string(c.count) + "}");
  }
  const std::string best_word = ag.higher_is_better ? "max" : "min";
  const std::string mid_word = centre_word(ag), band = band_word(ag);
  return R"J({"width":360,"height":200,"padding":5,"title":{"text":)J" + str(ax.name) +
         R"J(,"anchor":"start"},
"data":[{"name":"s","values":)J" +
         json_list(rows) + R"J(}],
"scales":[{"name":"x","type":"point","domain":)J" +
         json_list(xs) + R"J(,"range":"width","padding":0.3},
{"name":"y","type":"linear","zero":false,"nice":true,"domain":{"data":"s","fields":["lo","hi","best","mid"]},"range":"height"},
{"name":"key","type":"ordinal","domain":[")J" +
         mid_word + R"J(",")J" + band + R"J(",")J" + best_word +
         R"J("],"range":["#1f77b4","#aec7e8","#d62728"]}],
"axes":[{"orient":"bottom","scale":"x","title":)J" +
         str(ax.name) + R"J(,"labelOverlap":true},{"orient":"left","scale":"y","title":)J" +
         str(ag.metric) + R"J(,"grid":true}],
"legends":[{"fill":"key","orient":"top","direction":"horizontal","symbolType":"square"}],
"marks":[
{"type":"area","from":{"data":"s"},"encode":{"update":{"x":{"scale":"x","field":"x"},"y":{"scale":"y","field":"hi"},"y2":{"scale":"y","field":"lo"},"fill":{"value":"#aec7e8"},"fillOpacity":{"value":0.7}}}},
{"type":"line","from":{"data":"s"},"encode":{"update":{"x":{"scale":"x","field":"x"},"y":{"scale":"y","field":"mid"},"stroke":{"value":"#1f77b4"},"strokeWidth":{"value":2}}}},
{"type":"line","from":{"data":"s"},"encode":{"update":{"x":{"scale":"x","field":"x"},"y":{"scale":"y","field":"best"},"stroke":{"value":"#d62728"},"strokeDash":{"value":[4,3]}}}},
{"type":"symbol","from":{"data":"s"},"encode":{"update":{"x":{"scale":"x","field":"x"},"y":{"scale":"y","field":"mid"},"size":{"value":40},"fill":{"value":"#1f77b4"},
"tooltip":{"signal":"{title: ')J" +
         ax.name + R"J( = ' + datum.x, ')J" + mid_word + R"J(': format(datum.mid, '.4~f'), ')J" +
         band + R"J(': format(datum.lo, '.4~f') + ' .. ' + format(datum.hi, '.4~f'), ')J" +
         best_word + R"J(': format(datum.best, '.4~f'), 'combinations': datum.n}"}}}}]})J";
}

// Bars [lo, hi) with counts, as a Vega histogram; x_title names the values.
std::string histogram_spec(const std::string& title, const std::string& x_title, double lo,
                           double hi, const std::vector<std::uint64_t>& counts,
                           const std::string& rule_at) {
  std::vector<std::string> bins;
  const double w = (hi - lo) / static_cast<double>(counts.size());
  for (std::size_t i = 0; i < counts.size(); ++i)
    bins.push_back("{\"x0\":" + num6(lo + w * static_cast<double>(i)) +
                   ",\"x1\":" + num6(lo + w * static_cast<double>(i + 1)) +
                   ",\"n\":" + std::to_string(counts[i]) + "}");
  std::string rule;
  if (!rule_at.empty())
    rule =
        R"J(,{"type":"rule","encode":{"update":{"x":{"scale":"x","value":)J" + rule_at +
        R"J(},"y":{"value":0},"y2":{"signal":"height"},"stroke":{"value":"#d62728"},"strokeDash":{"value":[4,3]}}}})J";
  return R"J({"width":560,"height":220,"padding":5,"title":{"text":)J" + str(title) +
         R"J(,"anchor":"start"},
"data":[{"name":"bins","values":)J" +
         json_list(bins) + R"J(}],
"scales":[{"name":"x","type":"linear","zero":false,"domain":[)J" +
         num6(lo) + "," + num6(hi) + R"J(],"range":"width"},
{"name":"y","type":"linear","domain":{"data":"bins","field":"n"},"range":"height","nice":true}],
"axes":[{"orient":"bottom","scale":"x","title":)J" +
         str(x_title) + R"J(},{"orient":"left","scale":"y","title":"combinations","grid":true}],
"marks":[{"type":"rect","from":{"data":"bins"},"encode":{"update":{"x":{"scale":"x","field":"x0"},"x2":{"scale":"x","field":"x1","offset":-1},"y":{"scale":"y","field":"n"},"y2":{"scale":"y","value":0},"fill":{"value":"#4c78a8"},
"tooltip":{"signal":"{'from': format(datum.x0, '.4~f'), 'to': format(datum.x1, '.4~f'), 'count': datum.n}"}},"hover":{"fill":{"value":"#f58518"}}}})J" +
         rule + "]}";
}

// A time-series chart: lines (name, values per point) over t, optional extra marks and data.
struct Series {
  std::string name;
  std::string color;
  std::vector<double> y;
};

std::string time_spec(const std::string& title, const std::string& y_title,
                      const std::vector<std::int64_t>& t, const std::vector<Series>& series,
                      bool area, const std::string& extra_data, const std::string& extra_marks,
                      int height) {
  std::vector<std::string> pts, names, colors;
  for (const Series& s : series) {
    names.push_back(str(s.name));
    colors.push_back(str(s.color));
  }
  for (std::size_t i = 0; i < t.size(); ++i) {
    std::string p = "{\"t\":" + std::to_string(t[i]);
    for (std::size_t k = 0; k < series.size(); ++k) {
      p += ",\"v";
      p += std::to_string(k);
      p += "\":";
      p += num6(series[k].y[i]);
    }
    pts.push_back(p + "}");
  }
  std::string fields, marks;
  for (std::size_t k = 0; k < series.size(); ++k) {
    const std::string f = std::string(1, 'v') + std::to_string(k);
    if (k > 0) fields += ',';
    fields += str(f);
    if (area)
      marks +=
          R"J({"type":"area","from":{"data":"p"},"encode":{"update":{"x":{"scale":"x","field":"t"},"y":{"scale":"y","field":")J" +
          f + R"J("},"y2":{"scale":"y","value":0},"fill":{"value":)J" + colors[k] +
          R"J(},"fillOpacity":{"value":0.5},"defined":{"signal":"isValid(datum.)J" + f +
          R"J()"}}}},)J";
    else
      marks +=
          R"J({"type":"line","from":{"data":"p"},"encode":{"update":{"x":{"scale":"x","field":"t"},"y":{"scale":"y","field":")J" +
          f + R"J("},"stroke":{"value":)J" + colors[k] + R"J(},"strokeWidth":{"value":)J" +
          (k == 0 ? "1.5" : "1") + R"J(},"defined":{"signal":"isValid(datum.)J" + f +
          R"J()"}}}},)J";
  }
  marks += extra_marks;
  if (!marks.empty() && marks.back() == ',') marks.pop_back();
  return R"J({"width":1100,"height":)J" + std::to_string(height) +
         R"J(,"padding":5,"title":{"text":)J" + str(title) + R"J(,"anchor":"start"},
"data":[{"name":"p","values":)J" +
         json_list(pts) + "}" + extra_data + R"J(],
"scales":[{"name":"x","type":"time","domain":{"data":"p","field":"t"},"range":"width"},
{"name":"y","type":"linear","zero":)J" +
         (area ? "true" : "false") + R"J(,"nice":true,"domain":{"data":"p","fields":[)J" + fields +
         R"J(]},"range":"height"},
{"name":"key","type":"ordinal","domain":)J" +
         json_list(names) + R"J(,"range":)J" + json_list(colors) + R"J(}],
"axes":[{"orient":"bottom","scale":"x"},{"orient":"left","scale":"y","title":)J" +
         str(y_title) + R"J(,"grid":true}],
"legends":[{"stroke":"key","orient":"top-left","direction":"horizontal"}],
"marks":[)J" +
         marks + "]}";
}

// ---- page parts -------------------------------------------------------------------------------

void table_html(std::ostream& o, const TextTable& t, std::size_t highlight_row = SIZE_MAX) {
  if (!t.title.empty()) o << "<h3>" << html(t.title) << "</h3>\n";
  o << "<div class=\"scroll\"><table><thead><tr>";
  for (const std::string& c : t.columns) o << "<th>" << html(c) << "</th>";
  o << "</tr></thead><tbody>\n";
  for (std::size_t r = 0; r < t.rows.size(); ++r) {
    o << (r == highlight_row ? "<tr class=\"hl\">" : "<tr>");
    for (const std::string& c : t.rows[r]) o << "<td>" << html(c) << "</td>";
    o << "</tr>\n";
  }
  o << "</tbody></table></div>\n";
}

void rerun_section(std::ostream& o, Charts& charts, const RerunView& rv, std::size_t max_points) {
  const std::size_t n = rv.time_ms.size();
  const std::size_t stride = std::max<std::size_t>(1, (n + max_points - 1) / max_points);
  std::vector<std::int64_t> t;
  Series close{"close", "#444", {}};
  std::vector<Series> overlays;
  const char* colors[] = {"#2ca02c", "#9467bd", "#d62728", "#8c564b"};
  for (std::size_t k = 0; k < rv.run.overlays.size(); ++k)
    overlays.push_back({rv.run.overlays[k].name, colors[k % 4], {}});
  Series equity{"equity", "#1f77b4", {}};
  Series drawdown{"drawdown", "#d62728", {}};
  double peak = -HUGE_VAL;
  for (std::size_t s = 0; s < n; s += stride) {
    const std::size_t e = std::min(n, s + stride);
    double dd = 0;
    for (std::size_t i = s; i < e; ++i) {
      peak = std::max(peak, rv.run.equity[i]);
      dd = std::max(dd, peak > 0 ? 1.0 - rv.run.equity[i] / peak : 0.0);
    }
    t.push_back(rv.time_ms[e - 1]);
    close.y.push_back(rv.close[e - 1]);
    for (std::size_t k = 0; k < overlays.size(); ++k)
      overlays[k].y.push_back(rv.run.overlays[k].value[e - 1]);
    equity.y.push_back(rv.run.equity[e - 1]);
    drawdown.y.push_back(-dd * 100.0);
  }
  // Trades: entries (triangles, up = long) and exits (crosses), at most 2,000 of them.
  const std::size_t shown = std::min<std::size_t>(rv.run.trades.size(), 2000);
  std::vector<std::string> marks;
  for (std::size_t k = 0; k < shown; ++k) {
    const Trade& tr = rv.run.trades[k];
    const auto eb = static_cast<std::size_t>(tr.entry_bar),
               xb = static_cast<std::size_t>(tr.exit_bar);
    marks.push_back("{\"t\":" + std::to_string(rv.time_ms[eb]) + ",\"p\":" + num6(tr.entry_price) +
                    ",\"kind\":" + str(tr.side > 0 ? "long entry" : "short entry") +
                    ",\"pnl\":" + num6(tr.pnl) + "}");
    marks.push_back("{\"t\":" + std::to_string(rv.time_ms[xb]) + ",\"p\":" + num6(tr.exit_close) +
                    ",\"kind\":\"exit\",\"pnl\":" + num6(tr.pnl) + "}");
  }
  const std::string extra_data = ",{\"name\":\"trades\",\"values\":" + json_list(marks) + "}";
  const std::string trade_marks =
      R"J({"type":"symbol","from":{"data":"trades"},"encode":{"update":{"x":{"scale":"x","field":"t"},"y":{"scale":"y","field":"p"},
"shape":{"signal":"datum.kind === 'long entry' ? 'triangle-up' : datum.kind === 'short entry' ? 'triangle-down' : 'cross'"},
"size":{"value":70},"fill":{"signal":"datum.kind === 'long entry' ? '#2ca02c' : datum.kind === 'short entry' ? '#d62728' : '#222'"},
"tooltip":{"signal":"{title: datum.kind, 'time': timeFormat(datum.t, '%Y-%m-%d %H:%M'), 'price': format(datum.p, '.2f'), 'trade pnl': format(datum.pnl, '.2f')}"}}}})J";
  std::vector<Series> price{close};
  price.insert(price.end(), overlays.begin(), overlays.end());
  o << "<p>" << html(rv.label) << "</p>\n";
  o << "<p class=\"note\">" << rv.run.trades.size() << " trades";
  if (shown < rv.run.trades.size()) o << " (the first " << shown << " drawn)";
  if (stride > 1)
    o << "; " << n << " bars drawn as " << t.size() << " points (every " << stride
      << "th bar; drawdown: the deepest in each step)";
  o << ".</p>\n";
  o << charts.add(time_spec("price, indicators, entries and exits", "price", t, price, false,
                            extra_data, trade_marks, 320));
  o << charts.add(time_spec("equity", "equity", t, {equity}, false, "", "", 200));
  o << charts.add(time_spec("drawdown (%)", "drawdown %", t, {drawdown}, true, "", "", 140));
}

std::string attr_text(const RobustPart& p, const std::string& name) {
  for (const auto& [k, v] : p.attributes)
    if (k == name) return v;
  return "-";
}

TextTable table_of(const Table& t, const std::string& title, std::size_t max_rows) {
  TextTable out;
  out.title = title;
  out.columns = t.fields;
  for (std::size_t r = 0; r < std::min(t.rows, max_rows); ++r) {
    std::vector<std::string> row;
    for (const auto& c : t.columns) {
      const double v = c[r];
      row.push_back(v == std::floor(v) && std::fabs(v) < 1e15 ? num(v) : fixed(v, 4));
    }
    out.rows.push_back(std::move(row));
  }
  if (t.rows > max_rows)
    out.title += " (first " + std::to_string(max_rows) + " of " + std::to_string(t.rows) + " rows)";
  return out;
}

// "+ 0.3" or "- 0.3" (not "+ -0.3") for the second term of "a + b x IS".
std::string signed_term(const std::string& b) {
  return !b.empty() && b[0] == '-' ? "- " + b.substr(1) : "+ " + b;
}

void robust_section(std::ostream& o, Charts& charts, const RobustFile& rf) {
  o << "<h2 id=\"robust\">Robustness</h2>\n<p class=\"note\">" << html(rf.path) << "</p>\n";
  if (rf.cscv.present) {
    const RobustPart& c = rf.cscv;
    o << "<h3>CSCV: probability of backtest overfitting</h3>\n<p class=\"big\">PBO = "
      << html(attr_text(c, "pbo")) << "</p>\n<p>S = " << html(attr_text(c, "S")) << " blocks, "
      << html(attr_text(c, "splits")) << " splits, " << html(attr_text(c, "candidates"))
      << " candidates; P(OOS loss) = " << html(attr_text(c, "prob_oos_loss"))
      << "; OOS = " << html(attr_text(c, "intercept")) << " "
      << html(signed_term(attr_text(c, "slope"))) << " x IS</p>\n";
    const std::vector<double>* lambda = c.table.column("lambda");
    if (lambda != nullptr && !lambda->empty()) {
      double lo = *std::min_element(lambda->begin(), lambda->end());
      double hi = *std::max_element(lambda->begin(), lambda->end());
      lo = std::min(lo, 0.0);
      hi = std::max(hi, 0.0);
      if (!(hi > lo)) hi = lo + 1;
      std::vector<std::uint64_t> counts(30, 0);
      for (const double x : *lambda) {
        if (!std::isfinite(x)) continue;
        const double f = std::floor((x - lo) / (hi - lo) * 30.0);
        ++counts[static_cast<std::size_t>(std::clamp(f, 0.0, 29.0))];
      }
      o << charts.add(histogram_spec(
          "logit of the chosen candidate's out-of-sample rank (PBO: the share below 0)",
          "logit lambda", lo, hi, counts, "0"));
    }
    const std::vector<double>* is = c.table.column("is_sharpe");
    const std::vector<double>* oos = c.table.column("oos_sharpe");
    if (is != nullptr && oos != nullptr && !is->empty()) {
      const std::size_t step = std::max<std::size_t>(1, is->size() / 4000);
      std::vector<std::string> pts;
      double lo = HUGE_VAL, hi = -HUGE_VAL;
      for (std::size_t i = 0; i < is->size(); i += step) {
        if (!std::isfinite((*is)[i]) || !std::isfinite((*oos)[i])) continue;
        lo = std::min(lo, (*is)[i]);
        hi = std::max(hi, (*is)[i]);
        pts.push_back("{\"is\":" + num6((*is)[i]) + ",\"oos\":" + num6((*oos)[i]) + "}");
      }
      const double slope = c.number("slope").value_or(std::nan(""));
      const double icpt = c.number("intercept").value_or(std::nan(""));
      std::string line = "[]";
      if (std::isfinite(slope) && std::isfinite(icpt) && lo <= hi)
        line = "[{\"is\":" + num6(lo) + ",\"oos\":" + num6(icpt + slope * lo) +
               "},{\"is\":" + num6(hi) + ",\"oos\":" + num6(icpt + slope * hi) + "}]";
      o << charts.add(
          R"J({"width":420,"height":320,"padding":5,"title":{"text":"in-sample vs out-of-sample Sharpe of the chosen candidate, one point per split","anchor":"start"},
"data":[{"name":"pts","values":)J" +
          json_list(pts) + R"J(},{"name":"line","values":)J" + line + R"J(}],
"scales":[{"name":"x","type":"linear","zero":false,"nice":true,"domain":{"data":"pts","field":"is"},"range":"width"},
{"name":"y","type":"linear","zero":false,"nice":true,"domain":{"fields":[{"data":"pts","field":"oos"},{"data":"line","field":"oos"}]},"range":"height"}],
"axes":[{"orient":"bottom","scale":"x","title":"in-sample Sharpe","grid":true},{"orient":"left","scale":"y","title":"out-of-sample Sharpe","grid":true}],
"marks":[{"type":"symbol","from":{"data":"pts"},"encode":{"update":{"x":{"scale":"x","field":"is"},"y":{"scale":"y","field":"oos"},"size":{"value":16},"fill":{"value":"#4c78a8"},"fillOpacity":{"value":0.5},
"tooltip":{"signal":"{'IS Sharpe': format(datum.is, '.3f'), 'OOS Sharpe': format(datum.oos, '.3f')}"}}}},
{"type":"line","from":{"data":"line"},"encode":{"update":{"x":{"scale":"x","field":"is"},"y":{"scale":"y","field":"oos"},"stroke":{"value":"#d62728"},"strokeWidth":{"value":2}}}}]})J");
    }
  }
  if (rf.walk_forward.present) {
    const RobustPart& w = rf.walk_forward;
    o << "<h3>Walk-forward</h3>\n<p>window " << html(attr_text(w, "window")) << ", mode "
      << html(attr_text(w, "mode")) << ", min trades " << html(attr_text(w, "min_trades"))
      << ": stitched out-of-sample Sharpe " << html(attr_text(w, "oos_sharpe")) << ", total return "
      << html(attr_text(w, "oos_total_return")) << ", " << html(attr_text(w, "oos_trades"))
      << " trades, walk-forward efficiency " << html(attr_text(w, "wf_efficiency")) << "</p>\n";
    const std::vector<double>* growth = w.table.column("oos_growth");
    const std::vector<double>* fold = w.table.column("fold");
    if (growth != nullptr && !growth->empty()) {
      // Folds are numbered by their out-of-sample block k (ROBUST.md: k = W .. S-1): the curve
      // starts at 1 where the first fold's block starts and steps to the end of each fold's block.
      const double first = fold != nullptr ? (*fold)[0] : 0.0;
      std::vector<std::string> pts{"{\"fold\":" + num6(first) + ",\"equity\":1}"};
      double e = 1;
      for (std::size_t i = 0; i < growth->size(); ++i) {
        e *= (*growth)[i];
        const double f = fold != nullptr ? (*fold)[i] + 1 : static_cast<double>(i + 1);
        pts.push_back("{\"fold\":" + num6(f) + ",\"equity\":" + num6(e) + "}");
      }
      o << charts.add(
          R"J({"width":560,"height":220,"padding":5,"title":{"text":"stitched out-of-sample equity: growth of 1, fold by fold","anchor":"start"
    },
"data":[{"name":"pts","values":)J" +
          json_list(pts) + R"J(}],
"scales":[{"name":"x","type":"linear","domain":{"data":"pts","field":"fold"},"range":"width","nice":false},
{"name":"y","type":"linear","zero":false,"nice":true,"domain":{"data":"pts","field":"equity"},"range":"height"}],
"axes":[{"orient":"bottom","scale":"x","title":"block: the end of each out-of-sample fold","tickMinStep":1},{"orient":"left","scale":"y","title":"equity","grid":true}],
"marks":[{"type":"line","from":{"data":"pts"},"encode":{"update":{"x":{"scale":"x","field":"fold"},"y":{"scale":"y","field":"equity"},"stroke":{"value":"#1f77b4"},"strokeWidth":{"value":2}}}},
{"type":"symbol","from":{"data":"pts"},"encode":{"update":{"x":{"scale":"x","field":"fold"},"y":{"scale":"y","field":"equity"},"fill":{"value":"#1f77b4"},"size":{"value":30},
"tooltip":{"signal":"{'after fold': datum.fold, 'equity': format(datum.equity, '.4f')}"}}}}]})J");
    }
    if (w.table.rows > 0) table_html(o, table_of(w.table, "folds", 200));
  }
  if (rf.dsr.present) {
    o << "<h3>Deflated Sharpe ratio</h3>\n";
    if (!rf.dsr.attributes.empty()) {
      o << "<p>";
      for (const auto& [k, v] : rf.dsr.attributes) o << html(k) << " = " << html(v) << "; ";
      o << "</p>\n";
    }
    table_html(o, table_of(rf.dsr.table, "", 50));
  }
}

constexpr std::string_view kStyle = R"J(
body{font-family:system-ui,-apple-system,"Segoe UI",Roboto,sans-serif;margin:24px;color:#222;max-width:1300px}
h1{font-size:22px;margin:0 0 8px}h2{font-size:18px;margin:28px 0 8px;border-bottom:1px solid #ddd;padding-bottom:4px}
h3{font-size:15px;margin:18px 0 6px}table{border-collapse:collapse;font-size:12px}
td,th{border:1px solid #ddd;padding:2px 6px;text-align:right;white-space:nowrap}th{background:#f4f4f4}
table.kv td{text-align:left;white-space:pre-wrap;max-width:1000px}table.kv td:first-child{font-weight:600}
tr.hl td{background:#fff3c4}.scroll{overflow-x:auto}.chart{display:inline-block;margin:6px 18px 6px 0;vertical-align:top}
.banner{background:#fde2e1;border:2px solid #d62728;padding:10px 14px;margin:10px 0;font-weight:600}
.note{color:#666;font-size:12px}.big{font-size:20px;font-weight:600}#errors{color:#b00;white-space:pre-wrap}
.switch{margin:6px 0 10px}
)J";

// Runs every view; errors go to #errors (and the console), <body data-rendered> counts views drawn.
constexpr std::string_view kRunner = R"J(
(function () {
  var errors = [];
  function report(msg) {
    errors.push(String(msg));
    var e = document.getElementById('errors');
    e.textContent = errors.join('\n');
    e.hidden = false;
    document.body.setAttribute('data-errors', String(errors.length));
  }
  window.addEventListener('error', function (ev) { report('script error: ' + ev.message); });
  window.addEventListener('unhandledrejection', function (ev) { report('script error: ' + ev.reason); });
  var views = [];
  // page.html#median (or #mean) opens with the heatmaps on the median (the mean).
  var stat = location.hash === '#median' || location.hash === '#mean' ? 'mid' : 'best';
  var radios = document.querySelectorAll('input[name=stat]');
  for (var i = 0; i < radios.length; ++i) radios[i].checked = radios[i].value === stat;
  document.body.setAttribute('data-stat', stat);
  var runs = CHARTS.map(function (c) {
    try {
      var view = new vega.View(vega.parse(c.spec), {renderer: 'svg', container: '#' + c.id, hover: true});
      if (c.heatmap) view.signal('stat', stat);
      views.push({chart: c, view: view});
      return view.runAsync();
    } catch (e) {
      report('chart ' + c.id + ': ' + e);
      return Promise.resolve();
    }
  });
  Promise.all(runs).then(function () {
    document.body.setAttribute('data-rendered', String(views.length));
  }, function (e) { report(e); });
  for (i = 0; i < radios.length; ++i) {
    radios[i].addEventListener('change', function (ev) {
      views.forEach(function (v) {
        if (v.chart.heatmap) v.view.signal('stat', ev.target.value).runAsync();
      });
      document.body.setAttribute('data-stat', ev.target.value);
    });
  }
})();
)J";

}  // namespace

void write_page(std::ostream& o, const Page& page) {
  Charts charts;
  o << "<!DOCTYPE html>\n<html lang=\"en\"><head><meta charset=\"utf-8\">\n<title>"
    << html(page.title) << "</title>\n";
  // The chart count is known only at the end: the body carries it too (data-charts).
  o << "<style>" << kStyle << "</style>\n</head>\n<body>\n";
  o << "<h1>" << html(page.title) << "</h1>\n";
  for (const std::string& b : page.banners) o << "<div class=\"banner\">" << html(b) << "</div>\n";
  o << "<pre id=\"errors\" hidden></pre>\n";
  o << "<table class=\"kv\"><tbody>\n";
  for (const auto& [k, v] : page.header)
    o << "<tr><td>" << html(k) << "</td><td>" << html(v) << "</td></tr>\n";
  o << "</tbody></table>\n";

  const Aggregates& ag = *page.aggregates;
  o << "<h2>Top "
    << (page.top.rows.empty() ? std::string() : std::to_string(page.top.rows.size()) + " ") << "by "
    << html(metric_title(ag)) << "</h2>\n";
  if (!page.top_note.empty()) o << "<p class=\"note\">" << html(page.top_note) << "</p>\n";
  if (!page.top.rows.empty()) table_html(o, page.top, 0);

  if (ag.overall.count > 0 && !ag.pairs.empty()) {
    o << "<h2>Heatmaps: every pair of swept parameters</h2>\n"
      << "<div class=\"switch\">colour = <label><input type=\"radio\" name=\"stat\" value=\"best\" "
         "checked> "
      << (ag.higher_is_better ? "max" : "min")
      << "</label> <label><input type=\"radio\" name=\"stat\" value=\"mid\"> " << centre_word(ag)
      << "</label> of " << html(ag.metric)
      << " over the other parameters; hover a cell for its best combination. A plateau of good "
         "cells is more trustworthy than one bright cell.</div>\n";
    for (const PairMap& pm : ag.pairs) {
      std::vector<std::string> labels;
      for (const Cell& c : pm.cells)
        labels.push_back(c.count ? combo_label(ag, *page.grid, c.best_id) : "");
      o << charts.add(heatmap_spec(ag, pm, labels), true);
    }
  }

  if (ag.overall.count > 0 && !ag.axes.empty()) {
    o << "<h2>Sensitivity per parameter</h2>\n<p class=\"note\">For each value of one parameter, "
         "over every combination of the others: "
      << centre_word(ag) << " (line), " << band_word(ag) << " (band), "
      << (ag.higher_is_better ? "max" : "min") << " (dashed).</p>\n";
    for (std::size_t a = 0; a < ag.axes.size(); ++a) o << charts.add(sensitivity_spec(ag, a));
  }

  o << "<h2>Distribution of " << html(ag.metric) << "</h2>\n";
  if (ag.overall.count > 0) {
    o << "<p class=\"note\">" << ag.overall.count << " combinations: min "
      << fixed(ag.overall.min, 4);
    if (ag.quantiles)
      o << ", quartiles " << fixed(ag.overall.q1, 4) << " / " << fixed(ag.overall.median, 4)
        << " / " << fixed(ag.overall.q3, 4);
    else
      o << ", mean " << fixed(ag.overall.mean, 4) << ", sd " << fixed(ag.overall.sd, 4);
    o << ", max " << fixed(ag.overall.max, 4);
    if (ag.histogram.below + ag.histogram.above > 0)
      o << "; the " << ag.histogram.below << " below " << fixed(ag.histogram.lo, 4) << " and the "
        << ag.histogram.above << " above " << fixed(ag.histogram.hi, 4)
        << " are counted in the end bars";
    o << ".</p>\n";
    if (ag.histogram.counts.empty())
      o << "<p>" << html(ag.histogram_note) << "</p>\n";
    else
      o << charts.add(histogram_spec(ag.metric + " over every combination counted", ag.metric,
                                     ag.histogram.lo, ag.histogram.hi, ag.histogram.counts, ""));
  } else {
    o << "<p>No combination passes the filters.</p>\n";
  }

  o << "<h2>The best combination, re-run</h2>\n";
  if (page.rerun)
    rerun_section(o, charts, *page.rerun, page.max_points);
  else
    o << "<p>" << html(page.rerun_note) << "</p>\n";

  if (page.robust != nullptr) robust_section(o, charts, *page.robust);

  if (!page.accounting.empty()) {
    o << "<h2>Accounting</h2>\n";
    for (const TextTable& t : page.accounting) table_html(o, t);
  }

  o << "<p class=\"note\">Written by threadx " << THREADX_VERSION << ". Charts: Vega "
    << THREADX_VEGA_VERSION
    << " (BSD-3-Clause, Copyright (c) 2015-2024 University of Washington Interactive Data Lab; "
       "includes d3, ISC, Copyright 2010-2023 Mike Bostock), inlined below.</p>\n";
  o << "<meta name=\"threadx-charts\" content=\"" << charts.all().size() << "\">\n";
  o << "<script>\n";
  std::string_view js = vega_js();
  // Drop the trailing source-map comment: the map is not shipped, and nothing may be fetched.
  if (const std::size_t at = js.rfind("//# sourceMappingURL="); at != std::string_view::npos)
    js = js.substr(0, at);
  o << js << "\n</script>\n<script>\nvar CHARTS = [\n";
  for (std::size_t i = 0; i < charts.all().size(); ++i) {
    const Chart& c = charts.all()[i];
    o << (i ? ",\n" : "") << "{\"id\":" << str(c.id)
      << ",\"heatmap\":" << (c.heatmap ? "true" : "false") << ",\"spec\":" << c.spec << "}";
  }
  o << "\n];\n" << kRunner << "</script>\n</body></html>\n";
}

}  // namespace threadx::report
