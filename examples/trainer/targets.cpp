// SPDX-License-Identifier: Apache-2.0
#include "targets.hpp"

namespace longtail_train {

Eigen::ArrayXd label_counts(const SparseRowMatrix& labels) {
  Eigen::ArrayXd n = Eigen::ArrayXd::Zero(labels.cols());
  for (Eigen::Index r = 0; r < labels.outerSize(); ++r)
    for (SparseRowMatrix::InnerIterator it(labels, r); it; ++it)
      if (it.value() > 0.5f) n[it.col()] += 1;
  return n;
}

void gather_targets(const SparseRowMatrix& labels, const std::int64_t* rows, Eigen::Index count,
                    RowMatrix<float>& out) {
  out.setZero(count, labels.cols());
  for (Eigen::Index i = 0; i < count; ++i)
    for (SparseRowMatrix::InnerIterator it(labels, rows[i]); it; ++it) out(i, it.col()) = it.value();
}

RowMatrix<float> dense_targets(const SparseRowMatrix& labels) {
  RowMatrix<float> out = RowMatrix<float>::Zero(labels.rows(), labels.cols());
  for (Eigen::Index r = 0; r < labels.outerSize(); ++r)
    for (SparseRowMatrix::InnerIterator it(labels, r); it; ++it) out(r, it.col()) = it.value();
  return out;
}

}  // namespace longtail_train
