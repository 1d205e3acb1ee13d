// SPDX-License-Identifier: Apache-2.0
// Checkpoint file format: round trip, and every kind of damage is detected with the file named.
#include <catch2/catch.hpp>

#include <cmath>
#include <cstdio>
#include <cstring>
#include <fstream>
#include <iterator>
#include <string>

#include "checkpoint.hpp"
#include "common/fnv1a.hpp"

using namespace longtail_train;

namespace {

std::string temp_path(const std::string& name) { return "longtail_trainer_test_" + name + ".ltck"; }

Checkpoint sample() {
  Checkpoint c;
  c.settings = {{"--lr", "0.001"}, {"loss", "FocalBCE(gamma 3)"}};
  c.data = "unit test data";
  c.shape = MlpShape{4, {3}, 2};
  const auto P = c.shape.parameter_count();
  c.state.params = Eigen::VectorXf::LinSpaced(P, -1, 1);
  c.state.best_params = Eigen::VectorXf::LinSpaced(P, 2, 3);
  c.state.adam_steps = 17;
  c.state.adam_m = Eigen::VectorXf::Constant(P, 0.25f);
  c.state.adam_v = Eigen::VectorXf::Constant(P, 0.5f);
  c.state.epochs_done = 3;
  c.state.best_epoch = 2;
  c.state.best_score = 0.4321;
  c.state.epochs_without_improvement = 1;
  c.state.history = {
      {1, 0.5, 0.1, 0.2, 1.0, 0.9, 0.8}, {2, 0.4, 0.4321, 0.3, 1.1, 1.0, 0.9}, {3, 0.3, 0.4, 0.35, 1.2, 1.1, 1.0}};
  c.thresholds = (Eigen::ArrayXd(2) << 0.3, 0.7).finished();
  c.rule = "shrunk+top1";
  c.at_least_one = true;
  c.label_names = {"Sports", "Sports > Soccer"};
  c.train_label_counts = (Eigen::ArrayXd(2) << 100, 7).finished();
  c.train_rows = 250;
  c.state.finished = true;
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
  CHECK(d.state.params == c.state.params);
  CHECK(d.state.best_params == c.state.best_params);
  CHECK(d.state.adam_steps == 17);
  CHECK(d.state.adam_m == c.state.adam_m);
  CHECK(d.state.adam_v == c.state.adam_v);
  CHECK(d.state.epochs_done == 3);
  CHECK(d.state.best_epoch == 2);
  CHECK(d.state.best_score == 0.4321);
  CHECK(d.state.epochs_without_improvement == 1);
  REQUIRE(d.state.history.size() == 3);
  CHECK(d.state.history[1].val_macro_f1 == 0.4321);
  CHECK(d.state.history[2].train_cpu_seconds == 1.0);
  CHECK((d.thresholds == c.thresholds).all());
  CHECK(d.rule == "shrunk+top1");
  CHECK(d.at_least_one);
  CHECK(d.label_names == c.label_names);
  CHECK((d.train_label_counts == c.train_label_counts).all());
  CHECK(d.train_rows == 250);
  CHECK(d.state.finished);
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
  CHECK_THROWS_WITH(load_checkpoint(path), Contains(path) && Contains("No such file or directory"));
  CHECK_THROWS_WITH(load_checkpoint("."), Contains("checkpoint") && Contains("Is a directory"));
  CHECK_THROWS_WITH(save_checkpoint("/nonexistent-dir/x.ltck", sample()),
                    Contains("/nonexistent-dir/x.ltck") && Contains("No such file or directory"));
}

// A checkpoint whose checksum is valid (written by save_checkpoint itself) but whose contents
// are impossible: each is refused on load, naming what is wrong, instead of resuming into NaN
// weights, a negative epoch loop or a multi-exabyte allocation.
TEST_CASE("checkpoints with impossible contents are refused", "[trainer][checkpoint]") {
  using Catch::Contains;
  const std::string path = temp_path("impossible");
  auto refused = [&](const Checkpoint& c, const std::string& what) {
    save_checkpoint(path, c);
    CHECK_THROWS_WITH(load_checkpoint(path), Contains(path) && Contains(what));
  };
  Checkpoint c = sample();
  c.state.params[1] = std::nanf("");
  refused(c, "parameters hold a non-finite value");
  c = sample();
  c.state.best_params[0] = INFINITY;
  refused(c, "best parameters hold a non-finite value");
  c = sample();
  c.thresholds[1] = std::nan("");
  refused(c, "threshold is not a probability");
  c = sample();
  c.thresholds[0] = 1.5;
  refused(c, "threshold is not a probability");
  c = sample();
  c.state.epochs_done = -3;
  refused(c, "epochs_done is -3");
  c = sample();
  c.state.epochs_done = 2000000000;
  refused(c, "epochs_done is 2000000000");
  c = sample();
  c.state.best_epoch = 7;
  refused(c, "best epoch 7 is outside 0..3");
  c = sample();
  c.state.epochs_without_improvement = -1;
  refused(c, "epochs without improvement -1");
  c = sample();
  c.state.adam_steps = -5;
  refused(c, "Adam step count is -5");
  c = sample();
  c.state.history.pop_back();
  refused(c, "history has 2 epochs, epochs_done is 3");
  c = sample();
  c.train_label_counts[0] = -1;
  refused(c, "training label count is negative");
  c = sample();
  c.train_rows = -4;
  refused(c, "training rows are negative (-4)");
  c = sample();
  c.train_rows = 99;  // a label with 100 positives
  refused(c, "a training label count exceeds the 99 training rows");
  c = sample();
  c.rule = "median";
  refused(c, "unknown decision rule 'median'");
  c = sample();
  c.at_least_one = false;  // "shrunk+top1" without its top-1
  refused(c, "disagree");
  // (inputs + 1) * outputs overflows 64-bit arithmetic: refused before any allocation.
  c = sample();
  c.shape = MlpShape{Eigen::Index(1) << 40, {}, Eigen::Index(1) << 40};
  refused(c, "more than 2147483647 parameters");
  c = sample();
  c.shape = MlpShape{Eigen::Index(1) << 20, {Eigen::Index(1) << 20}, 2};
  refused(c, "more than 2147483647 parameters");
  std::remove(path.c_str());
}

TEST_CASE("version 1 checkpoints (no data fingerprint) are still read", "[trainer][checkpoint]") {
  const std::string path = temp_path("version1");
  Checkpoint c = sample();
  c.data_fingerprint = 0;
  save_checkpoint(path, c);
  std::string bytes = read_all(path);
  // Version 2's payload = settings, data description, fingerprint, ...: cut the 8 fingerprint
  // bytes, set the version and size fields, and recompute the checksum.
  constexpr std::size_t header = 8 + 4 + 4 + 8;
  std::string payload = bytes.substr(header, bytes.size() - header - 8);
  std::size_t at = 8;                                              // settings count
  for (std::uint64_t i = 0; i < 2 * c.settings.size() + 1; ++i) {  // names, values, data description
    std::uint64_t n;
    std::memcpy(&n, payload.data() + at, 8);
    at += 8 + n;
  }
  payload.erase(at, 8);
  payload.erase(payload.size() - 8);                        // version 4's last field: the training rows
  payload.erase(payload.size() - (8 + c.rule.size() + 1));  // version 3's last fields: the rule, at-least-one
  payload.pop_back();  // version 2's last field: the text featurizer's presence byte (0: none)
  const std::uint32_t version = 1;
  const std::uint64_t size = payload.size(), checksum = fnv1a64(payload.data(), payload.size());
  std::string v1 = bytes.substr(0, 8);
  v1.append(reinterpret_cast<const char*>(&version), 4);
  v1.append(bytes.substr(12, 4));
  v1.append(reinterpret_cast<const char*>(&size), 8);
  v1 += payload;
  v1.append(reinterpret_cast<const char*>(&checksum), 8);
  write_all(path, v1);
  const Checkpoint d = load_checkpoint(path);
  CHECK(d.data_fingerprint == 0);
  CHECK(d.state.params == c.state.params);
  CHECK(d.label_names == c.label_names);
  CHECK_FALSE(d.featurizer.has_value());
  CHECK(d.rule == "per-label");  // the thresholds versions 1 and 2 saved were tuned per label
  CHECK(d.train_rows == 0);      // unknown before version 4
  CHECK_FALSE(d.at_least_one);
  std::remove(path.c_str());
}
