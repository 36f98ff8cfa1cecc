// `threadx top` and `threadx info`: read a results file back.
#include <algorithm>
#include <iostream>

#include <spdlog/spdlog.h>

#include "cli/commands.hpp"
#include "cli/table.hpp"
#include "results/ranking.hpp"
#include "results/results_reader.hpp"

namespace threadx {

int run_top(const TopOptions& o) {
  const ResultsReader reader(o.file);
  reader.require_rows();
  if (reader.attribute("complete").value_or("0") != "1")
    spdlog::warn("{}: the sweep is not complete; ranking the rows done so far", o.file);
  RankQuery q;
  q.by = o.by;
  q.n = o.n;
  q.ascending = o.ascending;
  q.min_trades = o.min_trades;
  q.max_drawdown = o.max_drawdown;
  const RankResult r = rank_rows(reader, q);
  print_rows(std::cout, reader.columns(), r.rows, {}, o.csv);
  if (!o.csv)
    std::cout << "(" << r.rows.size() << " of " << r.considered << " combinations passing the "
              << "filters, " << r.done << " done, by " << o.by
              << (o.ascending ? " ascending" : " descending") << ")\n";
  return 0;
}

int run_info(const InfoOptions& o) {
  const ResultsReader reader(o.file);
  const std::vector<std::uint8_t> done = reader.has_rows() || reader.rows_joined_later()
                                             ? reader.read_done()
                                             : std::vector<std::uint8_t>{};
  const auto n_done = static_cast<std::uint64_t>(std::count(done.begin(), done.end(), 1));
  for (const auto& [name, value] : reader.attributes()) {
    if (!o.attributes && name == "grid_text") continue;
    std::cout << name << ": " << value << '\n';
  }
  if (reader.rows_joined_later()) {
    std::cout << "rows: " << done.size() << " (" << n_done
              << " done), stored by the ranks in part files, joined when the run ends\n";
    return 0;
  }
  if (!reader.has_rows()) {
    std::cout << "rows: none (--keep " << reader.attribute("keep").value_or("") << ")\n";
    return 0;
  }
  std::cout << "rows: " << reader.rows() << (reader.kept_only() ? " kept" : "") << " (" << n_done
            << " done)\n";
  std::cout << "storage: " << reader.storage() << '\n';
  std::cout << "columns:";
  for (const Column& c : reader.columns()) std::cout << ' ' << c.name;
  std::cout << '\n';
  return 0;
}

}  // namespace threadx
