// CPU feature detection and the `--isa` vocabulary (see isa.hpp).
#include "engine/isa.hpp"

#include <fmt/format.h>

#include <cstdlib>
#include <fstream>
#include <optional>

#include "common/error.hpp"

namespace threadx {

namespace {

#if defined(__x86_64__) || defined(__i386__)
constexpr bool kX86 = true;
#else
constexpr bool kX86 = false;
#endif

constexpr Isa kFastestFirst[] = {Isa::Avx512, Isa::Avx2, Isa::Baseline, Isa::Scalar};

std::optional<Isa> isa_named(std::string_view text) {
  for (Isa isa : kFastestFirst)
    if (isa_name(isa) == text) return isa;
  return std::nullopt;
}

CpuFeatures detect() {
  CpuFeatures f;
  if (const char* cap = std::getenv("THREADX_MAX_ISA"); cap != nullptr && *cap != '\0') {
    const std::optional<Isa> isa = isa_named(cap);
    if (!isa)
      throw InputError(fmt::format("THREADX_MAX_ISA='{}': expected avx512, avx2, {} or scalar", cap,
                                   isa_name(Isa::Baseline)));
    f.cap = *isa;
    f.cap_source = fmt::format("THREADX_MAX_ISA={}", cap);
  }
#if defined(__x86_64__) || defined(__i386__)
  // GCC's checks include the OS's support (XGETBV) for the AVX and AVX-512 register state.
  __builtin_cpu_init();
  f.avx2 = __builtin_cpu_supports("avx2") != 0;
  f.avx512 = __builtin_cpu_supports("avx512f") != 0 && __builtin_cpu_supports("avx512dq") != 0;
#endif
  return f;
}

}  // namespace

const CpuFeatures& host_cpu() {
  static const CpuFeatures f = detect();
  return f;
}

std::string_view isa_name(Isa isa) {
  switch (isa) {
    case Isa::Scalar:
      return "scalar";
    case Isa::Baseline:
      return kX86 ? "sse2" : "generic";
    case Isa::Avx2:
      return "avx2";
    case Isa::Avx512:
      return "avx512";
  }
  return "?";
}

std::size_t isa_lanes(Isa isa) {
  switch (isa) {
    case Isa::Scalar:
      return 1;
    case Isa::Baseline:
      return 2;
    case Isa::Avx2:
      return 4;
    case Isa::Avx512:
      return 8;
  }
  return 1;
}

bool isa_built(Isa isa) {
  return isa == Isa::Scalar || isa == Isa::Baseline || kX86;
}

bool isa_supported(Isa isa, const CpuFeatures& cpu) {
  if (!isa_built(isa) || isa > cpu.cap) return false;
  switch (isa) {
    case Isa::Scalar:
    case Isa::Baseline:
      return true;
    case Isa::Avx2:
      return cpu.avx2;
    case Isa::Avx512:
      return cpu.avx512;
  }
  return false;
}

std::vector<Isa> supported_isas(const CpuFeatures& cpu) {
  std::vector<Isa> out;
  for (Isa isa : kFastestFirst)
    if (isa_supported(isa, cpu)) out.push_back(isa);
  return out;
}

Isa best_isa(const CpuFeatures& cpu) {
  return supported_isas(cpu).front();
}

Isa parse_isa(std::string_view text, const CpuFeatures& cpu) {
  if (text == "auto") return best_isa(cpu);
  std::string runs;
  for (Isa isa : supported_isas(cpu))
    runs += fmt::format("{}{}", runs.empty() ? "" : ", ", isa_name(isa));
  const std::optional<Isa> isa = isa_named(text);
  if (!isa)
    throw InputError(fmt::format("--isa '{}': expected auto, avx512, avx2, {} or scalar", text,
                                 isa_name(Isa::Baseline)));
  if (isa_supported(*isa, cpu)) return *isa;
  if (!isa_built(*isa))
    throw InputError(fmt::format(
        "--isa {}: not built into this binary (x86-64 paths only); this machine runs: auto, {}",
        text, runs));
  if (*isa > cpu.cap)
    throw InputError(fmt::format("--isa {}: {} caps this process at {}; it runs: auto, {}", text,
                                 cpu.cap_source, isa_name(cpu.cap), runs));
  throw InputError(fmt::format("--isa {}: this CPU ({}) does not support {}; it runs: auto, {}",
                               text, cpu_model(), *isa == Isa::Avx512 ? "AVX-512 F+DQ" : "AVX2",
                               runs));
}

std::string isa_label(Isa isa) {
  if (isa == Isa::Scalar) return "scalar (one combination at a time)";
  return fmt::format("{} ({} lanes)", isa_name(isa), isa_lanes(isa));
}

std::string cpu_model() {
  std::ifstream in("/proc/cpuinfo");
  std::string line;
  while (std::getline(in, line))
    if (line.starts_with("model name")) {
      const std::size_t colon = line.find(':');
      if (colon != std::string::npos) {
        std::string s = line.substr(colon + 1);
        s.erase(0, s.find_first_not_of(' '));
        return s;
      }
    }
  return "unknown model";
}

}  // namespace threadx
