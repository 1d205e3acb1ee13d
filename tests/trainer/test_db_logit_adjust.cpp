// SPDX-License-Identifier: Apache-2.0
// The trainer's wiring of the Distribution-Balanced loss (--loss db) and of logit adjustment
// (--logit-adjust TAU): names, descriptions, flag rules and errors, the functor each
// configuration builds (compared with the library's functor built by hand), that the offset
// enters the loss only (evaluation and inference use the raw logits), and that --resume refuses
// a checkpoint trained with other DB or logit-adjustment settings.
#include <catch2/catch.hpp>

#include <cmath>
#include <cstdio>
#include <initializer_list>
#include <string>
#include <vector>

#include "longtail/class_priors.hpp"
#include "longtail/cpu/distribution_balanced.hpp"
#include "longtail/cpu/focal_bce.hpp"
#include "longtail/metrics.hpp"

#include "cli.hpp"
#include "inference.hpp"
#include "loss.hpp"
#include "targets.hpp"
#include "trainer.hpp"
#include "trainer_test_data.hpp"

using namespace longtail_train;

namespace {

CliOptions parse(std::initializer_list<const char*> args) {
  std::vector<const char*> argv{"longtail-train"};
  argv.insert(argv.end(), args.begin(), args.end());
  return parse_cli(int(argv.size()), argv.data());
}

const Splits& wiring_data() { return test_data::tiny_flat_corpus(); }

TrainConfig small_config() {
  TrainConfig c;
  c.hidden = {32};
  c.batch_size = 32;
  c.epochs = 3;
  c.patience = 0;
  c.adam.lr = 0.01;
  c.seed = 5;
  return c;
}

/// Logits, 0/1 targets and counts of a 5 x 4 problem with every sign and size of logit.
struct Problem {
  RowMatrix<float> x, y;
  Eigen::ArrayXd counts;
  Eigen::Index rows = 40;
  Problem() : x(5, 4), y(5, 4), counts(4) {
    x << 2.5f, -1.0f, 0.3f, -4.0f, 0.0f, 1.5f, -2.0f, 3.0f, -0.7f, 0.2f, 6.0f, -8.0f, 1.1f, -3.3f, 0.9f, 0.4f, -1.6f,
        2.2f, -0.1f, 5.0f;
    y << 1, 0, 0, 1, 0, 1, 0, 0, 1, 0, 1, 0, 0, 0, 1, 1, 1, 1, 0, 0;
    counts << 12, 3, 0, 25;
  }
};

}  // namespace

TEST_CASE("db and logit adjustment: names and descriptions", "[trainer][loss][db]") {
  LossConfig db;
  db.kind = LossKind::db;
  db.gamma = 2;
  CHECK(db.name() == "db_g2");
  CHECK(db.describe() ==
        "DistributionBalanced(alpha 0.1, beta 10, mu 0.2, lambda 2, kappa 0.05, gamma 2), no class weights, mean over "
        "batch x labels");
  db.db_lambda = 1;
  db.db_kappa = 0;
  db.logit_adjust_tau = 0.5;
  CHECK(db.name() == "db_g2_lambda1_kappa0_la0.5");
  CHECK_THAT(db.describe(), Catch::Contains("lambda 1, kappa 0") &&
                                Catch::Contains("logit adjustment 0.5 log(prior) at training only"));
  LossConfig focal;
  focal.kind = LossKind::focal;
  focal.gamma = 3;
  focal.scheme = longtail::WeightScheme::pos_neg_ratio;
  focal.cap = 7;
  focal.logit_adjust_tau = 1;
  focal.label_smoothing = 0.1;
  CHECK(focal.name() == "cap_7.0_focal_g3_la1_ls0.1");
  CHECK(to_string(LossKind::db) == std::string("db"));
}

TEST_CASE("CLI: --loss db, its parameters and --logit-adjust", "[trainer][loss][db][cli]") {
  CHECK(parse({"--loss", "db"}).train.loss.name() == "db_g2");  // paper defaults, no class weights
  CHECK(parse({"--loss", "db", "--gamma", "none"}).train.loss.name() == "db_g0");
  CHECK(parse({"--loss", "db", "--gamma", "1"}).train.loss.name() == "db_g1");
  const CliOptions p = parse({"--loss", "db", "--db-alpha", "0.2", "--db-beta", "5", "--db-mu", "-0.1", "--db-lambda",
                              "1", "--db-kappa", "0"});
  CHECK(p.train.loss.db_alpha == 0.2);
  CHECK(p.train.loss.db_beta == 5);
  CHECK(p.train.loss.db_mu == -0.1);
  CHECK(p.train.loss.db_lambda == 1);
  CHECK(p.train.loss.db_kappa == 0);
  CHECK(p.train.loss.name() == "db_g2_alpha0.2_beta5_mu-0.1_lambda1_kappa0");
  CHECK(parse({"--loss", "db", "--weights", "sqrt_inverse_frequency", "--weight-mode", "class"}).train.loss.name() ==
        "sqrt_inverse_frequency_cap_7.0_classw_db_g2");
  CHECK(parse({"--logit-adjust", "1"}).train.loss.name() == "cap_7.0_focal_g3_la1");
  CHECK(parse({"--loss", "asl", "--logit-adjust", "0.25"}).train.loss.name() == "cap_7.0_asl_gp0_gn4_m0.05_la0.25");
  // The grid shares --logit-adjust; the baseline stays plain BCE.
  const auto grid = sweep_losses(parse({"sweep", "--logit-adjust", "0.5"}));
  CHECK(grid.front().name() == "bce");
  CHECK(grid.back().name() == "cap_8.0_focal_g3_la0.5");
  // Errors name the flag.
  CHECK_THROWS_WITH(parse({"--loss", "db", "--cap", "5"}),
                    Catch::Contains("--loss db") && Catch::Contains("--weight-mode class"));
  CHECK_THROWS_WITH(parse({"--db-alpha", "0.2"}), Catch::Contains("--db-alpha") && Catch::Contains("--loss db"));
  CHECK_THROWS_WITH(parse({"sweep", "--db-kappa", "0.2"}),
                    Catch::Contains("--db-kappa") && Catch::Contains("--search wide"));
  CHECK_THROWS_WITH(parse({"--loss", "db", "--db-lambda", "0"}), Catch::Contains("--db-lambda"));
  CHECK_THROWS_WITH(parse({"--loss", "db", "--db-beta", "-1"}), Catch::Contains("--db-beta"));
  CHECK_THROWS_WITH(parse({"--loss", "db", "--db-mu", "inf"}), Catch::Contains("--db-mu"));
  CHECK_THROWS_WITH(parse({"--logit-adjust", "-0.5"}), Catch::Contains("--logit-adjust"));
  CHECK_THROWS_WITH(parse({"--logit-adjust", "x"}), Catch::Contains("--logit-adjust"));
  CHECK_THROWS_WITH(parse({"--loss", "nope"}), Catch::Contains("db"));
  CHECK_THAT(help_text(Command::train), Catch::Contains("--logit-adjust") && Catch::Contains("--db-kappa"));
}

TEST_CASE("TrainingLoss: logit adjustment is the loss at x + tau log(prior)", "[trainer][loss][db]") {
  const Problem p;
  for (LossKind kind : {LossKind::bce, LossKind::focal, LossKind::asl, LossKind::db}) {
    LossConfig c;
    c.kind = kind;
    c.gamma = kind == LossKind::db ? 2 : 3;
    if (kind == LossKind::focal || kind == LossKind::asl) {
      c.scheme = longtail::WeightScheme::pos_neg_ratio;
      c.cap = 7;
    }
    LossConfig adjusted = c;
    adjusted.logit_adjust_tau = 0.75;
    const TrainingLoss plain(c, p.counts, p.rows, 1), la(adjusted, p.counts, p.rows, 1);
    CHECK(plain.logit_offset().size() == 0);
    REQUIRE(la.logit_offset().size() == 4);
    // The offset: tau * log(max(n_c, 1/2) / N), by hand.
    for (Eigen::Index j = 0; j < 4; ++j)
      CHECK(double(la.logit_offset()[j]) ==
            Approx(0.75 * std::log(std::max(p.counts[j], 0.5) / double(p.rows))).epsilon(1e-6));
    RowMatrix<float> shifted = p.x;
    for (Eigen::Index i = 0; i < shifted.rows(); ++i)
      for (Eigen::Index j = 0; j < 4; ++j) shifted(i, j) += la.logit_offset()[j];
    INFO(to_string(kind));
    CHECK(la.forward(p.x, p.y) == Approx(plain.forward(shifted, p.y)).epsilon(1e-5));
    RowMatrix<float> g1, g2;
    la.forward_backward(p.x, p.y, g1);
    plain.forward_backward(shifted, p.y, g2);
    CHECK((g1 - g2).cwiseAbs().maxCoeff() < 1e-6f);
    CHECK(std::abs(la.forward(p.x, p.y) - plain.forward(p.x, p.y)) > 1e-4);  // it does change the loss
  }
}

TEST_CASE("TrainingLoss: --loss db builds the library's DistributionBalanced", "[trainer][loss][db]") {
  const Problem p;
  LossConfig c;
  c.kind = LossKind::db;
  c.gamma = 1;
  c.db_alpha = 0.3;
  c.db_beta = 4;
  c.db_mu = 0.1;
  c.db_lambda = 3;
  c.db_kappa = 0.2;
  c.scheme = longtail::WeightScheme::sqrt_inverse_frequency;
  c.cap = 2;
  c.mode = WeightMode::class_weight;
  c.logit_adjust_tau = 0.5;
  const TrainingLoss loss(c, p.counts, p.rows, 1);
  longtail::DistributionBalancedOptions o;
  o.alpha = 0.3;
  o.beta = 4;
  o.mu = 0.1;
  o.lambda = 3;
  o.kappa = 0.2;
  o.gamma = 1;
  longtail::ClassWeightOptions w;
  w.scheme = longtail::WeightScheme::sqrt_inverse_frequency;
  w.cap = 2;
  const Eigen::ArrayXf weight = longtail::class_weights<float>(p.counts, p.rows, w);
  const Eigen::ArrayXf offset = longtail::logit_adjustment<float>(p.counts, p.rows, 0.5);
  const longtail::cpu::DistributionBalanced<float> ref(o, p.counts, p.rows, weight, offset);
  CHECK(loss.forward(p.x, p.y) == ref.forward(p.x, p.y));
  CHECK((loss.class_weights() == weight).all());
  // pos_weight (the default weight mode) has no meaning for DB: refused, naming the flag.
  c.mode = WeightMode::pos_weight;
  CHECK_THROWS_WITH(TrainingLoss(c, p.counts, p.rows, 1), Catch::Contains("--weight-mode class"));
}

TEST_CASE("logit adjustment trains on shifted logits but evaluates the raw ones", "[trainer][loss][db][e2e]") {
  const Splits& data = wiring_data();
  Progress quiet(ProgressMode::quiet);
  TrainConfig cfg = small_config();
  cfg.loss.kind = LossKind::db;
  cfg.loss.gamma = 2;
  cfg.loss.logit_adjust_tau = 0.5;
  const TrainResult r = train_model(data, cfg, quiet);
  // The reported metrics are those of the model's raw probabilities: no offset at inference.
  const RowMatrix<float> probs = predict_probabilities(r.model, data.validation.features);
  const RowMatrix<float> targets = dense_targets(data.validation.labels);
  const auto f1 = longtail::metrics::f1_scores(probs, targets, 0.5);
  CHECK(r.validation.global.f1.macro.f1 == f1.macro.f1);
  CHECK(r.validation.global.f1.micro.f1 == f1.micro.f1);
  // And those probabilities are the sigmoid of the raw logits.
  const RowMatrix<float> logits = r.model.predict_logits(data.validation.features);
  CHECK(std::abs(probs(0, 0) - 1.0f / (1.0f + std::exp(-logits(0, 0)))) < 1e-6f);
  // The offset did change training: the same run without it ends elsewhere.
  TrainConfig plain = cfg;
  plain.loss.logit_adjust_tau = 0;
  const TrainResult q = train_model(data, plain, quiet);
  CHECK(q.model.parameters() != r.model.parameters());
}

TEST_CASE("resume refuses a checkpoint of other DB or logit-adjustment settings", "[trainer][loss][db][checkpoint]") {
  const std::string path = "longtail_trainer_db_resume.ltck";
  Progress quiet(ProgressMode::quiet);
  TrainConfig cfg = small_config();
  cfg.epochs = 1;
  cfg.loss.kind = LossKind::db;
  cfg.loss.gamma = 2;
  cfg.loss.logit_adjust_tau = 0.25;
  cfg.checkpoint_path = path;
  train_model(wiring_data(), cfg, quiet);
  cfg.epochs = 2;
  cfg.resume_path = path;
  TrainConfig other_tau = cfg;
  other_tau.loss.logit_adjust_tau = 0.5;
  CHECK_THROWS_WITH(train_model(wiring_data(), other_tau, quiet),
                    Catch::Contains("loss") && Catch::Contains("logit adjustment 0.25"));
  TrainConfig other_kappa = cfg;
  other_kappa.loss.db_kappa = 0.1;
  CHECK_THROWS_WITH(train_model(wiring_data(), other_kappa, quiet), Catch::Contains("kappa 0.05"));
  CHECK(train_model(wiring_data(), cfg, quiet).epochs_done == 2);  // the same settings continue
  std::remove(path.c_str());
}
