// SPDX-License-Identifier: Apache-2.0
// Decision rules (decision_rules.hpp): each rule on hand-made probabilities with thresholds
// computed by hand; the exact global search against brute force; at-least-one; cross-fitting that
// never lets a row's own label choose the threshold that scores it (and is less optimistic than
// in-sample tuning); determinism; bad flag values named.
#include <catch2/catch.hpp>

#include <algorithm>
#include <cmath>
#include <initializer_list>
#include <set>
#include <stdexcept>
#include <string>
#include <vector>

#include "cli.hpp"
#include "common/rng.hpp"
#include "decision_rules.hpp"

using namespace longtail_train;
using Catch::Contains;

namespace {

RowMatrix<float> matrix(Eigen::Index rows, Eigen::Index cols, std::initializer_list<float> values) {
  RowMatrix<float> m(rows, cols);
  if (std::size_t(rows * cols) != values.size()) throw std::logic_error("matrix: wrong number of values");
  std::copy(values.begin(), values.end(), m.data());
  return m;
}

double score(const RowMatrix<float>& p, const RowMatrix<float>& y, double t, bool top1, F1Average a) {
  return f1_of(longtail::metrics::f1_scores(apply_thresholds(p, Eigen::ArrayXd::Constant(p.cols(), t), top1), y, 0.5),
               a);
}

RuleOptions options_with(double shrinkage, Eigen::Index min_positives) {
  RuleOptions o;
  o.shrinkage = shrinkage;
  o.min_positives = min_positives;
  return o;
}

// 4 rows x 2 labels. Label 0: scores .9 .8 .4 .3, positives rows 0-1 (separable: its own best
// cut is .6, F1 1). Label 1: scores .1 .6 .7 .2, positives rows 2-3: its best cut keeps the top
// 3 (.7 .6 .2 -> F1 2*2/(3+2) = .8), threshold (.2 + .1)/2 = .15.
// One global threshold, macro-F1 at each cut between the 8 sorted scores:
//   .85: 1/3   .75: 1/2   .65: (1 + 2/3)/2 = .8333   .5: .75   .35: .65   .25: .5833   .15: .7333   .05: .6667
// so t_global = .65.
const RowMatrix<float> kP = matrix(4, 2, {0.9f, 0.1f, 0.8f, 0.6f, 0.4f, 0.7f, 0.3f, 0.2f});
const RowMatrix<float> kY = matrix(4, 2, {1, 0, 1, 0, 0, 1, 0, 1});

}  // namespace

TEST_CASE("rules: names, order and parsing", "[trainer][rules]") {
  std::vector<std::string> names;
  for (const auto& r : all_rules()) names.push_back(r.name());
  CHECK(names == std::vector<std::string>{"0.5", "0.5+top1", "global", "global+top1", "shrunk", "shrunk+top1",
                                          "per-label", "per-label+top1"});
  for (const auto& r : all_rules()) CHECK(parse_rule(r.name()) == r);
  CHECK_FALSE(parse_rule("auto"));
  CHECK_FALSE(parse_rule("shrunk+top2"));
  CHECK(rule_choices() == "auto, 0.5, 0.5+top1, global, global+top1, shrunk, shrunk+top1, per-label, per-label+top1");
}

TEST_CASE("rules: apply_thresholds, and at-least-one on rows where nothing clears the threshold", "[trainer][rules]") {
  const RowMatrix<float> p = matrix(3, 3, {0.2f, 0.1f, 0.2f, 0.7f, 0.4f, 0.1f, 0.3f, 0.3f, 0.3f});
  const Eigen::ArrayXd half = Eigen::ArrayXd::Constant(3, 0.5);
  CHECK(apply_thresholds(p, half, false) == matrix(3, 3, {0, 0, 0, 1, 0, 0, 0, 0, 0}));
  // Rows 0 and 2 have no label above 0.5: their most probable label, the lowest index among equal
  // maxima (row 0: labels 0 and 2 at 0.2; row 2: all three at 0.3). Row 1 keeps its own.
  CHECK(apply_thresholds(p, half, true) == matrix(3, 3, {1, 0, 0, 1, 0, 0, 1, 0, 0}));
  CHECK(top_label(p.row(1).data(), 3) == 0);
  CHECK(top_label(p.row(0).data(), 0) == -1);
  CHECK_THROWS_WITH(apply_thresholds(p, Eigen::ArrayXd::Constant(2, 0.5), false), Contains("2 thresholds for 3"));
}

TEST_CASE("rules: the global threshold, hand-computed", "[trainer][rules]") {
  CHECK(tune_global_threshold(kP, kY, F1Average::macro, false) == Approx(0.65));
  CHECK(score(kP, kY, 0.65, false, F1Average::macro) == Approx(5.0 / 6));

  // Rows r0 [.9 T, .2 F], r1 [.6 F, .7 T], r2 [.3 T, .4 T]: macro, micro and samples all peak at
  // the cut between .3 and .2 (macro (4/5 + 1)/2 = .9, micro 8/9, samples (1 + 2/3 + 1)/3).
  const RowMatrix<float> p = matrix(3, 2, {0.9f, 0.2f, 0.6f, 0.7f, 0.3f, 0.4f});
  const RowMatrix<float> y = matrix(3, 2, {1, 0, 0, 1, 1, 1});
  for (F1Average a : {F1Average::macro, F1Average::micro, F1Average::samples})
    CHECK(tune_global_threshold(p, y, a, false) == Approx(0.25));
  CHECK(score(p, y, 0.25, false, F1Average::macro) == Approx(0.9));
  CHECK(score(p, y, 0.25, false, F1Average::micro) == Approx(8.0 / 9));
  CHECK(score(p, y, 0.25, false, F1Average::samples) == Approx(8.0 / 9));

  // macro+micro is the mean of the two, and can choose another cut than macro: rows
  // r0 [.05 F, .5 F], r1 [.15 T, .3 F], r2 [.2 T, .1 F], r3 [.65 T, .95 T]. At the cut .575 label A
  // has F1 1/2 and B 1 (macro .75, micro 4/6); at .125 A has 1 and B 1/2 (macro .75, micro 8/10).
  // Macro ties and keeps the higher cut; the mean prefers .125: (.75 + .8) / 2 = .775 > .7083.
  const RowMatrix<float> p2 = matrix(4, 2, {0.05f, 0.5f, 0.15f, 0.3f, 0.2f, 0.1f, 0.65f, 0.95f});
  const RowMatrix<float> y2 = matrix(4, 2, {0, 0, 1, 0, 1, 0, 1, 1});
  CHECK(tune_global_threshold(p2, y2, F1Average::macro, false) == Approx(0.575));
  CHECK(tune_global_threshold(p2, y2, F1Average::macro_micro, false) == Approx(0.125));
  CHECK(score(p2, y2, 0.125, false, F1Average::macro_micro) == Approx(0.775));
  CHECK(score(p2, y2, 0.575, false, F1Average::macro_micro) == Approx((0.75 + 4.0 / 6) / 2));

  // Ties go to the higher threshold: one label, scores .9 .6 .3 .2 with positives at .9 and .2;
  // F1 is 2/3 both at the cut .75 (one predicted) and at .1 (all four predicted).
  const RowMatrix<float> tie_p = matrix(4, 1, {0.9f, 0.6f, 0.3f, 0.2f});
  const RowMatrix<float> tie_y = matrix(4, 1, {1, 0, 0, 1});
  CHECK(tune_global_threshold(tie_p, tie_y, F1Average::macro, false) == Approx(0.75));

  // Nothing to tune on: the fallback.
  CHECK(tune_global_threshold(RowMatrix<float>(0, 2), RowMatrix<float>(0, 2), F1Average::macro, false, 0.4) == 0.4);
  CHECK_THROWS_WITH(tune_global_threshold(kP, RowMatrix<float>::Zero(3, 2), F1Average::macro, false),
                    Contains("targets 3x2"));
}

TEST_CASE("rules: the global threshold with at-least-one, hand-computed", "[trainer][rules]") {
  // r0 [.3 T, .1 F], r1 [.1 F, .2 T]. Without top-1 the highest best cut is between .2 and .1
  // (t = .15, macro 1). With top-1 each row's top label (both correct) is predicted at any
  // threshold, so the highest candidate, .1 (the highest other score: nothing else predicted),
  // already gives 1 and wins the tie.
  const RowMatrix<float> p = matrix(2, 2, {0.3f, 0.1f, 0.1f, 0.2f});
  const RowMatrix<float> y = matrix(2, 2, {1, 0, 0, 1});
  const double plain = tune_global_threshold(p, y, F1Average::macro, false);
  const double top1 = tune_global_threshold(p, y, F1Average::macro, true);
  CHECK(plain == Approx(0.15));
  CHECK(top1 == double(0.1f));  // the score itself: p > t is false for the two cells at .1
  CHECK(score(p, y, top1, true, F1Average::macro) == 1.0);
  // The top-1 labels alone are right here: at-least-one scores 1 at any threshold, plain rules 0.
  CHECK(score(p, y, 0.95, true, F1Average::macro) == 1.0);
  CHECK(score(p, y, 0.95, false, F1Average::macro) == 0.0);
}

TEST_CASE("rules: the exact global search finds the best cut (brute force over every cut)", "[trainer][rules]") {
  Rng rng(42, 7);
  for (int trial = 0; trial < 30; ++trial) {
    const Eigen::Index n = 3 + Eigen::Index(rng.below(8)), L = 1 + Eigen::Index(rng.below(5));
    RowMatrix<float> p(n, L), y(n, L);
    for (Eigen::Index i = 0; i < n; ++i)
      for (Eigen::Index j = 0; j < L; ++j) {
        p(i, j) = float(rng.below(11)) / 10.0f;  // ties on purpose
        y(i, j) = rng.bernoulli(0.35) ? 1.0f : 0.0f;
      }
    std::vector<double> s(p.data(), p.data() + p.size());
    std::sort(s.begin(), s.end());
    s.erase(std::unique(s.begin(), s.end()), s.end());
    std::vector<double> cuts{s.back(), 1.0};
    for (std::size_t k = 0; k + 1 < s.size(); ++k) cuts.push_back(0.5 * (s[k] + s[k + 1]));
    if (s.front() > 0) cuts.push_back(0.5 * s.front());
    for (F1Average a : {F1Average::macro, F1Average::micro, F1Average::samples, F1Average::macro_micro})
      for (bool top1 : {false, true}) {
        double best = 0;
        for (double t : cuts) best = std::max(best, score(p, y, t, top1, a));
        const double t = tune_global_threshold(p, y, a, top1);
        INFO("trial " << trial << " metric " << to_string(a) << " top1 " << top1 << " threshold " << t);
        CHECK(t >= 0);
        CHECK(t <= 1);
        CHECK(score(p, y, t, top1, a) == Approx(best).margin(1e-12));
      }
  }
}

TEST_CASE("rules: shrunk thresholds, hand-computed", "[trainer][rules]") {
  const Eigen::ArrayXd raw = (Eigen::ArrayXd(3) << 0.2, 0.8, 0.6).finished();
  const Eigen::ArrayXd positives = (Eigen::ArrayXd(3) << 10, 2, 30).finished();
  // m = 10: (10 * .2 + 10 * .4) / 20 = .3; 2 positives < 3 keep .4; (30 * .6 + 10 * .4) / 40 = .55.
  const Eigen::ArrayXd t = shrink_thresholds(raw, positives, 0.4, 10, 3);
  CHECK(t[0] == Approx(0.3));
  CHECK(t[1] == 0.4);
  CHECK(t[2] == Approx(0.55));
  // m = 0 is the raw per-label rule (above the minimum); a huge m is the global rule.
  CHECK(shrink_thresholds(raw, positives, 0.4, 0, 1).isApprox(raw));
  CHECK((shrink_thresholds(raw, positives, 0.4, 1e12, 1) - 0.4).abs().maxCoeff() < 1e-9);
  CHECK_THROWS_WITH(shrink_thresholds(raw, Eigen::ArrayXd::Ones(2), 0.4, 10, 3), Contains("3 thresholds but 2"));
}

TEST_CASE("rules: every rule fitted on hand-made probabilities", "[trainer][rules]") {
  const std::vector<FittedRule> f = fit_rules(all_rules(), kP, kY, options_with(2, 1));
  REQUIRE(f.size() == 8);
  auto thresholds = [&](const char* name) {
    for (const auto& r : f)
      if (r.rule.name() == name) return r.thresholds;
    FAIL("no rule " << name);
    return Eigen::ArrayXd();
  };
  CHECK((thresholds("0.5") == 0.5).all());
  CHECK((thresholds("global") - 0.65).abs().maxCoeff() < 1e-6);
  // per-label: label 0's cut between .8 and .4, label 1's between .2 and .1.
  CHECK(thresholds("per-label")[0] == Approx(0.6));
  CHECK(thresholds("per-label")[1] == Approx(0.15));
  // shrunk, m = 2, both labels with 2 validation positives: (2 * .6 + 2 * .65) / 4 = .625 and
  // (2 * .15 + 2 * .65) / 4 = .4.
  CHECK(thresholds("shrunk")[0] == Approx(0.625));
  CHECK(thresholds("shrunk")[1] == Approx(0.4));
  // With a minimum of 3 validation positives both labels keep the global threshold.
  const std::vector<FittedRule> strict = fit_rules({{ThresholdKind::shrunk, false}}, kP, kY, options_with(2, 3));
  CHECK((strict[0].thresholds - 0.65).abs().maxCoeff() < 1e-6);
  CHECK(strict[0].global_threshold == Approx(0.65));
}

TEST_CASE("rules: cross-fitting is honest where in-sample tuning scores 1.0", "[trainer][rules]") {
  // One label, 10 rows, scores k/16 (exact in float): rows 1..5 negative, 6..10 positive, so the
  // tuned threshold separates them perfectly in-sample (F1 1.0). Left-one-out (10 folds): the
  // held-out lowest positive 6/16 meets the threshold tuned on the others, the midpoint of 5/16
  // and 7/16 = 6/16, and p > 6/16 is false: one false negative, F1 2*4/(2*4 + 1) = 8/9. (The
  // held-out highest negative 5/16 meets (4/16 + 6/16)/2 = 5/16 and stays negative.)
  RowMatrix<float> p(10, 1), y(10, 1);
  for (int k = 1; k <= 10; ++k) {
    p(k - 1, 0) = float(k) / 16.0f;
    y(k - 1, 0) = k >= 6 ? 1.0f : 0.0f;
  }
  RuleOptions o = options_with(0, 1);
  o.folds = 10;
  const std::vector<DecisionRule> rules{
      {ThresholdKind::per_label, false}, {ThresholdKind::global, false}, {ThresholdKind::shrunk, false}};
  const std::vector<FittedRule> in_sample = fit_rules(rules, p, y, o);
  const std::vector<RowMatrix<float>> honest = cross_fitted_predictions(rules, p, y, o);
  for (std::size_t r = 0; r < rules.size(); ++r) {
    INFO(rules[r].name());
    const auto own = longtail::metrics::f1_scores(apply_thresholds(p, in_sample[r].thresholds, false), y, 0.5);
    CHECK(own.macro.f1 == 1.0);
    const auto held_out = longtail::metrics::f1_scores(honest[r], y, 0.5);
    CHECK(held_out.macro.f1 == Approx(8.0 / 9));
    CHECK(honest[r](5, 0) == 0.0f);  // the missed positive, 6/16
  }
}

TEST_CASE("rules: cross-fitting never uses a row's own label for the threshold that predicts it", "[trainer][rules]") {
  // Flip every label of one row: that row's cross-fitted predictions must not move (its labels
  // only ever reach the tuning of the other folds), for every rule.
  Rng rng(3, 9);
  const Eigen::Index n = 24, L = 4;
  RowMatrix<float> p(n, L), y(n, L);
  for (Eigen::Index i = 0; i < n; ++i)
    for (Eigen::Index j = 0; j < L; ++j) {
      p(i, j) = rng.uniform_float();
      y(i, j) = rng.bernoulli(0.2 + 0.15 * double(j) + 0.4 * p(i, j)) ? 1.0f : 0.0f;
    }
  RuleOptions o = options_with(3, 1);
  o.folds = 4;
  const std::vector<RowMatrix<float>> base = cross_fitted_predictions(all_rules(), p, y, o);
  const std::vector<int> fold = fold_assignment(n, o.folds, o.seed);
  int rows_elsewhere_moved = 0;
  for (Eigen::Index i = 0; i < n; ++i) {
    RowMatrix<float> flipped = y;
    flipped.row(i) = (1.0f - y.row(i).array()).matrix();
    const std::vector<RowMatrix<float>> after = cross_fitted_predictions(all_rules(), p, flipped, o);
    for (std::size_t r = 0; r < all_rules().size(); ++r) {
      INFO("row " << i << " rule " << all_rules()[r].name());
      CHECK(after[r].row(i) == base[r].row(i));
      // Rows of the same fold share the tuning rows, so they do not move either.
      for (Eigen::Index q = 0; q < n; ++q)
        if (fold[std::size_t(q)] == fold[std::size_t(i)]) CHECK(after[r].row(q) == base[r].row(q));
      rows_elsewhere_moved += after[r] != base[r];
    }
  }
  // ...while the rows of the other folds do see the flipped labels (the test can fail).
  CHECK(rows_elsewhere_moved > 0);
  // An untuned rule predicts as it always does.
  CHECK(base[0] == apply_thresholds(p, Eigen::ArrayXd::Constant(L, 0.5), false));
  CHECK(base[1] == apply_thresholds(p, Eigen::ArrayXd::Constant(L, 0.5), true));
}

TEST_CASE("rules: folds are deterministic, balanced and seeded", "[trainer][rules]") {
  const std::vector<int> a = fold_assignment(23, 5, 1), b = fold_assignment(23, 5, 1), c = fold_assignment(23, 5, 2);
  CHECK(a == b);
  CHECK(a != c);
  std::vector<int> sizes(5, 0);
  for (int f : a) sizes[std::size_t(f)] += 1;
  CHECK(*std::min_element(sizes.begin(), sizes.end()) == 4);
  CHECK(*std::max_element(sizes.begin(), sizes.end()) == 5);
  const std::vector<int> few = fold_assignment(3, 5, 1);  // K = min(folds, rows)
  CHECK(std::set<int>(few.begin(), few.end()) == std::set<int>{0, 1, 2});
  // fold_members: the rows of each fold, ascending, every row in exactly its own fold.
  const auto members = fold_members(a);
  REQUIRE(members.size() == 5);
  std::size_t total = 0;
  for (std::size_t f = 0; f < members.size(); ++f) {
    CHECK(members[f].size() == std::size_t(sizes[f]));
    CHECK(std::is_sorted(members[f].begin(), members[f].end()));
    for (Eigen::Index i : members[f]) CHECK(a[std::size_t(i)] == int(f));
    total += members[f].size();
  }
  CHECK(total == a.size());
  CHECK(fold_members({}).empty());
}

TEST_CASE("rules: evaluate_rules scores, chooses and is deterministic", "[trainer][rules]") {
  Rng rng(11, 1);
  const Eigen::Index n = 40, L = 5;
  auto draw = [&](RowMatrix<float>& p, RowMatrix<float>& y) {
    p.resize(n, L);
    y.resize(n, L);
    for (Eigen::Index i = 0; i < n; ++i)
      for (Eigen::Index j = 0; j < L; ++j) {
        y(i, j) = rng.bernoulli(0.1 + 0.1 * double(j)) ? 1.0f : 0.0f;
        p(i, j) = float(0.3 * rng.uniform() + (y(i, j) > 0 ? 0.25 : 0.0));
      }
  };
  RowMatrix<float> vp, vy, tp, ty;
  draw(vp, vy);
  draw(tp, ty);
  const Eigen::ArrayXd counts = Eigen::ArrayXd::LinSpaced(L, 5, 200);
  const RuleOptions o;
  const RuleReport a = evaluate_rules(vp, vy, tp, ty, counts, {}, o), b = evaluate_rules(vp, vy, tp, ty, counts, {}, o);
  REQUIRE(a.rules.size() == all_rules().size());
  CHECK(a.folds == 5);
  CHECK(a.automatic);
  for (std::size_t r = 0; r < a.rules.size(); ++r) {
    CHECK((a.rules[r].fitted.thresholds == b.rules[r].fitted.thresholds).all());
    CHECK(a.rules[r].validation.f1.macro.f1 == b.rules[r].validation.f1.macro.f1);
    CHECK(a.rules[r].test.f1.micro.f1 == b.rules[r].test.f1.micro.f1);
    // best: the best cross-fitted validation macro-F1, the earlier rule on ties.
    const double best = a.rules[a.best].validation.f1.macro.f1;
    if (r < a.best) CHECK(a.rules[r].validation.f1.macro.f1 < best);
    if (r > a.best) CHECK(a.rules[r].validation.f1.macro.f1 <= best);
    // Test metrics are those of the thresholds tuned on all validation rows.
    const auto direct = longtail::metrics::f1_scores(
        apply_thresholds(tp, a.rules[r].fitted.thresholds, a.rules[r].fitted.rule.at_least_one), ty, 0.5);
    CHECK(direct.macro.f1 == a.rules[r].test.f1.macro.f1);
  }
  CHECK(a.chosen == b.chosen);
  CHECK_THAT(format_rules(a), Contains("* " + a.chosen_rule().fitted.rule.name()) &&
                                  Contains("cross-fitted over 5 folds") && Contains("--rule auto"));

  RuleOptions fixed;
  fixed.rule = DecisionRule{ThresholdKind::shrunk, true};
  const RuleReport f = evaluate_rules(vp, vy, tp, ty, counts, {}, fixed);
  CHECK(f.chosen_rule().fitted.rule.name() == "shrunk+top1");
  CHECK_FALSE(f.automatic);
  CHECK(f.best == a.best);  // the best rule is reported whichever rule is used

  // Fewer than 2 validation rows: nothing can be tuned or scored honestly.
  const RuleReport none = evaluate_rules(vp.topRows(1), vy.topRows(1), tp, ty, counts, {}, fixed);
  REQUIRE(none.rules.size() == 2);
  CHECK(none.folds == 0);
  CHECK(none.chosen_rule().fitted.rule.name() == "0.5+top1");
  CHECK_THAT(none.note, Contains("--rule shrunk+top1") && Contains("at least 2 validation rows"));
}

TEST_CASE("rules: --select-se 1 ties the rules within one standard error of the best, --tie-break decides",
          "[trainer][rules]") {
  // Validation sets of 60 rows x 6 labels in which the labels' best thresholds differ, so the
  // tuned rules sometimes win by a lot and sometimes by less than the folds' noise.
  const Eigen::Index n = 60, L = 6;
  const Eigen::ArrayXd counts = Eigen::ArrayXd::Constant(L, 50);
  int binding = 0, by_micro = 0;
  for (std::uint64_t seed = 1; seed <= 20; ++seed) {
    Rng rng(seed, 3);
    RowMatrix<float> p(n, L), y(n, L);
    for (Eigen::Index i = 0; i < n; ++i)
      for (Eigen::Index j = 0; j < L; ++j) {
        y(i, j) = rng.bernoulli(0.3) ? 1.0f : 0.0f;
        p(i, j) = float(0.5 * rng.uniform() + (y(i, j) > 0 ? 0.1 + 0.06 * double(j) : 0.0));
      }
    RuleOptions o;
    o.seed = seed;
    o.tolerance_se = 1;
    o.tie_break = TieBreak::simplest;
    const RuleReport a = evaluate_rules(p, y, p, y, counts, {}, o);
    // The standard errors, recomputed: each fold's held-out predictions scored alone.
    const auto pooled = cross_fitted_predictions(all_rules(), p, y, o);
    const std::vector<int> fold = fold_assignment(n, o.folds, o.seed);
    for (std::size_t r = 0; r < a.rules.size(); ++r) {
      std::vector<double> scores;
      for (int f = 0; f < o.folds; ++f) {
        std::vector<Eigen::Index> rows;
        for (Eigen::Index i = 0; i < n; ++i)
          if (fold[std::size_t(i)] == f) rows.push_back(i);
        RowMatrix<float> fp(Eigen::Index(rows.size()), L), fy(Eigen::Index(rows.size()), L);
        for (std::size_t q = 0; q < rows.size(); ++q) {
          fp.row(Eigen::Index(q)) = pooled[r].row(rows[q]);
          fy.row(Eigen::Index(q)) = y.row(rows[q]);
        }
        scores.push_back(longtail::metrics::f1_scores(fp, fy, 0.5).macro.f1);
      }
      double mean = 0, var = 0;
      for (double v : scores) mean += v / double(scores.size());
      for (double v : scores) var += (v - mean) * (v - mean) / double(scores.size() - 1);
      CHECK(a.rules[r].validation_se == Approx(std::sqrt(var / double(scores.size()))).epsilon(1e-12));
    }
    // simplest: the first rule within one standard error of the best; nothing earlier is.
    auto macro = [&](std::size_t r) { return a.rules[r].validation.f1.macro.f1; };
    auto micro = [&](std::size_t r) { return a.rules[r].validation.f1.micro.f1; };
    const double floor = macro(a.best) - a.rules[a.best].validation_se;
    REQUIRE(a.chosen <= a.best);
    CHECK(macro(a.chosen) >= floor);
    for (std::size_t r = 0; r < a.chosen; ++r) CHECK(macro(r) < floor);
    if (a.chosen != a.best) {
      ++binding;
      CHECK_THAT(format_rules(a), Contains("the simplest rule within 1 standard error(s) of the best") &&
                                      Contains(a.rules[a.best].fitted.rule.name() + " "));
    }
    // auto (the default under --metric macro): the best cross-fitted micro-F1 among the same
    // tied rules (ties: the earlier).
    o.tie_break = TieBreak::automatic;
    const RuleReport m = evaluate_rules(p, y, p, y, counts, {}, o);
    REQUIRE(m.tie_metric == F1Average::micro);
    CHECK(m.best == a.best);
    CHECK(macro(m.chosen) >= floor);
    for (std::size_t r = 0; r < m.rules.size(); ++r)
      if (macro(r) >= floor) {
        CHECK(micro(r) <= micro(m.chosen));
        if (r < m.chosen) CHECK(micro(r) < micro(m.chosen));
      }
    if (m.chosen != m.best) {
      ++by_micro;
      CHECK_THAT(format_rules(m), Contains("the best cross-fitted validation micro-F1 of the rules within 1 standard "
                                           "error(s) of the best"));
    }
    // --select-se 0: the best rule itself, whatever breaks ties.
    o.tolerance_se = 0;
    const RuleReport b = evaluate_rules(p, y, p, y, counts, {}, o);
    CHECK(b.chosen == b.best);
    CHECK(b.best == a.best);
  }
  // The tolerance decides in some of these draws and not in others (so both branches are tested).
  CHECK(binding > 0);
  CHECK(binding < 20);
  CHECK(by_micro > 0);
  CHECK(by_micro < 20);
}

TEST_CASE("rules: bad option and flag values name the flag", "[trainer][rules][cli]") {
  RuleOptions o;
  o.shrinkage = -1;
  CHECK_THROWS_WITH(o.validate(), Contains("--rule-shrinkage"));
  o = {};
  o.min_positives = 0;
  CHECK_THROWS_WITH(o.validate(), Contains("--rule-min-positives"));
  o = {};
  o.folds = 1;
  CHECK_THROWS_WITH(o.validate(), Contains("--rule-folds"));
  o = {};
  o.tolerance_se = -0.5;
  CHECK_THROWS_WITH(o.validate(), Contains("--select-se"));

  auto parse = [](std::initializer_list<const char*> args) {
    std::vector<const char*> argv{"longtail-train"};
    argv.insert(argv.end(), args.begin(), args.end());
    return parse_cli(int(argv.size()), argv.data());
  };
  CHECK_THROWS_WITH(parse({"--rule", "median"}), Contains("--rule") && Contains("'median'") && Contains("shrunk+top1"));
  CHECK_THROWS_WITH(parse({"--rule-shrinkage", "-2"}), Contains("--rule-shrinkage") && Contains("'-2'"));
  CHECK_THROWS_WITH(parse({"--rule-min-positives", "0"}), Contains("--rule-min-positives") && Contains("'0'"));
  CHECK_THROWS_WITH(parse({"--rule-folds", "1"}), Contains("--rule-folds") && Contains("'1'"));
  CHECK_THROWS_WITH(parse({"--select-se", "-1"}), Contains("--select-se") && Contains("'-1'"));
  CHECK(parse({"--select-se", "0"}).train.rules.tolerance_se == 0);
  CHECK(parse({}).train.rules.tolerance_se == 1);
  CHECK(parse({"--select-se", "1.5"}).train.rules.tolerance_se == 1.5);
  CHECK_THROWS_WITH(parse({"--tie-break", "precision"}), Contains("--tie-break") && Contains("'precision'"));
  CHECK(parse({}).train.rules.tie_break == TieBreak::automatic);
  CHECK(parse({"--tie-break", "simplest"}).train.rules.tie_break == TieBreak::simplest);
  CHECK(parse({"sweep", "--tie-break", "samples"}).train.rules.tie_break == TieBreak::samples);
  CHECK_THROWS_WITH(parse({"sweep", "--metric", "weighted"}), Contains("--metric") && Contains("'weighted'"));
  CHECK_THROWS_WITH(parse({"eval", "--checkpoint", "m.ltck", "--rule", "global"}), Contains("--rule"));

  CHECK_FALSE(parse({}).train.rules.rule.has_value());  // auto
  CHECK(parse({"--rule", "shrunk+top1"}).train.rules.rule == DecisionRule{ThresholdKind::shrunk, true});
  CHECK(parse({"sweep", "--tuned"}).train.rules.rule == DecisionRule{ThresholdKind::per_label, false});
  CHECK(parse({"--metric", "micro"}).train.rules.metric == F1Average::micro);
  CHECK(parse({"--metric", "macro+micro"}).train.rules.metric == F1Average::macro_micro);
  CHECK(parse({"sweep", "--metric", "macro+micro"}).sweep.metric == "macro+micro");
}
