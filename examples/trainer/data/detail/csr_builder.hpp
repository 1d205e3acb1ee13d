// SPDX-License-Identifier: Apache-2.0
#pragma once
// Internal: appends rows to a CSR matrix without triplets.

#include <cstdint>
#include <limits>
#include <stdexcept>
#include <string>
#include <vector>

#include "data/data_error.hpp"
#include "dataset.hpp"

namespace longtail_train::detail {

/// Collects rows (column indices strictly increasing within a row) and builds a compressed
/// SparseRowMatrix in one pass.
class CsrBuilder {
 public:
  /// SparseRowMatrix has int32 indices: its row offsets count the stored values, so a matrix
  /// holds at most 2^31 - 1 of them (a reader meets that from an XMC file of about 10 GB).
  static constexpr std::int64_t kMaxNonZeros = std::numeric_limits<std::int32_t>::max();

  /// `max_nonzeros` below kMaxNonZeros only for tests of the limit.
  explicit CsrBuilder(std::int64_t max_nonzeros = kMaxNonZeros) : max_nonzeros_(max_nonzeros) {}

  /// Throws data_error(source, 0, ...) when more values were added than the matrix can index;
  /// readers call it before build() so that the message names the file.
  void check_size(const std::string& source, const char* what) const {
    if (static_cast<std::int64_t>(cols_.size()) > max_nonzeros_)
      throw data_error(source, 0,
                       std::to_string(cols_.size()) + " stored " + what + " values: more than the " +
                           std::to_string(max_nonzeros_) + " a sparse matrix with int32 indices can hold");
  }

  void add(std::int32_t col, float value) {
    cols_.push_back(col);
    values_.push_back(value);
  }
  void end_row() { row_ends_.push_back(static_cast<std::int64_t>(cols_.size())); }
  Eigen::Index rows() const { return static_cast<Eigen::Index>(row_ends_.size()); }

  SparseRowMatrix build(Eigen::Index cols) const {
    // Narrowed to int32 inside Eigen, a larger count would wrap into negative row offsets.
    if (static_cast<std::int64_t>(cols_.size()) > max_nonzeros_)
      throw std::length_error("CsrBuilder: " + std::to_string(cols_.size()) +
                              " values exceed the int32 indices of SparseRowMatrix");
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
  std::int64_t max_nonzeros_;
};

}  // namespace longtail_train::detail
