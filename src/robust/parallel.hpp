// A fixed number of std::threads over contiguous parts of a range. Every pass of this library
// computes one mergeable partial result per part and merges them in part order; the merges are
// exact (argmax with an id tie-break, integer sums), so the thread count never changes a bit.
#pragma once

#include <algorithm>
#include <cstdint>
#include <exception>
#include <thread>
#include <vector>

namespace threadx::robust::detail {

// 0 means every core; never more parts than work items (at least one part).
inline unsigned resolve_threads(unsigned requested, std::uint64_t items) {
  unsigned t = requested != 0 ? requested : std::max(1u, std::thread::hardware_concurrency());
  if (items < t) t = static_cast<unsigned>(std::max<std::uint64_t>(items, 1));
  return t;
}

// First item of part p when `items` are cut into `parts` contiguous parts.
inline std::uint64_t part_begin(std::uint64_t items, unsigned parts, unsigned p) {
  return items * p / parts;
}

// body(p) for p = 0..parts-1, part 0 on the calling thread; rethrows the first exception.
template <class Body>
void run_parts(unsigned parts, Body&& body) {
  std::vector<std::exception_ptr> errors(parts);
  auto guarded = [&](unsigned p) {
    try {
      body(p);
    } catch (...) {
      errors[p] = std::current_exception();
    }
  };
  std::vector<std::thread> pool;
  pool.reserve(parts > 0 ? parts - 1 : 0);
  for (unsigned p = 1; p < parts; ++p) pool.emplace_back(guarded, p);
  if (parts > 0) guarded(0);
  for (std::thread& t : pool) t.join();
  for (const std::exception_ptr& e : errors)
    if (e) std::rethrow_exception(e);
}

}  // namespace threadx::robust::detail
