// Where a results file keeps a sweep's summary (results/sweep_summary.hpp; docs/SWEEP.md,
// "Aggregates" and "What a sweep keeps"):
//
// - while a run with --keep none or top:... goes on, its checkpoints: two slots,
//   /summary/checkpoint_0 and _1 (uint8, extendible), written in turn; /summary/slots (uint64
//   [2][3]: sequence number, bytes, FNV-1a hash of the bytes) records a slot only once its bytes
//   are flushed, so that a kill at any moment leaves one whole checkpoint to resume from;
// - when a run ends (any --keep): /aggregates, the aggregates as plain datasets (what h5py users
//   read), and with --keep top:... /kept, the kept rows (ids ascending, the compound type of
//   /results); both are created with the file, and only filled at the end.
#pragma once

#include <cstddef>
#include <cstdint>
#include <span>
#include <string>
#include <vector>

#include "results/sweep_summary.hpp"

namespace threadx {

class SummaryStore {
 public:
  // Creates /summary (before SWMR writing starts: it creates objects).
  static void create(std::int64_t file, const std::string& path);
  // Opens /summary of an open file (OutputError naming path when it is missing).
  SummaryStore(std::int64_t file, std::string path);
  SummaryStore(const SummaryStore&) = delete;
  SummaryStore& operator=(const SummaryStore&) = delete;
  ~SummaryStore();

  // Writes a checkpoint into the older slot, flushes, then records it and flushes again.
  void write_checkpoint(std::span<const std::byte> bytes);
  // The newest whole checkpoint (empty when none was written); OutputError naming the file when
  // checkpoints were recorded and none is whole (the file is damaged: --force starts over).
  [[nodiscard]] std::vector<std::byte> read_checkpoint() const;

 private:
  // The newest recorded slot whose bytes match their hash, and its bytes (-1 if none).
  [[nodiscard]] int newest_whole(std::vector<std::byte>* bytes) const;

  std::int64_t file_, group_ = -1, slots_ = -1, data_[2] = {-1, -1};
  std::string path_;
  std::uint64_t seq_ = 0;  // the newest recorded sequence number
  int next_ = 0;           // the slot the next checkpoint goes to: never the newest whole one
};

class ResultsFile;

// Adds to `summary` the stored rows whose `done` flags are set (flag k: id file.first_id() + k; a
// --keep all file being resumed:
// its summary is not checkpointed, it is computed again from the rows, which gives the same bits).
void summarize_stored_rows(const ResultsFile& file, const std::vector<std::uint8_t>& done,
                           SweepSummary& summary);

// Creates /aggregates (its cells described, its attributes, its datasets to be filled) and, with
// --keep top:..., /kept (empty, extendible), in a new file before SWMR writing starts: at the end
// of a run only their data is written, which SWMR keeps consistent whenever the process dies.
// row_type: the file's /results compound type (an hid_t).
void create_final_summary(std::int64_t file, const std::string& path, const Grid& grid,
                          const AggregateLayout& layout, bool with_kept, std::int64_t row_type);

// Writes the summary's aggregates (and, once every id is in, its kept rows) into what
// create_final_summary made, /aggregates/combinations last (0 until then); creates it first when
// it is missing (a file from before --keep, whose writer is then out of SWMR).
// `ids`: how many ids the file holds (the kept rows are written once the summary covers them all).
void write_final_summary(std::int64_t file, const std::string& path, const Grid& grid,
                         const SweepSummary& summary, std::int64_t row_type, std::uint64_t ids);

}  // namespace threadx
