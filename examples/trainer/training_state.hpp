// SPDX-License-Identifier: Apache-2.0
#pragma once
// The live state of a training run: what the training loop updates after every epoch, what a
// checkpoint stores (checkpoint.hpp, its serialised form) and what --resume restores. Nothing
// here knows about files.

#include <cstdint>
#include <string>
#include <vector>

#include <Eigen/Core>

namespace longtail_train {

/// One line of training history.
struct EpochRecord {
  int epoch = 0;            ///< 1-based
  double train_loss = 0;    ///< mean minibatch loss over the epoch
  double val_macro_f1 = 0;  ///< at threshold 0.5
  double val_micro_f1 = 0;
  double seconds = 0;            ///< wall time of the epoch (training + validation)
  double train_seconds = 0;      ///< wall time of the minibatch updates alone
  double train_cpu_seconds = 0;  ///< process CPU time of the minibatch updates (all threads)
};

/// State after `epochs_done` epochs. Invariants (TrainingState::check): the parameter vectors have
/// the model's parameter count and hold finite values, 0 <= best_epoch <= epochs_done,
/// history has one record per epoch done.
struct TrainingState {
  Eigen::VectorXf params;  ///< current weights (flat, Mlp::parameters())
  std::int64_t adam_steps = 0;
  Eigen::VectorXf adam_m, adam_v;  ///< Adam's moments
  int epochs_done = 0;
  bool finished = false;  ///< training ended (epochs exhausted or early stop)

  // Early stopping on validation macro-F1.
  Eigen::VectorXf best_params;
  int best_epoch = 0;
  double best_score = -1;  ///< -1: no epoch scored yet
  int epochs_without_improvement = 0;
  std::vector<EpochRecord> history;

  /// Empty when the invariants hold, else what is wrong ("epochs_done is -3").
  std::string check(Eigen::Index parameter_count) const;
};

}  // namespace longtail_train
