#include "robust/partials.hpp"

#include <algorithm>
#include <stdexcept>

namespace threadx::robust {

RobustPartial compute_partial(const ResultsReader& reader, const RobustPlan& plan,
                              std::uint64_t begin, std::uint64_t end,
                              const std::function<void(std::uint64_t)>& progress) {
  if (begin > end || end > reader.rows()) throw std::logic_error("compute_partial: bad row range");
  RobustPartial out;
  out.begin = begin;
  out.end = end;
  StreamSetBuilder builder(plan.blocks, plan.returns_per_block);
  const std::uint64_t chunk = std::max<std::uint64_t>(plan.rows_per_read, 1);
  for (std::uint64_t at = begin; at < end;) {
    const std::uint64_t n = std::min(chunk, end - at);
    const std::vector<BlockStats> cells = reader.read_blocks(at, n);
    BlockMatrix m;
    m.blocks = plan.blocks;
    m.returns_per_block = plan.returns_per_block;
    m.first_id = static_cast<std::int64_t>(at);
    m.cells = cells;
    builder.add(m);
    merge_top(out.top, top_by_sharpe(m, plan.dsr_k), plan.dsr_k);
    if (plan.walk_forward) {
      WalkForwardSelection s = walk_forward_select(m, *plan.walk_forward, plan.threads);
      if (out.walk_forward)
        merge_into(*out.walk_forward, s);
      else
        out.walk_forward = std::move(s);
    }
    at += n;
    if (progress) progress(at - begin);
  }
  out.streams = std::move(builder).finish();
  if (plan.walk_forward && !out.walk_forward) {  // no rows: an empty selection still merges
    BlockMatrix none;
    none.blocks = plan.blocks;
    none.returns_per_block = plan.returns_per_block;
    out.walk_forward = walk_forward_select(none, *plan.walk_forward, 1);
  }
  return out;
}

void merge_partial(RobustPartial& into, const RobustPartial& from, const RobustPlan& plan) {
  if (from.begin != into.end) throw std::logic_error("merge_partial: ranges do not follow");
  StreamSetBuilder builder(plan.blocks, plan.returns_per_block);
  builder.add(into.streams);
  builder.add(from.streams);
  into.streams = std::move(builder).finish();
  merge_top(into.top, from.top, plan.dsr_k);
  if (into.walk_forward && from.walk_forward) merge_into(*into.walk_forward, *from.walk_forward);
  into.end = from.end;
}

StreamSet stream_slice(const StreamSet& streams, std::size_t begin, std::size_t end) {
  StreamSetBuilder builder(streams.blocks(), streams.returns_per_block());
  const auto s = static_cast<std::size_t>(streams.blocks());
  std::vector<double> r(s), r2(s);
  for (std::size_t i = begin; i < end; ++i) {
    for (std::size_t b = 0; b < s; ++b) {
      r[b] = streams.sum_r(static_cast<int>(b))[i];
      r2[b] = streams.sum_r2(static_cast<int>(b))[i];
    }
    builder.add_stream(streams.id(i), streams.multiplicity(i), r, r2);
  }
  return std::move(builder).finish();
}

namespace {

// Runs pass(slice) over the slices of `streams` (the whole set, uncopied, when one slice) and
// folds the partials in slice order.
template <class Partial, class Pass>
Partial over_slices(const StreamSet& streams, std::size_t slice_streams, Pass&& pass,
                    const std::function<void(std::size_t)>& progress) {
  const std::size_t n = streams.size();
  const std::size_t slices = std::max<std::size_t>(1, n / std::max<std::size_t>(slice_streams, 1));
  if (slices == 1) {
    Partial out = pass(streams);
    if (progress) progress(n);
    return out;
  }
  Partial out;
  for (std::size_t k = 0; k < slices; ++k) {
    const std::size_t b = n * k / slices, e = n * (k + 1) / slices;
    Partial part = pass(stream_slice(streams, b, e));
    if (k == 0)
      out = std::move(part);
    else
      merge_into(out, part);
    if (progress) progress(e);
  }
  return out;
}

}  // namespace

CscvSelection cscv_select_in_slices(const StreamSet& streams, unsigned threads,
                                    std::size_t slice_streams,
                                    const std::function<void(std::size_t)>& progress) {
  return over_slices<CscvSelection>(
      streams, slice_streams, [&](const StreamSet& s) { return cscv_select(s, threads); },
      progress);
}

CscvRanks cscv_rank_in_slices(const StreamSet& streams, const CscvSelection& selection,
                              unsigned threads, std::size_t slice_streams,
                              const std::function<void(std::size_t)>& progress) {
  return over_slices<CscvRanks>(
      streams, slice_streams, [&](const StreamSet& s) { return cscv_rank(s, selection, threads); },
      progress);
}

CscvResult cscv_in_slices(const StreamSet& streams, unsigned threads, std::size_t slice_streams,
                          const std::function<void(int, std::size_t)>& progress) {
  auto pass = [&](int p) {
    return [&progress, p](std::size_t done) {
      if (progress) progress(p, done);
    };
  };
  const CscvSelection selection = cscv_select_in_slices(streams, threads, slice_streams, pass(1));
  const CscvRanks ranks = cscv_rank_in_slices(streams, selection, threads, slice_streams, pass(2));
  return cscv_result(selection, ranks);
}

}  // namespace threadx::robust
