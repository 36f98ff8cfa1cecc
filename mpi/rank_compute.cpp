// One rank's compute side (see rank_compute.hpp).
#include "mpi/rank_compute.hpp"

#include <unistd.h>

namespace threadx::dist::detail {

RankReport this_rank_report(int rank, unsigned threads, Isa isa, const ComputeReport& cr,
                            IndicatorBank& bank) {
  RankReport me;
  me.rank = rank;
  me.host = this_host();
  me.pid = static_cast<std::int64_t>(getpid());
  me.threads = threads;
  me.isa = isa_name(isa);
  me.units = cr.units;
  me.combos = cr.combos;
  me.busy_s = cr.busy_s;
  me.idle_s = cr.idle_s;
  me.devices = cr.device_lines;
  const IndicatorBank::Stats bs = bank.stats();
  me.series_built = bs.built;
  me.series_requested = bs.requested;
  return me;
}

}  // namespace threadx::dist::detail
