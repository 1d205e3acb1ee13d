// SPDX-License-Identifier: Apache-2.0
#pragma once
// Refitting the selected model on train + validation (`sweep --search wide`, on unless
// --no-refit): once the search has chosen a configuration, its epoch count and its decision rule on
// the validation rows, those rows have done their work, and the model that is kept learns from them
// too. The validation split is a tenth of the training rows by default; a label with 5 training
// examples has 0 or 1 of them there, and the model chosen with it never saw that one.
//
// How: each member (the selected configuration, or each member of the selected ensemble) trains
// again from its initial weights (the same seed) on the training rows followed by the validation
// rows, for exactly the epochs its search run selected (its best epoch: there is nothing left to
// stop early on). The decision rule and its thresholds are the selected row's, tuned on validation
// with the search's model: nothing is tuned on rows the refit model trained on. Test reports the
// refit model (the members' mean probabilities) at that rule; what validation said of the search's
// model stays in its row. This is what model-selection libraries call refitting the best
// configuration on all training data (scikit-learn's GridSearchCV refit, for one).

#include <string>
#include <vector>

#include <Eigen/Core>

#include "longtail/metrics.hpp"

#include "dataset.hpp"
#include "evaluate.hpp"
#include "trainer.hpp"

namespace longtail_train {

/// One model to refit: how the search trained it, with `config.epochs` its best epoch there.
struct RefitMember {
  std::string name;  ///< the configuration's name, for messages
  TrainConfig config;
};

struct RefitResult {
  Eigen::Index train_rows = 0;  ///< training + validation rows the members trained on
  std::vector<int> epochs;      ///< per member
  AppliedRule rule;             ///< the selected row's (tuned on validation with the search's model)
  SplitEvaluation test;         ///< the refit model (the members' mean probabilities) at `rule`
  double seconds = 0;           ///< wall time of the refit
};

/// The refit's splits: the training rows then the validation rows as the training split (named
/// "<train> + <validation>"), an empty validation split with the same columns, the test split.
Splits refit_splits(const Splits& data);

/// Trains every member on refit_splits(data) for its config.epochs (patience off, no resume, the
/// 0.5 rule inside the run), `jobs` members at a time with each config's threads, and evaluates the
/// mean of their test probabilities at `rule` (buckets and propensities from the refit's training
/// counts and rows). `checkpoints`: empty, or one path per member, written at the end of each
/// member's run; with a single member its checkpoint carries `rule` (eval / predict apply it), an
/// ensemble's members keep 0.5 and the caller writes the ensemble file with `rule`. Throws
/// std::invalid_argument for no members, a thresholds count other than the labels' or a checkpoint
/// count other than 0 or the members'; divergence_error naming the member when one diverges.
RefitResult refit(const Splits& data, const std::vector<RefitMember>& members, const AppliedRule& rule,
                  const longtail::metrics::FrequencyBuckets& buckets, int jobs,
                  const std::vector<std::string>& checkpoints = {});

}  // namespace longtail_train
