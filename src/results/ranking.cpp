// Best-N selection over a results file (see ranking.hpp).
#include "results/ranking.hpp"

#include <algorithm>
#include <cmath>
#include <queue>

#include "common/error.hpp"

namespace threadx {
namespace {

constexpr std::uint64_t kBlockRows = 1 << 16;

struct Candidate {
  double key;  // NaN sorts after every number
  std::uint64_t id;
  std::vector<unsigned char> row;
};

}  // namespace

RankResult rank_rows(const ResultsReader& reader, const RankQuery& query) {
  const Column* by = reader.find(query.by);
  if (by == nullptr) {
    std::string names;
    for (const Column& c : reader.columns()) names += (names.empty() ? "" : ", ") + c.name;
    throw InputError("--by '" + query.by + "': no such column; columns are " + names);
  }
  const Column* trades = reader.find("trades");
  const Column* drawdown = reader.find("max_drawdown");
  const Column* id_col = reader.find("combo_id");

  // better(a, b): a ranks before b.
  auto better = [&](const Candidate& a, const Candidate& b) {
    const bool an = std::isnan(a.key), bn = std::isnan(b.key);
    if (an != bn) return bn;
    if (!an && a.key != b.key) return query.ascending ? a.key < b.key : a.key > b.key;
    return a.id < b.id;
  };
  // A heap whose top is the worst kept candidate.
  std::priority_queue<Candidate, std::vector<Candidate>, decltype(better)> heap(better);

  RankResult result;
  const std::vector<std::uint8_t> done = reader.read_done();
  const std::size_t row_size = reader.row_size();
  for (std::uint64_t begin = 0; begin < reader.rows(); begin += kBlockRows) {
    const std::uint64_t count = std::min(kBlockRows, reader.rows() - begin);
    const std::vector<unsigned char> block = reader.read_rows(begin, count);
    for (std::uint64_t r = 0; r < count; ++r) {
      if (done[begin + r] == 0) continue;
      ++result.done;
      const unsigned char* row = block.data() + r * row_size;
      if (trades != nullptr &&
          ResultsReader::value(row, *trades) < static_cast<double>(query.min_trades))
        continue;
      if (drawdown != nullptr && ResultsReader::value(row, *drawdown) > query.max_drawdown)
        continue;
      ++result.considered;
      if (query.n == 0) continue;
      Candidate c{ResultsReader::value(row, *by),
                  id_col != nullptr ? static_cast<std::uint64_t>(ResultsReader::value(row, *id_col))
                                    : begin + r,
                  {}};
      if (heap.size() == query.n && !better(c, heap.top())) continue;
      c.row.assign(row, row + row_size);
      heap.push(std::move(c));
      if (heap.size() > query.n) heap.pop();
    }
  }
  result.rows.resize(heap.size());
  for (std::size_t i = heap.size(); i-- > 0;) {
    result.rows[i] = heap.top().row;
    heap.pop();
  }
  return result;
}

}  // namespace threadx
