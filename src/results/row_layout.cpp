// The packed row layout of /results (see row_layout.hpp).
#include "results/row_layout.hpp"

#include <cstdint>
#include <cstring>
#include <stdexcept>
#include <utility>

namespace threadx {

RowLayout::RowLayout(const Grid& grid, int blocks) : blocks_(blocks) {
  auto add = [this](std::string name, Column::Kind kind, std::size_t size) {
    columns_.push_back({std::move(name), kind, row_size_, size});
    row_size_ += size;
  };
  add("combo_id", Column::Kind::U64, 8);
  for (std::size_t p = 0; p < grid.param_count(); ++p) {
    if (!grid.swept[p]) continue;
    if (grid.param(p).type == ParamType::Double)
      add(std::string(grid.param(p).name), Column::Kind::F64, 8);
    else
      add(std::string(grid.param(p).name), Column::Kind::I32, 4);
  }
  for (const MetricSpec& m : kMetrics)
    add(std::string(m.name), m.name == "trades" ? Column::Kind::I64 : Column::Kind::F64, 8);
}

void RowLayout::pack(const Grid& grid, ComboId id, const ParamIndex& idx, const Metrics& m,
                     unsigned char* row) const {
  std::size_t c = 0;
  std::memcpy(row + columns_[c++].offset, &id, 8);
  for (std::size_t p = 0; p < grid.param_count(); ++p) {
    if (!grid.swept[p]) continue;
    const double v = grid.values[p][idx[p]];
    if (columns_[c].kind == Column::Kind::F64) {
      std::memcpy(row + columns_[c].offset, &v, 8);
    } else {
      const auto iv = static_cast<std::int32_t>(v);
      std::memcpy(row + columns_[c].offset, &iv, 4);
    }
    ++c;
  }
  for (std::size_t k = 0; k < kMetrics.size(); ++k, ++c) {
    if (columns_[c].kind == Column::Kind::I64) {
      std::memcpy(row + columns_[c].offset, &m.trades, 8);
    } else {
      const double v = metric_value(m, k);
      std::memcpy(row + columns_[c].offset, &v, 8);
    }
  }
}

void RowLayout::pack_run(const Grid& grid, ComboId begin, const RowsView& rows,
                         unsigned char* out) const {
  if (rows.block_count != blocks_ ||
      rows.blocks.size() != rows.size() * static_cast<std::size_t>(blocks_))
    throw std::logic_error("pack_run: rows without the layout's blocks");
  auto idx = grid.indices_of(begin);
  for (std::size_t i = 0; i < rows.size(); ++i) {
    if (i > 0) grid.advance(idx);
    pack(grid, begin + i, idx, rows.metrics[i], out + i * row_size_);
  }
  unsigned char* cell = out + rows.size() * row_size_;
  for (const BlockStats& b : rows.blocks) {
    std::memcpy(cell, &b.sum_r, 8);
    std::memcpy(cell + 8, &b.sum_r2, 8);
    std::memcpy(cell + 16, &b.equity, 8);
    std::memcpy(cell + 24, &b.trades, 4);
    cell += kBlockCellSize;
  }
}

const Column* find_column(const std::vector<Column>& columns, const std::string& name) {
  for (const Column& c : columns)
    if (c.name == name) return &c;
  return nullptr;
}

const Column* RowLayout::find(const std::string& name) const {
  return find_column(columns_, name);
}

double column_value(const unsigned char* row, const Column& c) {
  switch (c.kind) {
    case Column::Kind::U64: {
      std::uint64_t v;
      std::memcpy(&v, row + c.offset, 8);
      return static_cast<double>(v);
    }
    case Column::Kind::I32: {
      std::int32_t v;
      std::memcpy(&v, row + c.offset, 4);
      return v;
    }
    case Column::Kind::I64: {
      std::int64_t v;
      std::memcpy(&v, row + c.offset, 8);
      return static_cast<double>(v);
    }
    default: {
      double v;
      std::memcpy(&v, row + c.offset, 8);
      return v;
    }
  }
}

}  // namespace threadx
