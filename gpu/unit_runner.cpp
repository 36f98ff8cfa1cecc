// The host batch runner (see unit_runner.hpp).
#include "gpu/unit_runner.hpp"

#include "gpu/host_batch.hpp"
#include "strategies/all.hpp"

namespace threadx::gpu {

void HostBatchRunner::run(const SweepContext& ctx, std::span<const WorkUnit> pieces, Metrics* out,
                          const BlockOutput& blocks) {
  with_policy(*ctx.grid().strategy, [&]<class P>() {
    const HostBatch<P> batch = make_batch<P>(ctx, pieces);
    BatchView<P> view = batch.view();
    view.blocks = blocks.blocks;
    view.block_starts = blocks.starts;
    view.block_out = blocks.cells;
    for (std::uint64_t t = 0; t < view.n_combos; ++t) out[t] = run_batch_thread(view, t);
  });
}

}  // namespace threadx::gpu
