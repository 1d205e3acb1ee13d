// SPDX-License-Identifier: Apache-2.0
#pragma once
// The training loop: minibatch Adam on the MLP with one of the library's losses, validation
// macro-F1 after every epoch, early stopping that keeps the best epoch's weights, the decision
// rules tuned and scored on validation at the end (decision_rules.hpp), checkpoints after every
// epoch and --resume.
//
// Reproducibility: the initial weights, each epoch's shuffle and each row's dropout masks come
// from generators derived from (seed, epoch, row) (rng.hpp), so a run resumed from the
// checkpoint of epoch k continues bit for bit like the uninterrupted run (same thread count and
// GEMM backend; a different BLAS or thread count may change the last bits of sums).

#include <cstdint>
#include <stdexcept>
#include <string>
#include <utility>
#include <vector>

#include "longtail/metrics.hpp"

#include "adam.hpp"
#include "data/text_featurizer.hpp"
#include "data_parallel.hpp"
#include "dataset.hpp"
#include "decision_rules.hpp"
#include "evaluate.hpp"
#include "inference.hpp"
#include "loss.hpp"
#include "mlp.hpp"
#include "progress.hpp"
#include "training_state.hpp"

namespace longtail_train {

/// How the first layer reads the features: sparse axpys, a dense GEMM, or chosen by density.
enum class InputMode { automatic, sparse, dense };
const char* to_string(InputMode m);

struct TrainConfig {
  std::vector<Eigen::Index> hidden{512};   ///< empty: linear model
  double dropout = 0.0;                    ///< on hidden activations, in [0, 1)
  InputMode input = InputMode::automatic;  ///< automatic: dense when > 25% of the features are non-zero
  AdamOptions adam;                        ///< lr 1e-3 (PyTorch's default), betas 0.9 / 0.999, no weight decay
  Eigen::Index batch_size = 256;
  int epochs = 20;
  int patience = 5;  ///< stop after this many epochs without a better validation macro-F1; 0 = never
  LossConfig loss;
  std::uint64_t seed = 1;
  int threads = 1;              ///< OpenMP threads of the sparse layer and the loss (GEMM threads: set_compute_threads)
  std::string checkpoint_path;  ///< written after epochs (see checkpoint_overhead) and at the end ("" = none)
  std::string resume_path;      ///< continue from this checkpoint ("" = fresh start)
  /// 0: the checkpoint is written after every epoch. f > 0: after an epoch only when the training
  /// time since the last write is at least 1/f times what that write took, so writing costs at
  /// most about a fraction f of the run (the sweep's 0.1: a small model's 47 MB checkpoint takes
  /// longer to write than its epoch takes to train); the end of the run is always written.
  double checkpoint_overhead = 0;
  /// Write the checkpoint once, at the end of the run, whatever checkpoint_overhead says: for runs
  /// nobody resumes from the middle (the wide search's jobs, which continue from the end of their
  /// previous rung, and the refit).
  bool checkpoint_at_end_only = false;
  longtail::metrics::FrequencyBuckets buckets;
  RuleOptions rules;  ///< the decision rule (--rule, default auto) and its tuning; rules.seed is set from `seed`

  /// Throws std::invalid_argument naming the flag.
  void validate() const;
  /// The settings a resumed run must share with the checkpoint, as (flag, value).
  std::vector<std::pair<std::string, std::string>> resume_settings(const Splits& data) const;
  /// The same from the descriptions (describe_data) of the whole training and validation splits.
  std::vector<std::pair<std::string, std::string>> resume_settings(const std::string& train_description,
                                                                   const std::string& validation_description) const;
};

struct TrainResult {
  std::string name;  ///< the loss configuration's name (LossConfig::name)
  std::string loss_description;
  Mlp<float> model;             ///< the best epoch's weights
  Eigen::ArrayXd thresholds;    ///< the chosen decision rule's, tuned on validation (rules.chosen_rule())
  RuleReport rules;             ///< every decision rule: cross-fitted validation and test metrics, the chosen one
  Eigen::ArrayXd train_counts;  ///< positives per label in the training split
  int best_epoch = 0;
  int epochs_done = 0;
  bool early_stopped = false;
  std::vector<EpochRecord> history;   ///< every epoch so far (including those before a resume)
  std::vector<std::string> warnings;  ///< what this data and loss cannot learn (labels without positives, ...)
  SplitEvaluation validation, test;
  double seconds = 0;                      ///< wall time of this call
  double train_seconds_per_epoch = 0;      ///< mean minibatch wall time of the epochs run in this call
  double train_cpu_seconds_per_epoch = 0;  ///< the same in process CPU time (all threads)
  /// Of train_seconds_per_epoch, the wall time in the gradient and loss collectives (waiting for
  /// the other ranks included); 0 with one process.
  double communication_seconds_per_epoch = 0;
  double communication_cpu_seconds_per_epoch = 0;  ///< the same in process CPU time (MPI polls while it waits)
};

/// Training diverged (a non-finite loss or weight, or the loss far above the initial one): the
/// configuration is at fault, not the data or the files (a search drops it and goes on).
class divergence_error : public std::runtime_error {
 public:
  using std::runtime_error::runtime_error;
};

/// Trains on data.train, selects on data.validation, reports on data.validation and data.test.
/// `featurizer`: the text featurizer that made the features (--tsv), stored in the checkpoint
/// for predict --text; null for every other source.
TrainResult train_model(const Splits& data, const TrainConfig& config, Progress& progress,
                        const TextFeaturizer* featurizer = nullptr);

/// Data-parallel training (data_parallel.hpp): every rank of `comm` calls it with its shard, and
/// all of them run the same global minibatches, each computing its own rows; the gradients are
/// reduce-scattered, each rank steps Adam on its block of the parameters, and the blocks are
/// all-gathered. Rank 0 writes the checkpoint, prints progress and warnings, and evaluates at the
/// end (the other ranks' result has no validation / test evaluation). With one process this is
/// the overload above.
TrainResult train_model(const TrainingData& data, const TrainConfig& config, Progress& progress, Communicator& comm,
                        const TextFeaturizer* featurizer = nullptr);

/// "embedded-iab/train: 12345 rows x 5000 features, 698 labels"
std::string describe_data(const Dataset& d);

}  // namespace longtail_train
