// What a sweep keeps of its rows (see keep.hpp).
#include "results/keep.hpp"

#include <algorithm>
#include <cmath>
#include <cstring>
#include <stdexcept>

#include "common/bytes.hpp"
#include "common/error.hpp"

namespace threadx {
namespace {

std::vector<std::string> split(const std::string& s, char sep) {
  std::vector<std::string> out;
  std::size_t at = 0;
  for (;;) {
    const std::size_t next = s.find(sep, at);
    out.push_back(s.substr(at, next == std::string::npos ? std::string::npos : next - at));
    if (next == std::string::npos) return out;
    at = next + 1;
  }
}

}  // namespace

std::string KeepSpec::text() const {
  if (mode == Mode::All) return "all";
  if (mode == Mode::None) return "none";
  std::string s;
  for (const TopSpec& t : tops) {
    if (!s.empty()) s += ',';
    s += "top:" + std::to_string(t.k) + ":" + std::string(kMetrics[t.metric].name);
  }
  return s;
}

KeepSpec parse_keep(const std::string& text) {
  auto fail = [&](const std::string& why) {
    return InputError("--keep '" + text + "': " + why +
                      " (expected all, none or top:K:METRIC[,top:K:METRIC...])");
  };
  KeepSpec k;
  if (text == "all") return k;
  if (text == "none") {
    k.mode = KeepSpec::Mode::None;
    return k;
  }
  k.mode = KeepSpec::Mode::Top;
  for (const std::string& part : split(text, ',')) {
    const std::vector<std::string> f = split(part, ':');
    if (f.size() != 3 || f[0] != "top") throw fail("'" + part + "' is not top:K:METRIC");
    const std::string& count = f[1];
    if (count.empty() || count.size() > 9 ||
        !std::all_of(count.begin(), count.end(), [](char c) { return c >= '0' && c <= '9'; }))
      throw fail("K '" + count + "' is not a whole number from 1 to " + std::to_string(kMaxTopK));
    TopSpec t;
    t.k = std::stoull(count);
    if (t.k == 0 || t.k > kMaxTopK)
      throw fail("K " + count + " is not from 1 to " + std::to_string(kMaxTopK));
    t.metric = metric_index(f[2]);
    if (t.metric == kMetrics.size())
      throw fail("unknown metric '" + f[2] + "' (metrics: " + metric_names() + ")");
    t.ascending = lower_is_better(t.metric);
    for (const TopSpec& o : k.tops)
      if (o.metric == t.metric) throw fail("metric '" + f[2] + "' is given twice");
    k.tops.push_back(t);
  }
  return k;
}

TopKeeper::TopKeeper(const Grid& grid, const KeepSpec& spec)
    : grid_(grid), spec_(spec), layout_(grid, 0), heaps_(spec.tops.size()) {}

bool TopKeeper::better(const TopSpec& s, const Entry& a, const Entry& b) const {
  const bool an = std::isnan(a.key), bn = std::isnan(b.key);
  if (an != bn) return bn;
  if (!an && a.key != b.key) return s.ascending ? a.key < b.key : a.key > b.key;
  return a.id < b.id;
}

void TopKeeper::consider(std::size_t s, const Entry& e, const unsigned char* row) {
  const TopSpec& t = spec_.tops[s];
  std::vector<Entry>& h = heaps_[s];
  // The heap's front is the worst kept entry: "less" is "ranks before".
  auto cmp = [&](const Entry& a, const Entry& b) { return better(t, a, b); };
  if (h.size() == t.k) {
    if (!better(t, e, h.front())) return;
    std::pop_heap(h.begin(), h.end(), cmp);
    h.pop_back();
  }
  h.push_back(e);
  std::push_heap(h.begin(), h.end(), cmp);
  if (!rows_.contains(e.id)) rows_.emplace(e.id, std::vector<unsigned char>(row, row + row_size()));
}

void TopKeeper::offer(ComboId begin, std::span<const Metrics> rows) {
  std::vector<unsigned char> packed(row_size());
  for (std::size_t r = 0; r < rows.size(); ++r) {
    const ComboId id = begin + r;
    bool packed_yet = false;
    for (std::size_t s = 0; s < heaps_.size(); ++s) {
      const TopSpec& t = spec_.tops[s];
      const Entry e{metric_value(rows[r], t.metric), id};
      if (heaps_[s].size() == t.k && !better(t, e, heaps_[s].front())) continue;
      if (!packed_yet) {
        layout_.pack_run(grid_, id, RowsView{rows.subspan(r, 1), {}, 0}, packed.data());
        packed_yet = true;
      }
      consider(s, e, packed.data());
    }
  }
  prune();
}

void TopKeeper::prune() {
  std::size_t held = 0;
  for (const std::vector<Entry>& h : heaps_) held += h.size();
  if (rows_.size() <= 2 * held + 1024) return;
  std::vector<ComboId> keep;
  for (const std::vector<Entry>& h : heaps_)
    for (const Entry& e : h) keep.push_back(e.id);
  std::sort(keep.begin(), keep.end());
  std::erase_if(rows_, [&](const auto& kv) {
    return !std::binary_search(keep.begin(), keep.end(), kv.first);
  });
}

void TopKeeper::merge(const TopKeeper& other) {
  decode_merge(other.encode());
}

std::vector<ComboId> TopKeeper::ids() const {
  std::vector<ComboId> out;
  for (const std::vector<Entry>& h : heaps_)
    for (const Entry& e : h) out.push_back(e.id);
  std::sort(out.begin(), out.end());
  out.erase(std::unique(out.begin(), out.end()), out.end());
  return out;
}

std::vector<unsigned char> TopKeeper::rows() const {
  std::vector<unsigned char> out;
  for (const ComboId id : ids()) {
    const std::vector<unsigned char>& r = rows_.at(id);
    out.insert(out.end(), r.begin(), r.end());
  }
  return out;
}

std::vector<ComboId> TopKeeper::ranking(std::size_t s) const {
  std::vector<Entry> h = heaps_[s];
  const TopSpec& t = spec_.tops[s];
  std::sort(h.begin(), h.end(), [&](const Entry& a, const Entry& b) { return better(t, a, b); });
  std::vector<ComboId> out;
  for (const Entry& e : h) out.push_back(e.id);
  return out;
}

std::vector<std::byte> TopKeeper::encode() const {
  Writer w;
  w.put<std::uint64_t>(heaps_.size()).put<std::uint64_t>(row_size());
  for (const std::vector<Entry>& h : heaps_) {
    w.put<std::uint64_t>(h.size());
    for (const Entry& e : h) w.put(e.key).put(e.id);
  }
  const std::vector<ComboId> kept = ids();
  w.put<std::uint64_t>(kept.size());
  for (const ComboId id : kept) {
    w.put(id);
    const std::vector<unsigned char>& r = rows_.at(id);
    w.put_raw(r.data(), r.size());
  }
  return w.take();
}

void TopKeeper::decode_merge(std::span<const std::byte> bytes) {
  Reader in(bytes, "kept rows");
  if (in.get<std::uint64_t>() != heaps_.size() || in.get<std::uint64_t>() != row_size())
    throw std::runtime_error("kept rows: encoded for other --keep specs or another grid");
  std::vector<std::vector<Entry>> entries(heaps_.size());
  for (std::vector<Entry>& h : entries) {
    const auto n = in.get<std::uint64_t>();
    if (n > kMaxTopK) in.fail();
    for (std::uint64_t k = 0; k < n; ++k) {
      const auto key = in.get<double>();
      const auto id = in.get<ComboId>();
      h.push_back({key, id});
    }
  }
  std::map<ComboId, const unsigned char*> rows;
  const auto n_rows = in.get<std::uint64_t>();
  for (std::uint64_t k = 0; k < n_rows; ++k) {
    const auto id = in.get<ComboId>();
    rows[id] = reinterpret_cast<const unsigned char*>(in.take(row_size()).data());
  }
  if (!in.done()) in.fail();
  for (std::size_t s = 0; s < entries.size(); ++s)
    for (const Entry& e : entries[s]) {
      const auto it = rows.find(e.id);
      if (it == rows.end()) in.fail();
      const TopSpec& t = spec_.tops[s];
      if (heaps_[s].size() == t.k && !better(t, e, heaps_[s].front())) continue;
      consider(s, e, it->second);
    }
  prune();
}

}  // namespace threadx
