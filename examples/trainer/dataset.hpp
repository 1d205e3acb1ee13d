// SPDX-License-Identifier: Apache-2.0
#pragma once
// The trainer's shared types: the matrix types every stage passes around, and the data
// interface, what every source (embedded generator, Mulan ARFF, XMC text, labelled text TSV)
// produces and what the model, the losses and the metrics consume.

#include <cstdint>
#include <string>
#include <vector>

#include <Eigen/Core>
#include <Eigen/SparseCore>

namespace longtail_train {

/// Dense row-major matrix: rows = samples (a minibatch's activations, logits, targets,
/// probabilities), the layout the GEMMs and the loss functors are called with.
template <class Scalar>
using RowMatrix = Eigen::Matrix<Scalar, Eigen::Dynamic, Eigen::Dynamic, Eigen::RowMajor>;

/// Compressed sparse row matrix with 32-bit indices: rows = samples.
template <class Scalar>
using CsrMatrix = Eigen::SparseMatrix<Scalar, Eigen::RowMajor, std::int32_t>;
/// The data's features and labels.
using SparseRowMatrix = CsrMatrix<float>;

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
