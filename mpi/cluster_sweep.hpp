// One sweep over the ranks of a job: rank 0 coordinates (dispatcher, results file, its own compute
// threads), the other ranks compute the units they are granted and send back their rows. A run
// without MPI is the one-rank case of the same code (SoloTransport): same dispatcher, same writer.
//
// Why rank 0 writes the file (rather than parallel HDF5 from every rank): one writer keeps the
// file's crash safety exactly that of the single process (rows before /done flags, no collective
// HDF5 calls that would hang the job when a rank dies), resume works under any rank count, and
// the volume is small next to the compute (one 133-byte row per combination, packed by the rank
// that computed it, against ~1e3-1e5 bar-steps): the writer's busy time is in every run's summary
// and the file (`writer_seconds`), and where it stops scaling is simulated (README, dispatch_sim).
//
// Past a few thousand ranks that one writer is the limit: with --write-path ranks every rank
// compresses and stores its own whole chunks in a part file (part_writer.hpp), units are granted
// on chunk boundaries (DispatchOptions::align), and rank 0 only records which file holds each
// chunk (/parts, then /done), joining them with HDF5 virtual datasets when the run ends. The
// crash safety is the same (a chunk is reported only once its part file is flushed), and no
// collective HDF5 call is needed: parallel HDF5 (1.10) writes compressed datasets collectively
// only, so one dead rank would hang every other.
#pragma once

#include <atomic>
#include <cstdint>
#include <functional>
#include <string>
#include <vector>

#include "engine/cpu_backtest.hpp"
#include "engine/cpu_sweep.hpp"
#include "engine/id_ranges.hpp"
#include "engine/sweep_context.hpp"
#include "gpu/device.hpp"
#include "mpi/transport.hpp"
#include "results/part_file.hpp"
#include "results/results_file.hpp"
#include "results/sweep_summary.hpp"

namespace threadx::dist {

struct ClusterSweepOptions {
  unsigned threads = 1;            // this rank's compute threads (rank 0: 0 = dispatch only)
  std::uint64_t unit_size = 4096;  // ids per work unit at most
  Isa isa = best_isa();
  std::vector<gpu::Device> devices;  // resolved (gpu::resolve_devices); empty: the CPU
  // A worker that sends nothing for max(rank_timeout_s, 10 x the slowest unit so far) while it
  // holds units is declared lost: rank 0 saves the file and ends the job.
  double rank_timeout_s = 120.0;
  // What the run keeps of its rows (--keep): all of them go to rank 0's file, or none; every rank
  // summarises its units (results/sweep_summary.hpp) and sends its summary to rank 0, every
  // summary_interval_s with --keep none or top:... (rank 0 checkpoints it), else at its end.
  KeepSpec keep;
  AggregateSpec aggregates;
  double summary_interval_s = 1.0;
  // --write-path ranks: this rank's part file (results/part_file.hpp) and its shape; every rank
  // stores its own rows there and reports them stored. Empty: the rows go to rank 0.
  std::string part_path;
  PartShape part_shape;
  // The stop flag (set by a signal on this rank), --blocks S (rows written to /blocks), and on
  // rank 0 the file's flush interval and progress (engine/run_control.hpp; combos_total is the
  // run's own).
  RunControl run;
};

// What one rank did (the Bye message, and rank 0's own).
struct RankReport {
  int rank = 0;
  std::string host;
  std::int64_t pid = 0;
  std::uint64_t threads = 0;
  std::string isa;  // the CPU lane path this rank ran (engine/isa.hpp)
  std::uint64_t units = 0, combos = 0;
  double busy_s = 0;  // compute time summed over threads
  double idle_s = 0;  // time threads waited for a unit, summed over threads
  std::int64_t series_built = 0, series_requested = 0;
  std::uint64_t affinity_hits = 0, groups = 0, steals = 0;  // from the dispatcher
  std::vector<std::string> devices;  // one summary line per device (gpu/balancer.hpp)
};

struct ClusterReport {
  std::uint64_t combos_done = 0;  // this run
  double wall_s = 0;
  bool complete = false;     // every id of the grid is done
  bool stopped = false;      // a signal stopped the run
  double writer_busy_s = 0;  // rank 0's writer thread: seconds writing and flushing
  double part_busy_s = 0;    // --write-path ranks: rank 0's part writer thread, the same
  std::uint64_t part_bytes_in = 0, part_bytes_stored = 0;  // rank 0's part file
  std::vector<RankReport> ranks;
  std::vector<std::pair<std::string, std::string>> device_attributes;  // rank 0's devices
};

// ---- start-up: every rank has loaded the grid and the data (or failed to) ----

struct Hello {
  std::string host;
  std::int64_t pid = 0;
  std::uint64_t threads = 0;
  std::string error;  // non-empty: this rank could not load its inputs
};
// What rank 0 tells the workers with its verdict: the run's session (part files are named after
// it) and, when the ranks store their rows (--write-path ranks), the deflate level of their part
// files (0: rank 0 stores the rows).
struct StartInfo {
  std::string session;
  int part_level = 0;
  std::uint64_t part_rows = 0;  // and their rows per chunk
};
// A worker says hello and waits for rank 0's verdict: 0 = go, otherwise the exit code to use.
int worker_hello(Transport& t, const Hello& hello, StartInfo* info = nullptr);
// Rank 0 collects the workers' hellos (index = rank; [0] is unused).
std::vector<Hello> collect_hellos(Transport& t);
// Rank 0 tells every worker to go (0) or to exit with `exit_code`.
void send_start(Transport& t, int exit_code, const StartInfo& info = {});

std::string this_host();

// Rank 0's side of the start-up, for any command that runs on every rank (sweep, robust): until
// the workers are told to start, every way out of rank 0 must release them, or they would wait
// for ever. Without MPI (one rank) it does nothing.
class StartGate {
 public:
  explicit StartGate(Transport& t) : t_(t), started_(t.size() == 1) {}
  // Collects the workers' hellos (index = rank; [0] unused); InputError naming the first rank that
  // could not load its inputs.
  const std::vector<Hello>& collect();
  // Tells every worker to go (0) or to exit with `exit_code`; only the first call counts.
  void release(int exit_code, const StartInfo& info = {});
  // For an error before release(0): the workers' hellos are collected if they were not (a worker
  // sends one whatever happens), then they are released with exit code 1.
  void fail();
  [[nodiscard]] const std::vector<Hello>& workers() const { return workers_; }

 private:
  Transport& t_;
  bool started_;
  std::vector<Hello> workers_;
};

// ---- the run ----

// Rank 0. `file` is open (created or resumed), `done` holds the ids not to run (done before: its
// flags, or what the summary covers), and `summary` (Role::Root, over the file's grid) what is
// summarised of them; it receives every rank's summary. With --keep none or top:..., it is
// checkpointed into the file at the flush interval and at the end.
ClusterReport run_coordinator(Transport& t, const SweepContext& ctx, ResultsFile& file,
                              const IdRanges& done, SweepSummary& summary,
                              const std::vector<Hello>& workers, const ClusterSweepOptions& o);

// Ranks > 0: compute until rank 0 says there is no more work or stops the run.
RankReport run_worker(Transport& t, const SweepContext& ctx, const ClusterSweepOptions& o);

}  // namespace threadx::dist
