// SPDX-License-Identifier: Apache-2.0
#pragma once
// Targets: from the data's sparse label matrix (explicit 1.0 per positive label) to what the loss
// and the metrics read (dense 0/1 float rows), and the positives per label behind the class
// weights and the frequency buckets.

#include <cstdint>

#include <Eigen/Core>

#include "dataset.hpp"

namespace longtail_train {

/// Positives per label (column) of a label matrix.
Eigen::ArrayXd label_counts(const SparseRowMatrix& labels);

/// Dense 0/1 float targets of rows `rows[0 .. count)` of a label matrix into `out` (resized).
void gather_targets(const SparseRowMatrix& labels, const std::int64_t* rows, Eigen::Index count, RowMatrix<float>& out);
/// Dense targets of every row.
RowMatrix<float> dense_targets(const SparseRowMatrix& labels);

}  // namespace longtail_train
