// SPDX-License-Identifier: Apache-2.0
// What eval and predict load (saved_model.hpp): the ensemble file's round trip and every error
// named by file and line, an ensemble of checkpoints scoring the mean of its members'
// probabilities, and members that do not belong together refused.
#include <catch2/catch.hpp>

#include <unistd.h>

#include <cmath>
#include <filesystem>
#include <fstream>
#include <string>

#include "checkpoint.hpp"
#include "inference.hpp"
#include "saved_model.hpp"

using namespace longtail_train;
using Catch::Contains;

namespace {

// One folder per process: CTest runs the test cases of this file at once, each in its own process.
const std::string kDir = "longtail_trainer_test_saved_model_" + std::to_string(::getpid());

/// A finished 4-feature, 2-label checkpoint whose weights depend on `seed`.
Checkpoint member(float seed) {
  Checkpoint c;
  c.settings = {{"loss", "FocalBCE(gamma " + std::to_string(int(seed)) + ")"}};
  c.data = "unit test data";
  c.data_fingerprint = 42;
  c.shape = MlpShape{4, {3}, 2};
  const auto P = c.shape.parameter_count();
  c.state.params = Eigen::VectorXf::LinSpaced(P, -seed, seed);
  c.state.best_params = Eigen::VectorXf::LinSpaced(P, seed, -0.5f * seed);
  c.state.adam_m = c.state.adam_v = Eigen::VectorXf::Zero(P);
  c.state.epochs_done = 3;
  c.state.best_epoch = 2;
  c.state.history = {
      {1, 0.5, 0.1, 0.2, 1.0, 0.9, 0.8}, {2, 0.4, 0.4321, 0.3, 1.1, 1.0, 0.9}, {3, 0.3, 0.4, 0.35, 1.2, 1.1, 1.0}};
  c.state.best_score = 0.4321;
  c.thresholds = (Eigen::ArrayXd(2) << 0.3, 0.7).finished();
  c.rule = "shrunk";
  c.label_names = {"Sports", "Sports > Soccer"};
  c.train_label_counts = (Eigen::ArrayXd(2) << 100, 7).finished();
  c.state.finished = true;
  return c;
}

Dataset data(Eigen::Index features = 4, Eigen::Index labels = 2) {
  Dataset d;
  d.name = "unit rows";
  RowMatrix<float> x(3, features);
  for (Eigen::Index i = 0; i < x.size(); ++i) x.data()[i] = float(i % 5) * 0.25f - 0.5f;
  d.features = x.sparseView();
  d.labels = RowMatrix<float>::Zero(3, labels).sparseView();
  return d;
}

void write_text(const std::string& path, const std::string& text) { std::ofstream(path, std::ios::binary) << text; }

EnsembleFile two_members() {
  EnsembleFile e;
  e.members = {"a.ltck", "b.ltck"};
  e.rule = AppliedRule{"global+top1", (Eigen::ArrayXd(2) << 1.0 / 3.0, 0.1).finished(), true};
  return e;
}

struct Folder {
  Folder() {
    std::filesystem::remove_all(kDir);
    std::filesystem::create_directories(kDir + "/sub");
  }
  ~Folder() { std::filesystem::remove_all(kDir); }
};

}  // namespace

TEST_CASE("ensemble file: round trip, exact thresholds", "[trainer][saved-model]") {
  const Folder folder;
  const std::string path = kDir + "/ensemble.txt";
  save_ensemble_file(path, two_members());
  CHECK(is_ensemble_file(path));
  const EnsembleFile back = load_ensemble_file(path);
  CHECK(back.members == two_members().members);
  CHECK(back.rule.name == "global+top1");
  CHECK(back.rule.at_least_one);
  REQUIRE(back.rule.thresholds.size() == 2);
  CHECK(back.rule.thresholds[0] == 1.0 / 3.0);  // %.17g round-trips a double exactly
  CHECK(back.rule.thresholds[1] == 0.1);
  save_checkpoint(kDir + "/a.ltck", member(1));
  CHECK_FALSE(is_ensemble_file(kDir + "/a.ltck"));
  CHECK_FALSE(is_ensemble_file(kDir + "/missing.txt"));
  EnsembleFile one = two_members();
  one.members.pop_back();
  CHECK_THROWS_WITH(save_ensemble_file(path, one), Contains("at least 2 members"));
}

TEST_CASE("ensemble file: every error names the file and the line", "[trainer][saved-model]") {
  const Folder folder;
  const std::string path = kDir + "/bad.txt";
  const std::string header = "longtail-train ensemble 1\n";
  const std::string members = "member a.ltck\nmember b.ltck\n";
  auto error_of = [&](const std::string& text) {
    write_text(path, text);
    try {
      load_ensemble_file(path);
    } catch (const std::exception& e) {
      return std::string(e.what());
    }
    return std::string("no error");
  };
  CHECK_THAT(error_of("longtail-train ensemble 2\n"), Contains(path + ":1:") && Contains("not an ensemble file"));
  CHECK_THAT(error_of(""), Contains(path + ":1:") && Contains("empty"));
  CHECK_THAT(error_of(header + members + "rule global 0\nthresholds 0.5 0.5\nweights 1 2\n"),
             Contains(path + ":6:") && Contains("unknown item 'weights'"));
  CHECK_THAT(error_of(header + members + "rule global 2\nthresholds 0.5\n"),
             Contains(path + ":4:") && Contains("rule <name> <0|1>"));
  CHECK_THAT(error_of(header + members + "rule global 0\nthresholds 0.5 1.5\n"),
             Contains(path + ":5:") && Contains("threshold 2 '1.5'"));
  CHECK_THAT(error_of(header + members + "rule global 0\nthresholds 0.5 nan\n"), Contains("threshold 2 'nan'"));
  CHECK_THAT(error_of(header + members + "rule global 0\nthresholds 0.5 0.2x\n"), Contains("threshold 2 '0.2x'"));
  CHECK_THAT(error_of(header + "member a.ltck\nrule global 0\nthresholds 0.5\n"),
             Contains("at least 2 'member' lines (found 1)"));
  CHECK_THAT(error_of(header + members + "thresholds 0.5\n"), Contains("no 'rule' line"));
  CHECK_THAT(error_of(header + members + "rule global 0\n"), Contains("no 'thresholds' line"));
  CHECK_THAT(error_of(header + "member\n"), Contains(path + ":2:") && Contains("without a path"));
  CHECK_THROWS_WITH(load_ensemble_file(kDir + "/missing.txt"), Contains("missing.txt"));
}

TEST_CASE("an ensemble scores the mean of its members' probabilities at its own rule", "[trainer][saved-model]") {
  const Folder folder;
  save_checkpoint(kDir + "/sub/a.ltck", member(1));
  save_checkpoint(kDir + "/sub/b.ltck", member(2));
  const std::string path = kDir + "/sub/ensemble.txt";
  save_ensemble_file(path, two_members());  // relative member paths: next to the file
  const SavedModel m = load_saved_model(path);
  CHECK(m.ensemble);
  REQUIRE(m.checkpoints.size() == 2);
  CHECK(m.finished());
  CHECK(m.rule.name == "global+top1");
  CHECK(m.rule.thresholds[0] == 1.0 / 3.0);
  CHECK_THAT(m.describe(),
             Contains("ensemble of 2, decision rule global+top1") && Contains("a.ltck (FocalBCE(gamma 1)"));

  const Dataset d = data();
  const RowMatrix<float> p = saved_model_probabilities(m, d, d.features, 1);
  // Independently: each member's model, the mean in double.
  auto model_of = [](const Checkpoint& c) {
    Mlp<float> model(c.shape, c.dense_input);
    model.parameters() = c.state.best_params;
    return model;
  };
  const RowMatrix<double> pa = predict_probabilities(model_of(member(1)), d.features).cast<double>();
  const RowMatrix<double> pb = predict_probabilities(model_of(member(2)), d.features).cast<double>();
  REQUIRE(p.rows() == 3);
  REQUIRE(p.cols() == 2);
  CHECK(pa != pb);  // the members differ, so the mean is not either one
  for (Eigen::Index i = 0; i < 3; ++i)
    for (Eigen::Index j = 0; j < 2; ++j) CHECK(p(i, j) == float((pa(i, j) + pb(i, j)) / 2));

  // One checkpoint loads as itself, with its own rule.
  const SavedModel single = load_saved_model(kDir + "/sub/a.ltck");
  CHECK_FALSE(single.ensemble);
  CHECK(single.rule.name == "shrunk");
  CHECK(saved_model_probabilities(single, d, d.features, 1) == pa.cast<float>());

  // Data without the model's features / labels is refused, naming both.
  const Dataset wrong = data(5, 2);
  CHECK_THROWS_WITH(saved_model_probabilities(m, wrong, wrong.features, 1),
                    Contains("expects 4 features") && Contains("unit rows has 5") && Contains("unit test data"));
}

TEST_CASE("ensemble members that do not belong together are refused", "[trainer][saved-model]") {
  const Folder folder;
  const std::string path = kDir + "/ensemble.txt";
  save_checkpoint(kDir + "/a.ltck", member(1));
  auto refused = [&](const Checkpoint& b) {
    save_checkpoint(kDir + "/b.ltck", b);
    save_ensemble_file(path, two_members());
    try {
      load_saved_model(path);
    } catch (const std::exception& e) {
      return std::string(e.what());
    }
    return std::string("loaded");
  };
  CHECK(refused(member(2)) == "loaded");
  Checkpoint other_labels = member(2);
  other_labels.label_names = {"Sports", "News"};
  CHECK_THAT(refused(other_labels), Contains("member 2") && Contains("other label names"));
  Checkpoint other_data = member(2);
  other_data.data_fingerprint = 43;
  CHECK_THAT(refused(other_data), Contains("member 2") && Contains("other data"));
  Checkpoint wider = member(2);
  wider.shape = MlpShape{5, {3}, 2};
  wider.state.params = wider.state.best_params = wider.state.adam_m = wider.state.adam_v =
      Eigen::VectorXf::Zero(wider.shape.parameter_count());
  CHECK_THAT(refused(wider), Contains("takes 5 features") && Contains("member 1 4"));
  // A member that is not there: the checkpoint loader names it.
  std::filesystem::remove(kDir + "/b.ltck");
  CHECK_THROWS_WITH(load_saved_model(path), Contains("b.ltck"));
  // Thresholds for another number of labels.
  save_checkpoint(kDir + "/b.ltck", member(2));
  EnsembleFile three_thresholds = two_members();
  three_thresholds.rule.thresholds = Eigen::ArrayXd::Constant(3, 0.5);
  save_ensemble_file(path, three_thresholds);
  CHECK_THROWS_WITH(load_saved_model(path), Contains("3 thresholds for members with 2 labels"));
}
