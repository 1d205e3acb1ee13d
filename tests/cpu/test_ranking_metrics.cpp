// SPDX-License-Identifier: Apache-2.0
// Ranking metrics (P@k, nDCG@k, PSP@k, PSnDCG@k; Jain et al. 2016) against values worked out by
// hand from the definitions in ranking_metrics.hpp.
#include <catch2/catch.hpp>

#include <limits>

#include "longtail/ranking_metrics.hpp"

namespace lm = longtail::metrics;

TEST_CASE("ranking metrics: two rows worked by hand", "[metrics][ranking]") {
  // Row 0 ranks labels 0, 2, 3, 1 (true: 0, 3). Row 1: 0.7 twice, label 1 before label 2 (ties in
  // label order), then 0, 3 (true: 2).
  Eigen::MatrixXd scores(2, 4), targets(2, 4);
  scores << 0.9, 0.1, 0.8, 0.3,  //
      0.2, 0.7, 0.7, 0.1;
  targets << 1, 0, 0, 1,  //
      0, 0, 1, 0;
  const Eigen::ArrayXd p = (Eigen::ArrayXd(4) << 0.5, 1.0, 0.25, 0.8).finished();
  const lm::RankingScores r = lm::ranking_scores(scores, targets, p, {1, 3});
  REQUIRE(r.k == std::vector<int>{1, 3});
  // P@1: row 0 hit, row 1 miss. P@3: 2/3 and 1/3.
  CHECK(r.precision[0] == Approx(0.5));
  CHECK(r.precision[1] == Approx(0.5));
  // nDCG@1: 1 and 0. nDCG@3: (1 + 1/log2 4) / (1 + 1/log2 3) and (1/log2 3) / 1.
  CHECK(r.ndcg[0] == Approx(0.5));
  CHECK(r.ndcg[1] == Approx(0.7753252713598225).epsilon(1e-12));
  // PSP@1: (1/0.5 + 0) / 2. PSP@3: ((2 + 1.25) / 3 + 4 / 3) / 2.
  CHECK(r.ps_precision[0] == Approx(1.0));
  CHECK(r.ps_precision[1] == Approx(1.2083333333333333).epsilon(1e-12));
  // PSnDCG@3: (2 + 1.25/log2 4) / Z and (4/log2 3) / Z, Z = 1 + 1/log2 3 + 1/log2 4.
  CHECK(r.ps_ndcg[1] == Approx(1.2080921498365984).epsilon(1e-12));
}

TEST_CASE("ranking metrics: propensities follow Jain et al.'s formula", "[metrics][ranking]") {
  // N = 1000 rows, A = 0.55, B = 1.5: C = (ln 1000 - 1) 2.5^0.55; p = 1 / (1 + C (n + 1.5)^-0.55).
  const Eigen::ArrayXd counts = (Eigen::ArrayXd(3) << 10, 0, 500).finished();
  const Eigen::ArrayXd p = lm::propensities(counts, 1000.0);
  CHECK(p[0] == Approx(0.28151987893010255).epsilon(1e-12));
  CHECK(p[1] == Approx(0.11332486734550759).epsilon(1e-12));
  CHECK(p[2] == Approx(0.75757977160531).epsilon(1e-12));
  CHECK(p[1] < p[0]);  // rarer labels have smaller propensities
  CHECK(p[0] < p[2]);
}

TEST_CASE("ranking metrics: edge cases and bad arguments", "[metrics][ranking]") {
  Eigen::MatrixXd scores(1, 2), targets(1, 2);
  scores << 0.3, 0.6;
  targets << 0, 0;
  // A row without labels scores 0 on every metric (nDCG's ideal DCG would be 0).
  const lm::RankingScores none = lm::ranking_scores(scores, targets, Eigen::ArrayXd(), {1, 5});
  CHECK(none.precision[1] == 0);
  CHECK(none.ndcg[0] == 0);
  CHECK(none.ps_precision[0] == 0);
  // k beyond the label count: the missing ranks are misses (P@5 = 1/5 with the one true label).
  targets << 1, 0;
  const lm::RankingScores big_k = lm::ranking_scores(scores, targets, Eigen::ArrayXd(), {5});
  CHECK(big_k.precision[0] == Approx(0.2));
  CHECK(big_k.ndcg[0] == Approx(1.0 / std::log2(3.0)));
  // Zero rows: all 0, no NaN.
  const lm::RankingScores empty = lm::ranking_scores(Eigen::MatrixXd(0, 2), Eigen::MatrixXd(0, 2), Eigen::ArrayXd());
  CHECK(empty.precision[0] == 0);

  using Catch::Contains;
  CHECK_THROWS_WITH(lm::ranking_scores(scores, Eigen::MatrixXd(1, 3), Eigen::ArrayXd()), Contains("shape"));
  CHECK_THROWS_WITH(lm::ranking_scores(scores, targets, Eigen::ArrayXd::Ones(3)), Contains("propensity has 3"));
  CHECK_THROWS_WITH(lm::ranking_scores(scores, targets, Eigen::ArrayXd::Zero(2)), Contains("> 0"));
  CHECK_THROWS_WITH(lm::ranking_scores(scores, targets, Eigen::ArrayXd(), {0}), Contains("k must be >= 1"));
  CHECK_THROWS_WITH(lm::propensities(Eigen::ArrayXd::Ones(2), 2.0), Contains("rows"));
  CHECK_THROWS_WITH(lm::propensities((Eigen::ArrayXd(1) << -1).finished(), 100.0), Contains("label_counts[0]"));
  CHECK_THROWS_WITH(lm::propensities((Eigen::ArrayXd(1) << std::numeric_limits<double>::quiet_NaN()).finished(), 100.0),
                    Contains("label_counts[0]"));
}
