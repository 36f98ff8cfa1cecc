// The entry-candidate bars of one key group at one candidate key: the bars at which a flat
// combination of strategy policy P with that key may open a position (P::candidate), from the
// warm-up on, in increasing order. The bar loops skip every other bar while a combination is flat
// (each strategy's run_bars); the CPU's lane blocks and the GPU's threads read these lists.
#pragma once

#include <cstdint>
#include <vector>

namespace threadx {

// Appends the candidate bars of `series` at `key` (P::candidate_key of a combination) to `out`.
template <class P>
void append_candidate_bars(const typename P::Series& series, double key,
                           std::vector<std::int32_t>& out) {
  for (std::int64_t i = series.warmup; i < series.n_bars; ++i)
    if (P::candidate(series, i, key)) out.push_back(static_cast<std::int32_t>(i));
}

}  // namespace threadx
