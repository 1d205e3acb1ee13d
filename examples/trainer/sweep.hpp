// SPDX-License-Identifier: Apache-2.0
#pragma once
// The grid search of the write-up: every loss configuration trained with the same model, data,
// optimiser and seed; the table ranked by the headline F1 on the validation split at each
// configuration's decision rule (decision_rules.hpp: --rule, default auto; validation F1 of a tuned
// rule is its cross-fitted one, so (configuration, rule) pairs compare honestly; rank 1 is the
// selected pair), with its test F1 and the improvement over a baseline configuration; CSV and
// JSON files (sweep.json: every rule's validation and test F1 of every configuration). Configurations run in parallel
// (--jobs threads, each job single-threaded by default: on a small machine several single-threaded trainings use the
// cores better than one multi-threaded training of small GEMMs).

#include <cstddef>
#include <cstdint>
#include <functional>
#include <optional>
#include <string>
#include <vector>

#include "trainer.hpp"

namespace longtail_train {

/// How the sweep runs and reports (its grid comes from the loss flags: loss_config.hpp).
struct SweepOptions {
  bool add_bce_baseline = true;  ///< also train plain BCE (unless the grid has it)
  std::string baseline = "bce";  ///< configuration the improvement is measured against
  int jobs = 0;                  ///< parallel configurations; 0 = one per core (at most one per config)
  std::string metric = "macro";  ///< headline F1: macro | micro | samples | macro+micro (also what the rules maximise)
};

/// The F1 that `options.metric` names (macro when it names none): what every configuration's
/// decision rules maximise and what the sweep ranks by.
F1Average headline_average(const SweepOptions& options);

struct SweepEntry {
  LossConfig loss;
  std::string name;
  /// What the configuration is, in words (the loss column of sweep.csv and sweep.json):
  /// LossConfig::describe, a searched configuration's SearchCandidate::describe, an ensemble's members.
  std::string description;
  // Results (the model itself is not kept).
  SplitEvaluation validation, test;  ///< `tuned`: at the chosen decision rule (validation: cross-fitted)
  RuleReport rules;                  ///< every decision rule of this configuration
  int best_epoch = 0, epochs_done = 0;
  bool early_stopped = false;
  double seconds = 0, train_seconds_per_epoch = 0;
  double validation_headline = 0;  ///< the headline F1 on validation (cross-fitted rule): what the table is ranked by
  double headline = 0;             ///< the headline F1 on test: what the selection is reported with
  /// FNV-1a-64 of the selected (best epoch's) weights: two runs' models are bit for bit the same
  /// exactly when these agree (up to hash collisions), e.g. a configuration trained on another rank.
  std::uint64_t weights_fnv1a = 0;
};

/// A configuration whose training ended with an error: reported, not ranked.
struct SweepFailure {
  LossConfig loss;
  std::string name;
  std::string message;  ///< the error's text
};

struct SweepResult {
  std::vector<SweepEntry> entries;     ///< ranked by validation headline F1, the selected one first
  std::vector<SweepFailure> failures;  ///< in grid order
  std::string baseline;
  std::string metric;  ///< "macro-F1 at the decision rule chosen on validation", ...
  double seconds = 0;
  int jobs = 1, threads_per_job = 1;
  int ranks = 1;  ///< processes the configurations were spread over (mpirun -np)
};

/// The table's row of one finished training of `loss` (the model is not kept).
SweepEntry sweep_entry(const LossConfig& loss, TrainResult&& result, const SweepOptions& options);
/// "macro-F1 at threshold 0.5", ...: the headline metric of the table.
std::string sweep_metric_name(const SweepOptions& options, const RuleOptions& rules);
/// Sets the entry's validation_headline and headline from its evaluations (an entry read back
/// from a result file or another rank is ranked by this run's --metric).
void set_headlines(SweepEntry& entry, const SweepOptions& options);

/// Model selection among the first `count` entries of `ranked` (best validation headline first):
/// the best, statistical ties (within rules.tolerance_se standard errors of the best entry's
/// score, the standard error of its chosen rule) decided by the tie-break F1 on validation
/// (rules.tie_break under the sweep's --metric; selection.hpp). The selected entry moves to the
/// front, the others keep their order; returns its index before the move.
std::size_t move_selected_first(std::vector<SweepEntry>& ranked, std::size_t count, const SweepOptions& options,
                                const RuleOptions& rules);

/// What became of one configuration of the grid: its entry, or the error that ended it.
struct SweepOutcome {
  std::size_t index = 0;            ///< in the grid (`losses`)
  std::optional<SweepEntry> entry;  ///< empty when it failed
  std::string error;                ///< the failure's message
  bool kept = false;                ///< taken from the result file of an earlier run (sweep --resume)
};

/// How a configuration's entry is obtained from its training settings (loss and threads set):
/// train_model by default; sweep_store.hpp's task also checkpoints and resumes. Runs on the
/// sweep's worker threads; an exception is that configuration's failure.
using ConfigurationTask = std::function<SweepEntry(const TrainConfig& config, Progress& progress)>;

/// The default task: trains `config` on `data` (no checkpoint).
ConfigurationTask train_configuration(const Splits& data, const SweepOptions& options);

/// Runs the configurations `indices` of `losses` with `base` (loss and threads replaced), `jobs`
/// at a time on this process's cores. A failure is recorded in its outcome; the others go on.
/// Outcomes in the order of `indices`. Progress lines start with `line_prefix` ("[rank 1] ").
std::vector<SweepOutcome> run_configurations(const std::vector<LossConfig>& losses,
                                             const std::vector<std::size_t>& indices, const TrainConfig& base,
                                             const SweepOptions& options, int jobs, int threads_per_job,
                                             ProgressMode progress, const std::string& line_prefix,
                                             const ConfigurationTask& task);

/// The result of a sweep from every configuration's outcome: entries ranked by the validation
/// headline, failures in grid order. Throws std::logic_error when an index is missing or repeated.
/// `rules`: the decision-rule options the configurations were trained with (the metric's name).
SweepResult sweep_result(const std::vector<LossConfig>& losses, std::vector<SweepOutcome> outcomes,
                         const SweepOptions& options, int jobs, int threads_per_job, int ranks,
                         const RuleOptions& rules = RuleOptions{});

/// Trains every configuration of `losses` with `base` (loss replaced), `jobs` at a time, in this
/// process and without files (sweep_distribution.hpp: over MPI ranks, with checkpoints). A
/// configuration that fails is listed in `failures`. progress: quiet = only failures; bar = a
/// line when each configuration starts and ends; lines = also one line per epoch of every job
/// (prefixed with the configuration's name).
SweepResult run_sweep(const Splits& data, const TrainConfig& base, const std::vector<LossConfig>& losses,
                      const SweepOptions& options, int jobs, int threads_per_job, ProgressMode progress);

/// The table in the write-up's form (configuration, F1, improvement) plus the other metrics.
std::string format_sweep_table(const SweepResult& result);

/// The contents of sweep.csv (one line per configuration, table order) and sweep.json.
std::string sweep_csv(const SweepResult& result);
std::string sweep_json(const SweepResult& result, const std::string& data_description);

}  // namespace longtail_train
