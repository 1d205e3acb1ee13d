// class_weights.hpp and metrics.hpp against hand-computed values (metrics: the same numbers
// scikit-learn 1.2 prints for these inputs, f1_score / precision_score / recall_score with
// zero_division=0, checked when the test was written).
#include <catch2/catch.hpp>

#include <cmath>
#include <limits>

#include "longtail/class_weights.hpp"
#include "longtail/metrics.hpp"

using longtail::ClassWeightOptions;
using longtail::WeightScheme;

TEST_CASE("class_weights: every scheme, normalisation, cap, unseen labels", "[class_weights]") {
  Eigen::ArrayXd counts(4);
  counts << 1000, 10, 0, 5;
  const Eigen::Index N = 2000;
  ClassWeightOptions o;

  o.scheme = WeightScheme::pos_neg_ratio;  // (N - n) / n; n = 0 counts as 1
  auto w = longtail::class_weights<double>(counts, N, o);
  CHECK(w[0] == Approx(1.0));
  CHECK(w[1] == Approx(199.0));
  CHECK(w[2] == Approx(1999.0));
  CHECK(w[3] == Approx(399.0));

  o.cap = 7;  // the grid search's knob
  w = longtail::class_weights<double>(counts, N, o);
  CHECK(w[0] == Approx(1.0));
  CHECK(w[1] == 7.0);
  CHECK(w[2] == 7.0);

  o = {};
  o.scheme = WeightScheme::inverse_frequency;  // N / (C n)
  w = longtail::class_weights<double>(counts, N, o);
  CHECK(w[0] == Approx(0.5));
  CHECK(w[1] == Approx(50.0));
  o.scheme = WeightScheme::sqrt_inverse_frequency;
  CHECK(longtail::class_weights<double>(counts, N, o)[1] == Approx(std::sqrt(50.0)));
  o.scheme = WeightScheme::sqrt_pos_neg_ratio;
  CHECK(longtail::class_weights<double>(counts, N, o)[1] == Approx(std::sqrt(199.0)));

  o.scheme = WeightScheme::effective_number;  // (1 - b) / (1 - b^n)
  o.beta = 0.99;
  w = longtail::class_weights<double>(counts, N, o);
  CHECK(w[1] == Approx(0.01 / (1 - std::pow(0.99, 10))));
  CHECK(w[2] == Approx(1.0));  // unseen: as n = 1

  o.normalize_mean = true;
  w = longtail::class_weights<double>(counts, N, o);
  CHECK(w.mean() == Approx(1.0));

  o = {};
  o.zero_count_weight = 0.0;
  w = longtail::class_weights<double>(counts, N, o);
  CHECK(w[2] == 0.0);

  o = {};
  o.scheme = WeightScheme::uniform;
  CHECK((longtail::class_weights<float>(counts, N, o) == 1.0f).all());

  CHECK(longtail::parse_weight_scheme("effective_number") == WeightScheme::effective_number);
  CHECK_FALSE(longtail::parse_weight_scheme("bogus").has_value());

  Eigen::MatrixXf y(3, 2);
  y << 1, 0, 1, 1, 0, 0;
  const Eigen::ArrayXd n = longtail::label_counts(y);
  CHECK(n[0] == 2);
  CHECK(n[1] == 1);
}

TEST_CASE("class_weights: bad input names the argument", "[class_weights][errors]") {
  Eigen::ArrayXd counts(2);
  counts << 3, 1;
  ClassWeightOptions o;
  o.cap = 0;
  CHECK_THROWS_WITH(longtail::class_weights<float>(counts, 10, o), Catch::Contains("ClassWeightOptions.cap"));
  o = {};
  o.beta = 1.0;
  CHECK_THROWS_WITH(longtail::class_weights<float>(counts, 10, o), Catch::Contains("ClassWeightOptions.beta"));
  CHECK_THROWS_WITH(longtail::class_weights<float>(counts, 0), Catch::Contains("num_samples must be > 0"));
  counts[1] = 11;
  CHECK_THROWS_WITH(longtail::class_weights<float>(counts, 10), Catch::Contains("label_counts[1]"));
  counts[1] = 1.5;
  CHECK_THROWS_AS(longtail::class_weights<float>(counts, 10), longtail::invalid_argument);
}

TEST_CASE("metrics: micro, macro and samples F1 as scikit-learn computes them", "[metrics]") {
  Eigen::MatrixXd s(4, 2);
  s << 0.9, 0.1, 0.6, 0.7, 0.2, 0.8, 0.4, 0.3;
  Eigen::MatrixXd y(4, 2);
  y << 1, 0, 1, 1, 0, 1, 1, 0;
  const auto r = longtail::metrics::f1_scores(s, y, 0.5);
  // Predictions: row0 {0}, row1 {0, 1}, row2 {1}, row3 {}. tp = 4, fp = 0, fn = 1.
  CHECK(r.micro.precision == Approx(1.0));
  CHECK(r.micro.recall == Approx(0.8));
  CHECK(r.micro.f1 == Approx(8.0 / 9));
  // label 0: tp 2, fn 1 -> F1 0.8; label 1: tp 2 -> F1 1.
  CHECK(r.label_f1[0] == Approx(0.8));
  CHECK(r.label_f1[1] == Approx(1.0));
  CHECK(r.macro.f1 == Approx(0.9));
  CHECK(r.macro.recall == Approx((2.0 / 3 + 1.0) / 2));
  // rows: 1, 1, 1, 0 (a positive never predicted).
  CHECK(r.samples.f1 == Approx(0.75));
  CHECK(r.label_support[0] == 3);

  // Strict "score > threshold": a score equal to the threshold is not predicted.
  Eigen::MatrixXd one(1, 1), pos(1, 1);
  one << 0.5;
  pos << 1;
  CHECK(longtail::metrics::f1_scores(one, pos, 0.5).micro.f1 == 0.0);
  longtail::metrics::MetricOptions zd;
  zd.zero_division = 1.0;
  Eigen::MatrixXd neg(1, 1);
  neg << 0;
  CHECK(longtail::metrics::f1_scores(one, neg, 0.5, zd).macro.f1 == 1.0);
}

TEST_CASE("metrics: per-label thresholds maximise validation F1", "[metrics]") {
  Eigen::MatrixXd s(4, 2);
  s << 0.9, 0.1, 0.6, 0.7, 0.2, 0.8, 0.4, 0.3;
  Eigen::MatrixXd y(4, 2);
  y << 1, 0, 1, 1, 0, 1, 1, 0;
  const Eigen::ArrayXd t = longtail::metrics::tune_thresholds(s, y);
  CHECK(t[0] == Approx(0.3));  // between 0.4 (positive) and 0.2 (negative)
  CHECK(t[1] == Approx(0.5));  // between 0.7 and 0.3
  CHECK(longtail::metrics::f1_scores(s, y, t).macro.f1 == Approx(1.0));

  longtail::metrics::ThresholdSearch few;
  few.min_positives = 3;
  few.fallback = 0.25;
  const Eigen::ArrayXd tf = longtail::metrics::tune_thresholds(s, y, few);
  CHECK(tf[0] == Approx(0.3));   // 3 positives: tuned
  CHECK(tf[1] == Approx(0.25));  // 2 positives: fallback
}

TEST_CASE("metrics: frequency buckets and shape errors", "[metrics][errors]") {
  Eigen::ArrayXd f1(5), counts(5);
  f1 << 0.9, 0.8, 0.5, 0.1, 0.3;
  counts << 1000, 100, 50, 5, 19;
  const auto b = longtail::metrics::frequency_bucket_f1(f1, counts);
  REQUIRE(b.size() == 3);
  CHECK(b[0].name == "head");
  CHECK(b[0].labels == 2);
  CHECK(b[0].macro_f1 == Approx(0.85));
  CHECK(b[1].labels == 1);
  CHECK(b[1].macro_f1 == Approx(0.5));
  CHECK(b[2].labels == 2);
  CHECK(b[2].macro_f1 == Approx(0.2));

  Eigen::MatrixXd s(2, 3), y(3, 2);
  s.setZero();
  y.setZero();
  CHECK_THROWS_WITH(longtail::metrics::f1_scores(s, y), Catch::Contains("targets has shape 3x2 but scores are 2x3"));
  CHECK_THROWS_WITH(longtail::metrics::f1_scores(s, s, Eigen::ArrayXd::Zero(2)), Catch::Contains("thresholds has 2"));
  CHECK_THROWS_WITH(longtail::metrics::frequency_bucket_f1(f1, Eigen::ArrayXd::Zero(2)),
                    Catch::Contains("train_counts"));
}
