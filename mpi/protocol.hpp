// The bodies of the distributed sweep's messages (mpi/transport.hpp's tags): work units, a rank's
// accounting, and how a list of units is named in logs.
#pragma once

#include <cstddef>
#include <string>
#include <vector>

#include "engine/plan.hpp"
#include "mpi/cluster_sweep.hpp"
#include "mpi/transport.hpp"

namespace threadx::dist::detail {

void put_unit(Writer& w, const WorkUnit& u);
WorkUnit get_unit(Reader& r);
std::vector<std::byte> encode(const RankReport& x);
RankReport decode_report(const std::vector<std::byte>& bytes);
// "[a, b), [c, d) and N more", for logs.
std::string describe_units(const std::vector<WorkUnit>& units);

}  // namespace threadx::dist::detail
