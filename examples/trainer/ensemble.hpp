// SPDX-License-Identifier: Apache-2.0
#pragma once
// An ensemble of the wide search's finalists (search.hpp): the mean of the probabilities of the K
// configurations ranked best on validation, its decision rules tuned and scored like any
// configuration's (decision_rules.hpp: cross-fitted on validation), so that it competes with them
// in the same table, on validation only.
//
// Why: a finalist's probabilities carry its own noise (initial weights, dropout, its loss's bias);
// averaging a few good ones lowers that variance. Measured (examples/trainer/README.md, "Wide
// search, measured"): where validation selects the ensemble it raises test macro-F1, the metric
// it was selected by (bibtex +0.009, Delicious +0.004), and costs a little micro-F1 (-0.004,
// -0.003); on the embedded data it ranks below the best single model.
//
// The members are chosen by validation score, the same score the ensemble is then ranked by; the
// best single configuration's score is the maximum over the same finalists, so both carry the
// optimism of a selection and neither saw a test label.

#include <cstdint>
#include <string>
#include <vector>

#include <Eigen/Core>

#include "dataset.hpp"
#include "saved_model.hpp"
#include "sweep.hpp"

namespace longtail_train {

/// One member: a finalist's probabilities on the validation and test splits (its best epoch's
/// weights) and what its row of the table says.
struct EnsembleMember {
  std::string name;
  RowMatrix<float> validation, test;
  std::uint64_t weights_fnv1a = 0;
  double seconds = 0;
};

/// "ensemble_top3"
std::string ensemble_name(std::size_t members);

/// The ensemble's row of the table: the mean probabilities evaluated on both splits at every
/// decision rule of `rules` (rules.seed: the run's seed; the chosen rule by cross-fitted validation,
/// as for a configuration; buckets and propensities from data.train's label counts). Its seconds are
/// the members' (it trains nothing of its own), its epochs 0, its weights' hash the FNV-1a-64 of
/// the members' hashes in order. Throws std::invalid_argument for fewer than 2 members.
SweepEntry ensemble_entry(const std::vector<const EnsembleMember*>& members, const Splits& data,
                          const RuleOptions& rules, const longtail::metrics::FrequencyBuckets& buckets,
                          const SweepOptions& options);

}  // namespace longtail_train
