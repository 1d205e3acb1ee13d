// SPDX-License-Identifier: Apache-2.0
#pragma once
// TF-IDF weighting shared by the embedded generator and the text featurizer.

#include <vector>

#include "dataset.hpp"

namespace longtail_train {

/// Smooth inverse document frequency per column of a count matrix (rows = documents):
/// idf = ln((1 + N) / (1 + df)) + 1 (scikit-learn's smooth_idf), so unseen columns get the largest
/// weight ln(1 + N) + 1 and a column in every document gets 1.
std::vector<float> smooth_idf(const SparseRowMatrix& counts);

/// In place: value = tf * idf[col] with tf = 1 + ln(count) (sublinear) or count, then each row is
/// scaled to unit L2 norm (empty rows stay empty). idf may be null (tf only). Counts must be > 0.
void apply_tfidf(SparseRowMatrix& counts, const std::vector<float>* idf, bool sublinear_tf);

}  // namespace longtail_train
