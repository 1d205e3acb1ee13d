// SPDX-License-Identifier: Apache-2.0
#include "decision_rules.hpp"

#include <algorithm>
#include <cmath>
#include <cstdio>
#include <numeric>
#include <sstream>
#include <stdexcept>

#include "common/rng.hpp"
#include "selection.hpp"

namespace longtail_train {

const char* to_string(F1Average a) {
  switch (a) {
    case F1Average::macro:
      return "macro";
    case F1Average::micro:
      return "micro";
    case F1Average::samples:
      return "samples";
    case F1Average::macro_micro:
      return "macro+micro";
  }
  return "?";
}

std::optional<F1Average> parse_f1_average(const std::string& name) {
  if (name == "macro") return F1Average::macro;
  if (name == "micro") return F1Average::micro;
  if (name == "samples") return F1Average::samples;
  if (name == "macro+micro") return F1Average::macro_micro;
  return std::nullopt;
}

double f1_of(const longtail::metrics::F1Scores& s, F1Average a) {
  switch (a) {
    case F1Average::micro:
      return s.micro.f1;
    case F1Average::samples:
      return s.samples.f1;
    case F1Average::macro_micro:
      return 0.5 * (s.macro.f1 + s.micro.f1);
    case F1Average::macro:
      break;
  }
  return s.macro.f1;
}

const char* to_string(TieBreak t) {
  switch (t) {
    case TieBreak::automatic:
      return "auto";
    case TieBreak::simplest:
      return "simplest";
    case TieBreak::macro:
      return "macro";
    case TieBreak::micro:
      return "micro";
    case TieBreak::samples:
      return "samples";
  }
  return "?";
}

std::optional<TieBreak> parse_tie_break(const std::string& name) {
  for (TieBreak t : {TieBreak::automatic, TieBreak::simplest, TieBreak::macro, TieBreak::micro, TieBreak::samples})
    if (name == to_string(t)) return t;
  return std::nullopt;
}

std::optional<F1Average> tie_metric(TieBreak tie_break, F1Average metric) {
  switch (tie_break) {
    case TieBreak::automatic:
      // The other half of what the targets and most reports quote: a macro-F1 lead within
      // the noise should not cost micro-F1, and the other way round.
      if (metric == F1Average::macro) return F1Average::micro;
      if (metric == F1Average::micro) return F1Average::macro;
      return std::nullopt;
    case TieBreak::simplest:
      return std::nullopt;
    case TieBreak::macro:
      return F1Average::macro;
    case TieBreak::micro:
      return F1Average::micro;
    case TieBreak::samples:
      return F1Average::samples;
  }
  return std::nullopt;
}

std::string DecisionRule::name() const {
  const char* base = "0.5";
  switch (kind) {
    case ThresholdKind::half:
      base = "0.5";
      break;
    case ThresholdKind::global:
      base = "global";
      break;
    case ThresholdKind::shrunk:
      base = "shrunk";
      break;
    case ThresholdKind::per_label:
      base = "per-label";
      break;
  }
  return std::string(base) + (at_least_one ? "+top1" : "");
}

const std::vector<DecisionRule>& all_rules() {
  static const std::vector<DecisionRule> rules = [] {
    std::vector<DecisionRule> r;
    for (ThresholdKind k :
         {ThresholdKind::half, ThresholdKind::global, ThresholdKind::shrunk, ThresholdKind::per_label})
      for (bool top1 : {false, true}) r.push_back({k, top1});
    return r;
  }();
  return rules;
}

std::optional<DecisionRule> parse_rule(const std::string& name) {
  for (const auto& r : all_rules())
    if (r.name() == name) return r;
  return std::nullopt;
}

std::string rule_choices() {
  std::string s = "auto";
  for (const auto& r : all_rules()) s += ", " + r.name();
  return s;
}

void RuleOptions::validate() const {
  auto num = [](double v) {
    std::ostringstream os;
    os << v;
    return os.str();
  };
  if (!(shrinkage >= 0) || !std::isfinite(shrinkage))
    throw std::invalid_argument("--rule-shrinkage must be a finite number >= 0 (got " + num(shrinkage) + ")");
  if (min_positives < 1)
    throw std::invalid_argument("--rule-min-positives must be >= 1 (got " + std::to_string(min_positives) + ")");
  if (folds < 2) throw std::invalid_argument("--rule-folds must be >= 2 (got " + std::to_string(folds) + ")");
  if (!(tolerance_se >= 0) || !std::isfinite(tolerance_se))
    throw std::invalid_argument("--select-se must be a finite number >= 0 (got " + num(tolerance_se) + ")");
}

Eigen::Index top_label(const float* p, Eigen::Index labels) {
  Eigen::Index best = labels > 0 ? 0 : -1;
  for (Eigen::Index j = 1; j < labels; ++j)
    if (p[j] > p[best]) best = j;
  return best;
}

RowMatrix<float> apply_thresholds(const RowMatrix<float>& p, const Eigen::ArrayXd& thresholds, bool at_least_one) {
  const Eigen::Index n = p.rows(), L = p.cols();
  if (thresholds.size() != L)
    throw std::invalid_argument("apply_thresholds: " + std::to_string(thresholds.size()) + " thresholds for " +
                                std::to_string(L) + " labels");
  RowMatrix<float> pred = RowMatrix<float>::Zero(n, L);
  for (Eigen::Index i = 0; i < n; ++i) {
    bool any = false;
    for (Eigen::Index j = 0; j < L; ++j)
      if (double(p(i, j)) > thresholds[j]) {
        pred(i, j) = 1.0f;
        any = true;
      }
    if (at_least_one && !any && L > 0) pred(i, top_label(p.row(i).data(), L)) = 1.0f;
  }
  return pred;
}

namespace {

/// A cell (row i, label j) of a row-major matrix, cell = i * L + j, with its score.
struct ScoredCell {
  float score;
  std::int64_t cell;
};

/// Every cell, highest score first (equal scores: lower cell first, so the order is defined).
/// Sorting the (score, cell) pairs themselves, not indices into the matrix, keeps the sort in
/// cache; fit_rules sorts once for both at-least-one settings.
std::vector<ScoredCell> cells_by_score(const RowMatrix<float>& p) {
  std::vector<ScoredCell> cells(std::size_t(p.size()));
  for (std::size_t c = 0; c < cells.size(); ++c) cells[c] = {p.data()[c], std::int64_t(c)};
  std::sort(cells.begin(), cells.end(), [](const ScoredCell& a, const ScoredCell& b) {
    return a.score > b.score || (a.score == b.score && a.cell < b.cell);
  });
  return cells;
}

void check_shapes(const char* what, const RowMatrix<float>& p, const RowMatrix<float>& y) {
  if (p.rows() != y.rows() || p.cols() != y.cols())
    throw std::invalid_argument(std::string(what) + ": targets " + std::to_string(y.rows()) + "x" +
                                std::to_string(y.cols()) + " but probabilities " + std::to_string(p.rows()) + "x" +
                                std::to_string(p.cols()));
}

/// tune_global_threshold over the cells of `p` sorted by cells_by_score.
double search_global(const RowMatrix<float>& p, const RowMatrix<float>& y, const std::vector<ScoredCell>& sorted,
                     F1Average metric, bool at_least_one, double fallback) {
  const Eigen::Index n = p.rows(), L = p.cols();
  if (n == 0 || L == 0) return fallback;
  // Counts per label (c) and per row (i): positives, predicted, true positives. The F1 of a count
  // triple is 2 tp / (predicted + positives), 0 when both are 0 (scikit-learn's zero_division=0).
  std::vector<double> pos_c(std::size_t(L), 0), pred_c(std::size_t(L), 0), tp_c(std::size_t(L), 0);
  std::vector<double> pos_i(std::size_t(n), 0), pred_i(std::size_t(n), 0), tp_i(std::size_t(n), 0);
  std::vector<Eigen::Index> forced(std::size_t(n), -1);
  for (Eigen::Index i = 0; i < n; ++i) {
    for (Eigen::Index j = 0; j < L; ++j)
      if (y(i, j) > 0.5f) {
        pos_c[std::size_t(j)] += 1;
        pos_i[std::size_t(i)] += 1;
      }
    if (at_least_one) forced[std::size_t(i)] = top_label(p.row(i).data(), L);
  }
  auto f1 = [](double tp, double pred, double pos) { return pred + pos > 0 ? 2.0 * tp / (pred + pos) : 0.0; };
  double macro_sum = 0, samples_sum = 0, tp_all = 0, pred_all = 0;
  const double pos_all = std::accumulate(pos_c.begin(), pos_c.end(), 0.0);
  // Predict (i, j): move its label's and its row's F1 from the old counts to the new ones.
  auto predict = [&](Eigen::Index i, Eigen::Index j) {
    const auto c = std::size_t(j), r = std::size_t(i);
    const double hit = y(i, j) > 0.5f ? 1.0 : 0.0;
    macro_sum -= f1(tp_c[c], pred_c[c], pos_c[c]);
    samples_sum -= f1(tp_i[r], pred_i[r], pos_i[r]);
    pred_c[c] += 1;
    tp_c[c] += hit;
    pred_i[r] += 1;
    tp_i[r] += hit;
    macro_sum += f1(tp_c[c], pred_c[c], pos_c[c]);
    samples_sum += f1(tp_i[r], pred_i[r], pos_i[r]);
    pred_all += 1;
    tp_all += hit;
  };
  for (std::size_t c = 0; c < pos_c.size(); ++c) macro_sum += f1(0, 0, pos_c[c]);
  for (std::size_t r = 0; r < pos_i.size(); ++r) samples_sum += f1(0, 0, pos_i[r]);
  for (Eigen::Index i = 0; i < n; ++i)
    if (forced[std::size_t(i)] >= 0) predict(i, forced[std::size_t(i)]);
  auto value = [&] {
    switch (metric) {
      case F1Average::micro:
        return f1(tp_all, pred_all, pos_all);
      case F1Average::samples:
        return samples_sum / double(n);
      case F1Average::macro_micro:
        return 0.5 * (macro_sum / double(L) + f1(tp_all, pred_all, pos_all));
      case F1Average::macro:
        break;
    }
    return macro_sum / double(L);
  };

  // The cells a threshold decides (a forced top-1 cell is predicted at any threshold), highest
  // score first; cells of equal score are one group (a cut falls only between distinct scores).
  auto decided = [&](std::size_t k) {
    const std::int64_t cell = sorted[k].cell;
    return forced[std::size_t(cell / L)] != cell % L;
  };
  std::size_t k = 0;
  while (k < sorted.size() && !decided(k)) ++k;
  if (k == sorted.size()) return fallback;
  // Start: nothing but the forced cells predicted, at the highest score (p > t is false there).
  // Comparisons within 1e-12 count as ties (the running sums round differently along the way);
  // a later candidate (lower threshold, more predictions) must beat the best by more than that.
  double best_t = std::min(1.0, std::max(0.0, double(sorted[k].score)));
  double best = value();
  while (k < sorted.size()) {
    const float s = sorted[k].score;
    for (; k < sorted.size() && sorted[k].score == s; ++k)
      if (decided(k)) predict(sorted[k].cell / L, sorted[k].cell % L);
    while (k < sorted.size() && !decided(k)) ++k;
    // The threshold between this group and the next lower score; after the last group any value
    // in [0, s) predicts every cell (none when s <= 0: a probability threshold cannot be < 0).
    double t;
    if (k < sorted.size())
      t = 0.5 * (double(s) + double(sorted[k].score));
    else if (s > 0)
      t = 0.5 * double(s);
    else
      break;
    const double v = value();
    if (v > best + 1e-12) {
      best = v;
      best_t = t;
    }
  }
  return best_t;
}

}  // namespace

double tune_global_threshold(const RowMatrix<float>& p, const RowMatrix<float>& y, F1Average metric, bool at_least_one,
                             double fallback) {
  check_shapes("tune_global_threshold", p, y);
  return search_global(p, y, cells_by_score(p), metric, at_least_one, fallback);
}

Eigen::ArrayXd shrink_thresholds(const Eigen::ArrayXd& per_label, const Eigen::ArrayXd& positives,
                                 double global_threshold, double shrinkage, Eigen::Index min_positives) {
  if (per_label.size() != positives.size())
    throw std::invalid_argument("shrink_thresholds: " + std::to_string(per_label.size()) + " thresholds but " +
                                std::to_string(positives.size()) + " positive counts");
  Eigen::ArrayXd t(per_label.size());
  for (Eigen::Index c = 0; c < t.size(); ++c) {
    const double k = positives[c];
    t[c] = k < double(min_positives) || k + shrinkage <= 0
               ? global_threshold
               : (k * per_label[c] + shrinkage * global_threshold) / (k + shrinkage);
  }
  return t;
}

std::vector<FittedRule> fit_rules(const std::vector<DecisionRule>& rules, const RowMatrix<float>& p,
                                  const RowMatrix<float>& y, const RuleOptions& options) {
  const Eigen::Index L = p.cols();
  check_shapes("fit_rules", p, y);
  // The searches the rules share, each done at most once.
  std::optional<Eigen::ArrayXd> per_label;
  std::optional<std::vector<ScoredCell>> sorted;
  std::optional<double> global[2];
  auto raw_per_label = [&]() -> const Eigen::ArrayXd& {
    if (!per_label) per_label = longtail::metrics::tune_thresholds(p, y);  // fallback 0.5 without positives
    return *per_label;
  };
  auto global_of = [&](bool top1) {
    auto& g = global[top1 ? 1 : 0];
    if (!sorted) sorted = cells_by_score(p);
    if (!g) g = search_global(p, y, *sorted, options.metric, top1, 0.5);
    return *g;
  };
  std::vector<FittedRule> out;
  for (const auto& rule : rules) {
    FittedRule f;
    f.rule = rule;
    switch (rule.kind) {
      case ThresholdKind::half:
        f.thresholds = Eigen::ArrayXd::Constant(L, 0.5);
        break;
      case ThresholdKind::global:
        f.global_threshold = global_of(rule.at_least_one);
        f.thresholds = Eigen::ArrayXd::Constant(L, f.global_threshold);
        break;
      case ThresholdKind::shrunk: {
        f.global_threshold = global_of(rule.at_least_one);
        const Eigen::ArrayXd positives = (y.array() > 0.5f).cast<double>().colwise().sum().transpose();
        f.thresholds =
            shrink_thresholds(raw_per_label(), positives, f.global_threshold, options.shrinkage, options.min_positives);
        break;
      }
      case ThresholdKind::per_label:
        f.thresholds = raw_per_label();
        break;
    }
    // Thresholds are probabilities (the checkpoint holds them so): the per-label search's "below
    // the lowest score" cut can fall under 0 when that score is 0.
    f.thresholds = f.thresholds.max(0.0).min(1.0);
    out.push_back(std::move(f));
  }
  return out;
}

std::vector<int> fold_assignment(Eigen::Index rows, int folds, std::uint64_t seed) {
  const int k = int(std::max<Eigen::Index>(1, std::min<Eigen::Index>(folds, rows)));
  Rng rng(seed, stream_id(RngStream::rule_folds));
  const auto order = shuffled_indices<std::int64_t>(rows, rng);
  std::vector<int> fold(std::size_t(rows), 0);
  for (std::size_t r = 0; r < order.size(); ++r) fold[std::size_t(order[r])] = int(r % std::size_t(k));
  return fold;
}

std::vector<std::vector<Eigen::Index>> fold_members(const std::vector<int>& fold) {
  const int k = fold.empty() ? 0 : *std::max_element(fold.begin(), fold.end()) + 1;
  std::vector<std::vector<Eigen::Index>> members(static_cast<std::size_t>(k));
  for (std::size_t i = 0; i < fold.size(); ++i) members[std::size_t(fold[i])].push_back(Eigen::Index(i));
  return members;
}

namespace {

RowMatrix<float> gather_rows(const RowMatrix<float>& m, const std::vector<Eigen::Index>& rows) {
  RowMatrix<float> out(Eigen::Index(rows.size()), m.cols());
  for (std::size_t r = 0; r < rows.size(); ++r) out.row(Eigen::Index(r)) = m.row(rows[r]);
  return out;
}

ThresholdedMetrics metrics_of(const RowMatrix<float>& predictions, const RowMatrix<float>& targets,
                              const Eigen::ArrayXd& train_counts, const longtail::metrics::FrequencyBuckets& buckets) {
  ThresholdedMetrics m;
  m.f1 = longtail::metrics::f1_scores(predictions, targets, 0.5);
  m.buckets = longtail::metrics::frequency_bucket_f1(m.f1.label_f1, train_counts, buckets);
  return m;
}

}  // namespace

std::vector<RowMatrix<float>> cross_fitted_predictions(const std::vector<DecisionRule>& rules,
                                                       const RowMatrix<float>& p, const RowMatrix<float>& y,
                                                       const RuleOptions& options) {
  options.validate();
  if (p.rows() != y.rows() || p.cols() != y.cols())
    throw std::invalid_argument("cross_fitted_predictions: targets and probabilities differ in shape");
  const Eigen::Index n = p.rows(), L = p.cols();
  if (n < 2)
    throw std::invalid_argument("cross_fitted_predictions: needs at least 2 validation rows, got " + std::to_string(n));
  const std::vector<int> fold = fold_assignment(n, options.folds, options.seed);
  const std::vector<std::vector<Eigen::Index>> members = fold_members(fold);
  std::vector<RowMatrix<float>> pooled(rules.size(), RowMatrix<float>::Zero(n, L));
  for (std::size_t f = 0; f < members.size(); ++f) {
    const std::vector<Eigen::Index>& out = members[f];
    std::vector<Eigen::Index> in;
    for (Eigen::Index i = 0; i < n; ++i)
      if (fold[std::size_t(i)] != int(f)) in.push_back(i);
    // Tuned on the other folds only: the held-out rows' labels never reach the search.
    const std::vector<FittedRule> fitted = fit_rules(rules, gather_rows(p, in), gather_rows(y, in), options);
    const RowMatrix<float> held_out = gather_rows(p, out);
    for (std::size_t r = 0; r < rules.size(); ++r) {
      const RowMatrix<float> pred = apply_thresholds(held_out, fitted[r].thresholds, rules[r].at_least_one);
      for (std::size_t q = 0; q < out.size(); ++q) pooled[r].row(out[q]) = pred.row(Eigen::Index(q));
    }
  }
  return pooled;
}

namespace {

/// Standard error of a rule's headline F1 over the cross-fitting folds: each fold's held-out
/// predictions scored alone, sample standard deviation / sqrt(K).
double fold_standard_error(const RowMatrix<float>& predictions, const RowMatrix<float>& targets,
                           const std::vector<std::vector<Eigen::Index>>& folds, F1Average metric) {
  const std::size_t k = folds.size();
  if (k < 2) return 0;
  std::vector<double> scores;
  for (const auto& rows : folds)
    scores.push_back(
        f1_of(longtail::metrics::f1_scores(gather_rows(predictions, rows), gather_rows(targets, rows), 0.5), metric));
  const double mean = std::accumulate(scores.begin(), scores.end(), 0.0) / double(k);
  double squares = 0;
  for (double v : scores) squares += (v - mean) * (v - mean);
  return std::sqrt(squares / double(k - 1)) / std::sqrt(double(k));
}

}  // namespace

RuleReport evaluate_rules(const RowMatrix<float>& val_p, const RowMatrix<float>& val_y, const RowMatrix<float>& test_p,
                          const RowMatrix<float>& test_y, const Eigen::ArrayXd& train_counts,
                          const longtail::metrics::FrequencyBuckets& buckets, const RuleOptions& options) {
  options.validate();
  RuleReport report;
  report.metric = options.metric;
  const bool tunable = val_p.rows() >= 2;
  std::vector<DecisionRule> rules;
  for (const auto& r : all_rules())
    if (tunable || !r.tuned()) rules.push_back(r);
  report.folds = tunable ? int(std::min<Eigen::Index>(options.folds, val_p.rows())) : 0;

  const std::vector<FittedRule> fitted = fit_rules(rules, val_p, val_y, options);
  std::vector<RowMatrix<float>> honest;
  if (tunable) honest = cross_fitted_predictions(rules, val_p, val_y, options);
  // The rows of each cross-fitting fold (the folds cross_fitted_predictions used).
  const std::vector<std::vector<Eigen::Index>> fold_rows =
      tunable ? fold_members(fold_assignment(val_p.rows(), options.folds, options.seed))
              : std::vector<std::vector<Eigen::Index>>{};
  for (std::size_t r = 0; r < rules.size(); ++r) {
    RuleEvaluation e;
    e.fitted = fitted[r];
    // An untuned rule has nothing to overfit: its cross-fitted predictions are its predictions.
    e.validation = metrics_of(tunable ? honest[r] : apply_thresholds(val_p, e.fitted.thresholds, rules[r].at_least_one),
                              val_y, train_counts, buckets);
    e.test =
        metrics_of(apply_thresholds(test_p, e.fitted.thresholds, rules[r].at_least_one), test_y, train_counts, buckets);
    if (tunable) e.validation_se = fold_standard_error(honest[r], val_y, fold_rows, options.metric);
    report.rules.push_back(std::move(e));
  }

  auto index_of = [&](const DecisionRule& rule) -> std::size_t {
    for (std::size_t r = 0; r < report.rules.size(); ++r)
      if (report.rules[r].fitted.rule == rule) return r;
    return report.rules.size();
  };
  // The best cross-fitted validation F1 (ties go to the earlier rule), whichever rule is used.
  auto score = [&](std::size_t r) { return f1_of(report.rules[r].validation.f1, options.metric); };
  for (std::size_t r = 1; r < report.rules.size(); ++r)
    if (score(r) > score(report.best)) report.best = r;
  if (options.rule) {
    report.chosen = index_of(*options.rule);
    if (report.chosen == report.rules.size()) {
      const DecisionRule untuned{ThresholdKind::half, options.rule->at_least_one};
      report.chosen = index_of(untuned);
      report.note = "--rule " + options.rule->name() + " needs at least 2 validation rows to tune on (there are " +
                    std::to_string(val_p.rows()) + "): " + untuned.name() + " is used";
    }
  } else {
    report.automatic = true;
    report.tolerance_se = options.tolerance_se;
    report.tie_metric = tie_metric(options.tie_break, options.metric);
    // auto: the best score, statistical ties decided by the tie metric or by simplicity (the
    // order of all_rules()).
    std::vector<ScoredCandidate> candidates;
    for (std::size_t r = 0; r < report.rules.size(); ++r) {
      const RuleEvaluation& e = report.rules[r];
      candidates.push_back(
          {score(r), e.validation_se, report.tie_metric ? f1_of(e.validation.f1, *report.tie_metric) : 0.0});
    }
    report.chosen = select_within_noise(candidates, options.tolerance_se, report.tie_metric.has_value());
  }
  return report;
}

RuledEvaluation evaluate_with_rules(const RowMatrix<float>& val_p, const RowMatrix<float>& val_y,
                                    const RowMatrix<float>& test_p, const RowMatrix<float>& test_y,
                                    const Eigen::ArrayXd& train_counts, Eigen::Index train_rows,
                                    const longtail::metrics::FrequencyBuckets& buckets, const RuleOptions& options) {
  RuledEvaluation out;
  out.rules = evaluate_rules(val_p, val_y, test_p, test_y, train_counts, buckets, options);
  const FittedRule& chosen = out.rules.chosen_rule().fitted;
  out.applied = AppliedRule{chosen.rule.name(), chosen.thresholds, chosen.rule.at_least_one};
  out.validation = evaluate_split("validation", val_p, val_y, out.applied, train_counts, train_rows, buckets);
  out.validation.tuned = out.rules.chosen_rule().validation;
  out.validation.cross_fitted = out.rules.folds > 0;
  out.test = evaluate_split("test", test_p, test_y, out.applied, train_counts, train_rows, buckets);
  return out;
}

std::string format_rules(const RuleReport& report) {
  std::ostringstream os;
  char line[256];
  os << "decision rules: validation F1 "
     << (report.folds ? "cross-fitted over " + std::to_string(report.folds) + " folds (tuned on the other folds)"
                      : std::string("without tuning (fewer than 2 validation rows)"))
     << "; test F1 with thresholds tuned on all validation rows\n";
  std::snprintf(line, sizeof line, "  %-16s %9s | %8s  %8s  %10s | %8s  %8s  %10s\n", "rule", "t_global", "val micro",
                "macro", "samples", "test micro", "macro", "samples");
  os << line;
  for (std::size_t r = 0; r < report.rules.size(); ++r) {
    const RuleEvaluation& e = report.rules[r];
    const std::string name = (r == report.chosen ? "* " : "  ") + e.fitted.rule.name();
    char global[16] = "-";
    if (e.fitted.rule.kind == ThresholdKind::global || e.fitted.rule.kind == ThresholdKind::shrunk)
      std::snprintf(global, sizeof global, "%.4f", e.fitted.global_threshold);
    std::snprintf(line, sizeof line, "  %-16s %9s | %9.4f %8.4f  %10.4f | %10.4f %8.4f  %10.4f\n", name.c_str(), global,
                  e.validation.f1.micro.f1, e.validation.f1.macro.f1, e.validation.f1.samples.f1, e.test.f1.micro.f1,
                  e.test.f1.macro.f1, e.test.f1.samples.f1);
    os << line;
  }
  os << "  * chosen: " << report.chosen_rule().fitted.rule.name();
  if (report.automatic) {
    const RuleEvaluation& best = report.rules[report.best];
    const std::string metric = std::string(to_string(report.metric)) + "-F1";
    std::ostringstream tolerance;
    tolerance << report.tolerance_se;
    std::snprintf(line, sizeof line, "%.4f, standard error %.4f over the folds",
                  f1_of(best.validation.f1, report.metric), best.validation_se);
    os << " (--rule auto: ";
    if (report.chosen == report.best) {
      os << "the best cross-fitted validation " << metric << ", " << line;
    } else {
      const std::string by = report.tie_metric ? std::string("the best cross-fitted validation ") +
                                                     to_string(*report.tie_metric) + "-F1 of the rules"
                                               : std::string("the simplest rule");
      os << by << " within " << tolerance.str() << " standard error(s) of the best cross-fitted validation " << metric
         << ", " << best.fitted.rule.name() << " " << line;
    }
    os << ")";
  } else {
    os << " (--rule)";
  }
  os << (report.note.empty() ? "" : "; " + report.note) << "\n";
  return os.str();
}

}  // namespace longtail_train
