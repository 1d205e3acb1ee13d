// SPDX-License-Identifier: Apache-2.0
// Checkpoint file format: round trip, and every kind of damage is detected with the file named.
#include <catch2/catch.hpp>

#include <cstdio>
#include <fstream>
#include <iterator>
#include <string>

#include "checkpoint.hpp"

using namespace longtail_train;

namespace {

std::string temp_path(const std::string& name) { return "longtail_trainer_test_" + name + ".ltck"; }

Checkpoint sample() {
  Checkpoint c;
  c.settings = {{"--lr", "0.001"}, {"loss", "FocalBCE(gamma 3)"}};
  c.data = "unit test data";
  c.shape = MlpShape{4, {3}, 2};
  const auto P = c.shape.parameter_count();
  c.params = Eigen::VectorXf::LinSpaced(P, -1, 1);
  c.best_params = Eigen::VectorXf::LinSpaced(P, 2, 3);
  c.adam_steps = 17;
  c.adam_m = Eigen::VectorXf::Constant(P, 0.25f);
  c.adam_v = Eigen::VectorXf::Constant(P, 0.5f);
  c.epochs_done = 3;
  c.best_epoch = 2;
  c.best_score = 0.4321;
  c.epochs_without_improvement = 1;
  c.history = {
      {1, 0.5, 0.1, 0.2, 1.0, 0.9, 0.8}, {2, 0.4, 0.4321, 0.3, 1.1, 1.0, 0.9}, {3, 0.3, 0.4, 0.35, 1.2, 1.1, 1.0}};
  c.thresholds = (Eigen::ArrayXd(2) << 0.3, 0.7).finished();
  c.label_names = {"Sports", "Sports > Soccer"};
  c.train_label_counts = (Eigen::ArrayXd(2) << 100, 7).finished();
  c.finished = true;
  return c;
}

std::string read_all(const std::string& path) {
  std::ifstream in(path, std::ios::binary);
  return {std::istreambuf_iterator<char>(in), std::istreambuf_iterator<char>()};
}

void write_all(const std::string& path, const std::string& bytes) {
  std::ofstream out(path, std::ios::binary | std::ios::trunc);
  out << bytes;
}

}  // namespace

TEST_CASE("checkpoint round trip keeps every field", "[trainer][checkpoint]") {
  const std::string path = temp_path("roundtrip");
  const Checkpoint c = sample();
  save_checkpoint(path, c);
  const Checkpoint d = load_checkpoint(path);
  CHECK(d.settings == c.settings);
  CHECK(d.data == c.data);
  CHECK(d.shape == c.shape);
  CHECK(d.params == c.params);
  CHECK(d.best_params == c.best_params);
  CHECK(d.adam_steps == 17);
  CHECK(d.adam_m == c.adam_m);
  CHECK(d.adam_v == c.adam_v);
  CHECK(d.epochs_done == 3);
  CHECK(d.best_epoch == 2);
  CHECK(d.best_score == 0.4321);
  CHECK(d.epochs_without_improvement == 1);
  REQUIRE(d.history.size() == 3);
  CHECK(d.history[1].val_macro_f1 == 0.4321);
  CHECK(d.history[2].train_cpu_seconds == 1.0);
  CHECK((d.thresholds == c.thresholds).all());
  CHECK(d.label_names == c.label_names);
  CHECK((d.train_label_counts == c.train_label_counts).all());
  CHECK(d.finished);
  CHECK(d.setting("--lr") == "0.001");
  std::remove(path.c_str());
}

TEST_CASE("damaged checkpoints are rejected with the file named", "[trainer][checkpoint]") {
  using Catch::Contains;
  const std::string path = temp_path("damaged");
  save_checkpoint(path, sample());
  const std::string good = read_all(path);

  std::string bad = good;
  bad[good.size() / 2] ^= 0x5a;
  write_all(path, bad);
  CHECK_THROWS_WITH(load_checkpoint(path), Contains(path) && Contains("checksum"));

  write_all(path, good.substr(0, good.size() - 10));
  CHECK_THROWS_WITH(load_checkpoint(path), Contains(path) && Contains("truncated"));

  bad = good;
  bad[0] = 'X';
  write_all(path, bad);
  CHECK_THROWS_WITH(load_checkpoint(path), Contains(path) && Contains("magic"));

  bad = good;
  bad[8] = 99;  // version
  write_all(path, bad);
  CHECK_THROWS_WITH(load_checkpoint(path), Contains(path) && Contains("version 99"));

  write_all(path, "");
  CHECK_THROWS_WITH(load_checkpoint(path), Contains(path));

  std::remove(path.c_str());
  CHECK_THROWS_WITH(load_checkpoint(path), Contains(path) && Contains("cannot open"));
  CHECK_THROWS_WITH(save_checkpoint("/nonexistent-dir/x.ltck", sample()), Contains("/nonexistent-dir/x.ltck"));
}
