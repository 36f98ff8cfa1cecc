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
  const std::uint64_t chunk = std::max<std::uint64_t>(plan.chunk_rows, 1);
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

}  // namespace threadx::robust
