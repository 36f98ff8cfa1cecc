// The device balancer's accounting (see balancer.hpp): per-device figures as attributes of the
// results file and as log lines.
#include <string>
#include <utility>
#include <vector>

#include <fmt/format.h>

#include "gpu/balancer.hpp"  // declares what this file defines

namespace threadx::gpu {

namespace {
double average_rate(const DeviceReport& d) {
  return d.busy_s > 0 ? static_cast<double>(d.combos) / d.busy_s : 0.0;
}
}  // namespace

std::vector<std::pair<std::string, std::string>> device_attributes(const BalancerReport& report) {
  std::vector<std::pair<std::string, std::string>> a;
  std::string names;
  for (const DeviceReport& d : report.devices) {
    names += (names.empty() ? "" : ",") + d.name;
    const std::string k = "device." + d.name + ".";
    a.emplace_back(k + "pieces", std::to_string(d.pieces));
    a.emplace_back(k + "batches", std::to_string(d.batches));
    a.emplace_back(k + "combinations", std::to_string(d.combos));
    a.emplace_back(k + "busy_seconds", fmt::format("{:.6g}", d.busy_s));
    a.emplace_back(k + "finish_seconds", fmt::format("{:.6g}", d.finish_s));
    a.emplace_back(k + "combinations_per_second", fmt::format("{:.6g}", average_rate(d)));
    if (d.failed) a.emplace_back(k + "error", d.error);
  }
  a.insert(a.begin(), {"devices_used", names});
  return a;
}

std::vector<std::string> device_summary_lines(const BalancerReport& report) {
  std::vector<std::string> lines;
  for (const DeviceReport& d : report.devices) {
    const double share = report.combos_done > 0 ? 100.0 * static_cast<double>(d.combos) /
                                                      static_cast<double>(report.combos_done)
                                                : 0.0;
    lines.push_back(fmt::format(
        "device {}: {} combinations ({:.1f}%) in {} pieces / {} batches, busy {:.3f} s, last "
        "batch done at {:.3f} s, {:.0f} combos/s while busy; batches: first {}, {}..{}{}",
        d.name, d.combos, share, d.pieces, d.batches, d.busy_s, d.finish_s, average_rate(d),
        d.first_batch, d.smallest_batch, d.largest_batch,
        d.failed ? " -- FAILED: " + d.error : std::string()));
  }
  return lines;
}

}  // namespace threadx::gpu
