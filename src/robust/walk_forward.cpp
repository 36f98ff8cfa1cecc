#include "robust/walk_forward.hpp"

#include <limits>
#include <string>

#include <fmt/format.h>

#include "common/error.hpp"
#include "robust/parallel.hpp"
#include "robust/sharpe.hpp"

namespace threadx::robust {
namespace {

int first_in_sample_block(const WalkForwardConfig& config, int fold) {
  return config.mode == WalkMode::rolling ? fold - config.window : 0;
}

bool better(const FoldPick& a, const FoldPick& b) {  // a replaces b
  if (a.chosen == kNoCombination) return false;
  if (b.chosen == kNoCombination) return true;
  return a.is_sharpe > b.is_sharpe || (a.is_sharpe == b.is_sharpe && a.chosen < b.chosen);
}

WalkForwardSelection empty_selection(const BlockMatrix& rows, const WalkForwardConfig& config) {
  WalkForwardSelection s;
  s.blocks = rows.blocks;
  s.config = config;
  s.returns_per_block.assign(rows.returns_per_block.begin(), rows.returns_per_block.end());
  s.folds.resize(static_cast<std::size_t>(rows.blocks - config.window));
  return s;
}

// Rows are visited in increasing id order, so a later equal SR never replaces an earlier one.
void select_rows(const BlockMatrix& rows, WalkForwardSelection& out) {
  const WalkForwardConfig& config = out.config;
  const int blocks = rows.blocks;
  for (std::int64_t r = 0; r < rows.rows(); ++r) {
    const std::span<const BlockStats> row = rows.row(r);
    for (int k = config.window; k < blocks; ++k) {
      const int first = first_in_sample_block(config, k);
      std::int64_t trades = 0;
      for (int b = first; b < k; ++b) trades += row[static_cast<std::size_t>(b)].trades;
      if (trades < config.min_trades) continue;
      FoldPick& best = out.folds[static_cast<std::size_t>(k - config.window)];
      const double sr = sharpe_of_range(row, rows.returns_per_block, first, k - 1);
      if (best.chosen != kNoCombination && !(sr > best.is_sharpe)) continue;
      best.chosen = rows.id(r);
      best.is_sharpe = sr;
      best.oos = row[static_cast<std::size_t>(k)];
      best.previous_equity = k == 0 ? rows.capital(r) : row[static_cast<std::size_t>(k - 1)].equity;
    }
  }
}

}  // namespace

WalkMode parse_walk_mode(std::string_view text) {
  if (text == "rolling") return WalkMode::rolling;
  if (text == "anchored") return WalkMode::anchored;
  throw InputError(
      fmt::format("walk-forward: unknown mode '{}', expected rolling or anchored", text));
}

const char* walk_mode_name(WalkMode mode) {
  return mode == WalkMode::rolling ? "rolling" : "anchored";
}

void validate(const WalkForwardConfig& config, int blocks) {
  if (config.window < 1 || config.window >= blocks)
    throw InputError(fmt::format("walk-forward: window W = {} blocks, expected 1 <= W < S = {}",
                                 config.window, blocks));
  if (config.mode != WalkMode::rolling && config.mode != WalkMode::anchored)
    throw InputError("walk-forward: unknown mode");
  if (config.min_trades < 0)
    throw InputError(
        fmt::format("walk-forward: min_trades = {}, expected >= 0", config.min_trades));
}

WalkForwardSelection walk_forward_select(const BlockMatrix& rows, const WalkForwardConfig& config,
                                         unsigned threads) {
  validate(rows);
  validate(config, rows.blocks);
  const unsigned parts = detail::resolve_threads(threads, static_cast<std::uint64_t>(rows.rows()));
  std::vector<WalkForwardSelection> partial(parts, empty_selection(rows, config));
  const auto n = static_cast<std::uint64_t>(rows.rows());
  detail::run_parts(parts, [&](unsigned p) {
    const auto begin = static_cast<std::int64_t>(detail::part_begin(n, parts, p));
    const auto end = static_cast<std::int64_t>(detail::part_begin(n, parts, p + 1));
    select_rows(rows.slice(begin, end), partial[p]);
  });
  WalkForwardSelection out = std::move(partial[0]);
  for (unsigned p = 1; p < parts; ++p) merge_into(out, partial[p]);
  return out;
}

void merge_into(WalkForwardSelection& into, const WalkForwardSelection& from) {
  if (into.blocks != from.blocks || into.config.window != from.config.window ||
      into.config.mode != from.config.mode || into.config.min_trades != from.config.min_trades ||
      into.returns_per_block != from.returns_per_block || into.folds.size() != from.folds.size())
    throw InputError("walk-forward: cannot merge selections made with different settings");
  for (std::size_t f = 0; f < into.folds.size(); ++f)
    if (better(from.folds[f], into.folds[f])) into.folds[f] = from.folds[f];
}

WalkForwardResult walk_forward_result(const WalkForwardSelection& selection) {
  validate(selection.config, selection.blocks);
  if (selection.folds.size() !=
          static_cast<std::size_t>(selection.blocks - selection.config.window) ||
      selection.returns_per_block.size() != static_cast<std::size_t>(selection.blocks))
    throw InputError("walk-forward: the selection does not hold one pick per fold");
  WalkForwardResult out;
  out.config = selection.config;
  double s1 = 0.0, s2 = 0.0, growth = 1.0, is_sum = 0.0;
  std::int64_t n = 0, chose = 0;
  for (std::size_t f = 0; f < selection.folds.size(); ++f) {
    const FoldPick& pick = selection.folds[f];
    const int k = selection.config.window + static_cast<int>(f);
    const std::int64_t n_k = selection.returns_per_block[static_cast<std::size_t>(k)];
    WalkForwardFold fold;
    fold.fold = k;
    fold.is_first_block = first_in_sample_block(selection.config, k);
    fold.is_last_block = k - 1;
    fold.chosen = pick.chosen;
    n += n_k;  // a flat fold's n_k zero returns count too
    if (pick.chosen == kNoCombination) {
      fold.is_sharpe = std::numeric_limits<double>::quiet_NaN();
      fold.oos_sharpe = 0.0;
      fold.oos_growth = 1.0;
      fold.oos_trades = 0;
      s1 += 0.0;
      s2 += 0.0;
    } else {
      fold.is_sharpe = pick.is_sharpe;
      fold.oos_sharpe = sharpe_from_sums(0.0 + pick.oos.sum_r, 0.0 + pick.oos.sum_r2, n_k);
      fold.oos_growth = pick.oos.equity / pick.previous_equity;
      fold.oos_trades = pick.oos.trades;
      s1 += pick.oos.sum_r;
      s2 += pick.oos.sum_r2;
      is_sum += pick.is_sharpe;
      ++chose;
    }
    growth *= fold.oos_growth;
    out.oos_trades += fold.oos_trades;
    out.folds.push_back(fold);
  }
  out.oos_sharpe = sharpe_from_sums(s1, s2, n);
  out.oos_total_return = growth - 1.0;
  const double mean_is = chose > 0 ? is_sum / static_cast<double>(chose) : 0.0;
  out.wf_efficiency = chose > 0 && mean_is != 0.0 ? out.oos_sharpe / mean_is
                                                  : std::numeric_limits<double>::quiet_NaN();
  return out;
}

WalkForwardResult walk_forward(const BlockMatrix& rows, const WalkForwardConfig& config,
                               unsigned threads) {
  return walk_forward_result(walk_forward_select(rows, config, threads));
}

}  // namespace threadx::robust
