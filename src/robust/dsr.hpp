// The Deflated Sharpe Ratio (docs/ROBUST.md, "Deflated Sharpe Ratio"): how likely the selected
// combination's Sharpe ratio beats the best that N_t independent trials of pure luck would show.
//
// Pieces, so that the MPI layer can compute each where its data is:
//   - top_by_sharpe / merge_top: the K combinations with the largest whole-run SR (ties: smaller
//     id), over any row ranges, merged exactly;
//   - trial_stats: N_t and V over the distinct streams of *all* rows (a StreamSet built from
//     every range, StreamSetBuilder::add of the per-range sets), and SR0;
//   - dsr_row: the selected combination's moments from its own returns r[1..T], DSR and PSR0.
#pragma once

#include <cstdint>
#include <span>
#include <vector>

#include "robust/block_matrix.hpp"
#include "robust/streams.hpp"

namespace threadx::robust {

inline constexpr double kEulerGamma = 0.5772156649015329;

struct RankedCombination {
  std::int64_t id = kNoCombination;
  double sharpe = 0;  // whole-run SR (over all blocks)
};

// The `k` rows with the largest whole-run SR, best first, ties to the smaller id (fewer if there
// are fewer rows). InputError when k < 1.
std::vector<RankedCombination> top_by_sharpe(const BlockMatrix& rows, std::int64_t k);
// Keeps the best k of both lists (each best first).
void merge_top(std::vector<RankedCombination>& into, const std::vector<RankedCombination>& from,
               std::int64_t k);

struct TrialStats {
  std::int64_t trials = 0;  // N_t: distinct streams
  double var_sharpe = 0;    // V: sample variance of their whole-run SR (NaN when N_t < 2)
  double sr0 = 0;           // expected maximum SR of N_t luck-only trials (0 when N_t < 2)
};

// SR0 = sqrt(V) * ((1-g) Z(1 - 1/N_t) + g Z(1 - 1/(N_t e))), 0 when N_t < 2.
double expected_max_sharpe(std::int64_t trials, double var_sharpe);

// N_t = streams.size(), V over one value per stream in increasing order of the stream's smallest
// id (two passes: the mean, then the centred squares), and SR0. InputError for an empty set.
TrialStats trial_stats(const StreamSet& all_streams);

struct ReturnMoments {
  std::int64_t returns = 0;  // T
  double sharpe = 0;         // SR*: sharpe_from_sums over all T returns
  double m2 = 0;             // central moments (1/T) * sum (r - mean)^k
  double skewness = 0;       // g3 = m3 / m2^1.5 (NaN when m2 = 0)
  double kurtosis = 0;       // g4 = m4 / m2^2, not excess (NaN when m2 = 0)
};

// InputError when there is no return.
ReturnMoments return_moments(std::span<const double> returns);

// Phi((SR* - SR0) sqrt(T - 1) / sqrt(1 - g3 SR* + (g4 - 1)/4 SR*^2)); NaN when the square
// root's argument is not > 0 or any input is NaN.
double probabilistic_sharpe(double sharpe, double benchmark, std::int64_t returns, double skewness,
                            double kurtosis);

struct DsrRow {
  std::int64_t combo_id = kNoCombination;
  double sharpe = 0;  // SR* (per bar, from the returns)
  double skewness = 0;
  double kurtosis = 0;
  std::int64_t trials = 0;
  double var_sharpe = 0;
  double sr0 = 0;
  double dsr = 0;   // NaN when undefined (m2 = 0 or the square root's argument <= 0)
  double psr0 = 0;  // the same against SR0 = 0
};

// One /dsr row: `returns` are the combination's r[1..T], recomputed by the caller.
DsrRow dsr_row(std::int64_t combo_id, std::span<const double> returns, const TrialStats& trials);

}  // namespace threadx::robust
