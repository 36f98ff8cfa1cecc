// Message bodies and the start-up handshake of a distributed sweep (see protocol.hpp and
// cluster_sweep.hpp).
#include "mpi/protocol.hpp"

#include <unistd.h>

#include <chrono>
#include <optional>
#include <stdexcept>

#include <fmt/format.h>

#include "common/error.hpp"

namespace threadx::dist {
namespace detail {

void put_unit(Writer& w, const WorkUnit& u) {
  w.put(u.begin).put(u.end).put(u.group);
}
WorkUnit get_unit(Reader& r) {
  WorkUnit u;
  u.begin = r.get<ComboId>();
  u.end = r.get<ComboId>();
  u.group = r.get<ComboId>();
  return u;
}

std::vector<std::byte> encode(const RankReport& x) {
  Writer w;
  w.put(x.rank).put_string(x.host).put(x.pid).put(x.threads).put_string(x.isa);
  w.put(x.units).put(x.combos);
  w.put(x.busy_s).put(x.idle_s).put(x.series_built).put(x.series_requested);
  w.put<std::uint64_t>(x.devices.size());
  for (const std::string& d : x.devices) w.put_string(d);
  return w.take();
}
RankReport decode_report(const std::vector<std::byte>& bytes) {
  Reader r(bytes);
  RankReport x;
  x.rank = r.get<int>();
  x.host = r.get_string();
  x.pid = r.get<std::int64_t>();
  x.threads = r.get<std::uint64_t>();
  x.isa = r.get_string();
  x.units = r.get<std::uint64_t>();
  x.combos = r.get<std::uint64_t>();
  x.busy_s = r.get<double>();
  x.idle_s = r.get<double>();
  x.series_built = r.get<std::int64_t>();
  x.series_requested = r.get<std::int64_t>();
  const auto lines = r.get<std::uint64_t>();
  for (std::uint64_t k = 0; k < lines; ++k) x.devices.push_back(r.get_string());
  return x;
}

std::string describe_units(const std::vector<WorkUnit>& units) {
  std::string s;
  for (std::size_t i = 0; i < units.size() && i < 4; ++i)
    s += fmt::format("{}[{}, {})", i ? ", " : "", units[i].begin, units[i].end);
  if (units.size() > 4) s += fmt::format(" and {} more", units.size() - 4);
  return s;
}

}  // namespace detail

using detail::decode_report;
using std::chrono::microseconds;

std::string this_host() {
  char name[256] = {};
  if (gethostname(name, sizeof name - 1) != 0) return "?";
  return name;
}

int worker_hello(Transport& t, const Hello& hello, StartInfo* info) {
  Writer w;
  w.put_string(hello.host).put(hello.pid).put(hello.threads).put_string(hello.error);
  t.send(0, Tag::Hello, w.take());
  for (;;) {
    std::optional<Message> m = t.receive(microseconds(100000));
    if (!m) continue;
    if (m->tag != Tag::Start)
      throw std::runtime_error("protocol: expected Start from rank 0 at start-up");
    Reader r(m->data);
    const int verdict = r.get<int>();
    StartInfo got;
    got.session = r.get_string();
    got.part_level = r.get<int>();
    got.part_rows = r.get<std::uint64_t>();
    if (info != nullptr) *info = got;
    return verdict;
  }
}

std::vector<Hello> collect_hellos(Transport& t) {
  std::vector<Hello> out(static_cast<std::size_t>(t.size()));
  for (int got = 1; got < t.size();) {
    std::optional<Message> m = t.receive(microseconds(100000));
    if (!m) continue;
    if (m->tag != Tag::Hello) throw std::runtime_error("protocol: expected Hello at start-up");
    Reader r(m->data);
    Hello& h = out[static_cast<std::size_t>(m->source)];
    h.host = r.get_string();
    h.pid = r.get<std::int64_t>();
    h.threads = r.get<std::uint64_t>();
    h.error = r.get_string();
    ++got;
  }
  return out;
}

void send_start(Transport& t, int exit_code, const StartInfo& info) {
  for (int r = 1; r < t.size(); ++r) {
    Writer w;
    w.put(exit_code).put_string(info.session).put(info.part_level).put(info.part_rows);
    t.send(r, Tag::Start, w.take());
  }
}

const std::vector<Hello>& StartGate::collect() {
  if (t_.size() == 1 || !workers_.empty()) return workers_;
  workers_ = collect_hellos(t_);
  for (int r = 1; r < t_.size(); ++r) {
    const Hello& h = workers_[static_cast<std::size_t>(r)];
    if (!h.error.empty())
      throw InputError(fmt::format("rank {} (host {}): {}", r, h.host, h.error));
  }
  return workers_;
}

void StartGate::release(int exit_code, const StartInfo& info) {
  if (!started_) send_start(t_, exit_code, info);
  started_ = true;
}

void StartGate::fail() {
  if (t_.size() > 1 && workers_.empty()) workers_ = collect_hellos(t_);
  release(1);
}

}  // namespace threadx::dist
