#include "robust/splits.hpp"

#include <fmt/format.h>

#include "common/error.hpp"

namespace threadx::robust {
namespace {

void walk(int blocks, int block, int in_j, std::uint64_t mask, std::vector<std::uint64_t>& out) {
  const int half = blocks / 2;
  if (in_j == half) {
    out.push_back(mask);
    return;
  }
  walk(blocks, block + 1, in_j + 1, mask | (std::uint64_t{1} << block), out);
  if (blocks - block - 1 >= half - in_j) walk(blocks, block + 1, in_j, mask, out);
}

}  // namespace

std::int64_t cscv_split_count(int blocks) {
  if (blocks < 2 || blocks % 2 != 0)
    throw InputError(
        fmt::format("cscv: needs an even number of blocks S >= 2 (got S = {})", blocks));
  if (blocks > kMaxCscvBlocks)
    throw InputError(
        fmt::format("cscv: S = {} blocks gives too many splits; at most S = {} ({} "
                    "splits) is supported",
                    blocks, kMaxCscvBlocks, 2704156));
  std::int64_t c = 1;  // binomial(S, S/2), exact in 64 bits for S <= 24
  for (int i = 1; i <= blocks / 2; ++i) c = c * (blocks / 2 + i) / i;
  return c;
}

std::vector<std::uint64_t> cscv_split_masks(int blocks) {
  const std::int64_t count = cscv_split_count(blocks);
  std::vector<std::uint64_t> masks;
  masks.reserve(static_cast<std::size_t>(count));
  walk(blocks, 0, 0, 0, masks);
  return masks;
}

}  // namespace threadx::robust
