// Finding the bars a sweep read, from its results file's provenance (the data files' names and
// SHA-256, the recorded command line): `threadx report` re-runs the best combination on them and
// `threadx robust` recomputes the selected combinations' returns.
#pragma once

#include <string>
#include <vector>

#include "data/bars.hpp"
#include "results/results_reader.hpp"

namespace threadx {

// `s` cut at every `sep` (no empty trailing item).
std::vector<std::string> split_text(const std::string& s, char sep);

struct DataCheck {
  std::vector<std::string> paths;  // the data files to re-run on, empty when not found
  std::string note;                // why not
};

// Finds the data files the sweep read (provenance: names and SHA-256): `given` (--data) if not
// empty, else the paths of the recorded command line, the results file's directory, the current
// directory. InputError when a file is found but its content changed, or a given one is missing.
DataCheck find_data(const ResultsReader& reader, const std::string& results_path,
                    const std::vector<std::string>& given);

// The bars at `paths`, resampled to the results file's timeframe if the sweep resampled.
BarSeries load_sweep_bars(const ResultsReader& reader, const std::vector<std::string>& paths);

}  // namespace threadx
