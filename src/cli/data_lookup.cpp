#include "cli/data_lookup.hpp"

#include <filesystem>
#include <sstream>

#include "common/error.hpp"
#include "data/loader.hpp"

namespace threadx {
namespace {

namespace fs = std::filesystem;

// The --data arguments of a recorded command line (paths as the sweep was given them).
std::vector<std::string> data_args(const std::string& command_line) {
  std::vector<std::string> out;
  const std::vector<std::string> words = split_text(command_line, ' ');
  for (std::size_t i = 0; i < words.size(); ++i) {
    if (words[i] != "--data") continue;
    for (std::size_t j = i + 1; j < words.size() && words[j].rfind("-", 0) != 0; ++j)
      out.push_back(words[j]);
  }
  return out;
}

}  // namespace

std::vector<std::string> split_text(const std::string& s, char sep) {
  std::vector<std::string> out;
  std::string cur;
  std::istringstream in(s);
  while (std::getline(in, cur, sep)) out.push_back(cur);
  return out;
}

DataCheck find_data(const ResultsReader& reader, const std::string& results_path,
                    const std::vector<std::string>& given) {
  const std::vector<std::string> names =
      split_text(reader.attribute("data_files").value_or(""), '\n');
  const std::vector<std::string> shas =
      split_text(reader.attribute("data_sha256").value_or(""), '\n');
  DataCheck out;
  if (names.empty() || names.size() != shas.size()) {
    out.note = "The results file records no data files: nothing to re-run.";
    return out;
  }
  if (!given.empty() && given.size() != names.size())
    throw InputError("--data: the sweep read " + std::to_string(names.size()) + " data file(s), " +
                     std::to_string(given.size()) + " given");
  const std::vector<std::string> recorded =
      data_args(reader.attribute("command_line").value_or(""));
  for (std::size_t k = 0; k < names.size(); ++k) {
    std::vector<std::string> candidates;
    if (!given.empty()) {
      candidates.push_back(given[k]);
    } else {
      for (const std::string& r : recorded)
        if (fs::path(r).filename() == names[k]) candidates.push_back(r);
      candidates.push_back((fs::path(results_path).parent_path() / names[k]).string());
      candidates.push_back(names[k]);
    }
    std::string found, changed;
    for (const std::string& c : candidates) {
      if (!fs::is_regular_file(c)) continue;
      if (sha256_file(c) == shas[k]) {
        found = c;
        break;
      }
      if (changed.empty()) changed = c;
    }
    if (found.empty() && !changed.empty())
      throw InputError(
          changed + ": the data file changed since the sweep (its SHA-256 is not the " + shas[k] +
          " recorded in " + results_path + "); pass --data with the file the sweep read");
    if (found.empty()) {
      if (!given.empty()) throw InputError(given[k] + ": no such file");
      out.paths.clear();
      out.note = "The data file " + names[k] +
                 " was not found (looked at the sweep's --data path, next to the results file and "
                 "in the current directory): pass --data FILE";
      return out;
    }
    out.paths.push_back(found);
  }
  return out;
}

BarSeries load_sweep_bars(const ResultsReader& reader, const std::vector<std::string>& paths) {
  LoadOptions lo;
  const std::string timeframe = reader.attribute("timeframe").value_or("");
  if (!timeframe.empty()) lo.timeframe_ms = parse_timeframe(timeframe);
  return load_bars(paths, lo);
}

}  // namespace threadx
