// SPDX-License-Identifier: Apache-2.0
#pragma once
// The training loop: minibatch Adam on the MLP with one of the library's losses, validation
// macro-F1 after every epoch, early stopping that keeps the best epoch's weights, the decision
// rules tuned and scored on validation at the end (decision_rules.hpp), checkpoints after every
// epoch and --resume.
//
// Reproducibility: the initial weights, each epoch's shuffle and each batch's dropout masks come
// from generators derived from (seed, epoch, batch) (rng.hpp), so a run resumed from the
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
  std::string checkpoint_path;  ///< written after every epoch and at the end ("" = none)
  std::string resume_path;      ///< continue from this checkpoint ("" = fresh start)
  longtail::metrics::FrequencyBuckets buckets;
  RuleOptions rules;  ///< the decision rule (--rule, default auto) and its tuning; rules.seed is set from `seed`

  /// Throws std::invalid_argument naming the flag.
  void validate() const;
  /// The settings a resumed run must share with the checkpoint, as (flag, value).
  std::vector<std::pair<std::string, std::string>> resume_settings(const Splits& data) const;
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

/// "embedded-iab/train: 12345 rows x 5000 features, 698 labels"
std::string describe_data(const Dataset& d);

}  // namespace longtail_train
