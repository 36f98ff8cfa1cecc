// `threadx robust` under MPI: each rank computes the partial results of its own contiguous range
// of combination ids (robust/partials.hpp) and the workers send theirs to rank 0, which merges
// them in rank order. With CSCV each rank also runs both passes over its own distinct streams:
// rank 0 merges the selections, sends the merged one back, and merges the ranks. Every merge is
// exact, so any rank count gives the same results, bit for bit, as one process.
//
// Every message is a byte string under Tag::RobustPartial, sent in pieces below MPI's 2 GB
// limit; messages from one rank arrive in the order sent.
#pragma once

#include <cstdint>
#include <deque>
#include <map>
#include <utility>
#include <vector>

#include "mpi/transport.hpp"
#include "robust/cscv.hpp"
#include "robust/partials.hpp"

namespace threadx::dist {

// The ids [begin, end) of `rank` when `rows` are cut into `ranks` contiguous ranges.
std::pair<std::uint64_t, std::uint64_t> robust_rows_of_rank(std::uint64_t rows, int ranks,
                                                            int rank);

void send_bytes(Transport& t, int dest, const std::vector<std::byte>& bytes);

// Whole byte messages, per source, in the order each source sent them.
class ByteInbox {
 public:
  explicit ByteInbox(Transport& t) : t_(t) {}
  // The next whole message from `source` (waits for it; keeps others' for later).
  std::vector<std::byte> next(int source);

 private:
  Transport& t_;
  std::map<int, std::deque<std::vector<std::byte>>> whole_;
  std::map<int, std::vector<std::byte>> building_;
};

// Rank 0: every worker's partial, merged after `own` in rank order.
robust::RobustPartial gather_robust_partials(Transport& t, ByteInbox& inbox,
                                             robust::RobustPartial own,
                                             const robust::RobustPlan& plan);
// Rank 0: every worker's CSCV selection merged into `own`, in rank order.
robust::CscvSelection gather_selections(Transport& t, ByteInbox& inbox, robust::CscvSelection own);
// Rank 0: every worker's CSCV ranks added to `own`, in rank order.
robust::CscvRanks gather_ranks(Transport& t, ByteInbox& inbox, robust::CscvRanks own);

// The byte forms (exposed for tests).
std::vector<std::byte> serialize(const robust::RobustPartial& partial);
robust::RobustPartial deserialize(const std::vector<std::byte>& bytes,
                                  const robust::RobustPlan& plan);
std::vector<std::byte> serialize(const robust::CscvSelection& selection);
robust::CscvSelection deserialize_selection(const std::vector<std::byte>& bytes);
std::vector<std::byte> serialize(const robust::CscvRanks& ranks);
robust::CscvRanks deserialize_ranks(const std::vector<std::byte>& bytes);

}  // namespace threadx::dist
