// SPDX-License-Identifier: Apache-2.0
#include "commands.hpp"

#include <algorithm>
#include <chrono>
#include <cstdio>
#include <fstream>
#include <iostream>
#include <numeric>
#include <sstream>
#include <thread>

#include <sys/resource.h>
#ifdef __linux__
#include <sched.h>
#endif

#include "checkpoint.hpp"
#include "common/durable_file.hpp"
#include "common/run_outputs.hpp"
#include "data/dataset_io.hpp"
#include "data/file_open.hpp"
#include "data/statistics.hpp"
#include "data/text_writer.hpp"
#include "data_parallel.hpp"
#include "decision_rules.hpp"
#include "longtail/config.hpp"
#include "report.hpp"
#include "saved_model.hpp"
#include "search.hpp"
#include "sweep.hpp"
#include "sweep_distribution.hpp"
#include "targets.hpp"
#include "text_predict.hpp"

namespace longtail_train {
namespace {

using Clock = std::chrono::steady_clock;

/// What one rank of a data-parallel run held and spent: "rank 1: 3379 training rows (1.0 MB),
/// peak RSS 125.3 MB; training 0.412 s per epoch (0.250 s CPU), 0.101 s (0.090 s CPU) of it in
/// collectives"
std::string rank_line(int rank, const Dataset& shard, std::int64_t shard_bytes, const TrainResult& r) {
  rusage usage{};
  ::getrusage(RUSAGE_SELF, &usage);
  char line[256];
  std::snprintf(line, sizeof line,
                "rank %d: %lld training rows (%.1f MB), peak RSS %.1f MB; training %.3f s per epoch (%.3f s CPU), "
                "%.3f s (%.3f s CPU) of it in collectives",
                rank, static_cast<long long>(shard.rows()), double(shard_bytes) / 1e6, double(usage.ru_maxrss) / 1024.0,
                r.train_seconds_per_epoch, r.train_cpu_seconds_per_epoch, r.communication_seconds_per_epoch,
                r.communication_cpu_seconds_per_epoch);
  return line;
}

/// The cores this process may run on: under mpirun each rank is bound to its own (so a rank's
/// default --jobs is its share of the machine, not all of it); taskset and cpusets count too.
int hardware_threads() {
#ifdef __linux__
  cpu_set_t cpus;
  if (sched_getaffinity(0, sizeof cpus, &cpus) == 0) return std::max(1, CPU_COUNT(&cpus));
#endif
  return int(std::max(1u, std::thread::hardware_concurrency()));
}

ProgressMode progress_mode(const CliOptions& o) { return o.progress ? *o.progress : auto_progress_mode(); }

/// `print`: print what was read (false on the ranks other than the root of a distributed run).
Splits load_data(const CliOptions& o, std::optional<TextFeaturizer>* featurizer = nullptr,
                 const DataOptions* data = nullptr, bool print = true) {
  const auto t0 = Clock::now();
  const std::string src = o.data.source();
  if (print)
    Progress::print_line(src == "embedded" ? "longtail-train: generating the embedded IAB-like data set..."
                                           : "longtail-train: reading the " + src + " data...");
  Splits s = load_splits(data ? *data : o.data, featurizer);
  if (!print) return s;
  const double secs = std::chrono::duration<double>(Clock::now() - t0).count();
  for (const Dataset* d : {&s.train, &s.validation, &s.test})
    Progress::print_line("  " + format_stats(d->name, compute_stats(*d)));
  char line[96];
  std::snprintf(line, sizeof line, "  (%.1f s)", secs);
  Progress::print_line(line);
  return s;
}

const Dataset& pick_split(const Splits& s, const std::string& name) {
  if (name == "train") return s.train;
  if (name == "validation") return s.validation;
  return s.test;
}

}  // namespace

std::string version_text() {
  // The library's version (longtail/config.hpp, its one home): the trainer ships with it.
  const std::string version = std::to_string(LONGTAIL_VERSION_MAJOR) + "." + std::to_string(LONGTAIL_VERSION_MINOR) +
                              "." + std::to_string(LONGTAIL_VERSION_PATCH);
  return "longtail-train " + version + " (GEMM: " + to_string(gemm_backend()) + "; BLAS: " + blas_description() + ")";
}

int configure_compute(const CliOptions& o) {
  const int threads = o.threads > 0 ? o.threads : hardware_threads();
  if (o.gemm)
    set_gemm_backend(*o.gemm);
  else
    set_gemm_backend(auto_gemm_backend());
  set_compute_threads(threads);
  return threads;
}

int run_train(const CliOptions& o, Communicator& comm) {
  const auto t0 = Clock::now();
  const bool root = comm.is_root();
  TrainConfig cfg = o.train;
  cfg.threads = configure_compute(o);
  // Where the results go is checked before any long work: a missing or read-only folder fails now,
  // not after training. Rank 0 writes every file of a data-parallel run.
  if (root && !cfg.checkpoint_path.empty()) check_writable_file_path(cfg.checkpoint_path, "--checkpoint");
  RunOutputs outputs;
  if (root && !o.out_dir.empty()) {
    const std::string note = outputs.open(o.out_dir, "train");
    if (!note.empty()) Progress::print_line(note);
  }
  std::optional<TextFeaturizer> featurizer;  // --tsv: kept in the checkpoint for predict --text
  // Every rank loads the splits and keeps its shard of the training rows (data_parallel.hpp).
  const DataShard data(load_data(o, &featurizer, nullptr, root), comm);
  if (root)
    Progress::print_line("longtail-train: training " + cfg.loss.name() + " (" + cfg.loss.describe() + "), " +
                         std::to_string(cfg.threads) + " thread(s), GEMM " + to_string(gemm_backend()) +
                         (comm.size() > 1 ? ", data-parallel over " + comm.describe() : std::string()));
  Progress progress(root ? progress_mode(o) : ProgressMode::quiet);
  const TrainResult r = train_model(data.view(), cfg, progress, comm, featurizer ? &*featurizer : nullptr);
  // Rows, memory and time of each rank, gathered to rank 0 (a collective: before rank 0 goes on alone).
  const std::vector<std::string> ranks =
      comm.gather_to_root(rank_line(comm.rank(), *data.view().train, data.train_bytes(), r));
  if (!root) return 0;
  std::cout << format_summary(r, data.view().train_description);
  if (comm.size() > 1) {
    std::cout << "\ndata-parallel: " << comm.describe() << "\n";
    for (const auto& line : ranks) std::cout << "  " << line << "\n";
  }
  if (outputs.is_open()) {
    outputs.stage("result.json", result_json(r, data.view().train_description));
    outputs.stage("history.csv", history_csv(r));
    outputs.commit();
    std::cout << "\nwrote " << o.out_dir << "/result.json and " << o.out_dir << "/history.csv\n";
  }
  if (!cfg.checkpoint_path.empty()) std::cout << "checkpoint: " << cfg.checkpoint_path << "\n";
  char line[128];
  std::snprintf(line, sizeof line, "total time %.1f s\n", std::chrono::duration<double>(Clock::now() - t0).count());
  std::cout << line;
  return 0;
}

namespace {

/// sweep --search wide (search.hpp): the same outputs as the grid sweep, plus search.json.
int run_wide_search(const CliOptions& o) {
  const auto t0 = Clock::now();
  const std::vector<LossConfig> grid = sweep_losses(o);
  const int jobs = o.sweep.jobs > 0 ? o.sweep.jobs : hardware_threads();
  const int threads_per_job = configure_compute(o);
  const std::string dir = o.out_dir.empty() ? "sweep-results" : o.out_dir;
  RunOutputs outputs;
  if (const std::string note = outputs.open(dir, "sweep --search wide"); !note.empty()) Progress::print_line(note);
  const Splits data = load_data(o);
  Progress::print_line("longtail-train sweep --search wide: " + std::to_string(jobs) + " in parallel, " +
                       std::to_string(threads_per_job) + " thread(s) each, GEMM " + to_string(gemm_backend()) +
                       "; checkpoints in " + dir + "/search-work (removed at the end)");
  TrainConfig base = o.train;
  base.loss = o.loss_settings;  // what every sampled configuration shares (smoothing, beta, alpha)
  const SearchResult r = run_search(data, base, grid, o.sweep, o.search, jobs, threads_per_job,
                                    o.progress.value_or(ProgressMode::bar), dir + "/search-work", dir + "/selected");
  std::cout << "data: " << describe_data(data.train) << "\n";
  std::cout << "model: MLP " << MlpShape{data.train.num_features(), o.train.hidden, data.train.num_labels()}.to_string()
            << ", Adam lr " << o.train.adam.lr << ", batch " << o.train.batch_size << ", up to " << o.train.epochs
            << " epochs, patience " << o.train.patience << ", seed " << o.train.seed << "\n";
  std::cout << format_search_summary(r) << format_sweep_table(r.sweep);
  outputs.stage("sweep.csv", sweep_csv(r.sweep));
  outputs.stage("sweep.json", sweep_json(r.sweep, describe_data(data.train)));
  outputs.stage("search.json", search_json(r));
  outputs.commit();
  char line[200];
  std::snprintf(line, sizeof line, "\nwrote %s/sweep.csv, %s/sweep.json and %s/search.json; total time %.1f s\n",
                dir.c_str(), dir.c_str(), dir.c_str(), std::chrono::duration<double>(Clock::now() - t0).count());
  std::cout << line;
  if (!r.selected_model.empty())
    std::cout << "the selected model (rank 1" << (r.refit ? ", refit on train + validation" : "")
              << "): " << r.selected_model << " (longtail-train eval / predict --checkpoint " << r.selected_model
              << ")\n";
  return 0;
}

}  // namespace

int run_sweep(const CliOptions& o, Communicator& comm) {
  if (o.search.wide) {
    if (comm.size() > 1)
      throw std::invalid_argument(
          "sweep --search wide runs as one process (its rungs depend on each other); run it "
          "without mpirun, or run the grid sweep under mpirun");
    return run_wide_search(o);
  }
  const auto t0 = Clock::now();
  const bool root = comm.is_root();
  const std::vector<LossConfig> losses = sweep_losses(o);
  const int hw = hardware_threads();
  const int jobs = o.sweep.jobs > 0 ? o.sweep.jobs : std::min<int>(hw, int(losses.size()));
  const int threads_per_job = configure_compute(o);
  const std::string dir = o.out_dir.empty() ? "sweep-results" : o.out_dir;
  // The root writes the table's files; every rank writes its configurations' checkpoints and
  // results under dir/checkpoints (sweep_store.hpp).
  RunOutputs outputs;
  if (root)
    if (const std::string note = outputs.open(dir, "sweep"); !note.empty()) Progress::print_line(note);
  const Splits data = load_data(o, nullptr, nullptr, root);
  SweepLaunch launch;
  launch.jobs = jobs;
  launch.threads_per_job = threads_per_job;
  launch.progress = o.progress.value_or(ProgressMode::bar);
  launch.state_dir = dir + "/checkpoints";
  launch.resume = o.sweep_resume;
  if (root)
    Progress::print_line("longtail-train sweep: " + std::to_string(losses.size()) + " configurations" +
                         (comm.size() > 1 ? " over " + comm.describe() + "," : ",") + " " +
                         std::to_string(std::min<int>(jobs, int(losses.size()))) + " in parallel" +
                         (comm.size() > 1 ? " on each," : ",") + " " + std::to_string(threads_per_job) +
                         " thread(s) each, GEMM " + to_string(gemm_backend()) +
                         (o.sweep_resume ? ", resuming " + launch.state_dir : ""));
  const SweepResult r = run_distributed_sweep(data, o.train, losses, o.sweep, launch, comm);
  const int status = r.failures.empty() ? 0 : 1;
  if (!root) return status;
  std::cout << "data: " << describe_data(data.train) << "\n";
  std::cout << "model: MLP " << MlpShape{data.train.num_features(), o.train.hidden, data.train.num_labels()}.to_string()
            << ", Adam lr " << o.train.adam.lr << ", batch " << o.train.batch_size << ", up to " << o.train.epochs
            << " epochs, patience " << o.train.patience << ", seed " << o.train.seed << "\n";
  std::cout << format_sweep_table(r);
  outputs.stage("sweep.csv", sweep_csv(r));
  outputs.stage("sweep.json", sweep_json(r, describe_data(data.train)));
  outputs.commit();
  char line[320];
  std::snprintf(line, sizeof line,
                "\nwrote %s/sweep.csv and %s/sweep.json (models: %s/<configuration>.ltck); total time %.1f s\n",
                dir.c_str(), dir.c_str(), launch.state_dir.c_str(),
                std::chrono::duration<double>(Clock::now() - t0).count());
  std::cout << line;
  if (status != 0)
    std::cerr << "\nlongtail-train sweep: " << r.failures.size() << " of " << losses.size()
              << " configurations failed (listed under FAILED above); the others are ranked\n";
  return status;
}

namespace {

/// A note when the model is from an unfinished run: its best weights so far, thresholds 0.5.
void note_unfinished(const SavedModel& m) {
  for (std::size_t k = 0; k < m.checkpoints.size(); ++k)
    if (!m.checkpoints[k].state.finished)
      Progress::print_line("note: " + m.member_paths[k] + " is from an unfinished run (epoch " +
                           std::to_string(m.checkpoints[k].state.epochs_done) + "): best weights so far" +
                           (m.ensemble ? "" : ", thresholds 0.5"));
}

}  // namespace

int run_eval(const CliOptions& o) {
  const int threads = configure_compute(o);
  const SavedModel m = load_saved_model(o.checkpoint);
  note_unfinished(m);
  const Splits data = load_data(o);
  const Dataset& d = pick_split(data, o.split);
  const RowMatrix<float> p = saved_model_probabilities(m, d, d.features, threads);
  const TrainingCounts train = training_counts(m, data.train);
  const SplitEvaluation e =
      evaluate_split(o.split, p, dense_targets(d.labels), m.rule, train.counts, train.rows, o.train.buckets);
  std::cout << "checkpoint: " << o.checkpoint << " (" << m.describe() << ")\n"
            << "data: " << describe_data(d) << "\n\n"
            << format_evaluation(e);
  return 0;
}

namespace {

/// predict --text: raw documents through the checkpoint's featurizer (text_predict.hpp).
int predict_text(const CliOptions& o, const SavedModel& m, int threads) {
  if (m.ensemble)
    throw std::invalid_argument(o.checkpoint +
                                " is an ensemble file; predict --text takes one checkpoint trained with --tsv");
  const Checkpoint& c = m.first();
  if (!c.featurizer)
    throw std::invalid_argument(o.checkpoint + ": trained on non-text data (" + c.data +
                                "); --text needs a model trained with --tsv");
  note_unfinished(m);
  const Mlp<float> model = checkpoint_model(c, threads);
  TextPredictOptions options;
  options.top = o.top;
  options.at_least_one = c.at_least_one && c.thresholds.size() != 0;
  const TextPredictor predictor(model, *c.featurizer, c.thresholds, c.label_names, options);
  if (o.text == "-") return predictor.run(std::cin, "standard input", std::cout), 0;
  std::ifstream in = open_input_file(o.text, "--text file");
  predictor.run(in, o.text, std::cout);
  return 0;
}

}  // namespace

int run_predict(const CliOptions& o) {
  const int threads = configure_compute(o);
  const SavedModel m = load_saved_model(o.checkpoint);
  if (!o.text.empty()) return predict_text(o, m, threads);
  note_unfinished(m);
  const Splits data = load_data(o);
  const Dataset& d = pick_split(data, o.split);
  const AppliedRule& rule = m.rule;
  const std::vector<std::string>& names =
      d.label_set.names.size() == std::size_t(m.outputs()) ? d.label_set.names : m.first().label_names;
  auto label_name = [&](Eigen::Index j) {
    return std::size_t(j) < names.size() ? names[std::size_t(j)] : std::to_string(j);
  };
  const Eigen::Index rows = std::min<Eigen::Index>(o.rows, d.rows());
  // Only the printed rows are scored.
  SparseRowMatrix head = d.features.topRows(rows);
  head.makeCompressed();
  const RowMatrix<float> p = saved_model_probabilities(m, d, head, threads);
  std::cout << "predict: " << o.checkpoint << " on " << d.name << " (first " << rows << " rows; score = probability, "
            << "* = predicted by the decision rule " << rule.name
            << (rule.at_least_one ? ": above the label's threshold, or the row's top label when none is" : "") << ")\n";
  const RowMatrix<float> predicted = apply_thresholds(p, rule.thresholds, rule.at_least_one);
  std::vector<Eigen::Index> order(std::size_t(m.outputs()));
  for (Eigen::Index i = 0; i < rows; ++i) {
    std::iota(order.begin(), order.end(), Eigen::Index{0});
    const std::size_t k = std::min<std::size_t>(std::size_t(o.top), order.size());
    std::partial_sort(order.begin(), order.begin() + std::ptrdiff_t(k), order.end(),
                      [&](Eigen::Index a, Eigen::Index b) { return p(i, a) > p(i, b); });
    std::cout << "\nrow " << i << ":\n";
    for (std::size_t r = 0; r < k; ++r) {
      const Eigen::Index j = order[r];
      char score[48];
      std::snprintf(score, sizeof score, "  %.4f%s  ", p(i, j), predicted(i, j) > 0.5f ? "*" : " ");
      std::cout << score << label_name(j) << "\n";
    }
    std::string truth;
    for (SparseRowMatrix::InnerIterator it(d.labels, i); it; ++it)
      truth += (truth.empty() ? "" : "; ") + label_name(it.col());
    std::cout << "  true: " << (truth.empty() ? "(none)" : truth) << "\n";
  }
  return 0;
}

int run_generate(const CliOptions& o) {
  configure_compute(o);
  if (o.generate_text) {
    // The same documents as the embedded data, as raw word counts (the generator's tfidf=0):
    // feature f is the word feature_names[f], written as often as it occurs.
    DataOptions counts = o.data;
    counts.generator_overrides.emplace_back("tfidf", "0");
    write_labelled_text_splits(load_data(o, nullptr, &counts), o.out_dir);
    std::cout << "wrote " << o.out_dir << "/{train,validation,test}.tsv ('label1,label2<TAB>words')\n"
              << "train on them with: longtail-train --tsv " << o.out_dir << "/train.tsv --tsv-validation " << o.out_dir
              << "/validation.tsv --tsv-test " << o.out_dir << "/test.tsv --checkpoint model.ltck\n";
    return 0;
  }
  const Splits data = load_data(o);
  write_splits(data, o.out_dir);
  std::cout << "wrote " << o.out_dir << "/{train,validation,test}.txt and " << o.out_dir << "/labels.tsv\n"
            << "train on them with: longtail-train --data-dir " << o.out_dir << "\n";
  return 0;
}

}  // namespace longtail_train
