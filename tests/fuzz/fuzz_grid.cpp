// libFuzzer target for the grid parser: the input is a grid file's text.
#include <algorithm>
#include <cstdint>
#include <string>

#include "common/error.hpp"
#include "fuzz_contract.hpp"
#include "grid/grid.hpp"
#include "strategies/bb_atr/spec.hpp"

namespace {

using threadx::fuzz::require;

void check_grid(const threadx::Grid& g) {
  unsigned __int128 total = 1;
  for (std::size_t p = 0; p < g.param_count(); ++p) {
    const auto& v = g.values[p];
    require(!v.empty(), "a parameter without values");
    require(g.swept[p] || v.size() == 1, "an unswept parameter with several values");
    require(!(g.swept[p] && g.fixed[p]), "a parameter both swept and fixed");
    for (std::size_t i = 0; i < v.size(); ++i) {
      require(threadx::in_domain(g.param(p), v[i]), "value outside domain");
      if (i > 0) require(v[i] > v[i - 1], "values not strictly ascending");
    }
    total *= v.size();
    require(total <= UINT64_MAX, "combination count overflows 64 bits");
  }
  require(g.size() == static_cast<threadx::ComboId>(total), "size() is not the product");
  require(g.group_count() * g.group_size() == g.size(), "groups do not tile the ids");
  for (const threadx::ComboId id : {threadx::ComboId{0}, g.size() / 2, g.size() - 1}) {
    require(g.id_of(g.indices_of(id)) == id, "id_of(indices_of(id)) != id");
    const threadx::ParamValues v = g.values_of(id);
    for (std::size_t p = 0; p < g.param_count(); ++p)
      require(threadx::in_domain(g.param(p), v[p]), "values_of out of domain");
  }
  // The last group's key digits are the largest values of the key parameters.
  const threadx::ParamValues k = g.key_of_group(g.group_count() - 1);
  for (std::size_t d = 0; d < g.strategy->key_count; ++d) {
    const std::size_t p = g.strategy->id_order[d];
    require(k[p] == g.values[p].back(), "the last group's key is not the largest");
  }
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  const std::string text(reinterpret_cast<const char*>(data), size);
  try {
    const threadx::Grid g = threadx::parse_grid_text(text, "fuzz.toml");
    require(g.source_text == text, "source text not kept");
    check_grid(g);
  } catch (const threadx::InputError& e) {
    threadx::fuzz::check_error_message(e.what(), {"fuzz.toml"});
  }
  return 0;
}
