// SPDX-License-Identifier: Apache-2.0
// The pieces of the distributed and resumable sweep that need no MPI: the assignment of
// configurations to ranks, the binary form of an outcome (what ranks exchange and result files
// hold: a round trip prints exactly the same table, CSV and JSON), per-configuration failures,
// and the state folder (fresh start, --resume keeping finished configurations and continuing the
// others bit for bit, refusing other settings). The end-to-end runs under mpirun are in mpi/.
#include <catch2/catch.hpp>

#include <cstdio>
#include <filesystem>
#include <fstream>
#include <set>
#include <stdexcept>

#include "distributed/communicator.hpp"
#include "sweep.hpp"
#include "sweep_distribution.hpp"
#include "sweep_entry_io.hpp"
#include "sweep_store.hpp"
#include "trainer_test_data.hpp"

using namespace longtail_train;
using Catch::Contains;

namespace {

const Splits& small_data() {
  static const Splits data = [] {
    GeneratorConfig g;
    g.head_topic_count = 80;
    g.tail_topic_count = 8;
    g.vocabulary_size = 200;
    g.words_per_topic = 8;
    g.noise_rate = 0.3;
    g.words_per_doc = 25;
    return test_data::small_corpus(test_data::flat_labels(12), g);
  }();
  return data;
}

TrainConfig small_config() {
  TrainConfig c;
  c.hidden = {16};
  c.batch_size = 32;
  c.epochs = 3;
  c.patience = 0;
  c.adam.lr = 0.01;
  c.seed = 3;
  return c;
}

std::vector<LossConfig> small_grid() {
  LossConfig bce, weighted, focal;
  weighted.kind = LossKind::weighted;
  weighted.scheme = longtail::WeightScheme::pos_neg_ratio;
  weighted.cap = 4;
  focal = weighted;
  focal.kind = LossKind::focal;
  focal.gamma = 2;
  return {bce, weighted, focal};
}

SweepOptions sweep_options() {
  SweepOptions o;
  o.baseline = "bce";
  return o;
}

/// The three outputs of a sweep: what must not change when its entries travel.
std::string printed(const SweepResult& r) { return format_sweep_table(r) + sweep_csv(r) + sweep_json(r, "small"); }

/// A fresh folder under the test's working directory.
std::string fresh_folder(const std::string& name) {
  const std::string dir = "longtail_sweep_test_" + name;
  std::filesystem::remove_all(dir);
  return dir;
}

}  // namespace

TEST_CASE("sweep assignment: each pending configuration goes to exactly one rank, round robin",
          "[trainer][sweep][distributed]") {
  const std::vector<std::size_t> pending = {0, 2, 3, 5, 6, 7, 9};
  for (int ranks : {1, 2, 3, 7, 9}) {
    std::multiset<std::size_t> seen;
    for (int r = 0; r < ranks; ++r) {
      const auto mine = assigned_to_rank(pending, r, ranks);
      CHECK(mine == assigned_to_rank(pending, r, ranks));  // deterministic
      // Rank r takes positions r, r + N, ...: shares differ by at most one configuration.
      CHECK(mine.size() == (pending.size() + std::size_t(ranks - 1 - r)) / std::size_t(ranks));
      for (std::size_t k = 0; k < mine.size(); ++k) CHECK(mine[k] == pending[std::size_t(r) + k * std::size_t(ranks)]);
      seen.insert(mine.begin(), mine.end());
    }
    CHECK(seen == std::multiset<std::size_t>(pending.begin(), pending.end()));
  }
  CHECK(assigned_to_rank({}, 0, 2).empty());
  CHECK_THROWS_AS(assigned_to_rank(pending, 2, 2), std::invalid_argument);
  CHECK_THROWS_AS(assigned_to_rank(pending, -1, 2), std::invalid_argument);
  CHECK_THROWS_AS(assigned_to_rank(pending, 0, 0), std::invalid_argument);
}

TEST_CASE("sweep outcomes round trip bit for bit: the same table, CSV and JSON", "[trainer][sweep][distributed]") {
  const auto losses = small_grid();
  const SweepOptions options = sweep_options();
  const std::vector<std::size_t> all = {0, 1, 2};
  std::vector<SweepOutcome> outcomes = run_configurations(
      losses, all, small_config(), options, 1, 1, ProgressMode::quiet, "", train_configuration(small_data(), options));
  // A failure travels too.
  outcomes[1].entry.reset();
  outcomes[1].error = "training diverged at epoch 2: \"quoted\", with a comma";
  outcomes[2].kept = true;
  const std::string bytes = write_outcomes(outcomes);
  const std::vector<SweepOutcome> back = read_outcomes(bytes, "test bytes");
  REQUIRE(back.size() == outcomes.size());
  for (std::size_t k = 0; k < back.size(); ++k) {
    CHECK(back[k].index == outcomes[k].index);
    CHECK(back[k].kept == outcomes[k].kept);
    CHECK(back[k].error == outcomes[k].error);
    REQUIRE(back[k].entry.has_value() == outcomes[k].entry.has_value());
    if (!back[k].entry) continue;
    const SweepEntry &a = *outcomes[k].entry, &b = *back[k].entry;
    CHECK(a.name == b.name);
    CHECK(a.best_epoch == b.best_epoch);
    CHECK(a.epochs_done == b.epochs_done);
    CHECK(a.seconds == b.seconds);
    CHECK(a.weights_fnv1a != 0);
    CHECK(a.weights_fnv1a == b.weights_fnv1a);
    for (const auto& [x, y] : {std::pair{&a.validation, &b.validation}, std::pair{&a.test, &b.test}}) {
      CHECK(x->split == y->split);
      CHECK(x->rows == y->rows);
      CHECK(x->global.f1.macro.f1 == y->global.f1.macro.f1);
      CHECK((x->tuned.f1.label_f1 == y->tuned.f1.label_f1).all());
      CHECK((x->global.f1.label_support == y->global.f1.label_support).all());
      CHECK(x->ranking.ps_ndcg == y->ranking.ps_ndcg);
      REQUIRE(x->tuned.buckets.size() == y->tuned.buckets.size());
      for (std::size_t i = 0; i < x->tuned.buckets.size(); ++i)
        CHECK(x->tuned.buckets[i].macro_f1 == y->tuned.buckets[i].macro_f1);
    }
  }
  const SweepResult original = sweep_result(losses, outcomes, options, 1, 1, 1);
  const SweepResult travelled = sweep_result(losses, back, options, 1, 1, 1);
  CHECK(printed(original) == printed(travelled));
  // The failed configuration is listed with its message, not ranked.
  REQUIRE(travelled.failures.size() == 1);
  CHECK(travelled.failures[0].name == losses[1].name());
  CHECK_THAT(format_sweep_table(travelled), Contains("FAILED (1 of 3") && Contains(outcomes[1].error));
  CHECK_THAT(sweep_csv(travelled), Contains("\nfailed," + losses[1].name() + ","));
  CHECK_THAT(sweep_json(travelled, "small"), Contains("\"failed\": [\n    {\"configuration\": \"" + losses[1].name()));

  // Damaged bytes are refused with the source named, never read past their end.
  for (std::size_t cut : {std::size_t(0), std::size_t(5), bytes.size() / 2, bytes.size() - 1})
    CHECK_THROWS_WITH(read_outcomes(std::string_view(bytes).substr(0, cut), "rank 1's results"),
                      Contains("rank 1's results"));
  CHECK_THROWS_WITH(read_outcomes(bytes + "x", "rank 1's results"), Contains("unexpected bytes"));
  std::string bad_kind = bytes;
  bad_kind[8 + 8] = 7;  // the first outcome's kind
  CHECK_THROWS_WITH(read_outcomes(bad_kind, "src"), Contains("outcome kind 7"));
  // Missing or repeated configurations are a bug, not a table.
  CHECK_THROWS_AS(sweep_result(losses, {outcomes[0], outcomes[1]}, options, 1, 1, 1), std::logic_error);
  CHECK_THROWS_AS(sweep_result(losses, {outcomes[0], outcomes[1], outcomes[1]}, options, 1, 1, 1), std::logic_error);
}

TEST_CASE("sweep: a configuration that fails is reported and the others finish", "[trainer][sweep]") {
  const auto losses = small_grid();
  const SweepOptions options = sweep_options();
  const ConfigurationTask train = train_configuration(small_data(), options);
  const ConfigurationTask failing_weighted = [&](const TrainConfig& cfg, Progress& p) {
    if (cfg.loss.kind == LossKind::weighted) throw std::runtime_error("disk full");
    return train(cfg, p);
  };
  for (int jobs : {1, 2}) {
    const SweepResult r = sweep_result(losses,
                                       run_configurations(losses, {0, 1, 2}, small_config(), options, jobs, 1,
                                                          ProgressMode::quiet, "", failing_weighted),
                                       options, jobs, 1, 1);
    CHECK(r.entries.size() == 2);
    REQUIRE(r.failures.size() == 1);
    CHECK(r.failures[0].name == "cap_4.0");
    CHECK(r.failures[0].message == "disk full");
  }
}

TEST_CASE("sweep store: fresh start, --resume keeps finished configurations and continues the others",
          "[trainer][sweep][resume]") {
  const auto losses = small_grid();
  const SweepOptions options = sweep_options();
  const TrainConfig base = small_config();
  SingleProcess one;
  SweepLaunch launch;
  launch.progress = ProgressMode::quiet;
  const SweepResult plain = run_sweep(small_data(), base, losses, options, 1, 1, ProgressMode::quiet);

  const std::string dir = fresh_folder("resume");
  launch.state_dir = dir + "/checkpoints";
  const SweepResult first = run_distributed_sweep(small_data(), base, losses, options, launch, one);
  // Checkpointing does not change the model (its weights bit for bit) nor the numbers.
  for (std::size_t i = 0; i < plain.entries.size(); ++i) {
    CHECK(first.entries[i].name == plain.entries[i].name);
    CHECK(first.entries[i].weights_fnv1a == plain.entries[i].weights_fnv1a);
    CHECK(first.entries[i].test.global.f1.macro.f1 == plain.entries[i].test.global.f1.macro.f1);
  }
  for (const auto& l : losses) {
    CHECK(std::filesystem::is_regular_file(launch.state_dir + "/" + l.name() + ".ltck"));
    CHECK(std::filesystem::is_regular_file(launch.state_dir + "/" + l.name() + ".result"));
  }

  // A configuration killed after its last checkpoint but before its result: resumed, same numbers.
  std::filesystem::remove(launch.state_dir + "/cap_4.0.result");
  // One killed mid-way: its checkpoint of epoch 2 (a shorter run with the same settings but
  // --epochs 2 leaves exactly that state).
  {
    TrainConfig two = base;
    two.epochs = 2;
    two.loss = losses[2];
    two.checkpoint_path = launch.state_dir + "/" + losses[2].name() + ".ltck";
    Progress quiet(ProgressMode::quiet);
    (void)train_model(small_data(), two, quiet);
    std::filesystem::remove(launch.state_dir + "/" + losses[2].name() + ".result");
  }
  launch.resume = true;
  const SweepResult resumed = run_distributed_sweep(small_data(), base, losses, options, launch, one);
  const auto without_times = [](SweepResult r) {
    r.seconds = 0;
    for (auto& e : r.entries) e.seconds = e.train_seconds_per_epoch = 0;
    return printed(r);
  };
  // (sweep.json holds every configuration's weights_fnv1a: the resumed models are bit for bit the same.)
  CHECK(without_times(resumed) == without_times(first));
  CHECK(without_times(resumed) == without_times(plain));

  // Other settings are refused, naming the setting; so is other data.
  TrainConfig other = base;
  other.adam.lr = 0.02;
  CHECK_THROWS_WITH(run_distributed_sweep(small_data(), other, losses, options, launch, one),
                    Contains("--lr") && Contains("0.02") && Contains("sweep.settings"));
  TrainConfig longer = base;
  longer.epochs = 4;
  CHECK_THROWS_AS(run_distributed_sweep(small_data(), longer, losses, options, launch, one), resume_error);
  // The decision-rule options are settings too: a resumed sweep never keeps results whose rule was
  // chosen under another metric or tolerance.
  SweepOptions by_micro = options;
  by_micro.metric = "micro";
  CHECK_THROWS_WITH(run_distributed_sweep(small_data(), base, losses, by_micro, launch, one),
                    Contains("--metric") && Contains("'micro'"));
  TrainConfig tolerant = base;
  tolerant.rules.tolerance_se = 2;
  CHECK_THROWS_WITH(run_distributed_sweep(small_data(), tolerant, losses, options, launch, one),
                    Contains("--select-se") && Contains("'2'"));
  TrainConfig simplest = base;
  simplest.rules.tie_break = TieBreak::simplest;
  CHECK_THROWS_WITH(run_distributed_sweep(small_data(), simplest, losses, options, launch, one),
                    Contains("--tie-break") && Contains("'simplest'"));
  Splits other_data = small_data();
  other_data.test.features.valuePtr()[0] += 1.0f;  // same shape and description, other contents
  CHECK_THROWS_WITH(run_distributed_sweep(other_data, base, losses, options, launch, one),
                    Contains("other test data") && Contains("different contents"));

  // A result file with other settings (copied from another sweep) is refused too.
  const SweepStore store(launch.state_dir, SweepStore::shared_settings(base, small_data()));
  const SweepStore other_store(launch.state_dir, SweepStore::shared_settings(other, small_data()));
  other_store.write_result(losses[0], resumed.entries[0]);
  CHECK_THROWS_WITH(store.load_result(losses[0]), Contains("--lr") && Contains(losses[0].name() + ".result"));
  // A damaged one is refused with the file named.
  {
    std::fstream f(store.result_path(losses[1]), std::ios::in | std::ios::out | std::ios::binary);
    f.seekp(40);
    f.put('\x7f');
  }
  CHECK_THROWS_WITH(store.load_result(losses[1]), Contains(losses[1].name() + ".result") && Contains("checksum"));

  // Without --resume the folder starts afresh (no results kept).
  launch.resume = false;
  const SweepResult again = run_distributed_sweep(small_data(), base, losses, options, launch, one);
  CHECK(without_times(again) == without_times(plain));
  std::filesystem::remove_all(dir);
}

TEST_CASE("sweep --resume in a folder without a sweep starts afresh", "[trainer][sweep][resume]") {
  const std::string dir = fresh_folder("empty");
  const SweepStore store(dir + "/checkpoints", SweepStore::shared_settings(small_config(), small_data()));
  CHECK_FALSE(store.check_resumable());
  CHECK_FALSE(store.load_result(small_grid()[0]).has_value());
  CHECK(store.start_fresh() == 0);
  CHECK(store.check_resumable());
  std::filesystem::remove_all(dir);
}
