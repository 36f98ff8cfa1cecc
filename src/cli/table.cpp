// Result tables (see table.hpp).
#include "cli/table.hpp"

#include <algorithm>
#include <cstdint>
#include <cstring>

#include <fmt/format.h>

#include "common/time_format.hpp"

namespace threadx {
namespace {

std::string cell(const unsigned char* row, const Column& c, bool full_precision) {
  switch (c.kind) {
    case Column::Kind::U64: {
      std::uint64_t v;
      std::memcpy(&v, row + c.offset, 8);
      return std::to_string(v);
    }
    case Column::Kind::I32: {
      std::int32_t v;
      std::memcpy(&v, row + c.offset, 4);
      return std::to_string(v);
    }
    case Column::Kind::I64: {
      std::int64_t v;
      std::memcpy(&v, row + c.offset, 8);
      return std::to_string(v);
    }
    case Column::Kind::F64:
      break;
  }
  double v;
  std::memcpy(&v, row + c.offset, 8);
  return full_precision ? format_double(v) : fmt::format("{:.6g}", v);
}

}  // namespace

void print_rows(std::ostream& out, const std::vector<Column>& columns,
                const std::vector<std::vector<unsigned char>>& rows,
                const std::vector<std::string>& only, bool csv) {
  std::vector<const Column*> shown;
  for (const Column& c : columns)
    if (only.empty() || std::find(only.begin(), only.end(), c.name) != only.end())
      shown.push_back(&c);

  std::vector<std::vector<std::string>> cells;
  std::vector<std::string> header{"rank"};
  for (const Column* c : shown) header.push_back(c->name);
  cells.push_back(header);
  for (std::size_t r = 0; r < rows.size(); ++r) {
    std::vector<std::string> line{std::to_string(r + 1)};
    for (const Column* c : shown) line.push_back(cell(rows[r].data(), *c, csv));
    cells.push_back(std::move(line));
  }

  if (csv) {
    for (const auto& line : cells) {
      for (std::size_t i = 0; i < line.size(); ++i) out << (i ? "," : "") << line[i];
      out << '\n';
    }
    return;
  }
  std::vector<std::size_t> width(header.size(), 0);
  for (const auto& line : cells)
    for (std::size_t i = 0; i < line.size(); ++i) width[i] = std::max(width[i], line[i].size());
  for (const auto& line : cells) {
    std::string text;
    for (std::size_t i = 0; i < line.size(); ++i) {
      if (i) text += "  ";
      text += std::string(width[i] - line[i].size(), ' ') + line[i];
    }
    out << text << '\n';
  }
}

}  // namespace threadx
