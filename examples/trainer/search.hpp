// SPDX-License-Identifier: Apache-2.0
#pragma once
// `sweep --search wide`: a budgeted search beyond the write-up's grid by successive halving
// (Jamieson & Talwalkar 2016; Li et al. 2018, Hyperband's inner loop) on the validation headline
// F1 (the sweep's --metric at its --rule; by default macro-F1 at the rule --rule auto picks,
// cross-fitted).
//
// The configurations: the sweep's grid (--cap x --gamma, plus the plain-BCE baseline) and
// configurations drawn from the wide space (search_space.hpp) up to --search-configs in all,
// deterministically from --seed. Rung 0 trains every one of them for a few epochs; each rung keeps
// the best 1/eta of its configurations by validation score and trains them on to the next rung's
// epoch count, until one rung trains the survivors to the full --epochs. Survivors continue from
// their checkpoint (TrainConfig::resume_path, bit-exact like an uninterrupted run), kept in a work
// folder under the output folder that is removed at the end; a configuration's checkpoint is
// deleted as soon as it is eliminated. The baseline is trained in every rung and never eliminated
// (it takes no survivor's place), so the improvement column compares full runs.
//
// The budget: no training job starts when it is predicted (from the seconds per epoch measured so
// far) to end after the budget; the first job predicted to overrun ends the search, and the
// configurations that finished the most rungs are ranked first. The search is deterministic
// (the same table for the same flags and thread counts) as long as the budget does not cut it.
//
// The ensemble (ensemble.hpp, --ensemble K, default 3): the mean probabilities of the K best
// configurations that finished the last rung, its decision rules tuned and cross-fitted like any
// configuration's, ranked among the configurations of the last rung by the same validation score.
//
// Selection on validation only: the table (sweep.hpp's format, CSV and JSON) ranks by rung
// reached, then validation headline; rank 1 is the selected configuration, test reports it.
//
// The refit (refit.hpp, SearchOptions::refit): the selected row's model(s) trained again on train +
// validation for their selected epochs, at the selected rule; test reports it beside the row.

#include <cstdint>
#include <functional>
#include <limits>
#include <optional>
#include <string>
#include <vector>

#include "refit.hpp"
#include "search_space.hpp"
#include "sweep.hpp"
#include "trainer.hpp"

namespace longtail_train {

// ---- successive halving, independent of what is trained ----

/// The rungs: epochs trained by the end of rung k, and the configurations competing in it.
struct HalvingPlan {
  std::vector<int> epochs;         ///< increasing; the last is the full epoch count (a run may stop earlier)
  std::vector<std::size_t> sizes;  ///< n, n / eta, n / eta^2, ... (rounded down, >= 1)
};

/// K rungs, the most with (a) rung 0 training at least `min_epochs` epochs and (b) at least one
/// configuration in the last rung; epochs[k] = round(max_epochs / eta^(K-1-k)), at least
/// min_epochs, strictly increasing; then the last rung's epochs raised to `last_epochs` (0: leave
/// it at max_epochs). Throws std::invalid_argument naming the flag for configurations < 1, eta < 2,
/// min_epochs < 1, max_epochs < 1 or 0 < last_epochs < max_epochs.
HalvingPlan halving_plan(std::size_t configurations, int max_epochs, int eta, int min_epochs, int last_epochs = 0);

/// One training job: a configuration trained on to an epoch count.
struct HalvingTrial {
  double score = 0;    ///< validation score after the job (higher is better)
  double seconds = 0;  ///< time of the job
  std::string error;   ///< non-empty: the configuration failed (training diverged); it leaves the search
};

/// Trains configuration `config` on to `epochs` epochs in all (rung `rung`; from scratch in rung 0,
/// else continuing its previous rung). Called from `jobs` threads at once.
using HalvingTrainer = std::function<HalvingTrial(std::size_t config, std::size_t rung, int epochs)>;

/// How the plan runs (the plan itself says who survives each rung: HalvingPlan::sizes).
struct HalvingOptions {
  int jobs = 1;
  double budget_seconds = std::numeric_limits<double>::infinity();
  /// Configurations trained in every rung and never eliminated, outside the plan's sizes (the
  /// baseline). The others (in index order) are the plan's configurations.
  std::vector<std::size_t> keep;
  /// Seconds from any origin (default: the steady clock); tests pass a simulated clock.
  std::function<double()> clock;
  /// Called on the calling thread, between rungs, when a configuration leaves the search.
  std::function<void(std::size_t config)> on_eliminated;
  /// Called (under a lock) when a job ends.
  std::function<void(std::size_t config, std::size_t rung, const HalvingTrial&)> on_trial;
};

struct HalvingRecord {
  std::size_t rungs_done = 0;  ///< rungs finished; 0: never trained (the budget ran out first)
  std::vector<double> scores;  ///< per rung finished
  double seconds = 0;          ///< over all its jobs
  int epochs = 0;              ///< epochs asked for by its last finished rung
  std::string error;           ///< why it failed, if it did (its finished rungs still count)
};

struct HalvingOutcome {
  std::vector<HalvingRecord> configs;
  /// The configurations that finished rung k, best validation score first (kept ones included).
  std::vector<std::vector<std::size_t>> rungs;
  /// Every configuration that finished a rung: by rungs finished, then last score, then index.
  std::vector<std::size_t> ranking;
  std::vector<double> rung_seconds;  ///< wall time of each rung run
  std::size_t jobs_skipped = 0;      ///< jobs not started: predicted to end after the budget
  bool budget_exhausted = false;
  double seconds = 0;
};

/// Runs the plan over configurations 0 .. configurations-1 (the plan's sizes count those not in
/// options.keep). Exceptions of `train` other than failures reported in HalvingTrial::error stop
/// the search and are rethrown after the running jobs end.
HalvingOutcome successive_halving(std::size_t configurations, const HalvingPlan& plan, const HalvingTrainer& train,
                                  const HalvingOptions& options);

// ---- the search of `sweep --search wide` ----

struct SearchOptions {
  bool wide = false;                ///< --search wide (false: the grid, run_sweep)
  double budget_minutes = 20;       ///< --budget-minutes
  std::size_t configurations = 81;  ///< --search-configs: grid + baseline + sampled
  int eta = 3;                      ///< --eta: each rung keeps the best 1/eta
  int min_epochs = 2;               ///< --min-epochs: epochs of rung 0 at least
  /// --last-rung-epochs: how far the last rung may train its runs (0: --epochs, the default); early
  /// stopping (--patience) ends each of them when validation macro-F1 at 0.5 stops improving; the
  /// earlier rungs keep the plan of --epochs. Not longer by default: at 3 x --epochs the finalists
  /// trained on (on bibtex most of them had their best epoch at the 20th), yet the search's best
  /// validation score fell (0.386 -> 0.380; examples/trainer/README.md, "Wide search, measured").
  int last_rung_epochs = 0;
  /// --ensemble: also rank the mean probabilities of the best K configurations of the last rung
  /// (ensemble.hpp); 0: none.
  std::size_t ensemble = 3;
  /// Retrain the selected row's model(s) on train + validation before keeping it (refit.hpp);
  /// --no-refit: keep the search's own model.
  bool refit = true;
};

struct SearchResult {
  SweepResult sweep;  ///< the table: configurations that finished a rung, ranked
  /// grid + baseline first (the run's training flags), then the sampled ones (index order).
  std::vector<SearchCandidate> configs;
  std::size_t grid_size = 0;  ///< how many of configs come from the grid (with the baseline)
  HalvingPlan plan;
  HalvingOutcome outcome;
  SearchOptions options;
  std::uint64_t seed = 0;
  double space_size = 0;  ///< points of the wide space (before canonicalisation)
  /// The ensemble's members (indices into configs, best first); empty when there is none (--ensemble
  /// 0, or fewer than 2 configurations finished the last rung). Its row is in sweep.entries.
  std::vector<std::size_t> ensemble;
  std::size_t ensemble_rank = 0;  ///< its rank in the table (1 = selected); 0 without an ensemble
  /// The selected row's model for eval / predict --checkpoint: `selected_dir`/model.ltck, or for an
  /// ensemble `selected_dir`/ensemble.txt with member-1.ltck ... (saved_model.hpp); "" when none
  /// was asked for or nothing finished.
  std::string selected_model;
  /// The selected row refit on train + validation (refit.hpp): empty with --no-refit, when nothing
  /// finished, or when the refit failed (refit_error says why; the search's model is kept then).
  std::optional<RefitResult> refit;
  std::string refit_error;
};

/// Model selection among the rows that finished the most rungs (the ensemble's row among them):
/// the best validation headline, or the tie-break's pick among the rows tied with it
/// (move_selected_first), moved to the top of res.sweep.entries; its configuration moves to the
/// front of res.outcome.ranking, and ensemble_rank follows the ensemble's row. The halving's own
/// ranking (promotions, the ensemble's members) is by validation headline alone.
void select_among_finalists(SearchResult& res, const SweepOptions& sweep, const RuleOptions& rules);

/// The last rung's epochs: options.last_rung_epochs, or `epochs` when it is 0.
int last_rung_epochs(const SearchOptions& options, int epochs);

/// `base` with what `training` sets of it (one hidden layer's width, dropout, learning rate).
TrainConfig apply_training_choice(TrainConfig base, const TrainingChoice& training);

/// The search: `grid` (sweep_losses: the grid, baseline included) plus configurations sampled
/// from wide_search_space() with base.seed, halved on the validation headline. The work folder
/// (`work_dir`, created empty, removed at the end, also on error) holds the checkpoints. The
/// selected row's model goes to `selected_dir` (emptied before; "" = keep nothing): refit there
/// (search.refit), else, or when the refit diverges, its checkpoints moved from the work folder.
SearchResult run_search(const Splits& data, const TrainConfig& base, const std::vector<LossConfig>& grid,
                        const SweepOptions& sweep, const SearchOptions& search, int jobs, int threads_per_job,
                        ProgressMode progress, const std::string& work_dir, const std::string& selected_dir = "");

/// The rungs: epochs, configurations, survivors, best validation score and time of each; what the
/// budget cut.
std::string format_search_summary(const SearchResult& result);

/// search.json: the plan, the space, the seed, and every configuration's validation score per rung.
std::string search_json(const SearchResult& result);

}  // namespace longtail_train
