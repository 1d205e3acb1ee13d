// SPDX-License-Identifier: Apache-2.0
#pragma once
// The trainer's data interface: what every source (embedded generator, Mulan ARFF, XMC text,
// labelled text TSV) produces and what the model, the losses and the metrics consume.

#include <cstdint>
#include <string>
#include <vector>

#include <Eigen/SparseCore>

namespace longtail_train {

/// Row-major (CSR) sparse float matrix: rows = samples.
using SparseRowMatrix = Eigen::SparseMatrix<float, Eigen::RowMajor, std::int32_t>;

/// Label taxonomy: names and, where known, the parent of each label (-1 for roots / flat label
/// sets) and its tier (1 = top level; 0 when the source has no hierarchy).
struct LabelSet {
  std::vector<std::string> names;
  std::vector<int> parent;
  std::vector<int> tier;
  std::size_t size() const { return names.size(); }
};

/// One split of a multi-label data set. features: rows x num_features (bag of words / TF-IDF /
/// dense attributes stored sparse); labels: rows x num_labels with explicit 1.0 entries for the
/// positive labels (binary relevance).
struct Dataset {
  std::string name;  ///< e.g. "embedded-iab/train", "delicious-train.arff"
  SparseRowMatrix features;
  SparseRowMatrix labels;
  LabelSet label_set;
  std::vector<std::string> feature_names;  ///< optional (empty when unknown)

  Eigen::Index rows() const { return features.rows(); }
  Eigen::Index num_features() const { return features.cols(); }
  Eigen::Index num_labels() const { return labels.cols(); }
};

/// Train / validation / test, sharing features and labels.
struct Splits {
  Dataset train, validation, test;
};

}  // namespace longtail_train
