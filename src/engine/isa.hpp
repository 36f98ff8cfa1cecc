// The CPU's instruction-set paths for the backtest lanes. One portable binary carries the lane
// kernel compiled once per path (each strategy's src/strategies/<name>/lanes.cpp: AVX-512, AVX2 and
// the x86-64 baseline SSE2, or the baseline vector path of another architecture) and picks one at
// start-up from what the CPU supports; `--isa` overrides. Every path gives bit-identical results.
#pragma once

#include <cstddef>
#include <string>
#include <string_view>
#include <vector>

namespace threadx {

enum class Isa {
  Scalar,    // one combination at a time through the reference kernel (the strategy's run_one)
  Baseline,  // 2 lanes: SSE2 on x86-64 (every x86-64 CPU), the plain vector path elsewhere
  Avx2,      // 4 lanes
  Avx512     // 8 lanes (AVX-512 F and DQ)
};

// What the CPU can run, read once from CPUID (x86-64) or assumed (baseline elsewhere).
struct CpuFeatures {
  bool avx2 = false;
  bool avx512 = false;  // AVX-512 F and DQ, with the OS saving the registers
  // The environment variable THREADX_MAX_ISA (avx512, avx2, sse2/generic, scalar) caps the paths
  // a process may use, e.g. to run as an older cluster node would (like MKL_ENABLE_INSTRUCTIONS).
  Isa cap = Isa::Avx512;
  std::string cap_source;  // "THREADX_MAX_ISA=avx2" when capped
};
// The CPU this process runs on. Throws InputError when THREADX_MAX_ISA holds an unknown name.
const CpuFeatures& host_cpu();

// "scalar", "sse2" (or "generic" off x86-64), "avx2", "avx512".
std::string_view isa_name(Isa isa);
// Combinations per vector: 1, 2, 4, 8.
std::size_t isa_lanes(Isa isa);
// Compiled into this binary (x86-64 builds carry every path; other builds baseline and scalar).
bool isa_built(Isa isa);
bool isa_supported(Isa isa, const CpuFeatures& cpu = host_cpu());
// The paths this binary and CPU can run, fastest first (scalar last).
std::vector<Isa> supported_isas(const CpuFeatures& cpu = host_cpu());
// The fastest supported path: what `--isa auto` selects.
Isa best_isa(const CpuFeatures& cpu = host_cpu());
// `--isa` values: "auto" or a path name. Throws InputError naming the value and the paths this
// CPU runs when the name is unknown, not built or not supported by the CPU.
Isa parse_isa(std::string_view text, const CpuFeatures& cpu = host_cpu());
// "avx2 (4 lanes)", "scalar (1 combination at a time)": for logs, `devices` and provenance.
std::string isa_label(Isa isa);
// The CPU's model name (/proc/cpuinfo), or "unknown model".
std::string cpu_model();

}  // namespace threadx
