// SPDX-License-Identifier: Apache-2.0
#include "ensemble.hpp"

#include <stdexcept>

#include "common/fnv1a.hpp"
#include "decision_rules.hpp"
#include "targets.hpp"

namespace longtail_train {

std::string ensemble_name(std::size_t members) { return "ensemble_top" + std::to_string(members); }

SweepEntry ensemble_entry(const std::vector<const EnsembleMember*>& members, const Splits& data,
                          const RuleOptions& rules, const longtail::metrics::FrequencyBuckets& buckets,
                          const SweepOptions& options) {
  if (members.size() < 2)
    throw std::invalid_argument("an ensemble needs at least 2 members (got " + std::to_string(members.size()) + ")");
  std::vector<const RowMatrix<float>*> validation, test;
  SweepEntry e;
  e.name = ensemble_name(members.size());
  e.description = "mean probability of";
  std::uint64_t hash = kFnv1aOffset;
  for (const EnsembleMember* m : members) {
    validation.push_back(&m->validation);
    test.push_back(&m->test);
    e.description += (m == members.front() ? " " : "; ") + m->name;
    e.seconds += m->seconds;
    hash = fnv1a64(&m->weights_fnv1a, sizeof m->weights_fnv1a, hash);
  }
  e.weights_fnv1a = hash;
  RuledEvaluation r = evaluate_with_rules(mean_probabilities(validation), dense_targets(data.validation.labels),
                                          mean_probabilities(test), dense_targets(data.test.labels),
                                          label_counts(data.train.labels), data.train.features.rows(), buckets, rules);
  e.rules = std::move(r.rules);
  e.validation = std::move(r.validation);
  e.test = std::move(r.test);
  set_headlines(e, options);
  return e;
}

}  // namespace longtail_train
