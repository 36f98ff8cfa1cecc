// A discrete-event simulation of a big cluster driving the real Dispatcher (no MPI): virtual ranks
// of unequal speed (log-normal, plus a few stragglers) ask rank 0 for units exactly as the MPI
// worker does (keep prefetch_depth(threads) units queued), compute them, and send their rows back;
// rank 0 is one server that spends a fixed time per message and per row stored, and every message
// takes a one-way latency. It answers whether the dispatcher, the unit sizes or rank 0 limit
// scaling.
//
// Two ways to store the rows (WritePath):
// - Rank0: today's path. A rank sends its rows to rank 0, whose one writer thread stores them.
// - Ranks: the ranks store their own rows (issue 19, item 3). A rank's writer thread packs and
//   compresses a finished unit's rows (rank_row_s each, beside its computing slots) and writes them
//   to the shared file system, one server of fs_bandwidth bytes/s shared by every rank (rows of
//   row_bytes each as stored). The rank reports the unit with its next request, as soon as it is
//   computed (rank 0 learns the rank's speed from it); its /done flags count only once the rows
//   are on disk, which the rank's goodbye confirms, sent after its last write. (A real rank would
//   send the ids stored since its last message with each request.) Rank 0 keeps only the plan and
//   the /done flags: no cost per row, and most reports ride on requests.
// - Streams: a design study of the next ranks path (not built yet; issue 19). Units are of any
//   size; each rank appends its rows to its own file in the order it computes them, in chunks of
//   stream_chunk_rows of its own rows whatever the units. Small units then cost no compression
//   ratio, but a rank holds back up to a chunk of rows, so it writes its last, partial chunk (and
//   then each unit at once) when rank 0's grant says fewer than a quarter chunk of ids per slot
//   are left, and at its end.
#pragma once

#include <cstdint>

#include "grid/grid.hpp"

namespace threadx::dist {

struct SimOptions {
  int ranks = 1000;                    // worker ranks (rank 0 only dispatches and writes)
  std::uint64_t threads_per_rank = 1;  // compute slots per rank
  double bars = 49632;                 // bars per backtest (cost of a combination)
  double slot_rate = 5e8;              // mean bar-steps per second per slot
  double speed_sigma = 0.25;           // log-normal spread of rank speeds
  double straggler_fraction = 0.01;    // ranks this much of the job that are...
  double straggler_factor = 5;         // ...this many times slower
  double latency_s = 5e-6;             // one-way message latency
  double rank0_message_s = 1e-6;       // rank 0's time to handle one message
  // rank 0's time to store one packed 133-byte row: its writer thread measured 69-77 ns/row on
  // reference_2p9m after the ranks pack their own rows (README, "Dispatch at cluster scale").
  double rank0_row_s = 80e-9;
  bool writer_thread = true;  // rank 0 stores rows on its own thread (false: inline)
  enum class WritePath { Rank0, Ranks, Streams } write_path = WritePath::Rank0;
  // Ranks path: a rank's time to assemble, shuffle and deflate one row (on its own writer
  // thread; measured: a whole 960-bar reference_2p9m sweep takes 1.5-1.7 s more CPU compressed
  // than with --compress 0, 500-590 ns/row), the bytes of a row as stored (reference_2p9m on
  // 49,632 bars: 39.4 MB for 2,903,040 rows), and the shared file system's write bandwidth (an
  // assumption: a modest parallel file system).
  double rank_row_s = 550e-9;
  double row_bytes = 14;   // in chunks of 16,384 rows; smaller chunks: chunk_bytes_factor()
  bool compressed = true;  // false: row_bytes whatever the chunks (rows stored as they are)
  double fs_bandwidth = 2e9;
  std::uint64_t stream_chunk_rows = 0;  // Streams: rows per chunk; 0: stream_chunk_rows()
  std::uint64_t unit_size = 4096;       // --unit-size
  std::uint32_t seed = 1;
};

// How much larger a row is stored in chunks of `rows` than in chunks of 16,384 (deflate sees less
// at a time). Measured on reference_2p9m, 960 bars, shuffle + deflate 1, the rows alone (README):
// 64 rows 1.72x, 126 1.70x, 252 1.48x, 504 1.24x, 1,008 1.11x; in between, linear in log(rows).
double chunk_bytes_factor(std::uint64_t rows);

// Streams: rows per chunk of a rank's stream, for a run of `ids` on `slots` compute threads in
// all: an eighth of a thread's share, in multiples of 64, clamped to [1,024, 16,384]. Large
// chunks compress best, but up to a chunk per rank is written only at the end.
std::uint64_t stream_chunk_rows(std::uint64_t ids, std::uint64_t slots);

struct SimResult {
  double makespan_s = 0;
  double ideal_s = 0;          // all work / all speed: no latency, no waiting, perfect balance
  std::uint64_t messages = 0;  // handled by rank 0
  double rank0_busy_s = 0;
  std::uint64_t units = 0;
  double affinity = 0;       // units of a group the rank had already been granted / units
  double idle_fraction = 0;  // slot-seconds not computing / all slot-seconds up to the makespan
  std::uint64_t steals = 0;
  // Ranks path: rows per chunk (units are whole chunks); Streams: of a rank's stream.
  std::uint64_t chunk_rows = 0;
  double row_bytes = 0;  // Ranks, Streams: bytes of a row as stored in full chunks
  double fs_busy_s = 0;  // Ranks, Streams: time the shared file system spent writing rows
};

SimResult simulate_dispatch(const Grid& grid, const SimOptions& options);

}  // namespace threadx::dist
