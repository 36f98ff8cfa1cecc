// The report page: one self-contained HTML file (Vega inlined, data inlined as JSON, nothing
// loaded from the network). Every chart is a <div class="chart"> that a Vega 5 view renders as
// SVG when the page opens; the page counts them in <meta name="threadx-charts">, records script
// errors in <pre id="errors"> and sets <body data-rendered="N"> once N views have drawn (what the
// browser test checks).
#pragma once

#include <cstdint>
#include <optional>
#include <ostream>
#include <string>
#include <utility>
#include <vector>

#include "report/aggregate.hpp"
#include "report/rerun.hpp"
#include "report/robust_file.hpp"

namespace threadx::report {

using Rows = std::vector<std::vector<std::string>>;

// A plain table: column names and rows of text.
struct TextTable {
  std::string title;
  std::vector<std::string> columns;
  Rows rows;
};

// The re-run of one combination, with the bars it ran on.
struct RerunView {
  std::string label;  // e.g. "#1234: bb_period=20 bb_std=2 ..."
  std::vector<std::int64_t> time_ms;
  std::vector<double> close;
  Rerun run;
};

struct Page {
  std::string title;
  std::vector<std::pair<std::string, std::string>> header;  // run header, in display order
  std::vector<std::string> banners;                         // warnings shown on top (partial...)
  const Grid* grid = nullptr;                               // the results file's grid
  const Aggregates* aggregates = nullptr;
  TextTable top;
  std::string top_note;               // where the top rows come from, when not from every row
  std::vector<TextTable> accounting;  // per rank, per device
  std::optional<RerunView> rerun;
  std::string rerun_note;  // why there is no re-run, when there is none
  const RobustFile* robust = nullptr;
  std::size_t max_points = 2000;  // price/equity series are thinned to about this many points
};

void write_page(std::ostream& out, const Page& page);

}  // namespace threadx::report
