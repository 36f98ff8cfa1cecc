// `threadx robust` under MPI: each rank computes the partial results of its own contiguous range
// of combination ids (robust/partials.hpp) and the workers send theirs to rank 0, which merges
// them in rank order. The merges are exact, so any rank count gives the same merged partial, bit
// for bit, as one process.
#pragma once

#include <cstdint>
#include <utility>

#include "robust/partials.hpp"
#include "transport.hpp"

namespace threadx::dist {

// The ids [begin, end) of `rank` when `rows` are cut into `ranks` contiguous ranges.
std::pair<std::uint64_t, std::uint64_t> robust_rows_of_rank(std::uint64_t rows, int ranks,
                                                            int rank);

// A worker: sends its partial to rank 0 (in pieces below MPI's 2 GB message limit).
void send_robust_partial(Transport& t, const robust::RobustPartial& partial);

// Rank 0: receives every worker's partial and merges them after its own, in rank order.
robust::RobustPartial gather_robust_partials(Transport& t, robust::RobustPartial own,
                                             const robust::RobustPlan& plan);

// The byte form of a partial (exposed for tests).
std::vector<std::byte> serialize(const robust::RobustPartial& partial);
robust::RobustPartial deserialize(const std::vector<std::byte>& bytes,
                                  const robust::RobustPlan& plan);

}  // namespace threadx::dist
