// SPDX-License-Identifier: Apache-2.0
#pragma once
// What `eval` and `predict` score with: a checkpoint (one model and the decision rule it was
// trained with), or an ensemble file, which names member checkpoints and carries the ensemble's
// own decision rule; the ensemble's probabilities are the mean of its members' (`sweep --search
// wide` writes one when its selected row is an ensemble, ensemble.hpp).
//
// Ensemble file (text; one item per line, fields separated by single spaces):
//   longtail-train ensemble 1
//   member <path>                     (2 or more; a relative path is relative to this file's folder)
//   rule <name> <at_least_one: 0|1>
//   thresholds <t_1> ... <t_L>        (one per label, %.17g: the doubles round-trip exactly)
// Loading checks every line (errors name the file and the line) and that the members agree: the
// same labels (count and names), the same input features and the same training data (the
// checkpoints' data fingerprints), and as many thresholds as labels.

#include <string>
#include <vector>

#include <Eigen/Core>

#include "checkpoint.hpp"
#include "dataset.hpp"
#include "evaluate.hpp"
#include "mlp.hpp"

namespace longtail_train {

/// The element-wise mean of the members' matrices (the sum in double, in member order). Throws
/// std::invalid_argument when there are none or their shapes differ.
RowMatrix<float> mean_probabilities(const std::vector<const RowMatrix<float>*>& members);

/// The checkpoint's model with its best weights, `threads` for its products.
Mlp<float> checkpoint_model(const Checkpoint& checkpoint, int threads);

/// The decision rule a checkpoint carries (0.5 for every label in an unfinished run's).
AppliedRule checkpoint_rule(const Checkpoint& checkpoint);

struct EnsembleFile {
  std::vector<std::string> members;  ///< checkpoint paths as written (relative: to the file's folder)
  AppliedRule rule;
};

/// Writes atomically (common/durable_file.hpp). Throws std::invalid_argument for fewer than 2
/// members or a member path with a line break; file_error when the file cannot be written.
void save_ensemble_file(const std::string& path, const EnsembleFile& ensemble);
/// Reads and checks the lines (not the members). Throws std::invalid_argument naming the file
/// and the line.
EnsembleFile load_ensemble_file(const std::string& path);
/// Whether `path` starts with the ensemble file's first line (false when it cannot be read).
bool is_ensemble_file(const std::string& path);

/// A checkpoint or an ensemble, loaded and checked.
struct SavedModel {
  std::string path;
  bool ensemble = false;
  std::vector<std::string> member_paths;  ///< resolved (an ensemble's), or {path}
  std::vector<Checkpoint> checkpoints;    ///< the one checkpoint, or the members in file order
  AppliedRule rule;                       ///< the checkpoint's, or the ensemble file's

  Eigen::Index inputs() const { return checkpoints.front().shape.inputs; }
  Eigen::Index outputs() const { return checkpoints.front().shape.outputs; }
  const Checkpoint& first() const { return checkpoints.front(); }
  /// Whether every checkpoint is of a finished run (else its best weights so far, thresholds 0.5).
  bool finished() const;
  /// "cap_7.0_focal_g3 ...; epoch 12 of 17" or "ensemble of 3: <member>: <loss>; epoch ..., ...".
  std::string describe() const;
};

/// Loads a checkpoint, or an ensemble file and its members (see the top of this file). Throws
/// checkpoint_error / std::invalid_argument naming the file and what is wrong.
SavedModel load_saved_model(const std::string& path);

/// The model's (the members' mean) probabilities of every row of `features`. Throws
/// std::invalid_argument when `data` does not have the model's features and labels, naming
/// `data` and the data the model was trained on.
RowMatrix<float> saved_model_probabilities(const SavedModel& model, const Dataset& data,
                                           const SparseRowMatrix& features, int threads);

/// What the propensity-scored metrics need of a training split: its label counts and its rows.
struct TrainingCounts {
  Eigen::ArrayXd counts;
  Eigen::Index rows = 0;
};

/// The model's own training counts (its checkpoint's: a refit model's are those of train +
/// validation), else those of `train` (the data flags' training split) when the checkpoint does
/// not carry both (versions before 4 have no row count): never the counts of one split with the
/// rows of another.
TrainingCounts training_counts(const SavedModel& model, const Dataset& train);

}  // namespace longtail_train
