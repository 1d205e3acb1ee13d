// SPDX-License-Identifier: Apache-2.0
#pragma once
// Multi-label evaluation: precision / recall / F1 (micro, macro, per-sample), per-label threshold
// search on validation scores, and macro-F1 over labels grouped by training frequency.
//
// Conventions (those of scikit-learn's precision_recall_fscore_support, so numbers compare):
//  - A label is predicted when score > threshold (strictly; logits with threshold 0 or
//    probabilities with 0.5 both work). A target counts as positive when > 0.5.
//  - micro: P, R, F1 from the tp / fp / fn totals over all elements.
//  - macro: the unweighted mean over ALL labels (columns) of the per-label P, R and F1; macro-F1 is
//    the mean of per-label F1, not the F1 of macro P and R.
//  - samples: P, R, F1 per row, averaged over rows.
//  - A ratio whose denominator is 0 (a label never predicted, never present, or both) is
//    `zero_division` (default 0, scikit-learn's zero_division=0).

#include <algorithm>
#include <cmath>
#include <numeric>
#include <string>
#include <vector>

#include <Eigen/Core>

#include "longtail/error.hpp"

namespace longtail::metrics {

struct PRF {
  double precision = 0.0, recall = 0.0, f1 = 0.0;
};

struct F1Scores {
  PRF micro, macro, samples;
  Eigen::ArrayXd label_precision, label_recall, label_f1;  ///< per label (column)
  Eigen::ArrayXd label_support;                            ///< positives per label
};

struct MetricOptions {
  double zero_division = 0.0;
};

namespace detail {

inline double ratio(double num, double den, double zero_division) { return den > 0 ? num / den : zero_division; }

inline PRF prf(double tp, double fp, double fn, double zd) {
  PRF r;
  r.precision = ratio(tp, tp + fp, zd);
  r.recall = ratio(tp, tp + fn, zd);
  r.f1 = ratio(2 * tp, 2 * tp + fp + fn, zd);
  return r;
}

template <class S, class T>
void check_same_shape(const Eigen::DenseBase<S>& scores, const Eigen::DenseBase<T>& targets) {
  if (scores.rows() != targets.rows() || scores.cols() != targets.cols())
    longtail::detail::fail("targets has shape ", targets.rows(), "x", targets.cols(), " but scores are ", scores.rows(),
                           "x", scores.cols());
}

}  // namespace detail

/// F1 family with one threshold per label (`thresholds`, length = columns).
template <class S, class T, class H>
F1Scores f1_scores(const Eigen::DenseBase<S>& scores, const Eigen::DenseBase<T>& targets,
                   const Eigen::DenseBase<H>& thresholds, const MetricOptions& options = {}) {
  detail::check_same_shape(scores, targets);
  const Eigen::Index n = scores.rows(), L = scores.cols();
  if (thresholds.size() != L)
    longtail::detail::fail("thresholds has ", thresholds.size(), " entries but scores have ", L, " labels (columns)");
  const double zd = options.zero_division;
  Eigen::ArrayXd tp = Eigen::ArrayXd::Zero(L), fp = Eigen::ArrayXd::Zero(L), fn = Eigen::ArrayXd::Zero(L);
  PRF samples;
  for (Eigen::Index i = 0; i < n; ++i) {
    double rtp = 0, rfp = 0, rfn = 0;
    for (Eigen::Index j = 0; j < L; ++j) {
      const bool pred =
          static_cast<double>(scores.derived().coeff(i, j)) > static_cast<double>(thresholds.derived().coeff(j));
      const bool truth = static_cast<double>(targets.derived().coeff(i, j)) > 0.5;
      rtp += pred && truth;
      rfp += pred && !truth;
      rfn += !pred && truth;
      tp[j] += pred && truth;
      fp[j] += pred && !truth;
      fn[j] += !pred && truth;
    }
    const PRF r = detail::prf(rtp, rfp, rfn, zd);
    samples.precision += r.precision;
    samples.recall += r.recall;
    samples.f1 += r.f1;
  }
  F1Scores out;
  if (n > 0) {
    samples.precision /= double(n);
    samples.recall /= double(n);
    samples.f1 /= double(n);
  }
  out.samples = samples;
  out.micro = detail::prf(tp.sum(), fp.sum(), fn.sum(), zd);
  out.label_precision.resize(L);
  out.label_recall.resize(L);
  out.label_f1.resize(L);
  for (Eigen::Index j = 0; j < L; ++j) {
    const PRF r = detail::prf(tp[j], fp[j], fn[j], zd);
    out.label_precision[j] = r.precision;
    out.label_recall[j] = r.recall;
    out.label_f1[j] = r.f1;
  }
  out.label_support = tp + fn;
  if (L > 0) out.macro = {out.label_precision.mean(), out.label_recall.mean(), out.label_f1.mean()};
  return out;
}

/// F1 family with one global threshold.
template <class S, class T>
F1Scores f1_scores(const Eigen::DenseBase<S>& scores, const Eigen::DenseBase<T>& targets, double threshold = 0.5,
                   const MetricOptions& options = {}) {
  return f1_scores(scores, targets, Eigen::ArrayXd::Constant(scores.cols(), threshold), options);
}

struct ThresholdSearch {
  /// Used for labels with fewer than `min_positives` positive validation examples, where a tuned
  /// threshold would only memorise noise.
  double fallback = 0.5;
  Eigen::Index min_positives = 1;
};

/// Per-label thresholds that maximise each label's F1 on validation scores. Each threshold lies
/// halfway between two consecutive distinct scores (so "score > threshold" reproduces the best
/// cut on the validation set); among equal F1 the higher threshold (fewer predictions) wins.
template <class S, class T>
Eigen::ArrayXd tune_thresholds(const Eigen::DenseBase<S>& scores, const Eigen::DenseBase<T>& targets,
                               const ThresholdSearch& search = {}) {
  detail::check_same_shape(scores, targets);
  const Eigen::Index n = scores.rows(), L = scores.cols();
  Eigen::ArrayXd thr = Eigen::ArrayXd::Constant(L, search.fallback);
  std::vector<std::pair<double, bool>> col(static_cast<std::size_t>(n));
  for (Eigen::Index j = 0; j < L; ++j) {
    Eigen::Index positives = 0;
    for (Eigen::Index i = 0; i < n; ++i) {
      const bool truth = static_cast<double>(targets.derived().coeff(i, j)) > 0.5;
      col[std::size_t(i)] = {static_cast<double>(scores.derived().coeff(i, j)), truth};
      positives += truth;
    }
    if (positives < std::max<Eigen::Index>(search.min_positives, 1)) continue;
    std::sort(col.begin(), col.end(), [](const auto& a, const auto& b) { return a.first > b.first; });
    // Predicting the top k (k = 1..n, cut only between distinct scores): F1 = 2 tp / (k + P).
    double best_f1 = -1.0, tp = 0.0;
    for (Eigen::Index k = 1; k <= n; ++k) {
      tp += col[std::size_t(k - 1)].second;
      if (k < n && col[std::size_t(k)].first == col[std::size_t(k - 1)].first) continue;
      const double f1 = 2.0 * tp / (double(k) + double(positives));
      if (f1 > best_f1) {
        best_f1 = f1;
        const double here = col[std::size_t(k - 1)].first;
        thr[j] = k < n ? 0.5 * (here + col[std::size_t(k)].first) : here - std::max(1.0, std::abs(here)) * 1e-6;
      }
    }
  }
  return thr;
}

/// Labels grouped by training frequency. Defaults: tail n < 20, medium 20 <= n < 100, head n >= 100.
struct FrequencyBuckets {
  double medium_from = 20;
  double head_from = 100;
};

struct BucketF1 {
  std::string name;      ///< "head", "medium", "tail"
  double min_count = 0;  ///< inclusive
  double max_count = 0;  ///< exclusive (infinity for head)
  Eigen::Index labels = 0;
  double macro_f1 = 0.0;  ///< mean F1 over the bucket's labels (0 when empty)
};

/// Macro-F1 over labels grouped by their training counts, in the order head, medium, tail.
template <class F, class C>
std::vector<BucketF1> frequency_bucket_f1(const Eigen::DenseBase<F>& label_f1, const Eigen::DenseBase<C>& train_counts,
                                          const FrequencyBuckets& buckets = {}) {
  if (label_f1.size() != train_counts.size())
    longtail::detail::fail("train_counts has ", train_counts.size(), " entries but label_f1 has ", label_f1.size());
  if (!(buckets.medium_from <= buckets.head_from))
    longtail::detail::fail("FrequencyBuckets.medium_from (", buckets.medium_from, ") must be <= head_from (",
                           buckets.head_from, ")");
  std::vector<BucketF1> out{{"head", buckets.head_from, INFINITY, 0, 0.0},
                            {"medium", buckets.medium_from, buckets.head_from, 0, 0.0},
                            {"tail", 0.0, buckets.medium_from, 0, 0.0}};
  for (Eigen::Index j = 0; j < label_f1.size(); ++j) {
    const double n = static_cast<double>(train_counts.derived().coeff(j));
    BucketF1& b = n >= buckets.head_from ? out[0] : (n >= buckets.medium_from ? out[1] : out[2]);
    b.labels += 1;
    b.macro_f1 += static_cast<double>(label_f1.derived().coeff(j));
  }
  for (auto& b : out)
    if (b.labels) b.macro_f1 /= double(b.labels);
  return out;
}

}  // namespace longtail::metrics
