// SPDX-License-Identifier: Apache-2.0
#pragma once
// Decision rules: how probabilities become predicted label sets, how each rule is tuned on the
// validation split, and how its validation score is measured without the optimism of scoring a
// rule on the rows it was tuned on.
//
// The rules (names as on the command line, --rule):
//   0.5        every label at threshold 0.5 (nothing tuned; the write-up's rule)
//   global     one threshold t_g for every label, the one that maximises the headline F1
//              (macro by default, RuleOptions::metric) on the tuning rows. Exact search: every
//              cut between two consecutive distinct scores of the tuning matrix is tried (the
//              threshold is the midpoint), in one pass over the scores sorted once. Ties (equal F1
//              within 1e-12) go to the higher threshold: fewer predicted labels.
//   per-label  each label's threshold t_c* maximises that label's F1 on the tuning rows
//              (longtail::metrics::tune_thresholds; 0.5 for labels without a positive there). A
//              label with 3 validation positives gets a threshold fitted to 3 scores: it
//              overfits, and micro-F1 pays for it. Kept as the reference rule it was.
//   shrunk     per-label thresholds pulled toward the global one by the label's support:
//                t_c = (k_c t_c* + m t_g) / (k_c + m),   k_c = positives of label c in the tuning rows,
//              m = RuleOptions::shrinkage (the number of positives at which a label's own
//              threshold and the global one weigh the same); labels with k_c < min_positives
//              keep t_g. t_g is the `global` rule's threshold with the same at-least-one setting.
//   +top1      any of the above, and every row predicts at least one label: when no label of a
//              row clears its threshold, the row's most probable label (lowest index among equal
//              probabilities) is predicted (every IAB page has a category). The global search
//              tunes t_g with this in place (exact: the row's top label is predicted whatever
//              the threshold, the others enter as it falls); per-label thresholds are tuned
//              without it (a label's own F1 does not see the other labels).
//
// Honest validation scores (cross-fitting): a tuned rule scored on the rows it was tuned on looks
// better than it is (per-label thresholds most of all). The validation rows are split into K
// folds (RuleOptions::folds, fold of each row from the trainer's generator, common/rng.hpp, stream
// RngStream::rule_folds: deterministic); for each fold the rule is tuned on the other K-1 folds
// and predicts the held-out fold; the held-out predictions of all folds are pooled and the
// metrics computed once on them. No row's label takes part in choosing the thresholds that
// predict it. The thresholds used on test and saved for predict are tuned on all validation rows.
// `--rule auto` picks among the rules by their cross-fitted validation headline F1, statistical
// ties decided as for configurations (selection.hpp): with the defaults (--select-se 1,
// --tie-break auto) the rule with the best cross-fitted micro-F1 among those within one standard
// error of the best macro-F1 (the standard error of the best rule's score over the K held-out
// folds, sd / sqrt(K)); `--tie-break simplest` takes the simplest of them instead (the earliest in
// all_rules()), `--select-se 0` the best rule itself (ties: the simpler). Every rule's standard
// error is reported either way.

#include <cstdint>
#include <optional>
#include <string>
#include <vector>

#include <Eigen/Core>

#include "longtail/metrics.hpp"

#include "dataset.hpp"
#include "evaluate.hpp"

namespace longtail_train {

/// Which F1 a rule maximises and `auto` selects by (the sweep's --metric). macro_micro is the
/// mean of macro-F1 and micro-F1, for users who need both; measured as a default it cost
/// Delicious macro-F1 (examples/trainer/README.md, "Decision rules"), so macro stays the default.
enum class F1Average { macro, micro, samples, macro_micro };
const char* to_string(F1Average a);
/// "macro" | "micro" | "samples" | "macro+micro"; nullopt otherwise.
std::optional<F1Average> parse_f1_average(const std::string& name);
double f1_of(const longtail::metrics::F1Scores& scores, F1Average average);

/// What decides among candidates tied within --select-se standard errors (selection.hpp).
/// automatic: micro-F1 when ranking by macro-F1, macro-F1 when ranking by micro-F1, else simplest.
enum class TieBreak { automatic, simplest, macro, micro, samples };
const char* to_string(TieBreak t);
/// "auto" | "simplest" | "macro" | "micro" | "samples"; nullopt otherwise.
std::optional<TieBreak> parse_tie_break(const std::string& name);
/// The F1 that breaks ties when ranking by `metric`; nullopt: the simplest (earliest) candidate.
std::optional<F1Average> tie_metric(TieBreak tie_break, F1Average metric);

enum class ThresholdKind { half, global, shrunk, per_label };

struct DecisionRule {
  ThresholdKind kind = ThresholdKind::half;
  bool at_least_one = false;  ///< top-1 when no label clears its threshold
  /// "0.5", "global+top1", ... (the --rule value).
  std::string name() const;
  bool tuned() const { return kind != ThresholdKind::half; }
  bool operator==(const DecisionRule& o) const { return kind == o.kind && at_least_one == o.at_least_one; }
};

/// Every rule, simplest first: 0.5, 0.5+top1, global, global+top1, shrunk, shrunk+top1,
/// per-label, per-label+top1 (the order of the reports and of auto's tie-break).
const std::vector<DecisionRule>& all_rules();
/// A rule from its name; nullopt for an unknown name ("auto" is not a rule).
std::optional<DecisionRule> parse_rule(const std::string& name);
/// "auto, 0.5, 0.5+top1, global, ...": the values --rule accepts.
std::string rule_choices();

struct RuleOptions {
  std::optional<DecisionRule> rule;  ///< the rule to use; empty = auto (best cross-fitted validation F1)
  F1Average metric = F1Average::macro;
  /// shrunk: m in t_c = (k_c t_c* + m t_g) / (k_c + m). Default from the validation-only
  /// comparison in examples/trainer/README.md ("Decision rules").
  double shrinkage = 10.0;
  /// shrunk: labels with fewer validation positives than this keep the global threshold. Default
  /// 1 (only labels without a positive, which have no threshold of their own): the shrinkage
  /// already weighs a label with k positives by k / (k + m), and a floor of 3 or 5 lowered the
  /// cross-fitted validation macro-F1 on all three data sets of the README's comparison.
  Eigen::Index min_positives = 1;
  int folds = 5;  ///< K of the cross-fitting (at most the number of validation rows)
  /// auto, and the sweep's and search's selection: candidates within this many standard errors
  /// of the best score are tied (0: the best itself, ties to the earlier; --select-se).
  double tolerance_se = 1.0;
  TieBreak tie_break = TieBreak::automatic;  ///< what decides among tied candidates (--tie-break)
  std::uint64_t seed = 1;                    ///< of the fold assignment (the training --seed)

  /// Throws std::invalid_argument naming the flag (--rule-shrinkage, --rule-min-positives,
  /// --rule-folds, --select-se).
  void validate() const;
};

/// A rule tuned on some rows: what predicting needs.
struct FittedRule {
  DecisionRule rule;
  Eigen::ArrayXd thresholds;      ///< one per label, probabilities in [0, 1]
  double global_threshold = 0.5;  ///< 0.5, or the tuned t_g (global, shrunk; per-label: its fallback 0.5)
};

/// The row's most probable label: the lowest index among equal maxima (-1 when there are no labels).
Eigen::Index top_label(const float* probabilities, Eigen::Index labels);

/// 0/1 predictions: p > threshold, and the row's top label when at_least_one and none clears.
RowMatrix<float> apply_thresholds(const RowMatrix<float>& probabilities, const Eigen::ArrayXd& thresholds,
                                  bool at_least_one);

/// The `global` rule's threshold on (probabilities, targets): exact search, see the top of this
/// file. `fallback` when there is nothing to tune on (no rows or no labels).
double tune_global_threshold(const RowMatrix<float>& probabilities, const RowMatrix<float>& targets, F1Average metric,
                             bool at_least_one, double fallback = 0.5);

/// shrunk's thresholds from the raw per-label ones, the labels' positives and t_g.
Eigen::ArrayXd shrink_thresholds(const Eigen::ArrayXd& per_label, const Eigen::ArrayXd& positives,
                                 double global_threshold, double shrinkage, Eigen::Index min_positives);

/// Tunes each of `rules` on (probabilities, targets), sharing the searches they have in common.
std::vector<FittedRule> fit_rules(const std::vector<DecisionRule>& rules, const RowMatrix<float>& probabilities,
                                  const RowMatrix<float>& targets, const RuleOptions& options);

/// The fold (0..K-1) of each of `rows` rows: a shuffle from Rng(seed, stream_id(rule_folds)),
/// then position mod K, so folds differ in size by at most one. K = min(folds, rows).
std::vector<int> fold_assignment(Eigen::Index rows, int folds, std::uint64_t seed);
/// The rows of each fold of `fold` (a fold_assignment), ascending: the held-out rows of fold f.
std::vector<std::vector<Eigen::Index>> fold_members(const std::vector<int>& fold);

/// Cross-fitted 0/1 predictions of each rule on the validation rows (one matrix per rule, in the
/// order of `rules`): each fold predicted by the rule tuned on the other folds. Needs >= 2 rows.
std::vector<RowMatrix<float>> cross_fitted_predictions(const std::vector<DecisionRule>& rules,
                                                       const RowMatrix<float>& probabilities,
                                                       const RowMatrix<float>& targets, const RuleOptions& options);

/// One rule's result in a run.
struct RuleEvaluation {
  FittedRule fitted;              ///< tuned on all validation rows: used on test and by predict
  ThresholdedMetrics validation;  ///< cross-fitted (untuned rules: plain validation metrics)
  ThresholdedMetrics test;        ///< with `fitted`
  /// Standard error of the cross-fitted headline F1 (RuleReport::metric): the sample standard
  /// deviation of its K held-out folds' scores over sqrt(K); 0 without cross-fitting.
  double validation_se = 0;
};

struct RuleReport {
  std::vector<RuleEvaluation> rules;    ///< all_rules() order
  std::size_t chosen = 0;               ///< the --rule, or auto's pick
  std::size_t best = 0;                 ///< the best cross-fitted headline F1 (also under --rule)
  double tolerance_se = 0;              ///< auto's tolerance in standard errors (RuleOptions::tolerance_se)
  std::optional<F1Average> tie_metric;  ///< what decided auto's ties (nullopt: the simplest rule)
  bool automatic = false;               ///< chosen by auto
  F1Average metric = F1Average::macro;  ///< what auto and the global search maximise
  int folds = 0;                        ///< K used (0: fewer than 2 validation rows, nothing tuned)
  std::string note;                     ///< why the requested rule was not used (too few validation rows), or ""
  const RuleEvaluation& chosen_rule() const { return rules.at(chosen); }
};

/// Every rule of all_rules() tuned on validation, scored by cross-fitting on validation and on
/// test, and the rule chosen by options.rule (or auto). With fewer than 2 validation rows no rule
/// can be tuned or honestly scored: only 0.5 and 0.5+top1 are reported, and 0.5 (or 0.5+top1
/// when that was asked) is chosen, with a note.
RuleReport evaluate_rules(const RowMatrix<float>& validation_probabilities, const RowMatrix<float>& validation_targets,
                          const RowMatrix<float>& test_probabilities, const RowMatrix<float>& test_targets,
                          const Eigen::ArrayXd& train_counts, const longtail::metrics::FrequencyBuckets& buckets,
                          const RuleOptions& options);

/// What a run reports about a model's (or an ensemble's) probabilities: every rule (evaluate_rules)
/// and both splits evaluated at the chosen one, the validation split with the rule's cross-fitted
/// metrics (in-sample they are optimistic).
struct RuledEvaluation {
  RuleReport rules;
  AppliedRule applied;  ///< the chosen rule, tuned on all validation rows
  SplitEvaluation validation, test;
};

/// evaluate_rules, then evaluate_split of both splits at the chosen rule. `train_counts` /
/// `train_rows`: of the training split (buckets, propensities).
RuledEvaluation evaluate_with_rules(const RowMatrix<float>& validation_probabilities,
                                    const RowMatrix<float>& validation_targets,
                                    const RowMatrix<float>& test_probabilities, const RowMatrix<float>& test_targets,
                                    const Eigen::ArrayXd& train_counts, Eigen::Index train_rows,
                                    const longtail::metrics::FrequencyBuckets& buckets, const RuleOptions& options);

/// The rules' table of the train summary: validation (cross-fitted) and test micro / macro /
/// samples F1 side by side, the chosen rule marked.
std::string format_rules(const RuleReport& report);

}  // namespace longtail_train
