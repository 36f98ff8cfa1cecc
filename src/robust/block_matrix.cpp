#include "robust/block_matrix.hpp"

#include <fmt/format.h>

#include "common/error.hpp"

namespace threadx::robust {

double BlockMatrix::capital(std::int64_t r) const {
  if (initial_capital.empty())
    throw InputError("block statistics: no initial capital was given for the combinations");
  return initial_capital.size() == 1 ? initial_capital[0]
                                     : initial_capital[static_cast<std::size_t>(r)];
}

BlockMatrix BlockMatrix::slice(std::int64_t begin, std::int64_t end) const {
  BlockMatrix s = *this;
  const auto b = static_cast<std::size_t>(begin), e = static_cast<std::size_t>(end);
  const auto width = static_cast<std::size_t>(blocks);
  s.first_id = first_id + begin;
  s.cells = cells.subspan(b * width, (e - b) * width);
  if (initial_capital.size() > 1) s.initial_capital = initial_capital.subspan(b, e - b);
  return s;
}

void validate(const BlockMatrix& m) {
  if (m.blocks < kMinBlocks || m.blocks > kMaxBlocks)
    throw InputError(fmt::format("block statistics: S = {} blocks, expected {} <= S <= {}",
                                 m.blocks, kMinBlocks, kMaxBlocks));
  if (m.returns_per_block.size() != static_cast<std::size_t>(m.blocks))
    throw InputError(fmt::format("block statistics: {} returns-per-block counts for S = {} blocks",
                                 m.returns_per_block.size(), m.blocks));
  for (std::size_t b = 0; b < m.returns_per_block.size(); ++b)
    if (m.returns_per_block[b] < 1)
      throw InputError(fmt::format("block statistics: block {} holds {} returns, expected >= 1", b,
                                   m.returns_per_block[b]));
  if (m.cells.size() % static_cast<std::size_t>(m.blocks) != 0)
    throw InputError(fmt::format("block statistics: {} cells is not a whole number of rows of {}",
                                 m.cells.size(), m.blocks));
  if (m.first_id < 0)
    throw InputError(fmt::format("block statistics: first combination id {} < 0", m.first_id));
  const std::size_t caps = m.initial_capital.size();
  if (caps > 1 && caps != static_cast<std::size_t>(m.rows()))
    throw InputError(fmt::format(
        "block statistics: {} initial capitals for {} rows (expected 0, 1 or one per row)", caps,
        m.rows()));
}

}  // namespace threadx::robust
