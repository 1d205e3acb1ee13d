// SPDX-License-Identifier: Apache-2.0
#include "sweep.hpp"

#include <algorithm>
#include <atomic>
#include <chrono>
#include <cmath>
#include <cstdio>
#include <cstring>
#include <exception>
#include <sstream>
#include <stdexcept>

#include "common/fnv1a.hpp"
#include "common/job_pool.hpp"
#include "report.hpp"
#include "selection.hpp"

namespace longtail_train {
namespace {

/// The headline metric of one split's evaluation: at the configuration's decision rule (on the
/// validation split the rule's cross-fitted score, decision_rules.hpp).
double headline_of(const SplitEvaluation& split, const SweepOptions& o) {
  return f1_of(split.tuned.f1, headline_average(o));
}

const SweepEntry* find_entry(const SweepResult& r, const std::string& name) {
  for (const auto& e : r.entries)
    if (e.name == name) return &e;
  return nullptr;
}

/// "2 in parallel" / "on 2 ranks, 1 in parallel on each"
std::string parallelism(const SweepResult& r) {
  if (r.ranks <= 1) return std::to_string(r.jobs) + " in parallel";
  return "on " + std::to_string(r.ranks) + " ranks, " + std::to_string(r.jobs) + " in parallel on each";
}

/// The configurations that failed, below the ranked ones ("" when none did).
std::string failures_table(const SweepResult& r) {
  if (r.failures.empty()) return "";
  std::string s = "\nFAILED (" + std::to_string(r.failures.size()) + " of " +
                  std::to_string(r.failures.size() + r.entries.size()) + " configurations, not ranked):\n";
  for (const auto& f : r.failures) s += "  " + f.name + ": " + f.message + "\n";
  return s;
}

std::string hex64(std::uint64_t v) {
  char buf[24];
  std::snprintf(buf, sizeof buf, "%016llx", static_cast<unsigned long long>(v));
  return buf;
}

/// A CSV field in double quotes (quotes doubled).
std::string csv_quoted(const std::string& text) {
  std::string quoted = "\"";
  for (char c : text) quoted += c == '"' ? std::string("\"\"") : std::string(1, c);
  return quoted + "\"";
}

std::string improvement(double f1, double base) {
  if (!(base > 0)) return "n/a";
  char buf[32];
  std::snprintf(buf, sizeof buf, "%+.1f%%", 100.0 * (f1 - base) / base);
  return buf;
}

/// "best/run", e.g. "14/19 "; "-" for a row that trained nothing of its own (an ensemble).
std::string epochs_column(const SweepEntry& e) {
  if (e.epochs_done == 0) return "-";
  char buf[32];
  std::snprintf(buf, sizeof buf, "%2d/%-2d", e.best_epoch, e.epochs_done);
  return buf;
}

}  // namespace

SweepEntry sweep_entry(const LossConfig& loss, TrainResult&& r, const SweepOptions& options) {
  SweepEntry e;
  e.loss = loss;
  e.name = loss.name();
  e.description = loss.describe();
  e.validation = std::move(r.validation);
  e.test = std::move(r.test);
  e.rules = std::move(r.rules);
  e.best_epoch = r.best_epoch;
  e.epochs_done = r.epochs_done;
  e.early_stopped = r.early_stopped;
  e.seconds = r.seconds;
  e.train_seconds_per_epoch = r.train_seconds_per_epoch;
  e.validation_headline = headline_of(e.validation, options);
  e.headline = headline_of(e.test, options);
  const Eigen::VectorXf& w = r.model.parameters();
  e.weights_fnv1a = fnv1a64(w.data(), std::size_t(w.size()) * sizeof(float));
  return e;
}

F1Average headline_average(const SweepOptions& o) { return parse_f1_average(o.metric).value_or(F1Average::macro); }

std::string sweep_metric_name(const SweepOptions& options, const RuleOptions& rules) {
  return options.metric + "-F1 at " +
         (rules.rule ? "decision rule " + rules.rule->name()
                     : std::string("the decision rule chosen on validation (--rule auto)"));
}

void set_headlines(SweepEntry& e, const SweepOptions& options) {
  e.validation_headline = headline_of(e.validation, options);
  e.headline = headline_of(e.test, options);
}

ConfigurationTask train_configuration(const Splits& data, const SweepOptions& options) {
  return [&data, options](const TrainConfig& cfg, Progress& progress) {
    return sweep_entry(cfg.loss, train_model(data, cfg, progress), options);
  };
}

std::vector<SweepOutcome> run_configurations(const std::vector<LossConfig>& losses,
                                             const std::vector<std::size_t>& indices, const TrainConfig& base,
                                             const SweepOptions& options, int jobs, int threads_per_job,
                                             ProgressMode progress, const std::string& line_prefix,
                                             const ConfigurationTask& task) {
  const std::string metric = sweep_metric_name(options, base.rules);
  std::vector<SweepOutcome> outcomes(indices.size());
  std::atomic<int> finished{0};
  run_jobs(indices.size(), jobs, [&](std::size_t k) {
    SweepOutcome& outcome = outcomes[k];
    outcome.index = indices[k];
    TrainConfig cfg = base;
    cfg.loss = losses.at(outcome.index);
    cfg.rules.metric = headline_average(options);
    cfg.threads = threads_per_job;
    cfg.checkpoint_path.clear();
    cfg.resume_path.clear();
    const std::string name = cfg.loss.name();
    if (progress != ProgressMode::quiet) Progress::print_line(line_prefix + "sweep: start  " + name);
    // A configuration that fails (diverges, runs out of memory, cannot write its files) is
    // reported in the table with its message; it does not end the others.
    try {
      // One bar cannot show several jobs: per-epoch lines (prefixed) when asked, else quiet.
      Progress p(progress == ProgressMode::lines ? ProgressMode::lines : ProgressMode::quiet,
                 line_prefix + "[" + name + "] ");
      outcome.entry = task(cfg, p);
    } catch (const std::exception& e) {
      outcome.error = e.what();
    } catch (...) {
      outcome.error = "unknown error";
    }
    char line[320];
    if (outcome.entry) {
      const SweepEntry& e = *outcome.entry;
      std::snprintf(line, sizeof line, "sweep: done   %-24s [%d/%zu]  %s %.4f  (best epoch %d of %d, %.0f s)",
                    name.c_str(), ++finished, indices.size(), metric.c_str(), e.headline, e.best_epoch, e.epochs_done,
                    e.seconds);
    } else {
      std::snprintf(line, sizeof line, "sweep: FAILED %-24s [%d/%zu]  %s", name.c_str(), ++finished, indices.size(),
                    outcome.error.c_str());
    }
    if (progress != ProgressMode::quiet || !outcome.entry) Progress::print_line(line_prefix + line);
  });
  return outcomes;
}

SweepResult sweep_result(const std::vector<LossConfig>& losses, std::vector<SweepOutcome> outcomes,
                         const SweepOptions& options, int jobs, int threads_per_job, int ranks,
                         const RuleOptions& rules) {
  SweepResult result;
  result.baseline = options.baseline;
  result.metric = sweep_metric_name(options, rules);
  result.jobs = std::max(1, std::min<int>(jobs, int(losses.size())));
  result.threads_per_job = threads_per_job;
  result.ranks = ranks;
  std::vector<SweepOutcome*> by_index(losses.size(), nullptr);
  for (auto& o : outcomes) {
    if (o.index >= losses.size() || by_index[o.index])
      throw std::logic_error("sweep: configuration " + std::to_string(o.index) +
                             (o.index >= losses.size() ? " is not in the grid" : " was reported twice"));
    by_index[o.index] = &o;
  }
  for (std::size_t i = 0; i < losses.size(); ++i) {
    if (!by_index[i]) throw std::logic_error("sweep: no result for configuration " + losses[i].name());
    SweepOutcome& o = *by_index[i];
    if (o.entry) {
      result.entries.push_back(std::move(*o.entry));
      SweepEntry& e = result.entries.back();
      e.loss = losses[i];
      e.name = losses[i].name();
      e.description = losses[i].describe();
      set_headlines(e, options);
    } else {
      result.failures.push_back({losses[i], losses[i].name(), o.error});
    }
  }
  // Model selection on validation only: the table is ranked by the validation metric, and its
  // first row is the selected configuration (the best, or the tie-break's pick among those tied
  // with it); the test metrics report it, they do not choose it.
  std::stable_sort(result.entries.begin(), result.entries.end(), [](const SweepEntry& a, const SweepEntry& b) {
    return a.validation_headline > b.validation_headline;
  });
  if (!result.entries.empty()) move_selected_first(result.entries, result.entries.size(), options, rules);
  return result;
}

std::size_t move_selected_first(std::vector<SweepEntry>& ranked, std::size_t count, const SweepOptions& options,
                                const RuleOptions& rules) {
  if (count == 0 || count > ranked.size())
    throw std::invalid_argument("move_selected_first: " + std::to_string(count) + " candidates among " +
                                std::to_string(ranked.size()) + " entries");
  const std::optional<F1Average> tie = tie_metric(rules.tie_break, headline_average(options));
  std::vector<ScoredCandidate> candidates;
  for (std::size_t i = 0; i < count; ++i) {
    const SweepEntry& e = ranked[i];
    const double se = e.rules.rules.empty() ? 0.0 : e.rules.chosen_rule().validation_se;
    candidates.push_back({e.validation_headline, se, tie ? f1_of(e.validation.tuned.f1, *tie) : 0.0});
  }
  const std::size_t selected = select_within_noise(candidates, rules.tolerance_se, tie.has_value());
  std::rotate(ranked.begin(), ranked.begin() + std::ptrdiff_t(selected), ranked.begin() + std::ptrdiff_t(selected + 1));
  return selected;
}

SweepResult run_sweep(const Splits& data, const TrainConfig& base, const std::vector<LossConfig>& losses,
                      const SweepOptions& options, int jobs, int threads_per_job, ProgressMode progress) {
  const auto t0 = std::chrono::steady_clock::now();
  std::vector<std::size_t> all(losses.size());
  for (std::size_t i = 0; i < all.size(); ++i) all[i] = i;
  SweepResult result = sweep_result(losses,
                                    run_configurations(losses, all, base, options, jobs, threads_per_job, progress, "",
                                                       train_configuration(data, options)),
                                    options, jobs, threads_per_job, 1, base.rules);
  result.seconds = std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count();
  return result;
}

std::string format_sweep_table(const SweepResult& r) {
  std::ostringstream os;
  const SweepEntry* base = find_entry(r, r.baseline);
  const double base_f1 = base ? base->headline : NAN;
  char line[1024];
  os << "\nRanked by validation " << r.metric
     << " (rank 1 is the selected configuration: the best, or the --tie-break's pick among those within --select-se "
        "standard errors of it); test "
     << r.metric << " and its improvement relative to " << r.baseline << " report the choice (" << r.entries.size()
     << " configurations, " << parallelism(r) << ", " << Progress::format_duration(r.seconds) << "):\n\n";
  std::snprintf(line, sizeof line, "%-4s %-26s %-14s %7s %7s %12s | %7s %7s %7s %7s | %6s %6s %6s | %5s %7s\n", "rank",
                "configuration", "rule", "val F1", "F1", "improvement", "micro", "macro", "samples", "macro@.5", "head",
                "medium", "tail", "epoch", "time");
  os << line;
  os << std::string(std::strlen(line) - 1, '-') << "\n";
  int rank = 0;
  for (const auto& e : r.entries) {
    const auto& t = e.test.tuned;
    std::snprintf(line, sizeof line,
                  "%-4d %-26s %-14s %7.4f %7.4f %12s | %7.4f %7.4f %7.4f %8.4f | %6.3f %6.3f %6.3f | %5s %7s\n", ++rank,
                  e.name.c_str(), e.test.rule.c_str(), e.validation_headline, e.headline,
                  e.name == r.baseline ? "(baseline)" : improvement(e.headline, base_f1).c_str(), t.f1.micro.f1,
                  t.f1.macro.f1, t.f1.samples.f1, e.test.global.f1.macro.f1, t.buckets[0].macro_f1,
                  t.buckets[1].macro_f1, t.buckets[2].macro_f1, epochs_column(e).c_str(),
                  Progress::format_duration(e.seconds).c_str());
    os << line;
  }
  os << failures_table(r);
  if (!r.entries.empty()) {
    const auto& b = r.entries.front().test.global.buckets;
    std::snprintf(
        line, sizeof line,
        "\nrule: the configuration's decision rule, tuned on validation (--rule); val F1: the ranking metric on the "
        "validation split\n(a tuned rule's cross-fitted score: tuned on other folds than the rows it predicts); F1: "
        "the same on test;\nmicro / macro / samples: test F1 at the rule; macro@.5: test macro-F1 at threshold 0.5;\n"
        "head / medium / tail: test macro-F1 at the rule of labels with >= %g / %g-%g / < %g training positives "
        "(%lld / %lld / %lld labels); epoch: best / run (-: an ensemble, which trains nothing of its own).\n",
        b[0].min_count, b[1].min_count, b[1].max_count - 1, b[2].max_count, static_cast<long long>(b[0].labels),
        static_cast<long long>(b[1].labels), static_cast<long long>(b[2].labels));
    os << line;
  }
  return os.str();
}

std::string sweep_csv(const SweepResult& r) {
  const SweepEntry* base = find_entry(r, r.baseline);
  const double base_f1 = base ? base->headline : NAN;
  std::ostringstream csv;
  csv << "rank,configuration,rule,validation_f1,f1,improvement_pct,micro_f1,macro_f1,samples_f1,micro_f1_tuned,macro_"
         "f1_"
         "tuned,samples_f1_"
         "tuned,"
         "head_macro_f1,medium_macro_f1,tail_macro_f1,head_macro_f1_tuned,medium_macro_f1_tuned,tail_macro_f1_tuned,"
         "best_epoch,epochs_run,seconds,train_seconds_per_epoch,loss,error\n";
  int rank = 0;
  for (const auto& e : r.entries) {
    const auto& g = e.test.global;
    const auto& t = e.test.tuned;
    const double imp = base_f1 > 0 ? 100.0 * (e.headline - base_f1) / base_f1 : NAN;
    char line[512];
    std::snprintf(line, sizeof line,
                  "%d,%s,%s,%.6f,%.6f,%s,%.6f,%.6f,%.6f,%.6f,%.6f,%.6f,%.6f,%.6f,%.6f,%.6f,%.6f,%.6f,%d,%d,%.2f,%.4f,",
                  ++rank, e.name.c_str(), e.test.rule.c_str(), e.validation_headline, e.headline,
                  std::isfinite(imp) ? std::to_string(imp).c_str() : "", g.f1.micro.f1, g.f1.macro.f1, g.f1.samples.f1,
                  t.f1.micro.f1, t.f1.macro.f1, t.f1.samples.f1, g.buckets[0].macro_f1, g.buckets[1].macro_f1,
                  g.buckets[2].macro_f1, t.buckets[0].macro_f1, t.buckets[1].macro_f1, t.buckets[2].macro_f1,
                  e.best_epoch, e.epochs_done, e.seconds, e.train_seconds_per_epoch);
    csv << line << csv_quoted(e.description) << ",\n";
  }
  // A failed configuration: rank "failed", no metrics, its error in the last column.
  for (const auto& f : r.failures)
    csv << "failed," << f.name << std::string(20, ',') << csv_quoted(f.loss.describe()) << "," << csv_quoted(f.message)
        << "\n";
  return csv.str();
}

std::string sweep_json(const SweepResult& r, const std::string& data_description) {
  const SweepEntry* base = find_entry(r, r.baseline);
  const double base_f1 = base ? base->headline : NAN;
  std::ostringstream js;
  js << "{\n  \"data\": " << json_string(data_description) << ",\n  \"metric\": " << json_string(r.metric)
     << ",\n  \"baseline\": " << json_string(r.baseline) << ",\n  \"seconds\": " << json_number(r.seconds)
     << ",\n  \"jobs\": " << r.jobs << ",\n  \"ranks\": " << r.ranks << ",\n  \"configurations\": [";
  int rank = 0;
  for (const auto& e : r.entries) {
    const double imp = base_f1 > 0 ? 100.0 * (e.headline - base_f1) / base_f1 : NAN;
    js << (rank ? "," : "");
    ++rank;
    js << "\n    {\"rank\": " << rank << ", \"selected\": " << (rank == 1 ? "true" : "false")
       << ", \"configuration\": " << json_string(e.name) << ", \"rule\": " << json_string(e.test.rule)
       << ", \"validation_f1\": " << json_number(e.validation_headline) << ", \"f1\": " << json_number(e.headline)
       << ", \"improvement_pct\": " << json_number(imp) << ", \"loss\": " << json_string(e.description)
       << ", \"best_epoch\": " << e.best_epoch << ", \"epochs_run\": " << e.epochs_done
       << ", \"seconds\": " << json_number(e.seconds)
       << ", \"train_seconds_per_epoch\": " << json_number(e.train_seconds_per_epoch) << ", \"weights_fnv1a\": \""
       << hex64(e.weights_fnv1a) << "\""
       << ",\n     \"validation\": " << evaluation_json(e.validation) << ",\n     \"test\": " << evaluation_json(e.test)
       << ",\n     \"decision_rules\": " << rules_json(e.rules) << "}";
  }
  js << "\n  ],\n  \"failed\": [";
  for (std::size_t i = 0; i < r.failures.size(); ++i) {
    const SweepFailure& f = r.failures[i];
    js << (i ? "," : "") << "\n    {\"configuration\": " << json_string(f.name)
       << ", \"loss\": " << json_string(f.loss.describe()) << ", \"error\": " << json_string(f.message) << "}";
  }
  js << (r.failures.empty() ? "]\n}\n" : "\n  ]\n}\n");
  return js.str();
}

}  // namespace longtail_train
