// SPDX-License-Identifier: Apache-2.0
// A training run is loud about what it cannot do (issue 11, section 2): divergence that keeps every
// number finite, absurd feature values, labels that cannot be learnt, a resumed run on other data,
// output folders that cannot be written - each stops with a message or warns, never a silent
// useless model.
#include <catch2/catch.hpp>

#include <cstdio>
#include <string>

#include "checkpoint.hpp"
#include "cli.hpp"
#include "commands.hpp"
#include "data/generator.hpp"
#include "report.hpp"
#include "targets.hpp"
#include "trainer.hpp"
#include "trainer_test_data.hpp"

using namespace longtail_train;
using Catch::Contains;

namespace {

Splits small_data() {
  GeneratorConfig g;
  g.head_topic_count = 60;
  g.tail_topic_count = 8;
  g.vocabulary_size = 200;
  g.words_per_topic = 8;
  g.words_per_doc = 20;
  return test_data::small_corpus(test_data::flat_labels(8), g);
}

TrainConfig small_config() {
  TrainConfig c;
  c.hidden = {16};
  c.batch_size = 32;
  c.epochs = 3;
  c.patience = 0;
  c.adam.lr = 0.01;
  c.seed = 3;
  c.loss.kind = LossKind::focal;
  c.loss.gamma = 2;
  c.loss.scheme = longtail::WeightScheme::pos_neg_ratio;
  c.loss.cap = 7;
  return c;
}

/// Sets column `label` of every row of `d` to positive.
void label_every_row(Dataset& d, int label) {
  for (Eigen::Index r = 0; r < d.labels.rows(); ++r) d.labels.coeffRef(r, label) = 1.0f;
  d.labels.makeCompressed();
}

}  // namespace

TEST_CASE("divergence without a non-finite loss stops the run", "[trainer][run_checks]") {
  // lr 1e3: the loss explodes to ~1e6 and F1 collapses while every number stays finite; before,
  // this trained to the end and exited 0.
  const Splits data = small_data();
  TrainConfig cfg = small_config();
  cfg.adam.lr = 1e3;
  Progress quiet(ProgressMode::quiet);
  CHECK_THROWS_WITH(train_model(data, cfg, quiet), Contains("training diverged at epoch") && Contains("--lr"));
  // The same run at a sane learning rate trains.
  cfg.adam.lr = 0.01;
  CHECK_NOTHROW(train_model(data, cfg, quiet));
}

TEST_CASE("feature values the float model cannot train on are refused, naming row and feature",
          "[trainer][run_checks]") {
  Splits data = small_data();
  data.train.features.valuePtr()[5] = 1e30f;
  Progress quiet(ProgressMode::quiet);
  CHECK_THROWS_WITH(train_model(data, small_config(), quiet),
                    Contains("feature value of 1e+30") && Contains("row ") && Contains("scale the features"));
  data = small_data();
  data.test.features.valuePtr()[0] = std::numeric_limits<float>::quiet_NaN();
  CHECK_THROWS_WITH(train_model(data, small_config(), quiet), Contains("test") && Contains("feature value of nan"));
}

TEST_CASE("labels that cannot be learnt are named in warnings, no labels at all is an error", "[trainer][run_checks]") {
  Splits data = small_data();
  label_every_row(data.train, 2);  // pos_neg_ratio: (N - N) / N = 0, never learnt
  Progress quiet(ProgressMode::quiet);
  TrainResult r = train_model(data, small_config(), quiet);
  REQUIRE(r.warnings.size() == 1);
  CHECK_THAT(r.warnings[0], Contains("class weight 0") && Contains("'Topic2'") && Contains("--weights"));
  CHECK_THAT(result_json(r, "small"), Contains("\"warnings\": [\"1 label(s) get class weight 0"));
  // Without class weights nothing is zeroed: no warning.
  TrainConfig unweighted = small_config();
  unweighted.loss.scheme.reset();
  CHECK(train_model(data, unweighted, quiet).warnings.empty());

  // A label without training positives.
  data = small_data();
  for (Eigen::Index r2 = 0; r2 < data.train.labels.rows(); ++r2) data.train.labels.coeffRef(r2, 5) = 0.0f;
  data.train.labels.prune(0.5f);
  data.train.labels.makeCompressed();
  r = train_model(data, small_config(), quiet);
  REQUIRE(r.warnings.size() == 1);
  CHECK_THAT(r.warnings[0], Contains("no positive in the training split") && Contains("'Topic5'"));

  // No positive label anywhere: nothing to learn.
  data = small_data();
  data.train.labels.setZero();
  data.train.labels.makeCompressed();
  CHECK_THROWS_WITH(train_model(data, small_config(), quiet), Contains("no positive label in any row"));
}

TEST_CASE("resume refuses a data set with the same name and shape but other contents", "[trainer][run_checks]") {
  const std::string path = "longtail_trainer_run_checks_resume.ltck";
  const Splits data = small_data();
  TrainConfig cfg = small_config();
  cfg.epochs = 1;
  cfg.checkpoint_path = path;
  Progress quiet(ProgressMode::quiet);
  train_model(data, cfg, quiet);
  Splits other = data;  // same name, rows, features, labels; one value changed
  other.train.features.valuePtr()[0] *= 2;
  TrainConfig resume = cfg;
  resume.epochs = 2;
  resume.resume_path = path;
  CHECK_THROWS_WITH(train_model(other, resume, quiet), Contains("other data") && Contains("fingerprints"));
  CHECK_NOTHROW(train_model(data, resume, quiet));  // the same data resumes
  std::remove(path.c_str());
}

TEST_CASE("unwritable --out and --checkpoint fail before the data is read and the model trained",
          "[trainer][run_checks]") {
  // The data file does not exist: if the run reached the data, the error would name it.
  SingleProcess single;
  std::vector<const char*> argv{"longtail-train", "--xmc", "no-such-data.txt", "--checkpoint",
                                "no-such-folder/model.ltck"};
  CliOptions o = parse_cli(int(argv.size()), argv.data());
  CHECK_THROWS_WITH(run_train(o, single), Contains("--checkpoint") && Contains("no-such-folder/model.ltck") &&
                                              Contains("No such file or directory"));
  // --out under a regular file: not a folder.
  const std::string file = "longtail_trainer_run_checks_file";
  std::FILE* f = std::fopen(file.c_str(), "w");
  REQUIRE(f);
  std::fclose(f);
  argv = {"longtail-train", "--xmc", "no-such-data.txt", "--out", "longtail_trainer_run_checks_file/out"};
  o = parse_cli(int(argv.size()), argv.data());
  CHECK_THROWS_WITH(run_train(o, single), Contains("longtail_trainer_run_checks_file") && Contains("Not a directory"));
  std::remove(file.c_str());
}
