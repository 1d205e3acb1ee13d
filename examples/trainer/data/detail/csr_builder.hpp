// SPDX-License-Identifier: Apache-2.0
#pragma once
// Internal: appends rows to a CSR matrix without triplets.

#include <cstdint>
#include <vector>

#include "dataset.hpp"

namespace longtail_train::detail {

/// Collects rows (column indices strictly increasing within a row) and builds a compressed
/// SparseRowMatrix in one pass.
class CsrBuilder {
 public:
  void add(std::int32_t col, float value) {
    cols_.push_back(col);
    values_.push_back(value);
  }
  void end_row() { row_ends_.push_back(static_cast<std::int64_t>(cols_.size())); }
  Eigen::Index rows() const { return static_cast<Eigen::Index>(row_ends_.size()); }

  SparseRowMatrix build(Eigen::Index cols) const {
    SparseRowMatrix m(rows(), cols);
    m.reserve(static_cast<Eigen::Index>(cols_.size()));
    std::int64_t k = 0;
    for (Eigen::Index r = 0; r < rows(); ++r) {
      m.startVec(r);
      for (; k < row_ends_[static_cast<std::size_t>(r)]; ++k)
        m.insertBack(r, cols_[static_cast<std::size_t>(k)]) = values_[static_cast<std::size_t>(k)];
    }
    m.finalize();
    return m;
  }

 private:
  std::vector<std::int32_t> cols_;
  std::vector<float> values_;
  std::vector<std::int64_t> row_ends_;
};

}  // namespace longtail_train::detail
