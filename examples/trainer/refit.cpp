// SPDX-License-Identifier: Apache-2.0
#include "refit.hpp"

#include <chrono>
#include <exception>
#include <mutex>
#include <stdexcept>

#include "checkpoint.hpp"
#include "common/job_pool.hpp"
#include "data/split.hpp"
#include "inference.hpp"
#include "saved_model.hpp"
#include "targets.hpp"

namespace longtail_train {

Splits refit_splits(const Splits& data) {
  Splits s;
  s.train = concatenate_rows(data.train, data.validation, data.train.name + " + " + data.validation.name);
  s.validation = select_rows(data.validation, {}, data.validation.name + " (refit: none)");
  s.test = data.test;
  return s;
}

RefitResult refit(const Splits& data, const std::vector<RefitMember>& members, const AppliedRule& rule,
                  const longtail::metrics::FrequencyBuckets& buckets, int jobs,
                  const std::vector<std::string>& checkpoints) {
  const auto t0 = std::chrono::steady_clock::now();
  if (members.empty()) throw std::invalid_argument("refit: no members");
  if (rule.thresholds.size() != data.train.num_labels())
    throw std::invalid_argument("refit: the rule '" + rule.name + "' has " + std::to_string(rule.thresholds.size()) +
                                " thresholds for " + std::to_string(data.train.num_labels()) + " labels");
  if (!checkpoints.empty() && checkpoints.size() != members.size())
    throw std::invalid_argument("refit: " + std::to_string(checkpoints.size()) + " checkpoint paths for " +
                                std::to_string(members.size()) + " members");
  const Splits splits = refit_splits(data);
  RefitResult result;
  result.train_rows = splits.train.rows();
  result.rule = rule;
  std::vector<RowMatrix<float>> test_probabilities(members.size());
  for (const RefitMember& m : members) result.epochs.push_back(m.config.epochs);

  std::mutex mutex;
  std::exception_ptr error;
  run_jobs(members.size(), jobs, [&](std::size_t i) {
    try {
      TrainConfig cfg = members[i].config;
      cfg.patience = 0;  // exactly the selected epochs: no validation rows are left to stop on
      cfg.resume_path.clear();
      cfg.checkpoint_path = checkpoints.empty() ? "" : checkpoints[i];
      cfg.checkpoint_at_end_only = true;
      cfg.rules.rule = DecisionRule{};  // nothing to tune on: the selected row's rule is applied below
      Progress quiet(ProgressMode::quiet);
      TrainResult r;
      try {
        r = train_model(splits, cfg, quiet);
      } catch (const divergence_error& e) {
        throw divergence_error("refit of " + members[i].name + ": " + e.what());
      }
      test_probabilities[i] = predict_probabilities(r.model, splits.test.features);
      if (members.size() == 1 && !cfg.checkpoint_path.empty()) {
        Checkpoint c = load_checkpoint(cfg.checkpoint_path);
        c.rule = rule.name;
        c.at_least_one = rule.at_least_one;
        c.thresholds = rule.thresholds;
        save_checkpoint(cfg.checkpoint_path, c);
      }
    } catch (...) {
      std::lock_guard<std::mutex> lock(mutex);
      if (!error) error = std::current_exception();
    }
  });
  if (error) std::rethrow_exception(error);

  std::vector<const RowMatrix<float>*> probabilities;
  for (const RowMatrix<float>& p : test_probabilities) probabilities.push_back(&p);
  result.test = evaluate_split("test", mean_probabilities(probabilities), dense_targets(splits.test.labels), rule,
                               label_counts(splits.train.labels), splits.train.rows(), buckets);
  result.seconds = std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count();
  return result;
}

}  // namespace longtail_train
