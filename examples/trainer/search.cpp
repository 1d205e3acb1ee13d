// SPDX-License-Identifier: Apache-2.0
#include "search.hpp"

#include <algorithm>
#include <chrono>
#include <cmath>
#include <cstdio>
#include <exception>
#include <filesystem>
#include <iterator>
#include <map>
#include <mutex>
#include <optional>
#include <set>
#include <sstream>
#include <stdexcept>
#include <system_error>
#include <utility>

#include "common/durable_file.hpp"
#include "common/job_pool.hpp"
#include "decision_rules.hpp"
#include "ensemble.hpp"
#include "inference.hpp"
#include "report.hpp"
#include "saved_model.hpp"

namespace longtail_train {
namespace {

[[noreturn]] void bad(const std::string& what) { throw std::invalid_argument(what); }

double steady_seconds() {
  return std::chrono::duration<double>(std::chrono::steady_clock::now().time_since_epoch()).count();
}

}  // namespace

HalvingPlan halving_plan(std::size_t configurations, int max_epochs, int eta, int min_epochs, int last_epochs) {
  if (configurations < 1) bad("--search-configs must be >= 1 (got " + std::to_string(configurations) + ")");
  if (eta < 2) bad("--eta must be >= 2 (got " + std::to_string(eta) + ")");
  if (min_epochs < 1) bad("--min-epochs must be >= 1 (got " + std::to_string(min_epochs) + ")");
  if (max_epochs < 1) bad("--epochs must be >= 1 (got " + std::to_string(max_epochs) + ")");
  if (last_epochs < 0 || (last_epochs > 0 && last_epochs < max_epochs))
    bad("--last-rung-epochs " + std::to_string(last_epochs) + " must be at least --epochs (" +
        std::to_string(max_epochs) + ")");
  // Rungs the epochs allow: rung 0 trains max_epochs / eta^(K-1) >= min_epochs epochs.
  std::size_t rungs = 1;
  for (double divisor = eta; double(max_epochs) / divisor >= double(min_epochs); divisor *= eta) ++rungs;
  // Rungs the configurations allow: the last keeps n / eta^(K-1) >= 1 of them.
  std::size_t by_configs = 1;
  for (std::size_t n = configurations / std::size_t(eta); n >= 1; n /= std::size_t(eta)) ++by_configs;
  rungs = std::min(rungs, by_configs);
  HalvingPlan plan;
  double divisor = 1;
  for (std::size_t k = 1; k < rungs; ++k) divisor *= eta;
  std::size_t size = configurations;
  for (std::size_t k = 0; k < rungs; ++k, divisor /= eta, size /= std::size_t(eta)) {
    const int epochs =
        k + 1 == rungs ? max_epochs : std::max(min_epochs, int(std::llround(double(max_epochs) / divisor)));
    if (!plan.epochs.empty() && epochs <= plan.epochs.back()) continue;  // rounding never does this; be safe
    plan.epochs.push_back(epochs);
    plan.sizes.push_back(std::max<std::size_t>(1, size));
  }
  plan.epochs.back() = std::max(plan.epochs.back(), last_epochs);
  return plan;
}

HalvingOutcome successive_halving(std::size_t configurations, const HalvingPlan& plan, const HalvingTrainer& train,
                                  const HalvingOptions& options) {
  if (plan.epochs.empty() || plan.epochs.size() != plan.sizes.size())
    bad("successive_halving: the plan needs one size per rung");
  for (std::size_t k = 1; k < plan.epochs.size(); ++k)
    if (plan.epochs[k] <= plan.epochs[k - 1] || plan.sizes[k] > plan.sizes[k - 1])
      bad("successive_halving: rungs must train more epochs on fewer configurations");
  if (options.jobs < 1) bad("--jobs must be >= 1");
  if (!(options.budget_seconds > 0)) bad("--budget-minutes must be > 0");
  std::vector<bool> kept(configurations, false);
  for (std::size_t c : options.keep) {
    if (c >= configurations || kept[c]) bad("successive_halving: kept configurations must be distinct indices");
    kept[c] = true;
  }
  std::vector<std::size_t> active;  // competitors of the current rung, index order
  for (std::size_t c = 0; c < configurations; ++c)
    if (!kept[c]) active.push_back(c);
  if (active.size() != plan.sizes[0])
    bad("successive_halving: the plan is for " + std::to_string(plan.sizes[0]) + " configurations, not " +
        std::to_string(active.size()));
  const auto clock = options.clock ? options.clock : std::function<double()>(steady_seconds);
  const double t0 = clock();

  HalvingOutcome out;
  out.configs.resize(configurations);
  std::mutex mutex;
  double observed_seconds = 0, observed_epochs = 0;  // of finished jobs: the rate predictions use
  bool stop = false;
  std::exception_ptr error;

  for (std::size_t k = 0; k < plan.epochs.size(); ++k) {
    const int previous = k ? plan.epochs[k - 1] : 0;
    const int added = plan.epochs[k] - previous;
    // The kept configurations first: the budget cuts competitors before the baseline.
    std::vector<std::size_t> jobs;
    for (std::size_t c : options.keep)
      if (out.configs[c].rungs_done == k) jobs.push_back(c);
    jobs.insert(jobs.end(), active.begin(), active.end());
    const double rung_start = clock();

    run_jobs(jobs.size(), options.jobs, [&](std::size_t j) {
      const std::size_t c = jobs[j];
      {
        std::lock_guard<std::mutex> lock(mutex);
        if (error || stop) {
          ++out.jobs_skipped;
          return;
        }
        // Predicted duration: this configuration's own seconds per epoch, else the mean of all
        // finished jobs, else unknown (the first jobs always start).
        const HalvingRecord& r = out.configs[c];
        const double rate = r.epochs > 0          ? r.seconds / r.epochs
                            : observed_epochs > 0 ? observed_seconds / observed_epochs
                                                  : 0.0;
        if (clock() - t0 + rate * added > options.budget_seconds) {
          stop = true;
          out.budget_exhausted = true;
          ++out.jobs_skipped;
          return;
        }
      }
      try {
        const HalvingTrial t = train(c, k, plan.epochs[k]);
        std::lock_guard<std::mutex> lock(mutex);
        HalvingRecord& r = out.configs[c];
        r.seconds += t.seconds;
        observed_seconds += t.seconds;
        observed_epochs += added;
        if (t.error.empty()) {
          r.rungs_done = k + 1;
          r.scores.push_back(t.score);
          r.epochs = plan.epochs[k];
        } else {
          r.error = t.error;
        }
        if (options.on_trial) options.on_trial(c, k, t);
      } catch (...) {
        std::lock_guard<std::mutex> lock(mutex);
        if (!error) error = std::current_exception();
      }
    });
    if (error) std::rethrow_exception(error);
    out.rung_seconds.push_back(clock() - rung_start);

    // Rank this rung: best validation score first, ties by index (deterministic).
    std::vector<std::size_t> finished;
    for (std::size_t c : jobs)
      if (out.configs[c].rungs_done == k + 1) finished.push_back(c);
    auto better = [&](std::size_t a, std::size_t b) {
      const double sa = out.configs[a].scores.back(), sb = out.configs[b].scores.back();
      return sa != sb ? sa > sb : a < b;
    };
    std::sort(finished.begin(), finished.end(), better);
    out.rungs.push_back(finished);
    if (stop || k + 1 == plan.epochs.size()) break;

    // Promote the best plan.sizes[k + 1] competitors; the others leave the search.
    std::vector<std::size_t> promoted;
    for (std::size_t c : finished)
      if (!kept[c] && promoted.size() < plan.sizes[k + 1]) promoted.push_back(c);
    const std::set<std::size_t> promoted_set(promoted.begin(), promoted.end());
    for (std::size_t c : active)
      if (!promoted_set.count(c) && options.on_eliminated) options.on_eliminated(c);
    std::sort(promoted.begin(), promoted.end());
    active = promoted;
  }

  for (std::size_t c = 0; c < configurations; ++c)
    if (out.configs[c].rungs_done > 0) out.ranking.push_back(c);
  std::sort(out.ranking.begin(), out.ranking.end(), [&](std::size_t a, std::size_t b) {
    const HalvingRecord &ra = out.configs[a], &rb = out.configs[b];
    if (ra.rungs_done != rb.rungs_done) return ra.rungs_done > rb.rungs_done;
    if (ra.scores.back() != rb.scores.back()) return ra.scores.back() > rb.scores.back();
    return a < b;
  });
  out.seconds = clock() - t0;
  return out;
}

namespace {

/// The folder of the search's checkpoints: created empty (a killed search's leftovers removed),
/// removed with everything in it when the search ends, also on error.
class WorkFolder {
 public:
  explicit WorkFolder(std::string path) : path_(std::move(path)) {
    std::error_code ec;
    std::filesystem::remove_all(path_, ec);
    if (ec) throw std::runtime_error("cannot clear the search's work folder '" + path_ + "': " + ec.message());
    std::filesystem::create_directories(path_, ec);
    if (ec) throw std::runtime_error("cannot create the search's work folder '" + path_ + "': " + ec.message());
  }
  WorkFolder(const WorkFolder&) = delete;
  WorkFolder& operator=(const WorkFolder&) = delete;
  ~WorkFolder() {
    std::error_code ec;
    std::filesystem::remove_all(path_, ec);  // best effort: a destructor cannot report
  }
  std::string file(std::size_t config) const { return path_ + "/" + std::to_string(config) + ".ltck"; }
  /// Moves configuration `config`'s checkpoint to `to` (same file system: a rename).
  void keep(std::size_t config, const std::string& to) const {
    std::error_code ec;
    std::filesystem::rename(file(config), to, ec);
    if (ec) throw std::runtime_error("cannot move '" + file(config) + "' to '" + to + "': " + ec.message());
  }
  void remove(std::size_t config) const {
    std::error_code ec;
    std::filesystem::remove(file(config), ec);  // best effort: the folder goes at the end anyway
  }

 private:
  std::string path_;
};

std::string fixed(double v, int digits) {
  char buf[64];
  std::snprintf(buf, sizeof buf, "%.*f", digits, v);
  return buf;
}

}  // namespace

void select_among_finalists(SearchResult& res, const SweepOptions& sweep, const RuleOptions& rules) {
  const std::vector<std::size_t>& ranking = res.outcome.ranking;
  if (ranking.empty()) return;
  std::size_t finalists = 0;
  while (finalists < ranking.size() &&
         res.outcome.configs[ranking[finalists]].rungs_done == res.outcome.configs[ranking.front()].rungs_done)
    ++finalists;
  const bool has_ensemble = res.ensemble_rank > 0;
  const std::size_t selected = move_selected_first(res.sweep.entries, finalists + (has_ensemble ? 1 : 0), sweep, rules);
  if (has_ensemble && selected == res.ensemble_rank - 1) {
    res.ensemble_rank = 1;
    return;
  }
  // A configuration's row: its place in the ranking is its row's, less the ensemble's row above it.
  const bool ensemble_above = has_ensemble && res.ensemble_rank - 1 < selected;
  const std::size_t at = selected - (ensemble_above ? 1 : 0);
  std::rotate(res.outcome.ranking.begin(), res.outcome.ranking.begin() + std::ptrdiff_t(at),
              res.outcome.ranking.begin() + std::ptrdiff_t(at + 1));
  if (ensemble_above) ++res.ensemble_rank;  // the rows above the selected one move down by one
}

namespace {

/// The configurations of the selected row: an ensemble's members, else the one.
std::vector<std::size_t> selected_configs(const SearchResult& res) {
  return res.ensemble_rank == 1 ? res.ensemble : std::vector<std::size_t>{res.outcome.ranking.front()};
}

AppliedRule selected_rule(const SearchResult& res) {
  const FittedRule& rule = res.sweep.entries.front().rules.chosen_rule().fitted;
  return AppliedRule{rule.rule.name(), rule.thresholds, rule.rule.at_least_one};
}

/// Empties `dir` and names the selected model's checkpoints in it: model.ltck, or member-1.ltck
/// ... for an ensemble.
std::vector<std::string> prepare_selected_dir(const std::string& dir, std::size_t members) {
  std::error_code ec;
  std::filesystem::remove_all(dir, ec);
  if (ec) throw std::runtime_error("cannot clear '" + dir + "' for the selected model: " + ec.message());
  ensure_writable_directory(dir, "folder of the selected model");
  if (members == 1) return {"model.ltck"};
  std::vector<std::string> files;
  for (std::size_t m = 0; m < members; ++m) files.push_back("member-" + std::to_string(m + 1) + ".ltck");
  return files;
}

/// The path eval / predict take: the one checkpoint, or an ensemble file written for the members.
std::string finish_selected_dir(const std::string& dir, const std::vector<std::string>& files,
                                const AppliedRule& rule) {
  if (files.size() == 1) return dir + "/" + files.front();
  save_ensemble_file(dir + "/ensemble.txt", EnsembleFile{files, rule});
  return dir + "/ensemble.txt";
}

/// How the search trains a candidate (its epochs and checkpoint aside).
TrainConfig candidate_config(const TrainConfig& base, const SearchCandidate& candidate, const SweepOptions& sweep,
                             int threads) {
  TrainConfig cfg = apply_training_choice(base, candidate.training);
  cfg.loss = candidate.loss;
  cfg.threads = threads;
  cfg.rules.metric = headline_average(sweep);  // as run_sweep does
  return cfg;
}

}  // namespace

int last_rung_epochs(const SearchOptions& options, int epochs) {
  return options.last_rung_epochs > 0 ? options.last_rung_epochs : epochs;
}

TrainConfig apply_training_choice(TrainConfig base, const TrainingChoice& training) {
  if (training.hidden) base.hidden = {Eigen::Index(*training.hidden)};
  if (training.dropout) base.dropout = *training.dropout;
  if (training.lr) base.adam.lr = *training.lr;
  return base;
}

SearchResult run_search(const Splits& data, const TrainConfig& base, const std::vector<LossConfig>& grid,
                        const SweepOptions& sweep, const SearchOptions& search, int jobs, int threads_per_job,
                        ProgressMode progress, const std::string& work_dir, const std::string& selected_dir) {
  if (!(search.budget_minutes > 0) || !std::isfinite(search.budget_minutes))
    bad("--budget-minutes must be a finite number > 0");
  SearchResult res;
  res.options = search;
  res.seed = base.seed;
  const SearchSpace space = wide_search_space();
  res.space_size = space.size();

  // The configurations: the grid (baseline included), then the sampled ones.
  for (const LossConfig& g : grid) res.configs.push_back(SearchCandidate{g, {}});
  res.grid_size = grid.size();
  std::vector<std::size_t> keep;
  for (std::size_t i = 0; i < grid.size(); ++i)
    if (grid[i].name() == sweep.baseline) keep.push_back(i);
  const std::size_t grid_competitors = grid.size() - keep.size();
  if (search.configurations < grid_competitors)
    bad("--search-configs " + std::to_string(search.configurations) + ": the grid alone has " +
        std::to_string(grid_competitors) +
        " configurations besides the baseline (use a larger number or a smaller "
        "--cap / --gamma grid)");
  const auto sampled = sample_search_space(space, base.loss, search.configurations - grid_competitors, base.seed, grid);
  res.configs.insert(res.configs.end(), sampled.begin(), sampled.end());
  const std::size_t competitors = res.configs.size() - keep.size();
  if (competitors == 0) bad("--search-configs: nothing to search besides the baseline");
  res.plan =
      halving_plan(competitors, base.epochs, search.eta, search.min_epochs, last_rung_epochs(search, base.epochs));

  const WorkFolder work(work_dir);
  std::vector<SweepEntry> entries(res.configs.size());
  // The probabilities of the best --ensemble K configurations of the last rung so far: the others'
  // are dropped as better ones finish (between jobs at most K are held, plus one per running job);
  // freed at the end of the search.
  const std::size_t last_rung = res.plan.epochs.size() - 1;
  const bool ensemble = search.ensemble >= 2;
  std::vector<std::optional<EnsembleMember>> finalists(res.configs.size());
  std::set<std::pair<double, std::size_t>> held;  // (-score, config): the ranking's order, best first
  std::set<std::string> warned;
  std::mutex mutex;

  HalvingOptions ho;
  ho.jobs = std::max(1, jobs);
  ho.budget_seconds = 60.0 * search.budget_minutes;
  ho.keep = keep;
  ho.on_eliminated = [&](std::size_t c) { work.remove(c); };
  std::size_t done_in_rung = 0, rung_seen = 0;
  ho.on_trial = [&](std::size_t c, std::size_t rung, const HalvingTrial& t) {
    if (rung != rung_seen) rung_seen = rung, done_in_rung = 0;
    ++done_in_rung;
    if (progress == ProgressMode::quiet) return;
    const std::size_t in_rung = res.plan.sizes[rung] + keep.size();
    char line[320];
    if (t.error.empty())
      std::snprintf(line, sizeof line, "search: rung %zu/%zu done %-34s [%zu/%zu]  validation %.4f  (%.0f s)", rung + 1,
                    res.plan.epochs.size(), res.configs[c].name().c_str(), done_in_rung, in_rung, t.score, t.seconds);
    else
      std::snprintf(line, sizeof line, "search: rung %zu/%zu FAILED %-32s [%zu/%zu]  %s", rung + 1,
                    res.plan.epochs.size(), res.configs[c].name().c_str(), done_in_rung, in_rung, t.error.c_str());
    Progress::print_line(line);
  };

  const HalvingTrainer trial = [&](std::size_t c, std::size_t rung, int epochs) {
    const SearchCandidate& candidate = res.configs[c];
    TrainConfig cfg = candidate_config(base, candidate, sweep, threads_per_job);
    cfg.epochs = epochs;
    cfg.checkpoint_path = work.file(c);
    cfg.checkpoint_at_end_only = true;  // a killed search starts again, so only the rung's end is resumed
    cfg.resume_path = rung > 0 ? cfg.checkpoint_path : "";  // survivors continue, bit-exact
    const std::string name = candidate.name();
    // The data's warnings are the same for every configuration: printed once below, not per job.
    Progress p(progress == ProgressMode::lines ? ProgressMode::lines : ProgressMode::quiet,
               "[" + name + " rung " + std::to_string(rung + 1) + "] ", /*show_warnings=*/false);
    const auto t0 = std::chrono::steady_clock::now();
    try {
      TrainResult r = train_model(data, cfg, p);
      const std::vector<std::string> warnings = r.warnings;
      std::optional<EnsembleMember> member;
      if (ensemble && rung == last_rung)
        member = EnsembleMember{name, predict_probabilities(r.model, data.validation.features),
                                predict_probabilities(r.model, data.test.features), 0, 0};
      SweepEntry e = sweep_entry(cfg.loss, std::move(r), sweep);
      e.name = name;  // the loss and the training choice
      e.description = candidate.describe();
      std::lock_guard<std::mutex> lock(mutex);
      if (member) finalists[c] = std::move(member);
      for (const auto& w : warnings)
        if (warned.insert(w).second) Progress::print_line("warning: " + w);
      const double earlier = entries[c].seconds;  // of its earlier rungs
      e.seconds += earlier;
      entries[c] = std::move(e);
      if (finalists[c]) {
        finalists[c]->weights_fnv1a = entries[c].weights_fnv1a;
        finalists[c]->seconds = entries[c].seconds;
        held.insert({-entries[c].validation_headline, c});
        if (held.size() > search.ensemble) {
          finalists[std::prev(held.end())->second].reset();
          held.erase(std::prev(held.end()));
        }
      }
      return HalvingTrial{entries[c].validation_headline, entries[c].seconds - earlier, ""};
    } catch (const divergence_error& err) {
      return HalvingTrial{0, std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count(), err.what()};
    }
  };

  if (progress != ProgressMode::quiet) {
    std::ostringstream os;
    os << "search: " << competitors << " configurations (" << grid_competitors << " of the grid, " << sampled.size()
       << " sampled with seed " << base.seed << ")";
    if (!keep.empty()) os << " + the baseline " << sweep.baseline;
    os << "; rungs of";
    for (std::size_t k = 0; k < res.plan.epochs.size(); ++k)
      os << (k ? "," : "") << " " << res.plan.sizes[k] << " x " << res.plan.epochs[k] << " epochs";
    os << "; budget " << Progress::format_duration(ho.budget_seconds);
    Progress::print_line(os.str());
  }
  res.outcome = successive_halving(res.configs.size(), res.plan, trial, ho);

  SweepResult& r = res.sweep;
  r.baseline = sweep.baseline;
  r.metric = sweep_metric_name(sweep, base.rules);
  r.seconds = res.outcome.seconds;
  r.jobs = std::max(1, std::min<int>(jobs, int(res.configs.size())));
  r.threads_per_job = threads_per_job;
  for (std::size_t c : res.outcome.ranking) r.entries.push_back(entries[c]);

  // The ensemble of the best finalists (those still held), ranked among the configurations of the
  // last rung.
  std::vector<const EnsembleMember*> members;
  for (std::size_t c : res.outcome.ranking)
    if (finalists[c] && members.size() < search.ensemble) {
      members.push_back(&*finalists[c]);
      res.ensemble.push_back(c);
    }
  if (members.size() >= 2) {
    RuleOptions rules = base.rules;
    rules.metric = headline_average(sweep);
    rules.seed = base.seed;
    SweepEntry e = ensemble_entry(members, data, rules, base.buckets, sweep);
    std::size_t at = 0;
    while (at < res.outcome.ranking.size()) {
      const std::size_t c = res.outcome.ranking[at];
      if (res.outcome.configs[c].rungs_done < last_rung + 1 || entries[c].validation_headline < e.validation_headline)
        break;
      ++at;
    }
    r.entries.insert(r.entries.begin() + std::ptrdiff_t(at), std::move(e));
    res.ensemble_rank = at + 1;
  } else {
    res.ensemble.clear();
  }
  select_among_finalists(res, sweep, base.rules);
  if (res.outcome.ranking.empty() || (!search.refit && selected_dir.empty())) return res;

  // The selected row's model: refit on train + validation, or the search's own.
  const std::vector<std::size_t> chosen = selected_configs(res);
  const AppliedRule rule = selected_rule(res);
  std::vector<std::string> files, paths;
  if (!selected_dir.empty()) files = prepare_selected_dir(selected_dir, chosen.size());
  for (const std::string& f : files) paths.push_back(selected_dir + "/" + f);
  if (search.refit) {
    std::vector<RefitMember> refit_members;
    for (std::size_t c : chosen) {
      TrainConfig cfg = candidate_config(base, res.configs[c], sweep, threads_per_job);
      cfg.epochs = std::max(1, entries[c].best_epoch);
      refit_members.push_back(RefitMember{res.configs[c].name(), cfg});
    }
    if (progress != ProgressMode::quiet)
      Progress::print_line("search: refitting " + r.entries.front().name + " on train + validation (" +
                           std::to_string(data.train.rows() + data.validation.rows()) + " rows)");
    try {
      res.refit = refit(data, refit_members, rule, base.buckets, jobs, paths);
    } catch (const divergence_error& e) {
      res.refit_error = e.what();
      if (progress != ProgressMode::quiet) Progress::print_line("search: " + res.refit_error);
    }
  }
  if (selected_dir.empty()) return res;
  if (!res.refit)  // the search's own checkpoints (over what a failed refit left)
    for (std::size_t m = 0; m < chosen.size(); ++m) work.keep(chosen[m], paths[m]);
  res.selected_model = finish_selected_dir(selected_dir, files, rule);
  return res;
}

std::string format_search_summary(const SearchResult& res) {
  const HalvingOutcome& o = res.outcome;
  std::ostringstream os;
  const std::size_t kept = res.configs.size() - res.plan.sizes.front();
  os << "\nSuccessive halving (eta " << res.options.eta << ") on validation " << res.sweep.metric << ": "
     << res.plan.sizes.front() << " configurations (" << res.grid_size - kept << " of the grid, "
     << res.configs.size() - res.grid_size << " drawn from the wide space of " << fixed(res.space_size, 0)
     << " points with seed " << res.seed << ")";
  if (kept) os << " + the baseline " << res.sweep.baseline << " (trained in every rung)";
  os << "; budget " << Progress::format_duration(60.0 * res.options.budget_minutes) << ", used "
     << Progress::format_duration(o.seconds) << ":\n\n";
  char line[256];
  std::snprintf(line, sizeof line, "%-5s %6s %12s %8s  %-9s %-34s %8s\n", "rung", "epochs", "configs", "promoted",
                "best val", "best configuration", "time");
  os << line;
  for (std::size_t k = 0; k < res.plan.epochs.size(); ++k) {
    const bool ran = k < o.rungs.size();
    const std::string configs = std::to_string(res.plan.sizes[k]) + (kept ? " + " + std::to_string(kept) : "");
    const std::string promoted = k + 1 < res.plan.sizes.size() ? std::to_string(res.plan.sizes[k + 1]) : "-";
    const bool any = ran && !o.rungs[k].empty();
    std::snprintf(
        line, sizeof line, "%-5zu %6d %12s %8s  %-9s %-34s %8s\n", k + 1, res.plan.epochs[k], configs.c_str(),
        promoted.c_str(), any ? fixed(o.configs[o.rungs[k].front()].scores[k], 4).c_str() : "-",
        any ? res.configs[o.rungs[k].front()].name().c_str() : (ran ? "(none finished)" : "(not run: budget)"),
        ran ? Progress::format_duration(o.rung_seconds[k]).c_str() : "-");
    os << line;
  }
  if (o.budget_exhausted)
    os << "\nThe budget ended the search: " << o.jobs_skipped
       << " training job(s) were not started (each was predicted to end after the budget); configurations are "
          "ranked by the rungs they finished, then by validation score.\n";
  for (std::size_t c = 0; c < res.configs.size(); ++c)
    if (!o.configs[c].error.empty())
      os << "failed: " << res.configs[c].name() << " (dropped): " << o.configs[c].error << "\n";
  if (!res.ensemble.empty()) {
    const SweepEntry& e = res.sweep.entries.at(res.ensemble_rank - 1);
    os << e.name << ": the mean probabilities of the best " << res.ensemble.size() << " of the last rung (";
    for (std::size_t i = 0; i < res.ensemble.size(); ++i) os << (i ? ", " : "") << res.configs[res.ensemble[i]].name();
    os << "), its rule tuned like theirs: validation " << fixed(e.validation_headline, 4) << " at " << e.test.rule
       << ", rank " << res.ensemble_rank << ".\n";
  } else if (res.options.ensemble >= 2) {
    os << "No ensemble: fewer than 2 configurations finished the last rung.\n";
  }
  if (res.refit) {
    const RefitResult& f = *res.refit;
    const SweepEntry& row = res.sweep.entries.front();
    auto f1s = [](const ThresholdedMetrics& m) {
      return fixed(m.f1.micro.f1, 4) + " / " + fixed(m.f1.macro.f1, 4) + " / " + fixed(m.f1.samples.f1, 4);
    };
    os << "Refit: " << row.name << " trained again on train + validation (" << f.train_rows
       << " rows) for its selected epochs (";
    for (std::size_t i = 0; i < f.epochs.size(); ++i) os << (i ? ", " : "") << f.epochs[i];
    os << "), at its rule " << f.rule.name << " as tuned on validation: test micro / macro / samples F1 "
       << f1s(f.test.tuned) << " (the row's model, trained without the validation rows: " << f1s(row.test.tuned)
       << "); " << Progress::format_duration(f.seconds) << ". The selected model is the refit one.\n";
  } else if (!res.refit_error.empty()) {
    os << "The refit failed, so the selected model is the search's: " << res.refit_error << "\n";
  }
  os << "The table below ranks by rung reached, then validation score; rank 1 is the selected configuration (among "
        "the last rung's rows: the best, or the --tie-break's pick among those within --select-se standard errors of "
        "it).\n";
  return os.str();
}

std::string search_json(const SearchResult& res) {
  const HalvingOutcome& o = res.outcome;
  std::ostringstream js;
  js << "{\n  \"method\": \"successive halving\",\n  \"metric\": " << json_string(res.sweep.metric)
     << ",\n  \"eta\": " << res.options.eta << ",\n  \"min_epochs\": " << res.options.min_epochs
     << ",\n  \"budget_minutes\": " << json_number(res.options.budget_minutes)
     << ",\n  \"seconds\": " << json_number(o.seconds)
     << ",\n  \"budget_exhausted\": " << (o.budget_exhausted ? "true" : "false")
     << ",\n  \"jobs_skipped\": " << o.jobs_skipped << ",\n  \"seed\": " << res.seed
     << ",\n  \"space_points\": " << json_number(res.space_size)
     << ",\n  \"baseline\": " << json_string(res.sweep.baseline) << ",\n  \"ensemble\": ";
  if (res.ensemble.empty()) {
    js << "null";
  } else {
    js << "{\"configuration\": " << json_string(res.sweep.entries.at(res.ensemble_rank - 1).name)
       << ", \"rank\": " << res.ensemble_rank << ", \"members\": [";
    for (std::size_t i = 0; i < res.ensemble.size(); ++i)
      js << (i ? ", " : "") << json_string(res.configs[res.ensemble[i]].name());
    js << "]}";
  }
  js << ",\n  \"refit\": ";
  if (res.refit) {
    const RefitResult& f = *res.refit;
    js << "{\"train_rows\": " << f.train_rows << ", \"epochs\": [";
    for (std::size_t i = 0; i < f.epochs.size(); ++i) js << (i ? ", " : "") << f.epochs[i];
    js << "], \"seconds\": " << json_number(f.seconds) << ", \"test\": " << evaluation_json(f.test) << "}";
  } else if (!res.refit_error.empty()) {
    js << "{\"error\": " << json_string(res.refit_error) << "}";
  } else {
    js << "null";
  }
  js << ",\n  \"rungs\": [";
  for (std::size_t k = 0; k < res.plan.epochs.size(); ++k) {
    js << (k ? "," : "") << "\n    {\"rung\": " << k + 1 << ", \"epochs\": " << res.plan.epochs[k]
       << ", \"configurations\": " << res.plan.sizes[k] << ", \"finished\": ["
       << "";
    if (k < o.rungs.size())
      for (std::size_t i = 0; i < o.rungs[k].size(); ++i)
        js << (i ? ", " : "") << json_string(res.configs[o.rungs[k][i]].name());
    js << "], \"seconds\": " << (k < o.rung_seconds.size() ? json_number(o.rung_seconds[k]) : "null") << "}";
  }
  js << "\n  ],\n  \"configurations\": [";
  for (std::size_t c = 0; c < res.configs.size(); ++c) {
    const HalvingRecord& r = o.configs[c];
    const bool baseline = res.configs[c].name() == res.sweep.baseline && c < res.grid_size;
    js << (c ? "," : "") << "\n    {\"configuration\": " << json_string(res.configs[c].name()) << ", \"origin\": "
       << json_string(baseline            ? "baseline"
                      : c < res.grid_size ? "grid"
                                          : "sampled")
       << ", \"loss\": " << json_string(res.configs[c].describe()) << ", \"rungs_done\": " << r.rungs_done
       << ", \"epochs\": " << r.epochs << ", \"validation_scores\": [";
    for (std::size_t k = 0; k < r.scores.size(); ++k) js << (k ? ", " : "") << json_number(r.scores[k]);
    js << "], \"seconds\": " << json_number(r.seconds);
    if (!r.error.empty()) js << ", \"error\": " << json_string(r.error);
    js << "}";
  }
  js << "\n  ]\n}\n";
  return js.str();
}

}  // namespace longtail_train
