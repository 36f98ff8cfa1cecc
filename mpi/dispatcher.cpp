// Dispatcher (see dispatcher.hpp).
#include "mpi/dispatcher.hpp"

#include <algorithm>
#include <cmath>
#include <stdexcept>

namespace threadx::dist {

Dispatcher::Dispatcher(const Grid& grid, const IdRanges* done, int ranks, DispatchOptions options)
    : options_(options), per_rank_(static_cast<std::size_t>(std::max(ranks, 1))) {
  if (options_.max_unit == 0) throw std::invalid_argument("dispatcher: max_unit must be >= 1");
  options_.min_unit = std::clamp<std::uint64_t>(options_.min_unit, 1, options_.max_unit);
  options_.slots = std::max<std::uint64_t>(options_.slots, 1);
  // Maximal runs of ids not done, group by group (plan_units with an unbounded unit size).
  for (const WorkUnit& u : plan_units(grid, grid.group_size(), done ? *done : IdRanges{})) {
    runs_.push_back({u.begin, u.end, u.group});
    total_ += u.size();
  }
  ungranted_ = total_;
}

void Dispatcher::set_slots(int rank, std::uint64_t slots) {
  per_rank_.at(static_cast<std::size_t>(rank)).slots = std::max<std::uint64_t>(slots, 1);
}

std::uint64_t Dispatcher::unit_size(const PerRank& rank) const {
  const double guided = static_cast<double>(ungranted_) /
                        (options_.guided_factor * static_cast<double>(options_.slots));
  // The size for a rank of mean speed, then scaled by this rank's speed (bounds included, so a
  // slow rank's smallest unit takes as long as a mean rank's smallest).
  double c = std::clamp(guided, static_cast<double>(options_.min_unit),
                        static_cast<double>(options_.max_unit));
  if (rank.rate > 0)
    c *= std::min(1.0, rank.rate / (rate_sum_ / static_cast<double>(rated_)));
  else if (options_.calibrate)
    c /= 8;  // calibration: small, so that a slow rank's first unit cannot hold up the end
  auto units = std::max<std::uint64_t>(1, static_cast<std::uint64_t>(std::ceil(c)));
  if (units > 8) units = std::min(options_.max_unit, (units + 7) / 8 * 8);  // whole SIMD blocks
  return units;
}

void Dispatcher::reindex(std::size_t run, std::uint64_t old_len) {
  open_.erase({old_len, run});
  const Run& r = runs_[run];
  if (r.end > r.begin) open_.insert({r.end - r.begin, run});
}

std::optional<WorkUnit> Dispatcher::grant(int rank, double now) {
  PerRank& me = per_rank_.at(static_cast<std::size_t>(rank));
  if (ungranted_ == 0) return std::nullopt;
  // Until its speed is known a rank holds one calibration unit per slot, no more.
  if (options_.calibrate && me.rate <= 0 && me.in_flight.size() >= me.slots) return std::nullopt;
  if (me.first_grant < 0) me.first_grant = now;
  const std::uint64_t want = unit_size(me);
  bool stolen = false;
  // 1. the run this rank holds; 2. a fresh run; 3. the back of the largest open run.
  if (me.run >= 0 &&
      runs_[static_cast<std::size_t>(me.run)].end == runs_[static_cast<std::size_t>(me.run)].begin)
    me.run = -1;
  if (me.run < 0 && next_fresh_ < runs_.size()) {
    me.run = static_cast<int>(next_fresh_++);
    runs_[static_cast<std::size_t>(me.run)].holder = rank;
    const Run& r = runs_[static_cast<std::size_t>(me.run)];
    open_.insert({r.end - r.begin, static_cast<std::size_t>(me.run)});
  }
  WorkUnit unit;
  std::size_t idx = 0;
  if (me.run >= 0) {
    idx = static_cast<std::size_t>(me.run);
    Run& r = runs_[idx];
    const std::uint64_t len = r.end - r.begin;
    std::uint64_t take = (len <= want || len - want < options_.min_unit) ? len : want;
    if (const std::uint64_t a = options_.align; a > 1)
      take = std::min(r.end, (r.begin + take + a - 1) / a * a) - r.begin;
    unit = {r.begin, r.begin + take, r.group};
    r.begin += take;
    reindex(idx, len);
  } else {
    // Steal from the back of the largest open run (its holder goes on from the front).
    idx = open_.begin()->second;
    Run& r = runs_[idx];
    const std::uint64_t len = r.end - r.begin;
    std::uint64_t take = std::min(want, (len + 1) / 2);
    if (len - take < options_.min_unit) take = len;
    if (const std::uint64_t a = options_.align; a > 1)
      take = r.end - std::max(r.begin, (r.end - take) / a * a);
    unit = {r.end - take, r.end, r.group};
    r.end -= take;
    reindex(idx, len);
    stolen = true;
  }
  ungranted_ -= unit.size();
  me.stats.units += 1;
  me.stats.combos += unit.size();
  if (stolen) me.stats.steals += 1;
  if (me.groups.insert(unit.group).second)
    me.stats.groups += 1;
  else
    me.stats.affinity_hits += 1;
  me.in_flight.push_back(unit);
  return unit;
}

void Dispatcher::completed(int rank, const WorkUnit& unit, double now) {
  PerRank& me = per_rank_.at(static_cast<std::size_t>(rank));
  const auto it = std::find(me.in_flight.begin(), me.in_flight.end(), unit);
  if (it == me.in_flight.end())
    throw std::logic_error("dispatcher: rank " + std::to_string(rank) + " completed unit [" +
                           std::to_string(unit.begin) + ", " + std::to_string(unit.end) +
                           ") it was not granted");
  me.in_flight.erase(it);
  me.stats.units_done += 1;
  me.stats.combos_done += unit.size();
  completed_ += unit.size();
  const double elapsed = now - me.first_grant;
  if (elapsed > 0) {
    const double rate =
        static_cast<double>(me.stats.combos_done) / elapsed / static_cast<double>(me.slots);
    if (me.rate > 0)
      rate_sum_ -= me.rate;
    else
      ++rated_;
    me.rate = rate;
    rate_sum_ += rate;
  }
}

const std::vector<WorkUnit>& Dispatcher::in_flight(int rank) const {
  return per_rank_.at(static_cast<std::size_t>(rank)).in_flight;
}

const RankDispatch& Dispatcher::rank_stats(int rank) const {
  return per_rank_.at(static_cast<std::size_t>(rank)).stats;
}

}  // namespace threadx::dist
