// SPDX-License-Identifier: Apache-2.0
#pragma once
// Evaluation with longtail::metrics (of probabilities against dense targets, inference.hpp and
// targets.hpp): the F1 family at threshold 0.5 and at a decision rule's thresholds (tuned on the
// validation split, decision_rules.hpp), and macro-F1 per training-frequency bucket.
//
// Scores are probabilities sigmoid(logit); a label is predicted when p > its threshold (and, with
// a rule's at-least-one, the row's most probable label when none clears it).
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
  /// At the decision rule's thresholds (`rule`, tuned on validation). On the validation split of a
  /// training run these are the rule's cross-fitted metrics (decision_rules.hpp), never the
  /// in-sample ones: `cross_fitted` says so.
  ThresholdedMetrics tuned;
  std::string rule = "per-label";  ///< the decision rule's name (decision_rules.hpp)
  bool cross_fitted = false;
  /// P@k, nDCG@k, PSP@k, PSnDCG@k at k = 1, 3, 5 (longtail/ranking_metrics.hpp; propensities from
  /// the training counts, Jain et al.'s A = 0.55, B = 1.5): the order of the scores, no threshold.
  longtail::metrics::RankingScores ranking;
};

/// A decision rule as it is applied (decision_rules.hpp tunes it).
struct AppliedRule {
  std::string name = "0.5";
  Eigen::ArrayXd thresholds;  ///< one per label
  bool at_least_one = false;  ///< the row's top label when none clears its threshold
};

/// Evaluates probabilities against targets at 0.5 and at `rule`, and their ranking.
/// `train_counts` / `train_rows`: positives per label and rows of the training split (buckets and
/// propensities; with 3 or fewer training rows the propensity-scored metrics are left at 0).
SplitEvaluation evaluate_split(const std::string& split, const RowMatrix<float>& probabilities,
                               const RowMatrix<float>& targets, const AppliedRule& rule,
                               const Eigen::ArrayXd& train_counts, Eigen::Index train_rows,
                               const longtail::metrics::FrequencyBuckets& buckets);

/// Multi-line human-readable report of a split's metrics.
std::string format_evaluation(const SplitEvaluation& e);

}  // namespace longtail_train
