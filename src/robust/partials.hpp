// What `threadx robust` computes from one contiguous range of a results file's /blocks rows,
// read in chunks of bounded size: the distinct streams (for CSCV and the DSR's trials), the K best
// by whole-run SR (the DSR's selection) and the walk-forward picks. Each part merges exactly
// (streams.hpp, dsr.hpp, walk_forward.hpp), so the rows can be cut between ranks anywhere and the
// merged partial is the same bit for bit.
#pragma once

#include <cstdint>
#include <functional>
#include <optional>
#include <vector>

#include "results/results_reader.hpp"
#include "robust/cscv.hpp"
#include "robust/dsr.hpp"
#include "robust/streams.hpp"
#include "robust/walk_forward.hpp"

namespace threadx::robust {

struct RobustPlan {
  int blocks = 0;                               // S
  std::vector<std::int64_t> returns_per_block;  // n_b
  std::int64_t dsr_k = 10;
  std::optional<WalkForwardConfig> walk_forward;
  unsigned threads = 1;
  std::uint64_t rows_per_read = 65536;  // rows of /blocks read at a time
};

struct RobustPartial {
  std::uint64_t begin = 0, end = 0;  // combination ids covered: [begin, end)
  StreamSet streams;
  std::vector<RankedCombination> top;
  std::optional<WalkForwardSelection> walk_forward;
};

// Rows [begin, end) of `reader`'s /blocks, chunk by chunk; progress(rows done so far) after each
// chunk.
RobustPartial compute_partial(const ResultsReader& reader, const RobustPlan& plan,
                              std::uint64_t begin, std::uint64_t end,
                              const std::function<void(std::uint64_t)>& progress = {});

// Folds `from` (the rows right after `into`'s) into `into`.
void merge_partial(RobustPartial& into, const RobustPartial& from, const RobustPlan& plan);

// Streams [begin, end) of `streams` as a set of their own (ids and multiplicities kept).
StreamSet stream_slice(const StreamSet& streams, std::size_t begin, std::size_t end);

// The CSCV passes over `streams` cut into slices of about `slice_streams` streams, the slices'
// partials merged exactly (the same bits as one cscv_select / cscv_rank call); progress(streams
// done) after each slice, so a long CSCV can say how far it is.
CscvSelection cscv_select_in_slices(const StreamSet& streams, unsigned threads,
                                    std::size_t slice_streams,
                                    const std::function<void(std::size_t)>& progress = {});
CscvRanks cscv_rank_in_slices(const StreamSet& streams, const CscvSelection& selection,
                              unsigned threads, std::size_t slice_streams,
                              const std::function<void(std::size_t)>& progress = {});
// Both passes: the same bits as cscv(streams, threads); progress(pass 1 or 2, streams done).
CscvResult cscv_in_slices(const StreamSet& streams, unsigned threads, std::size_t slice_streams,
                          const std::function<void(int, std::size_t)>& progress = {});

}  // namespace threadx::robust
