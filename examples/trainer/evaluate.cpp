// SPDX-License-Identifier: Apache-2.0
#include "evaluate.hpp"

#include <cmath>
#include <cstdio>
#include <sstream>

#include "decision_rules.hpp"

namespace longtail_train {

namespace {

ThresholdedMetrics metrics_at(const RowMatrix<float>& p, const RowMatrix<float>& y, const Eigen::ArrayXd& thresholds,
                              bool at_least_one, const Eigen::ArrayXd& train_counts,
                              const longtail::metrics::FrequencyBuckets& b) {
  ThresholdedMetrics m;
  m.f1 = at_least_one ? longtail::metrics::f1_scores(apply_thresholds(p, thresholds, true), y, 0.5)
                      : longtail::metrics::f1_scores(p, y, thresholds);
  m.buckets = longtail::metrics::frequency_bucket_f1(m.f1.label_f1, train_counts, b);
  return m;
}

}  // namespace

SplitEvaluation evaluate_split(const std::string& split, const RowMatrix<float>& probabilities,
                               const RowMatrix<float>& targets, const AppliedRule& rule,
                               const Eigen::ArrayXd& train_counts, Eigen::Index train_rows,
                               const longtail::metrics::FrequencyBuckets& buckets) {
  SplitEvaluation e;
  e.split = split;
  e.rows = probabilities.rows();
  e.global = metrics_at(probabilities, targets, Eigen::ArrayXd::Constant(probabilities.cols(), 0.5), false,
                        train_counts, buckets);
  e.tuned = metrics_at(probabilities, targets, rule.thresholds, rule.at_least_one, train_counts, buckets);
  e.rule = rule.name;
  const Eigen::ArrayXd propensity =
      train_rows > 3 ? longtail::metrics::propensities(train_counts, double(train_rows)) : Eigen::ArrayXd();
  e.ranking = longtail::metrics::ranking_scores(probabilities, targets, propensity, {1, 3, 5});
  return e;
}

std::string format_evaluation(const SplitEvaluation& e) {
  std::ostringstream os;
  char line[256];
  const std::string title = e.split + " (" + std::to_string(e.rows) + " rows)";
  std::snprintf(line, sizeof line, "%-32s %8s  %8s  %10s | %5s  %6s  %5s\n", title.c_str(), "micro-F1", "macro-F1",
                "samples-F1", "head", "medium", "tail");
  os << line;
  auto row = [&](const char* name, const ThresholdedMetrics& m) {
    std::snprintf(line, sizeof line, "  %-30s %8.4f  %8.4f  %10.4f | %5.3f  %6.3f  %5.3f\n", name, m.f1.micro.f1,
                  m.f1.macro.f1, m.f1.samples.f1, m.buckets[0].macro_f1, m.buckets[1].macro_f1, m.buckets[2].macro_f1);
    os << line;
  };
  row("threshold 0.5", e.global);
  row(("rule " + e.rule + (e.cross_fitted ? " (cross-fit)" : "")).c_str(), e.tuned);
  const auto& b = e.global.buckets;
  std::snprintf(line, sizeof line,
                "  buckets by training positives: head >= %g (%lld labels), medium %g-%g (%lld), tail < %g (%lld)\n",
                b[0].min_count, static_cast<long long>(b[0].labels), b[1].min_count, b[1].max_count - 1,
                static_cast<long long>(b[1].labels), b[2].max_count, static_cast<long long>(b[2].labels));
  os << line;
  const auto& r = e.ranking;
  std::string ranking = "  ranking (no threshold):";
  for (std::size_t q = 0; q < r.k.size(); ++q) {
    std::snprintf(line, sizeof line, "%s P@%d %.4f nDCG@%d %.4f", q ? " |" : "", r.k[q], r.precision[q], r.k[q],
                  r.ndcg[q]);
    ranking += line;
  }
  os << ranking << "\n";
  ranking = "  propensity-scored (A 0.55, B 1.5):";
  for (std::size_t q = 0; q < r.k.size(); ++q) {
    std::snprintf(line, sizeof line, "%s PSP@%d %.4f PSnDCG@%d %.4f", q ? " |" : "", r.k[q], r.ps_precision[q], r.k[q],
                  r.ps_ndcg[q]);
    ranking += line;
  }
  os << ranking << "\n";
  return os.str();
}

}  // namespace longtail_train
