// SPDX-License-Identifier: Apache-2.0
#pragma once
// Ranking metrics of extreme multi-label classification: precision@k, nDCG@k and their
// propensity-scored versions (Jain, Prabhu, Varma, "Extreme Multi-label Loss Functions for
// Recommendation, Tagging, Ranking & Other Missing Label Applications", KDD 2016). They judge the
// order of the scores, not a threshold, and the propensity-scored ones weigh a correct rare label
// more than a correct frequent one, which is what a long-tailed model should be judged by too.
//
// Per row, with the labels sorted by score (descending; equal scores in label order, so results
// are deterministic), rank(l) = 1, 2, ... and y_l in {0, 1} (a target counts when > 0.5):
//   P@k      = (1/k) sum_{rank(l) <= k} y_l
//   DCG@k    = sum_{rank(l) <= k} y_l / log2(rank(l) + 1)
//   nDCG@k   = DCG@k / sum_{r=1}^{min(k, |y|)} 1 / log2(r + 1)          (0 for a row without labels)
//   PSP@k    = (1/k) sum_{rank(l) <= k} y_l / p_l
//   PSnDCG@k = sum_{rank(l) <= k} (y_l / p_l) / log2(rank(l) + 1) / sum_{r=1}^{k} 1 / log2(r + 1)
// each averaged over all rows. Propensities p_l = 1 / (1 + C exp(-A ln(N_l + B))),
// C = (ln N - 1) (B + 1)^A, from the training positives N_l of each label and the training rows N;
// the paper's defaults A = 0.55, B = 1.5. (These are the paper's definitions; some XMC toolkits
// further divide PSP@k by the best PSP@k any ranking of the row could reach.)
// k larger than the number of labels counts the missing ranks as misses.

#include <algorithm>
#include <cmath>
#include <numeric>
#include <vector>

#include <Eigen/Core>

#include "longtail/error.hpp"
#include "longtail/metrics.hpp"

namespace longtail::metrics {

struct PropensityOptions {
  double a = 0.55;  ///< Jain et al.'s A
  double b = 1.5;   ///< Jain et al.'s B
};

/// p_l of every label from its training positives `label_counts` and the training rows `rows`
/// (rows > e so that C > 0). Throws longtail::invalid_argument naming the bad value.
template <class C>
Eigen::ArrayXd propensities(const Eigen::DenseBase<C>& label_counts, double rows, const PropensityOptions& o = {}) {
  if (!(std::isfinite(rows) && rows > std::exp(1.0)))
    longtail::detail::fail("propensities: rows must be a finite number > e (got ", rows, ")");
  if (!(std::isfinite(o.a) && o.a > 0) || !(std::isfinite(o.b) && o.b >= 0))
    longtail::detail::fail("PropensityOptions: a must be > 0 and b >= 0 (got ", o.a, ", ", o.b, ")");
  const double c = (std::log(rows) - 1.0) * std::pow(o.b + 1.0, o.a);
  Eigen::ArrayXd p(label_counts.size());
  for (Eigen::Index j = 0; j < p.size(); ++j) {
    const double n = static_cast<double>(label_counts.derived().coeff(j));
    if (!(std::isfinite(n) && n >= 0))
      longtail::detail::fail("label_counts[", j, "] must be a finite count >= 0 (got ", n, ")");
    p[j] = 1.0 / (1.0 + c * std::exp(-o.a * std::log(n + o.b)));
  }
  return p;
}

/// The four metrics at each k of `ks`, averaged over rows.
struct RankingScores {
  std::vector<int> k;
  std::vector<double> precision, ndcg, ps_precision, ps_ndcg;
};

/// Ranking metrics of `scores` (rows x labels; any monotone score: logits or probabilities)
/// against `targets`. `propensity`: one p_l per label (propensities()), or empty to skip the
/// propensity-scored metrics (they are then 0). ks: each >= 1.
template <class S, class T>
RankingScores ranking_scores(const Eigen::DenseBase<S>& scores, const Eigen::DenseBase<T>& targets,
                             const Eigen::ArrayXd& propensity, const std::vector<int>& ks = {1, 3, 5}) {
  detail::check_same_shape(scores, targets);
  const Eigen::Index n = scores.rows(), L = scores.cols();
  if (propensity.size() != 0 && propensity.size() != L)
    longtail::detail::fail("propensity has ", propensity.size(), " entries but scores have ", L, " labels (columns)");
  if (propensity.size() != 0 && !((propensity > 0).all() && propensity.isFinite().all()))
    longtail::detail::fail("propensity values must be finite and > 0");
  if (ks.empty()) longtail::detail::fail("ks must not be empty");
  for (int k : ks)
    if (k < 1) longtail::detail::fail("every k must be >= 1 (got ", k, ")");
  const int kmax = *std::max_element(ks.begin(), ks.end());
  // 1 / log2(r + 1) for r = 1..kmax, and its prefix sums (the ideal DCG).
  std::vector<double> discount(std::size_t(kmax) + 1, 0.0), ideal(std::size_t(kmax) + 1, 0.0);
  for (int r = 1; r <= kmax; ++r) {
    discount[std::size_t(r)] = 1.0 / std::log2(double(r) + 1.0);
    ideal[std::size_t(r)] = ideal[std::size_t(r) - 1] + discount[std::size_t(r)];
  }
  RankingScores out;
  out.k = ks;
  const std::size_t nk = ks.size();
  out.precision.assign(nk, 0.0);
  out.ndcg.assign(nk, 0.0);
  out.ps_precision.assign(nk, 0.0);
  out.ps_ndcg.assign(nk, 0.0);
  std::vector<Eigen::Index> order(static_cast<std::size_t>(L));
  // Per row: hits, discounted hits and their propensity-weighted versions at each rank prefix.
  std::vector<double> hit(std::size_t(kmax) + 1), dcg(std::size_t(kmax) + 1), ps_hit(std::size_t(kmax) + 1),
      ps_dcg(std::size_t(kmax) + 1);
  for (Eigen::Index i = 0; i < n; ++i) {
    std::iota(order.begin(), order.end(), Eigen::Index{0});
    const std::size_t top = std::min<std::size_t>(std::size_t(kmax), order.size());
    const auto score = [&](Eigen::Index j) { return static_cast<double>(scores.derived().coeff(i, j)); };
    std::partial_sort(
        order.begin(), order.begin() + std::ptrdiff_t(top), order.end(),
        [&](Eigen::Index a, Eigen::Index b) { return score(a) > score(b) || (score(a) == score(b) && a < b); });
    Eigen::Index positives = 0;
    for (Eigen::Index j = 0; j < L; ++j) positives += static_cast<double>(targets.derived().coeff(i, j)) > 0.5;
    for (int r = 1; r <= kmax; ++r) {
      const std::size_t at = std::size_t(r);
      double y = 0.0, inv_p = 0.0;
      if (at <= top) {
        const Eigen::Index j = order[at - 1];
        y = static_cast<double>(targets.derived().coeff(i, j)) > 0.5 ? 1.0 : 0.0;
        inv_p = propensity.size() ? y / propensity[j] : 0.0;
      }
      hit[at] = hit[at - 1] + y;
      dcg[at] = dcg[at - 1] + y * discount[at];
      ps_hit[at] = ps_hit[at - 1] + inv_p;
      ps_dcg[at] = ps_dcg[at - 1] + inv_p * discount[at];
    }
    for (std::size_t q = 0; q < nk; ++q) {
      const std::size_t k = std::size_t(ks[q]);
      out.precision[q] += hit[k] / double(k);
      if (positives > 0) out.ndcg[q] += dcg[k] / ideal[std::min<std::size_t>(k, std::size_t(positives))];
      out.ps_precision[q] += ps_hit[k] / double(k);
      out.ps_ndcg[q] += ps_dcg[k] / ideal[k];
    }
  }
  if (n > 0)
    for (std::size_t q = 0; q < nk; ++q) {
      out.precision[q] /= double(n);
      out.ndcg[q] /= double(n);
      out.ps_precision[q] /= double(n);
      out.ps_ndcg[q] /= double(n);
    }
  return out;
}

}  // namespace longtail::metrics
