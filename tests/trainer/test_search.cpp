// SPDX-License-Identifier: Apache-2.0
// sweep --search wide: the halving plan, successive halving on a fake scorer (who survives, the
// epochs of each rung, the kept baseline, failures, the budget on a simulated clock), the sampled
// space (deterministic from the seed, canonical, distinct), continuation through checkpoints
// equal to training straight through, and the flags' errors.
#include <catch2/catch.hpp>

#include <cmath>
#include <filesystem>
#include <initializer_list>
#include <map>
#include <mutex>
#include <set>
#include <sstream>
#include <string>
#include <vector>

#include "cli.hpp"
#include "data/split.hpp"
#include "decision_rules.hpp"
#include "ensemble.hpp"
#include "inference.hpp"
#include "loss.hpp"
#include "refit.hpp"
#include "saved_model.hpp"
#include "search.hpp"
#include "search_space.hpp"
#include "targets.hpp"
#include "trainer_test_data.hpp"

using namespace longtail_train;

namespace {

CliOptions parse(std::initializer_list<const char*> args) {
  std::vector<const char*> argv{"longtail-train"};
  argv.insert(argv.end(), args.begin(), args.end());
  return parse_cli(int(argv.size()), argv.data());
}

/// A fake training: configuration c's validation score after e epochs is quality[c] * (1 -
/// exp(-e / speed[c])), so a slow starter can lose an early rung that it would have won later.
struct FakeScorer {
  std::vector<double> quality, speed;
  double seconds_per_epoch = 1;
  double* clock = nullptr;  ///< advanced by each job's epochs when set
  std::mutex mutex;
  std::map<std::size_t, std::vector<int>> calls;  ///< config -> epochs asked, in order
  std::map<std::size_t, int> done;                ///< config -> epochs trained so far

  double score(std::size_t c, int e) const { return quality[c] * (1 - std::exp(-double(e) / speed[c])); }
  HalvingTrainer trainer() {
    return [this](std::size_t c, std::size_t rung, int epochs) {
      std::lock_guard<std::mutex> lock(mutex);
      calls[c].push_back(epochs);
      // A survivor continues: rung k > 0 starts where its previous rung ended.
      CHECK(done[c] == (rung == 0 ? 0 : calls[c][calls[c].size() - 2]));
      const double t = seconds_per_epoch * (epochs - done[c]);
      done[c] = epochs;
      if (clock) *clock += t;
      return HalvingTrial{score(c, epochs), t, ""};
    };
  }
};

const Splits& search_data() { return test_data::tiny_flat_corpus(); }

/// What the end-to-end search tests train: a small model, a few epochs, no early stopping.
TrainConfig search_base(Eigen::Index hidden, int epochs, std::uint64_t seed) {
  TrainConfig base;
  base.hidden = {hidden};
  base.batch_size = 32;
  base.epochs = epochs;
  base.patience = 0;
  base.adam.lr = 0.01;
  base.seed = seed;
  return base;
}

}  // namespace

TEST_CASE("halving plan: rungs of eta-fold fewer configurations trained eta-fold longer", "[trainer][search]") {
  const HalvingPlan p = halving_plan(81, 20, 3, 2);  // the defaults
  CHECK(p.epochs == std::vector<int>{2, 7, 20});
  CHECK(p.sizes == std::vector<std::size_t>{81, 27, 9});
  const HalvingPlan q = halving_plan(9, 9, 3, 1);
  CHECK(q.epochs == std::vector<int>{1, 3, 9});
  CHECK(q.sizes == std::vector<std::size_t>{9, 3, 1});
  // Few configurations limit the rungs: 5 -> 1 is two rungs, whatever the epochs allow.
  const HalvingPlan few = halving_plan(5, 20, 3, 1);
  CHECK(few.epochs == std::vector<int>{7, 20});
  CHECK(few.sizes == std::vector<std::size_t>{5, 1});
  // min_epochs above the full count, or one configuration: one rung, plain training.
  CHECK(halving_plan(27, 4, 3, 5).epochs == std::vector<int>{4});
  CHECK(halving_plan(1, 20, 3, 2).sizes == std::vector<std::size_t>{1});
  const HalvingPlan two = halving_plan(16, 16, 2, 1);
  CHECK(two.epochs == std::vector<int>{1, 2, 4, 8, 16});
  CHECK(two.sizes == std::vector<std::size_t>{16, 8, 4, 2, 1});
  CHECK_THROWS_WITH(halving_plan(0, 20, 3, 2), Catch::Contains("--search-configs"));
  CHECK_THROWS_WITH(halving_plan(9, 20, 1, 2), Catch::Contains("--eta"));
  CHECK_THROWS_WITH(halving_plan(9, 20, 3, 0), Catch::Contains("--min-epochs"));
  CHECK_THROWS_WITH(halving_plan(9, 0, 3, 1), Catch::Contains("--epochs"));
  // The last rung may train further (--last-rung-epochs; the search's default is --epochs): the
  // earlier rungs keep the plan of --epochs.
  CHECK(halving_plan(81, 20, 3, 2, 60).epochs == std::vector<int>{2, 7, 60});
  CHECK(halving_plan(81, 20, 3, 2, 60).sizes == p.sizes);
  CHECK(halving_plan(81, 20, 3, 2, 20).epochs == p.epochs);
  CHECK(halving_plan(27, 4, 3, 5, 9).epochs == std::vector<int>{9});
  CHECK_THROWS_WITH(halving_plan(81, 20, 3, 2, 19),
                    Catch::Contains("--last-rung-epochs 19") && Catch::Contains("at least --epochs (20)"));
  CHECK(last_rung_epochs(SearchOptions{}, 20) == 20);
  SearchOptions given;
  given.last_rung_epochs = 25;
  CHECK(last_rung_epochs(given, 20) == 25);
}

TEST_CASE("successive halving keeps the best 1/eta of each rung and trains survivors on", "[trainer][search]") {
  // 10 configurations: 0 is kept (the baseline), 1..9 compete. Config 9 starts slowly but ends
  // best; config 8 starts fast and plateaus low.
  FakeScorer f;
  f.quality = {0.1, 0.50, 0.55, 0.60, 0.65, 0.70, 0.75, 0.80, 0.52, 0.95};
  f.speed = {1, 1, 1, 1, 1, 1, 1, 1, 0.01, 2.2};
  const HalvingPlan plan = halving_plan(9, 9, 3, 1);  // 9 x 1, 3 x 3, 1 x 9 epochs
  for (int jobs : {1, 3}) {
    FakeScorer g;
    g.quality = f.quality;
    g.speed = f.speed;
    HalvingOptions o;
    o.jobs = jobs;
    o.keep = {0};
    std::vector<std::size_t> eliminated;
    o.on_eliminated = [&](std::size_t c) { eliminated.push_back(c); };
    const HalvingOutcome out = successive_halving(10, plan, g.trainer(), o);
    INFO("jobs " << jobs);
    // Rung 1 (1 epoch): 8 (the fast starter), 7 and 6 lead; rung 2 (3 epochs): 7 beats 6 and 8,
    // which has plateaued; 9, the slow starter, was dropped in rung 1 (its 1-epoch score
    // 0.95 * (1 - e^(-1/2.2)) = 0.347 is below 2's 0.55 * (1 - e^-1) = 0.348).
    REQUIRE(out.rungs.size() == 3);
    CHECK(out.rungs[0] == std::vector<std::size_t>{8, 7, 6, 5, 4, 3, 2, 9, 1, 0});
    CHECK(out.rungs[1] == std::vector<std::size_t>{7, 6, 8, 0});
    CHECK(out.rungs[2] == std::vector<std::size_t>{7, 0});
    // Epochs asked of each configuration, rung by rung.
    CHECK(g.calls[7] == std::vector<int>{1, 3, 9});
    CHECK(g.calls[0] == std::vector<int>{1, 3, 9});  // kept: every rung, no survivor's place
    CHECK(g.calls[6] == std::vector<int>{1, 3});
    CHECK(g.calls[8] == std::vector<int>{1, 3});
    CHECK(g.calls[9] == std::vector<int>{1});
    std::sort(eliminated.begin(), eliminated.end());
    CHECK(eliminated == std::vector<std::size_t>{1, 2, 3, 4, 5, 6, 8, 9});
    CHECK(out.ranking == std::vector<std::size_t>{7, 0, 6, 8, 5, 4, 3, 2, 9, 1});
    CHECK(out.configs[7].scores.size() == 3);
    CHECK(out.configs[7].epochs == 9);
    CHECK(out.configs[7].seconds == 9);
    CHECK(out.configs[9].rungs_done == 1);
    CHECK_FALSE(out.budget_exhausted);
    CHECK(out.jobs_skipped == 0);
  }
}

TEST_CASE("successive halving drops a configuration whose training failed", "[trainer][search]") {
  FakeScorer f;
  f.quality = {0.9, 0.8, 0.7, 0.6};
  f.speed = {1, 1, 1, 1};
  const HalvingTrainer ok = f.trainer();
  const HalvingTrainer train = [&](std::size_t c, std::size_t rung, int epochs) {
    HalvingTrial t = ok(c, rung, epochs);
    if (c == 0 && rung == 1) t.error = "training diverged at epoch 2";
    return t;
  };
  const HalvingOutcome out = successive_halving(4, halving_plan(4, 4, 2, 1), train, {});
  // Rung 1 (1 epoch) keeps 0 and 1; 0 fails in rung 2, so 1 wins; 0 keeps its rung-1 result.
  CHECK(out.rungs[1] == std::vector<std::size_t>{1});
  CHECK(out.configs[0].error == "training diverged at epoch 2");
  CHECK(out.configs[0].rungs_done == 1);
  CHECK(out.ranking.front() == 1);
  // Exceptions that are not reported as failures stop the search.
  const HalvingTrainer throws = [](std::size_t, std::size_t, int) -> HalvingTrial {
    throw std::runtime_error("disk full");
  };
  CHECK_THROWS_WITH(successive_halving(4, halving_plan(4, 4, 2, 1), throws, {}), "disk full");
}

TEST_CASE("the budget: no job starts that is predicted to end after it", "[trainer][search]") {
  double now = 0;
  HalvingOptions o;
  o.clock = [&] { return now; };
  const HalvingPlan plan = halving_plan(9, 9, 3, 1);  // 9 x 1 (9 s), 3 x +2 (6 s), 1 x +6 (6 s) epochs
  auto run = [&](double budget) {
    now = 0;
    FakeScorer f;
    f.quality = {0.1, 0.2, 0.3, 0.4, 0.5, 0.6, 0.7, 0.8, 0.9};
    f.speed = {1, 1, 1, 1, 1, 1, 1, 1, 1};
    f.clock = &now;
    o.budget_seconds = budget;
    return successive_halving(9, plan, f.trainer(), o);
  };
  SECTION("enough budget: the whole plan") {
    const HalvingOutcome out = run(21);
    CHECK_FALSE(out.budget_exhausted);
    CHECK(out.seconds == 21);
    CHECK(out.ranking.front() == 8);
  }
  SECTION("cut in rung 2: one survivor continued, the others not started") {
    const HalvingOutcome out = run(12);
    CHECK(out.budget_exhausted);
    CHECK(out.seconds <= 12);
    CHECK(out.seconds == 11);  // rung 1 (9 s) + one job of rung 2 (2 s); the next would end at 13
    CHECK(out.jobs_skipped == 2);
    REQUIRE(out.rungs.size() == 2);
    CHECK(out.rungs[1] == std::vector<std::size_t>{6});  // rung-2 jobs run in index order: 6, 7, 8
    // Configurations that finished more rungs rank first; the rest by their rung-1 score.
    CHECK(out.ranking == std::vector<std::size_t>{6, 8, 7, 5, 4, 3, 2, 1, 0});
  }
  SECTION("cut in rung 1: the configurations not trained are not ranked") {
    const HalvingOutcome out = run(3.5);
    CHECK(out.budget_exhausted);
    CHECK(out.seconds == 3);
    CHECK(out.jobs_skipped == 6);
    CHECK(out.ranking == std::vector<std::size_t>{2, 1, 0});
    CHECK(out.configs[5].rungs_done == 0);
  }
}

TEST_CASE("search summary: each rung's best with its score in that rung", "[trainer][search]") {
  // Configuration 0 led rung 1 with 0.5 and scored 0.4 after rung 2; configuration 1 left after
  // rung 1 with 0.3. The rung-1 row shows 0.5 (its score then), not its later 0.4.
  SearchResult r;
  LossConfig focal;
  focal.kind = LossKind::focal;
  focal.gamma = 2;
  r.configs = {SearchCandidate{focal, {}}, SearchCandidate{LossConfig{}, {}}};
  r.grid_size = 2;
  r.plan.epochs = {2, 6};
  r.plan.sizes = {2, 1};
  r.outcome.configs.resize(2);
  r.outcome.configs[0].scores = {0.5, 0.4};
  r.outcome.configs[0].rungs_done = 2;
  r.outcome.configs[1].scores = {0.3};
  r.outcome.configs[1].rungs_done = 1;
  r.outcome.rungs = {{0, 1}, {0}};
  r.outcome.rung_seconds = {1, 2};
  r.sweep.metric = "macro-F1";
  const std::string summary = format_search_summary(r);
  INFO(summary);
  std::istringstream lines(summary);
  std::string line, rung1, rung2;
  while (std::getline(lines, line)) {
    if (line.rfind("1 ", 0) == 0) rung1 = line;
    if (line.rfind("2 ", 0) == 0) rung2 = line;
  }
  CHECK_THAT(rung1, Catch::Contains("0.5000") && Catch::Contains(focal.name()));
  CHECK_THAT(rung2, Catch::Contains("0.4000") && Catch::Contains(focal.name()));
}

TEST_CASE("the wide space: sampled deterministically from the seed, canonical and distinct", "[trainer][search]") {
  const SearchSpace space = wide_search_space();
  const LossConfig base;
  const auto a = sample_search_space(space, base, 200, 1);
  const auto b = sample_search_space(space, base, 200, 1);
  const auto c = sample_search_space(space, base, 200, 2);
  REQUIRE(a.size() == 200);
  std::vector<std::string> na, nb, nc;
  for (const auto& x : a) na.push_back(x.name());
  for (const auto& x : b) nb.push_back(x.name());
  for (const auto& x : c) nc.push_back(x.name());
  CHECK(na == nb);
  CHECK(na != nc);
  // Bit-for-bit the same on every platform (common/rng.hpp): the first draws of seed 1.
  CHECK(std::vector<std::string>(na.begin(), na.begin() + 3) ==
        std::vector<std::string>{"db_g3_h1024_do0_lr0.001",
                                 "sqrt_inverse_frequency_cap_7.0_asl_gp1_gn3_m0.2_la1_h512_do0.5_lr0.002",
                                 "asl_gp1_gn4_m0.05_h1024_do0.25_lr0.001"});
  CHECK(std::set<std::string>(na.begin(), na.end()).size() == na.size());
  // A prefix of a longer draw: asking for more configurations only appends.
  const auto d = sample_search_space(space, base, 50, 1);
  for (std::size_t i = 0; i < d.size(); ++i) CHECK(d[i].name() == na[i]);
  // Canonical: uniform weights are no weights, gamma 0 is weighted BCE, and every dimension shows up.
  std::set<std::string> schemes;
  bool uncapped = false, classw = false, normalized = false, asl = false, focal4 = false, weighted = false,
       unweighted = false, db = false, db_weighted = false, adjusted = false;
  std::size_t adjusted_count = 0;
  const Eigen::ArrayXd counts = (Eigen::ArrayXd(4) << 1, 10, 100, 0).finished();
  std::set<std::string> widths, dropouts, rates;
  for (const auto& candidate : a) {
    const LossConfig& x = candidate.loss;
    CHECK(candidate.name() == x.name() + candidate.training.suffix());
    REQUIRE(candidate.training.hidden);
    REQUIRE(candidate.training.dropout);
    REQUIRE(candidate.training.lr);
    widths.insert(std::to_string(*candidate.training.hidden));
    dropouts.insert(candidate.training.suffix());
    rates.insert(std::to_string(*candidate.training.lr));
    CHECK(x.name().find("uniform") == std::string::npos);
    CHECK_FALSE((x.kind == LossKind::focal && x.gamma == 0));
    if (x.scheme) schemes.insert(longtail::to_string(*x.scheme));
    uncapped = uncapped || (x.scheme && x.cap == 0);
    classw = classw || x.mode == WeightMode::class_weight;
    normalized = normalized || x.normalize;
    asl = asl || x.kind == LossKind::asl;
    focal4 = focal4 || (x.kind == LossKind::focal && x.gamma == 4);
    weighted = weighted || x.kind == LossKind::weighted;
    unweighted = unweighted || !x.scheme;
    db = db || x.kind == LossKind::db;
    db_weighted = db_weighted || (x.kind == LossKind::db && x.scheme);
    if (x.kind == LossKind::db && x.scheme) CHECK(x.mode == WeightMode::class_weight);  // db has no pos_weight
    adjusted = adjusted || x.logit_adjust_tau > 0;
    adjusted_count += x.logit_adjust_tau > 0;
    CHECK_NOTHROW(TrainingLoss(x, counts, 200, 1));  // every configuration builds a functor
  }
  CHECK(schemes.size() == 5);  // every scheme but uniform (= no weights)
  CHECK(widths == std::set<std::string>{"512", "1024"});
  CHECK(rates.size() == 2);
  CHECK(dropouts.size() == 12);  // every (width, dropout, lr) combination shows up
  CHECK((uncapped && classw && normalized && asl && focal4 && weighted && unweighted && db && db_weighted && adjusted));
  CHECK(adjusted_count > 60);  // logit adjustment on for about half of them
  CHECK(adjusted_count < 140);
  // Excluded names (the grid) are never drawn; a small space gives what it has.
  const auto e = sample_search_space(space, base, 20, 1, {a[0].loss, a[1].loss});
  for (const auto& x : e) CHECK((x.loss.name() != a[0].loss.name() && x.loss.name() != a[1].loss.name()));
  SearchSpace tiny = space;
  tiny.schemes = {std::nullopt};
  tiny.kinds = {LossKind::focal};
  tiny.gammas = {1, 2};
  tiny.logit_adjust_share = 0;
  tiny.hidden_widths = {512};
  tiny.dropouts = {0};
  tiny.learning_rates = {0.001};
  const auto t = sample_search_space(tiny, base, 10, 1);
  CHECK(t.size() == 2);
  tiny.gammas.clear();
  CHECK_THROWS_WITH(sample_search_space(tiny, base, 1, 1), Catch::Contains("gamma"));
  tiny.gammas = {1};
  tiny.dropouts = {1.0};
  CHECK_THROWS_WITH(sample_search_space(tiny, base, 1, 1), Catch::Contains("dropouts must be in [0, 1)"));
  tiny.dropouts.clear();
  CHECK_THROWS_WITH(sample_search_space(tiny, base, 1, 1), Catch::Contains("dropout"));
}

TEST_CASE("search: survivors continue from checkpoints exactly like a straight run", "[trainer][search][e2e]") {
  TrainConfig base = search_base(32, 6, 5);
  base.dropout = 0.1;  // dropout masks must continue identically too
  LossConfig bce, focal;
  focal.kind = LossKind::focal;
  focal.gamma = 2;
  focal.scheme = longtail::WeightScheme::pos_neg_ratio;
  focal.cap = 3;
  SweepOptions sweep;
  SearchOptions search;
  search.wide = true;
  search.configurations = 4;  // focal + 3 sampled; plan 4 x 2, 1 x 6 epochs (eta 3)
  search.min_epochs = 2;
  const std::string work = "longtail_trainer_search_work";
  const std::string selected = "longtail_trainer_search_selected";
  const SearchResult r =
      run_search(search_data(), base, {bce, focal}, sweep, search, 2, 1, ProgressMode::quiet, work, selected);
  CHECK_FALSE(std::filesystem::exists(work));  // the work folder is removed
  CHECK(r.plan.epochs == std::vector<int>{2, 6});
  CHECK(r.plan.sizes == std::vector<std::size_t>{4, 1});
  REQUIRE(r.sweep.entries.size() == 6);
  CHECK(r.configs.size() == 5);
  // Rank 1 and the baseline ran the full 6 epochs (in two calls); the others 2. The sixth row is
  // the ensemble of those two (--ensemble 3 by default; only 2 finished the last rung).
  REQUIRE(r.ensemble.size() == 2);
  REQUIRE(r.ensemble_rank >= 1);
  int full = 0;
  Progress quiet(ProgressMode::quiet);
  std::map<std::string, std::pair<RowMatrix<float>, RowMatrix<float>>> straight_probabilities;
  for (const SweepEntry& e : r.sweep.entries) {
    INFO(e.name);
    if (e.name == "ensemble_top2") continue;
    if (e.epochs_done != 6) {
      CHECK(e.epochs_done == 2);
      continue;
    }
    ++full;
    const SearchCandidate* candidate = nullptr;
    for (const SearchCandidate& c : r.configs)
      if (c.name() == e.name) candidate = &c;
    REQUIRE(candidate);
    TrainConfig straight = apply_training_choice(base, candidate->training);
    straight.loss = e.loss;
    const TrainResult s = train_model(search_data(), straight, quiet);
    CHECK(e.best_epoch == s.best_epoch);
    CHECK(e.validation.global.f1.macro.f1 == s.validation.global.f1.macro.f1);
    CHECK(e.test.global.f1.macro.f1 == s.test.global.f1.macro.f1);
    CHECK(e.test.tuned.f1.micro.f1 == s.test.tuned.f1.micro.f1);
    straight_probabilities[e.name] = {predict_probabilities(s.model, search_data().validation.features),
                                      predict_probabilities(s.model, search_data().test.features)};
  }
  CHECK(full == 2);

  // The ensemble: the mean of the two straight runs' probabilities (computed here in double), its
  // rules tuned and scored like a configuration's, ranked among the full runs by validation.
  const SweepEntry& ens = r.sweep.entries.at(r.ensemble_rank - 1);
  CHECK(ens.name == "ensemble_top2");
  CHECK(ens.epochs_done == 0);
  const auto& a = straight_probabilities.at(r.configs[r.ensemble[0]].name());
  const auto& b = straight_probabilities.at(r.configs[r.ensemble[1]].name());
  CHECK(r.sweep.entries[r.ensemble_rank == 1 ? 1 : 0].name == r.configs[r.ensemble[0]].name());  // the best full run
  const RowMatrix<float> mean_val = ((a.first.cast<double>() + b.first.cast<double>()) / 2.0).cast<float>();
  const RowMatrix<float> mean_test = ((a.second.cast<double>() + b.second.cast<double>()) / 2.0).cast<float>();
  RuleOptions rules = base.rules;
  rules.seed = base.seed;
  const RuledEvaluation expected = evaluate_with_rules(
      mean_val, dense_targets(search_data().validation.labels), mean_test, dense_targets(search_data().test.labels),
      label_counts(search_data().train.labels), search_data().train.features.rows(), base.buckets, rules);
  CHECK(ens.test.rule == expected.applied.name);
  CHECK(ens.validation_headline == expected.validation.tuned.f1.macro.f1);
  CHECK(ens.headline == expected.test.tuned.f1.macro.f1);
  CHECK(ens.test.tuned.f1.micro.f1 == expected.test.tuned.f1.micro.f1);
  CHECK(ens.test.ranking.precision[0] == expected.test.ranking.precision[0]);
  CHECK_THAT(ens.description,
             Catch::Contains(r.configs[r.ensemble[0]].name()) && Catch::Contains(r.configs[r.ensemble[1]].name()));
  // Its place: after every full run with a validation score at least as high, before the others.
  for (std::size_t i = 0; i < r.sweep.entries.size(); ++i) {
    const SweepEntry& e = r.sweep.entries[i];
    if (i + 1 < r.ensemble_rank) CHECK(e.validation_headline >= ens.validation_headline);
    if (i + 1 > r.ensemble_rank && e.epochs_done == 6) CHECK(e.validation_headline < ens.validation_headline);
  }
  CHECK_THAT(format_search_summary(r), Catch::Contains("ensemble_top2: the mean probabilities of the best 2"));
  CHECK_THAT(search_json(r), Catch::Contains("\"ensemble\": {\"configuration\": \"ensemble_top2\", \"rank\": " +
                                             std::to_string(r.ensemble_rank)));

  // The refit (on by default): the selected row's model(s) trained again on train + validation for
  // their selected epochs, evaluated at the row's rule: the same as training each straight on the
  // concatenated rows here, and that is the model kept, with the row's rule.
  REQUIRE(r.refit);
  CHECK(r.refit_error.empty());
  const Splits& data = search_data();
  const std::vector<std::size_t> chosen =
      r.ensemble_rank == 1 ? r.ensemble : std::vector<std::size_t>{r.outcome.ranking.front()};
  const Splits joined{concatenate_rows(data.train, data.validation, "joined"), select_rows(data.validation, {}, "none"),
                      data.test};
  CHECK(r.refit->train_rows == data.train.rows() + data.validation.rows());
  std::vector<RowMatrix<float>> refit_probabilities;
  for (std::size_t m = 0; m < chosen.size(); ++m) {
    const SearchCandidate& candidate = r.configs[chosen[m]];
    const SweepEntry* row = nullptr;
    for (const SweepEntry& e : r.sweep.entries)
      if (e.name == candidate.name()) row = &e;
    REQUIRE(row);
    CHECK(r.refit->epochs.at(m) == row->best_epoch);
    TrainConfig straight = apply_training_choice(base, candidate.training);
    straight.loss = candidate.loss;
    straight.epochs = row->best_epoch;
    refit_probabilities.push_back(
        predict_probabilities(train_model(joined, straight, quiet).model, data.test.features));
  }
  RowMatrix<float> refit_mean = refit_probabilities.front();
  if (chosen.size() == 2)
    refit_mean = ((refit_probabilities[0].cast<double>() + refit_probabilities[1].cast<double>()) / 2.0).cast<float>();
  const FittedRule& row_rule = r.sweep.entries[0].rules.chosen_rule().fitted;
  const AppliedRule applied{row_rule.rule.name(), row_rule.thresholds, row_rule.rule.at_least_one};
  const Eigen::ArrayXd joined_counts = label_counts(joined.train.labels);
  const SplitEvaluation refit_test = evaluate_split("test", refit_mean, dense_targets(data.test.labels), applied,
                                                    joined_counts, joined.train.rows(), base.buckets);
  CHECK(r.refit->test.rule == r.sweep.entries[0].test.rule);
  CHECK(r.refit->test.tuned.f1.macro.f1 == refit_test.tuned.f1.macro.f1);
  CHECK(r.refit->test.tuned.f1.micro.f1 == refit_test.tuned.f1.micro.f1);
  CHECK(r.refit->test.global.f1.samples.f1 == refit_test.global.f1.samples.f1);
  CHECK(r.refit->test.ranking.ps_precision[0] == refit_test.ranking.ps_precision[0]);
  CHECK_THAT(format_search_summary(r), Catch::Contains("Refit: " + r.sweep.entries[0].name) &&
                                           Catch::Contains("The selected model is the refit one"));
  CHECK_THAT(search_json(r), Catch::Contains("\"refit\": {\"train_rows\": " + std::to_string(r.refit->train_rows)));
  // The kept model is the refit one, at the row's rule: eval / predict of it give the refit's figures.
  REQUIRE_FALSE(r.selected_model.empty());
  const SavedModel kept = load_saved_model(r.selected_model);
  CHECK(kept.ensemble == (r.ensemble_rank == 1));
  CHECK(r.selected_model == selected + (kept.ensemble ? "/ensemble.txt" : "/model.ltck"));
  CHECK(kept.rule.name == r.sweep.entries[0].test.rule);
  CHECK((kept.rule.thresholds == row_rule.thresholds).all());
  CHECK(kept.rule.at_least_one == row_rule.rule.at_least_one);
  CHECK((kept.first().train_label_counts == joined_counts).all());
  // eval's propensities: the kept model's own training split (train + validation), not the data
  // flags' training rows.
  const TrainingCounts kept_counts = training_counts(kept, data.train);
  CHECK((kept_counts.counts == joined_counts).all());
  CHECK(kept_counts.rows == joined.train.rows());
  CHECK(kept_counts.rows > data.train.rows());
  // A checkpoint without the row count (before version 4): the data flags' counts and rows together.
  SavedModel older = kept;
  for (auto& c : older.checkpoints) c.train_rows = 0;
  const TrainingCounts fallback = training_counts(older, data.train);
  CHECK((fallback.counts == label_counts(data.train.labels)).all());
  CHECK(fallback.rows == data.train.rows());
  const SplitEvaluation kept_test =
      evaluate_split("test", saved_model_probabilities(kept, data.test, data.test.features, 1),
                     dense_targets(data.test.labels), kept.rule, kept_counts.counts, kept_counts.rows, base.buckets);
  CHECK(kept_test.tuned.f1.macro.f1 == r.refit->test.tuned.f1.macro.f1);
  CHECK(kept_test.tuned.f1.micro.f1 == r.refit->test.tuned.f1.micro.f1);
  CHECK(kept_test.ranking.ps_precision[0] == r.refit->test.ranking.ps_precision[0]);
  std::filesystem::remove_all(selected);

  CHECK(r.sweep.entries[0].epochs_done != 2);
  CHECK((r.sweep.entries[0].name == "bce" || r.sweep.entries[1].name == "bce" || r.sweep.entries[2].name == "bce"));
  // The same table format and files as the grid sweep, plus the rungs.
  CHECK_THAT(format_sweep_table(r.sweep), Catch::Contains("Ranked by validation") && Catch::Contains("(baseline)"));
  CHECK_THAT(format_search_summary(r), Catch::Contains("Successive halving (eta 3)") && Catch::Contains("rung"));
  const std::string js = search_json(r);
  CHECK_THAT(js, Catch::Contains("\"origin\": \"baseline\"") && Catch::Contains("\"origin\": \"sampled\"") &&
                     Catch::Contains("\"epochs\": 6"));
  // Deterministic: the same search again gives the same table; with --ensemble 0 the same rows
  // but the ensemble's. With --no-refit the kept model is the search's own: its row's test metrics.
  search.ensemble = 0;
  search.refit = false;
  const SearchResult again =
      run_search(search_data(), base, {bce, focal}, sweep, search, 1, 1, ProgressMode::quiet, work, selected);
  CHECK_FALSE(again.refit);
  CHECK_THAT(search_json(again), Catch::Contains("\"refit\": null"));
  REQUIRE(again.selected_model == selected + "/model.ltck");
  const SavedModel own = load_saved_model(again.selected_model);
  const SplitEvaluation own_test = evaluate_split(
      "test", saved_model_probabilities(own, data.test, data.test.features, 1), dense_targets(data.test.labels),
      own.rule, label_counts(data.train.labels), data.train.rows(), base.buckets);
  CHECK(own.rule.name == again.sweep.entries[0].test.rule);
  CHECK(own_test.tuned.f1.macro.f1 == again.sweep.entries[0].test.tuned.f1.macro.f1);
  CHECK(own_test.tuned.f1.micro.f1 == again.sweep.entries[0].test.tuned.f1.micro.f1);
  std::filesystem::remove_all(selected);
  CHECK(again.ensemble.empty());
  CHECK(again.ensemble_rank == 0);
  CHECK_THAT(search_json(again), Catch::Contains("\"ensemble\": null"));
  std::vector<const SweepEntry*> without_ensemble;
  for (const SweepEntry& e : r.sweep.entries)
    if (e.name != "ensemble_top2") without_ensemble.push_back(&e);
  REQUIRE(again.sweep.entries.size() == without_ensemble.size());
  for (std::size_t i = 0; i < without_ensemble.size(); ++i) {
    CHECK(again.sweep.entries[i].name == without_ensemble[i]->name);
    CHECK(again.sweep.entries[i].validation_headline == without_ensemble[i]->validation_headline);
  }
}

TEST_CASE("search: the ensemble's members are the best K of the last rung", "[trainer][search][e2e]") {
  const TrainConfig base = search_base(16, 3, 7);
  LossConfig bce, focal;
  focal.kind = LossKind::focal;
  focal.gamma = 2;
  SearchOptions search;
  search.wide = true;
  search.configurations = 4;  // focal + 3 sampled
  search.min_epochs = 2;      // 3 / 3 < 2: one rung, so all 5 (with bce) are finalists
  search.ensemble = 2;        // only 2 of their probabilities are held at a time
  const SearchResult r = run_search(search_data(), base, {bce, focal}, SweepOptions{}, search, 2, 1,
                                    ProgressMode::quiet, "longtail_trainer_search_work_k");
  REQUIRE(r.plan.epochs == std::vector<int>{3});
  REQUIRE(r.outcome.ranking.size() == 5);
  CHECK(r.ensemble == std::vector<std::size_t>{r.outcome.ranking[0], r.outcome.ranking[1]});
  CHECK(r.sweep.entries.size() == 6);
  CHECK(r.sweep.entries.at(r.ensemble_rank - 1).name == "ensemble_top2");
}

TEST_CASE("ensemble: the mean of the members' probabilities, and its errors", "[trainer][search]") {
  RowMatrix<float> a(2, 2), b(2, 2), c(2, 2);
  a << 0.1f, 0.2f, 0.3f, 0.4f;
  b << 0.3f, 0.2f, 0.9f, 0.0f;
  c << 0.2f, 0.5f, 0.0f, 1.0f;
  const RowMatrix<float> m = mean_probabilities({&a, &b, &c});
  CHECK(m(0, 0) == Approx(0.2).epsilon(1e-6));
  CHECK(m(0, 1) == Approx(0.3).epsilon(1e-6));
  CHECK(m(1, 0) == Approx(0.4).epsilon(1e-6));
  CHECK(m(1, 1) == Approx(0.4666667).epsilon(1e-6));
  CHECK(mean_probabilities({&a}) == a);
  const RowMatrix<float> wide = RowMatrix<float>::Zero(2, 3);
  CHECK_THROWS_WITH(mean_probabilities({&a, &wide}), Catch::Contains("member 2 is 2 x 3") && Catch::Contains("2 x 2"));
  CHECK_THROWS_WITH(mean_probabilities({}), Catch::Contains("no members"));
  EnsembleMember one{"one", a, a, 0, 0};
  CHECK_THROWS_WITH(ensemble_entry({&one}, search_data(), RuleOptions{}, {}, SweepOptions{}),
                    Catch::Contains("at least 2 members"));
  CHECK(ensemble_name(4) == "ensemble_top4");
}

TEST_CASE("search: the refit trains the selected configuration's best epoch, not its last", "[trainer][search][e2e]") {
  TrainConfig base = search_base(64, 10, 2);
  base.adam.lr = 0.05;  // overfits the tiny corpus within a few epochs: the best epoch comes early
  LossConfig bce, focal;
  focal.kind = LossKind::focal;
  focal.gamma = 2;
  SearchOptions search;
  search.wide = true;
  search.configurations = 1;     // the grid's focal alone: one rung
  search.last_rung_epochs = 12;  // of 12 epochs
  search.ensemble = 0;
  const SearchResult r = run_search(search_data(), base, {bce, focal}, SweepOptions{}, search, 1, 1,
                                    ProgressMode::quiet, "longtail_trainer_search_work_best");
  CHECK(r.plan.epochs == std::vector<int>{12});  // the last (here the only) rung: --last-rung-epochs
  const SweepEntry& selected = r.sweep.entries.front();
  INFO(selected.name << ": best epoch " << selected.best_epoch << " of " << selected.epochs_done);
  CHECK(selected.best_epoch > 0);
  CHECK(selected.best_epoch < selected.epochs_done);
  REQUIRE(r.refit);
  CHECK(r.refit->epochs == std::vector<int>{selected.best_epoch});
}

TEST_CASE("refit: what it needs, and a member that diverges named", "[trainer][search]") {
  const Splits& data = search_data();
  const Splits s = refit_splits(data);
  CHECK(s.train.rows() == data.train.rows() + data.validation.rows());
  CHECK(s.validation.rows() == 0);
  CHECK(s.validation.num_labels() == data.train.num_labels());
  CHECK(s.test.rows() == data.test.rows());
  TrainConfig cfg = search_base(8, 2, 3);
  const AppliedRule half{"0.5", Eigen::ArrayXd::Constant(data.train.num_labels(), 0.5), false};
  CHECK_THROWS_WITH(refit(data, {}, half, {}, 1), Catch::Contains("no members"));
  const AppliedRule short_rule{"global", Eigen::ArrayXd::Constant(2, 0.3), false};
  CHECK_THROWS_WITH(
      refit(data, {RefitMember{"a", cfg}}, short_rule, {}, 1),
      Catch::Contains("'global' has 2 thresholds") && Catch::Contains(std::to_string(data.train.num_labels())));
  CHECK_THROWS_WITH(refit(data, {RefitMember{"a", cfg}}, half, {}, 1, {"x.ltck", "y.ltck"}),
                    Catch::Contains("2 checkpoint paths for 1 members"));
  // A learning rate that makes the run explode: the error names the member.
  TrainConfig wild = cfg;
  wild.adam.lr = 1e6;
  wild.epochs = 3;
  CHECK_THROWS_AS(refit(data, {RefitMember{"a", cfg}, RefitMember{"wild_one", wild}}, half, {}, 2), divergence_error);
  CHECK_THROWS_WITH(refit(data, {RefitMember{"wild_one", wild}}, half, {}, 1),
                    Catch::Contains("refit of wild_one: training diverged"));
  // The refit trains exactly config.epochs, whatever --patience says.
  cfg.patience = 1;
  cfg.epochs = 3;
  const RefitResult ok = refit(data, {RefitMember{"a", cfg}}, half, {}, 1);
  CHECK(ok.epochs == std::vector<int>{3});
  CHECK(ok.rule.name == "0.5");
  CHECK(ok.test.rows == data.test.rows());
}

TEST_CASE("CLI: sweep --search wide and its flags' errors name the flag", "[trainer][search][cli]") {
  const CliOptions d = parse({"sweep"});
  CHECK_FALSE(d.search.wide);
  const CliOptions o = parse({"sweep", "--search", "wide", "--budget-minutes", "7.5", "--search-configs", "30", "--eta",
                              "2", "--min-epochs", "3"});
  CHECK(o.search.wide);
  CHECK(o.search.budget_minutes == 7.5);
  CHECK(o.search.configurations == 30);
  CHECK(o.search.eta == 2);
  CHECK(o.search.min_epochs == 3);
  CHECK_THROWS_WITH(parse({"sweep", "--search", "random"}), Catch::Contains("--search") && Catch::Contains("random"));
  CHECK_THROWS_WITH(parse({"sweep", "--search", "wide", "--eta", "1"}), Catch::Contains("--eta"));
  CHECK_THROWS_WITH(parse({"sweep", "--search", "wide", "--budget-minutes", "0"}), Catch::Contains("--budget-minutes"));
  CHECK_THROWS_WITH(parse({"sweep", "--search", "wide", "--min-epochs", "0"}), Catch::Contains("--min-epochs"));
  CHECK(d.search.ensemble == 3);
  CHECK(parse({"sweep", "--search", "wide", "--ensemble", "0"}).search.ensemble == 0);
  CHECK(parse({"sweep", "--search", "wide", "--ensemble", "5"}).search.ensemble == 5);
  CHECK_THROWS_WITH(parse({"sweep", "--search", "wide", "--ensemble", "1"}),
                    Catch::Contains("--ensemble") && Catch::Contains("at least 2"));
  CHECK_THROWS_WITH(parse({"sweep", "--search", "wide", "--ensemble", "-2"}), Catch::Contains("--ensemble"));
  CHECK_THROWS_WITH(parse({"sweep", "--ensemble", "3"}),
                    Catch::Contains("--ensemble") && Catch::Contains("--search wide"));
  CHECK(d.search.last_rung_epochs == 0);
  CHECK(parse({"sweep", "--search", "wide", "--last-rung-epochs", "45"}).search.last_rung_epochs == 45);
  CHECK_THROWS_WITH(parse({"sweep", "--search", "wide", "--epochs", "30", "--last-rung-epochs", "20"}),
                    Catch::Contains("--last-rung-epochs 20") && Catch::Contains("--epochs (30)"));
  CHECK_THROWS_WITH(parse({"sweep", "--last-rung-epochs", "45"}),
                    Catch::Contains("--last-rung-epochs") && Catch::Contains("--search wide"));
  CHECK(d.search.refit);
  CHECK_FALSE(parse({"sweep", "--search", "wide", "--no-refit"}).search.refit);
  CHECK_THROWS_WITH(parse({"sweep", "--no-refit"}), Catch::Contains("--no-refit") && Catch::Contains("--search wide"));
  // The grid has 9 configurations besides the bce baseline.
  CHECK_THROWS_WITH(parse({"sweep", "--search", "wide", "--search-configs", "8"}),
                    Catch::Contains("--search-configs 8") && Catch::Contains("9"));
  CHECK_NOTHROW(parse({"sweep", "--search", "wide", "--search-configs", "9"}));
  // Search flags without --search wide, and on train.
  CHECK_THROWS_WITH(parse({"sweep", "--eta", "3"}), Catch::Contains("--eta") && Catch::Contains("--search wide"));
  CHECK_THROWS_WITH(parse({"--search", "wide"}), Catch::Contains("--search") && Catch::Contains("sweep"));
  CHECK_THAT(help_text(Command::sweep), Catch::Contains("--budget-minutes") && Catch::Contains("successive halving"));
}
