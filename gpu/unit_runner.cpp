// Host-side batch layout and the host batch runner (see unit_runner.hpp).
#include "gpu/unit_runner.hpp"

#include <stdexcept>
#include <string>

#include "common/error.hpp"
#include "strategies/bb_atr/policy.hpp"

namespace threadx::gpu {

BatchView HostBatch::view() const {
  BatchView b{};
  b.views = views.data();
  b.piece_end = piece_end.data();
  b.n_pieces = static_cast<std::uint32_t>(views.size());
  b.params = params.data();
  b.n_combos = piece_end.empty() ? 0 : piece_end.back();
  b.bars_per_year = bars_per_year;
  return b;
}

bool has_device_kernel(const StrategySpec& strategy) {
  return &strategy == &bb_atr::kSpec;
}

HostBatch make_batch(const Grid& grid, IndicatorBank& bank, std::span<const WorkUnit> pieces) {
  if (pieces.empty()) throw std::invalid_argument("make_batch: no pieces");
  // The device kernel is bb_atr's for now; other strategies run on the CPU (--devices cpu).
  if (!has_device_kernel(*grid.strategy))
    throw InputError("strategy " + std::string(grid.strategy->name) +
                     " has no GPU kernel in this build: run it with --devices cpu");
  HostBatch b;
  b.bars_per_year = bank.bars().bars_per_year();
  b.views.reserve(pieces.size());
  b.piece_end.reserve(pieces.size());
  std::uint64_t n = 0;
  for (const WorkUnit& p : pieces) n += p.size();
  b.params.reserve(n);
  for (const WorkUnit& p : pieces) {
    if (p.size() == 0) throw std::invalid_argument("make_batch: empty piece");
    b.views.push_back(bb_atr::Policy::series(bank, grid.key_of_group(p.group)));
    Grid::Odometer odometer(grid, p.begin);
    for (ComboId id = p.begin; id < p.end; ++id, odometer.next())
      b.params.push_back(bb_atr::decode(odometer.values()));
    b.piece_end.push_back(b.params.size());
  }
  return b;
}

void HostBatchRunner::run(const Grid& grid, IndicatorBank& bank, std::span<const WorkUnit> pieces,
                          Metrics* out, const BlockOutput& blocks) {
  const HostBatch batch = make_batch(grid, bank, pieces);
  BatchView view = batch.view();
  view.blocks = blocks.blocks;
  view.block_starts = blocks.starts;
  view.block_out = blocks.cells;
  for (std::uint64_t t = 0; t < view.n_combos; ++t) out[t] = run_batch_thread(view, t);
}

}  // namespace threadx::gpu
