// SPDX-License-Identifier: Apache-2.0
#include "data/tfidf.hpp"

#include <cmath>
#include <stdexcept>

#include "data/rng.hpp"  // det_log: the same weights on every platform

namespace longtail_train {

std::vector<float> smooth_idf(const SparseRowMatrix& counts) {
  std::vector<long long> df(static_cast<std::size_t>(counts.cols()), 0);
  for (Eigen::Index r = 0; r < counts.rows(); ++r)
    for (SparseRowMatrix::InnerIterator it(counts, r); it; ++it)
      if (it.value() != 0) ++df[static_cast<std::size_t>(it.col())];
  const double n = static_cast<double>(counts.rows());
  std::vector<float> idf(df.size());
  for (std::size_t c = 0; c < df.size(); ++c)
    idf[c] = static_cast<float>(det_log((1 + n) / (1 + static_cast<double>(df[c]))) + 1);
  return idf;
}

void apply_tfidf(SparseRowMatrix& counts, const std::vector<float>* idf, bool sublinear_tf) {
  if (idf && idf->size() != static_cast<std::size_t>(counts.cols()))
    throw std::invalid_argument("apply_tfidf: idf has " + std::to_string(idf->size()) + " entries for " +
                                std::to_string(counts.cols()) + " columns");
  for (Eigen::Index r = 0; r < counts.rows(); ++r) {
    double norm2 = 0;
    for (SparseRowMatrix::InnerIterator it(counts, r); it; ++it) {
      const double count = it.value();
      if (!(count > 0)) throw std::invalid_argument("apply_tfidf: counts must be > 0");
      double w = sublinear_tf ? 1 + det_log(count) : count;
      if (idf) w *= (*idf)[static_cast<std::size_t>(it.col())];
      it.valueRef() = static_cast<float>(w);
      norm2 += w * w;
    }
    if (norm2 > 0) {
      const double inv = 1 / std::sqrt(norm2);
      for (SparseRowMatrix::InnerIterator it(counts, r); it; ++it) it.valueRef() = static_cast<float>(it.value() * inv);
    }
  }
}

}  // namespace longtail_train
