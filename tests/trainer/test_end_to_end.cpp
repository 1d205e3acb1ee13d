// SPDX-License-Identifier: Apache-2.0
// End to end on a tiny generated data set: training must learn (F1 far above chance) in seconds;
// a checkpoint reproduces the model's predictions; a resumed run continues bit for bit; the sweep
// runs configurations in parallel.
#include <catch2/catch.hpp>

#include <cstdio>

#include "checkpoint.hpp"
#include "data/generator.hpp"
#include "evaluate.hpp"
#include "sweep.hpp"
#include "targets.hpp"
#include "trainer.hpp"
#include "trainer_test_data.hpp"

using namespace longtail_train;

namespace {

const Splits& tiny_data() { return test_data::tiny_flat_corpus(); }

TrainConfig tiny_config() {
  TrainConfig c;
  c.hidden = {32};
  c.batch_size = 32;
  c.epochs = 12;
  c.patience = 0;
  c.adam.lr = 0.01;
  c.dropout = 0.0;
  c.seed = 5;
  return c;
}

std::string temp_path(const std::string& name) { return "longtail_trainer_e2e_" + name + ".ltck"; }

}  // namespace

TEST_CASE("training on a tiny generated data set learns (F1 far above chance)", "[trainer][e2e]") {
  const Splits& data = tiny_data();
  REQUIRE(data.train.rows() > 100);
  Progress quiet(ProgressMode::quiet);
  for (const char* loss : {"bce", "cap_3.0_focal_g2"}) {
    TrainConfig cfg = tiny_config();
    if (std::string(loss) != "bce") {
      cfg.loss.kind = LossKind::focal;
      cfg.loss.gamma = 2;
      cfg.loss.scheme = longtail::WeightScheme::pos_neg_ratio;
      cfg.loss.cap = 3;
    }
    REQUIRE(cfg.loss.name() == loss);
    const TrainResult r = train_model(data, cfg, quiet);
    // Chance: guessing each label with its test prior p_j gives expected micro-F1 sum p_j^2 /
    // sum p_j and macro-F1 mean p_j; predicting every label everywhere gives micro 2p / (1 + p).
    const Eigen::ArrayXd prior = label_counts(data.test.labels) / double(data.test.rows());
    const double chance_micro = prior.square().sum() / prior.sum(), chance_macro = prior.mean();
    const double density = prior.mean(), all_positive = 2 * density / (1 + density);
    INFO(loss << ": test micro-F1 " << r.test.global.f1.micro.f1 << ", macro-F1 " << r.test.global.f1.macro.f1
              << ", chance micro " << chance_micro << " macro " << chance_macro << ", all-positive " << all_positive);
    CHECK(r.test.global.f1.micro.f1 > 0.6);
    CHECK(r.test.global.f1.micro.f1 > 3 * chance_micro);
    CHECK(r.test.global.f1.micro.f1 > all_positive + 0.25);
    CHECK(r.test.global.f1.macro.f1 > 0.35);
    CHECK(r.test.global.f1.macro.f1 > 2 * chance_macro);
    CHECK(r.history.size() == 12);
    CHECK(r.history.back().train_loss < r.history.front().train_loss);
    CHECK(r.best_epoch >= 1);
    // The ranking metrics are reported and say the same: the top-ranked label is mostly right.
    REQUIRE(r.test.ranking.k == std::vector<int>{1, 3, 5});
    CHECK(r.test.ranking.precision[0] > 0.5);
    CHECK(r.test.ranking.ndcg[2] > 0.5);
    CHECK(r.test.ranking.ps_precision[0] > 0);
  }
}

TEST_CASE("a checkpoint reproduces the trained model's predictions", "[trainer][e2e][checkpoint]") {
  const std::string path = temp_path("predict");
  TrainConfig cfg = tiny_config();
  cfg.epochs = 3;
  cfg.checkpoint_path = path;
  Progress quiet(ProgressMode::quiet);
  const TrainResult r = train_model(tiny_data(), cfg, quiet);
  const Checkpoint c = load_checkpoint(path);
  CHECK(c.state.finished);
  CHECK(c.state.epochs_done == 3);
  CHECK(c.state.best_epoch == r.best_epoch);
  CHECK((c.thresholds == r.thresholds).all());
  // The chosen decision rule travels with its thresholds, so predict applies the same rule.
  CHECK(c.rule == r.rules.chosen_rule().fitted.rule.name());
  CHECK(c.at_least_one == r.rules.chosen_rule().fitted.rule.at_least_one);
  CHECK((r.thresholds == r.rules.chosen_rule().fitted.thresholds).all());
  CHECK(c.label_names == tiny_data().train.label_set.names);
  Mlp<float> loaded(c.shape, c.dense_input);
  loaded.parameters() = c.state.best_params;
  const auto& test = tiny_data().test.features;
  CHECK(predict_probabilities(loaded, test) == predict_probabilities(r.model, test));
  std::remove(path.c_str());
}

TEST_CASE("resume (--resume) continues exactly like the uninterrupted run", "[trainer][e2e][checkpoint]") {
  const std::string full = temp_path("full"), part = temp_path("part");
  Progress quiet(ProgressMode::quiet);
  TrainConfig cfg = tiny_config();
  cfg.epochs = 4;
  cfg.dropout = 0.2;  // dropout masks must also continue identically
  cfg.checkpoint_path = full;
  train_model(tiny_data(), cfg, quiet);

  cfg.epochs = 2;
  cfg.checkpoint_path = part;
  train_model(tiny_data(), cfg, quiet);
  CHECK(load_checkpoint(part).state.epochs_done == 2);
  cfg.epochs = 4;
  cfg.resume_path = part;
  const TrainResult resumed = train_model(tiny_data(), cfg, quiet);

  const Checkpoint a = load_checkpoint(full), b = load_checkpoint(part);
  CHECK(b.state.epochs_done == 4);
  CHECK(a.state.params == b.state.params);
  CHECK(a.state.best_params == b.state.best_params);
  CHECK(a.state.adam_m == b.state.adam_m);
  CHECK(a.state.adam_v == b.state.adam_v);
  CHECK(a.state.adam_steps == b.state.adam_steps);
  CHECK(a.state.best_epoch == b.state.best_epoch);
  REQUIRE(a.state.history.size() == b.state.history.size());
  for (std::size_t i = 0; i < a.state.history.size(); ++i) {
    CHECK(a.state.history[i].train_loss == b.state.history[i].train_loss);
    CHECK(a.state.history[i].val_macro_f1 == b.state.history[i].val_macro_f1);
  }
  CHECK(resumed.history.size() == 4);

  // A resume with different settings is refused, naming the setting.
  cfg.adam.lr = 0.02;
  CHECK_THROWS_WITH(train_model(tiny_data(), cfg, quiet), Catch::Contains("--lr") && Catch::Contains(part));
  std::remove(full.c_str());
  std::remove(part.c_str());
}

TEST_CASE("sweep trains configurations in parallel and ranks them", "[trainer][e2e][sweep]") {
  TrainConfig base = tiny_config();
  base.epochs = 3;
  LossConfig bce, focal;
  focal.kind = LossKind::focal;
  focal.gamma = 2;
  focal.scheme = longtail::WeightScheme::pos_neg_ratio;
  focal.cap = 3;
  SweepOptions opt;
  opt.baseline = "bce";
  const SweepResult r = run_sweep(tiny_data(), base, {bce, focal}, opt, 2, 1, ProgressMode::quiet);
  REQUIRE(r.entries.size() == 2);
  // Selection on validation only: ranked by the validation macro-F1 at each configuration's
  // decision rule (auto: the best cross-fitted validation macro-F1, or among the rules within one
  // standard error of it the best cross-fitted micro-F1); test reports the choice at
  // the same rule.
  auto micro = [](const RuleEvaluation& rule) { return rule.validation.f1.micro.f1; };
  for (const auto& e : r.entries) {
    REQUIRE(e.rules.rules.size() == all_rules().size());
    const RuleEvaluation& chosen = e.rules.chosen_rule();
    CHECK(e.rules.automatic);
    CHECK(e.rules.tie_metric == F1Average::micro);
    CHECK(e.test.rule == chosen.fitted.rule.name());
    CHECK(e.validation_headline == chosen.validation.f1.macro.f1);
    CHECK(e.headline == chosen.test.f1.macro.f1);
    const RuleEvaluation& best = e.rules.rules[e.rules.best];
    for (const auto& other : e.rules.rules) CHECK(other.validation.f1.macro.f1 <= best.validation.f1.macro.f1);
    const double floor = best.validation.f1.macro.f1 - best.validation_se;
    CHECK(chosen.validation.f1.macro.f1 >= floor);
    for (const auto& other : e.rules.rules)
      if (other.validation.f1.macro.f1 >= floor) CHECK(micro(other) <= micro(chosen));
  }
  // The selected row: the best validation macro-F1, or a row within one standard error of it with
  // a validation micro-F1 no lower.
  const SweepEntry& first = r.entries[0];
  const SweepEntry& second = r.entries[1];
  if (first.validation_headline < second.validation_headline) {
    CHECK(first.validation_headline >= second.validation_headline - second.rules.chosen_rule().validation_se);
    CHECK(first.validation.tuned.f1.micro.f1 >= second.validation.tuned.f1.micro.f1);
  }
  const std::string table = format_sweep_table(r);
  CHECK_THAT(table, Catch::Contains("cap_3.0_focal_g2") && Catch::Contains("(baseline)") &&
                        Catch::Contains("Ranked by validation") && Catch::Contains("val F1"));
  const std::string json = sweep_json(r, "tiny");
  CHECK_THAT(json, Catch::Contains("\"rank\": 1, \"selected\": true, \"configuration\": \"" + r.entries[0].name +
                                   "\", \"rule\": \"" + r.entries[0].test.rule + "\""));
  // Every rule's cross-fitted validation score beside its test score.
  CHECK_THAT(json, Catch::Contains("\"decision_rules\": {\"chosen\": ") &&
                       Catch::Contains("{\"rule\": \"shrunk+top1\", \"at_least_one\": true") &&
                       Catch::Contains("\"validation_cross_fitted\": {\"micro_f1\": ") &&
                       Catch::Contains("\"within_standard_errors\": 1, \"tie_break\": \"micro\""));
  CHECK_THAT(sweep_csv(r), Catch::StartsWith("rank,configuration,rule,validation_f1,f1,"));

  // A fixed rule: every configuration is ranked and reported at it.
  base.rules.rule = DecisionRule{ThresholdKind::half, false};
  const SweepResult half = run_sweep(tiny_data(), base, {bce, focal}, opt, 2, 1, ProgressMode::quiet);
  for (const auto& e : half.entries) {
    CHECK(e.test.rule == "0.5");
    CHECK(e.validation_headline == e.validation.global.f1.macro.f1);
    CHECK(e.headline == e.test.global.f1.macro.f1);
  }
  // The same configuration trained alone gives the same numbers (jobs do not interfere).
  Progress quiet(ProgressMode::quiet);
  TrainConfig alone = base;
  alone.loss = focal;
  const TrainResult single = train_model(tiny_data(), alone, quiet);
  const SweepEntry& e = r.entries[0].name == "bce" ? r.entries[1] : r.entries[0];
  CHECK(e.test.global.f1.macro.f1 == single.test.global.f1.macro.f1);
}
