// SPDX-License-Identifier: Apache-2.0
#pragma once
// Evaluation with longtail::metrics (of probabilities against dense targets, inference.hpp and
// targets.hpp): the F1 family at a global threshold and at per-label
// thresholds tuned on the validation split, and macro-F1 per training-frequency bucket.
//
// Scores are probabilities sigmoid(logit); the global threshold is 0.5 on them (a label is
// predicted when p > 0.5). Tuned thresholds maximise each label's F1 on the validation split
// (longtail::metrics::tune_thresholds); labels without a validation positive keep 0.5.
// Buckets by training positives n_c (library defaults, --buckets MEDIUM,HEAD):
//   tail n_c < 20,  medium 20 <= n_c < 100,  head n_c >= 100.

#include <string>
#include <vector>

#include <Eigen/Core>

#include "longtail/metrics.hpp"
#include "longtail/ranking_metrics.hpp"

#include "dataset.hpp"

namespace longtail_train {

/// The metrics of one split at one set of thresholds.
struct ThresholdedMetrics {
  longtail::metrics::F1Scores f1;
  std::vector<longtail::metrics::BucketF1> buckets;  ///< head, medium, tail
};

struct SplitEvaluation {
  std::string split;  ///< "test", "validation", ...
  Eigen::Index rows = 0;
  ThresholdedMetrics global;  ///< threshold 0.5 on probabilities
  ThresholdedMetrics tuned;   ///< per-label thresholds tuned on validation
  /// P@k, nDCG@k, PSP@k, PSnDCG@k at k = 1, 3, 5 (longtail/ranking_metrics.hpp; propensities from
  /// the training counts, Jain et al.'s A = 0.55, B = 1.5): the order of the scores, no threshold.
  longtail::metrics::RankingScores ranking;
};

/// Evaluates probabilities against targets at 0.5 and at `tuned_thresholds`, and their ranking.
/// `train_counts` / `train_rows`: positives per label and rows of the training split (buckets and
/// propensities; with 3 or fewer training rows the propensity-scored metrics are left at 0).
SplitEvaluation evaluate_split(const std::string& split, const RowMatrix<float>& probabilities,
                               const RowMatrix<float>& targets, const Eigen::ArrayXd& tuned_thresholds,
                               const Eigen::ArrayXd& train_counts, Eigen::Index train_rows,
                               const longtail::metrics::FrequencyBuckets& buckets);

/// Per-label thresholds maximising validation F1 (fallback 0.5 for labels without positives).
Eigen::ArrayXd tune_thresholds(const RowMatrix<float>& validation_probabilities,
                               const RowMatrix<float>& validation_targets);

/// Multi-line human-readable report of a split's metrics.
std::string format_evaluation(const SplitEvaluation& e);

}  // namespace longtail_train
