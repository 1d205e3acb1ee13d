// SPDX-License-Identifier: Apache-2.0
#include "trainer.hpp"

#include <chrono>
#include <cmath>
#include <ctime>
#include <sstream>
#include <stdexcept>

#include "checkpoint.hpp"
#include "common/rng.hpp"
#include "data/split.hpp"
#include "data_source.hpp"
#include "targets.hpp"

namespace longtail_train {
namespace {

using Clock = std::chrono::steady_clock;

double seconds_since(Clock::time_point t) { return std::chrono::duration<double>(Clock::now() - t).count(); }

/// CPU time of the whole process (all threads): on a machine shared with other work it measures
/// the cost of an epoch better than wall time.
double process_cpu_seconds() {
  timespec ts{};
  ::clock_gettime(CLOCK_PROCESS_CPUTIME_ID, &ts);
  return double(ts.tv_sec) + 1e-9 * double(ts.tv_nsec);
}

std::string num(double v) {
  std::ostringstream os;
  os.precision(9);
  os << v;
  return os.str();
}

void check_compatible(const Dataset& train, const Dataset& other, const char* split) {
  if (other.num_features() != train.num_features() || other.num_labels() != train.num_labels()) {
    std::ostringstream os;
    os << split << " split '" << other.name << "' has " << other.num_features() << " features and "
       << other.num_labels() << " labels but train has " << train.num_features() << " and " << train.num_labels();
    throw std::invalid_argument(os.str());
  }
}

}  // namespace

const char* to_string(InputMode m) {
  switch (m) {
    case InputMode::automatic:
      return "auto";
    case InputMode::sparse:
      return "sparse";
    case InputMode::dense:
      return "dense";
  }
  return "?";
}

std::string describe_data(const Dataset& d) {
  std::ostringstream os;
  os << d.name << ": " << d.rows() << " rows x " << d.num_features() << " features, " << d.num_labels() << " labels";
  return os.str();
}

void TrainConfig::validate() const {
  auto bad = [](const std::string& what) { throw std::invalid_argument(what); };
  for (auto h : hidden)
    if (h <= 0) bad("--hidden sizes must be > 0 (got " + std::to_string(h) + ")");
  if (!(dropout >= 0 && dropout < 1)) bad("--dropout must be in [0, 1) (got " + num(dropout) + ")");
  if (batch_size <= 0) bad("--batch must be > 0 (got " + std::to_string(batch_size) + ")");
  if (epochs <= 0) bad("--epochs must be > 0 (got " + std::to_string(epochs) + ")");
  if (patience < 0) bad("--patience must be >= 0 (got " + std::to_string(patience) + ")");
  if (threads < 1) bad("threads must be >= 1 (got " + std::to_string(threads) + ")");
  adam.validate();
  rules.validate();
}

std::vector<std::pair<std::string, std::string>> TrainConfig::resume_settings(const Splits& data) const {
  return resume_settings(describe_data(data.train), describe_data(data.validation));
}

std::vector<std::pair<std::string, std::string>> TrainConfig::resume_settings(
    const std::string& train_description, const std::string& validation_description) const {
  std::ostringstream h;
  for (std::size_t i = 0; i < hidden.size(); ++i) h << (i ? "," : "") << hidden[i];
  return {{"--hidden", hidden.empty() ? "0" : h.str()},
          {"--dropout", num(dropout)},
          {"--input", to_string(input)},
          {"--lr", num(adam.lr)},
          {"--beta1", num(adam.beta1)},
          {"--beta2", num(adam.beta2)},
          {"--adam-eps", num(adam.eps)},
          {"--weight-decay", num(adam.weight_decay)},
          {"--batch", std::to_string(batch_size)},
          {"--seed", std::to_string(seed)},
          {"loss", loss.describe()},
          {"train data", train_description},
          {"validation data", validation_description}};
}

namespace {

/// Features the float model cannot train on: non-finite values, or magnitudes whose products in
/// the first layer and whose squared gradients in Adam overflow float (|x| > kMaxFeature).
/// Scaled data (TF-IDF, standardised attributes, counts) is far below it.
constexpr double kMaxFeature = 1e8;

void check_features(const Dataset& d) {
  const SparseRowMatrix& m = d.features;
  for (Eigen::Index r = 0; r < m.outerSize(); ++r)
    for (SparseRowMatrix::InnerIterator it(m, r); it; ++it)
      if (!std::isfinite(it.value()) || std::fabs(double(it.value())) > kMaxFeature) {
        std::ostringstream os;
        os << "the " << d.name << " split has a feature value of " << it.value() << " (row " << r + 1 << ", feature "
           << it.col() + 1 << "): values must be finite and at most " << kMaxFeature
           << " in magnitude for float training; scale the features (TF-IDF, standardisation)";
        throw std::invalid_argument(os.str());
      }
}

/// What the training split and the loss make impossible to learn: an error when nothing can be
/// learnt, warnings for labels that will not be.
std::vector<std::string> check_learnable(const Dataset& train, const Eigen::ArrayXd& counts, const TrainingLoss& loss) {
  if (train.num_labels() == 0) throw std::invalid_argument("the training split '" + train.name + "' has no labels");
  if ((counts == 0).all())
    throw std::invalid_argument("the training split '" + train.name + "' has no positive label in any row");
  auto label = [&](Eigen::Index j) {
    return std::size_t(j) < train.label_set.names.size() ? "'" + train.label_set.names[std::size_t(j)] + "'"
                                                         : "#" + std::to_string(j + 1);
  };
  auto list = [&](const std::vector<Eigen::Index>& labels) {
    std::string s;
    for (std::size_t i = 0; i < labels.size() && i < 5; ++i) s += (i ? ", " : "") + label(labels[i]);
    if (labels.size() > 5) s += ", ... (" + std::to_string(labels.size()) + " in all)";
    return s;
  };
  std::vector<std::string> warnings;
  std::vector<Eigen::Index> absent, zero_weight;
  const Eigen::ArrayXf& w = loss.class_weights();
  for (Eigen::Index j = 0; j < counts.size(); ++j) {
    if (counts[j] == 0)
      absent.push_back(j);
    else if (w.size() && w[j] == 0)
      zero_weight.push_back(j);
  }
  if (!absent.empty())
    warnings.push_back(std::to_string(absent.size()) +
                       " label(s) have no positive in the training split and cannot be learnt: " + list(absent));
  if (!zero_weight.empty())
    warnings.push_back(std::to_string(zero_weight.size()) + " label(s) get class weight 0 from --weights " +
                       std::string(longtail::to_string(*loss.config().scheme)) +
                       " (positive in every training row: (N - n) / n = 0), so " +
                       (loss.config().mode == WeightMode::pos_weight ? "their positives give no gradient"
                                                                     : "they give no gradient at all") +
                       ": " + list(zero_weight) + "; use another --weights scheme to learn them");
  return warnings;
}

/// Divergence without a non-finite loss (a learning rate far too large makes the loss explode
/// and the model useless while every number stays finite): the loss of an epoch against the loss
/// of the initial weights on the first minibatch. Training only lowers it; a factor of 10 above
/// it is a run that has left the basin, whatever the loss, weights or data.
constexpr double kDivergenceFactor = 10.0;

[[noreturn]] void diverged(const std::string& what, int epoch) {
  throw divergence_error("training diverged at epoch " + std::to_string(epoch) + ": " + what +
                         " (try a smaller --lr; the checkpoint, if any, keeps the last good epoch)");
}

}  // namespace

TrainResult train_model(const Splits& data, const TrainConfig& cfg, Progress& progress,
                        const TextFeaturizer* featurizer) {
  SingleProcess one;
  return train_model(whole_data(data), cfg, progress, one, featurizer);
}

namespace {

/// The rows of a global minibatch (positions [start, start + count) of the epoch's order) that
/// this rank holds: their positions in its shard and their training-split indices.
struct LocalBatch {
  std::vector<std::int64_t> rows, global_rows;

  void select(const std::vector<std::int64_t>& order, Eigen::Index start, Eigen::Index count, int rank, int size) {
    rows.clear();
    global_rows.clear();
    for (Eigen::Index p = start; p < start + count; ++p) {
      const std::int64_t g = order[std::size_t(p)];
      if (shard_owner(g, size) != rank) continue;
      rows.push_back(shard_position(g, size));
      global_rows.push_back(g);
    }
  }
  Eigen::Index count() const { return Eigen::Index(rows.size()); }
};

}  // namespace

TrainResult train_model(const TrainingData& data, const TrainConfig& cfg, Progress& progress, Communicator& comm,
                        const TextFeaturizer* featurizer) {
  const auto t_call = Clock::now();
  cfg.validate();
  if (!data.train || !data.validation || !data.test) throw std::invalid_argument("train_model: a split is missing");
  const Dataset& train = *data.train;
  const Dataset& validation = *data.validation;
  const Dataset& test = *data.test;
  const int rank = comm.rank(), ranks = comm.size();
  const bool root = comm.is_root();
  check_compatible(train, validation, "validation");
  check_compatible(train, test, "test");
  if (data.train_rows == 0) throw std::invalid_argument("the training split '" + train.name + "' has no rows");
  if (!train.features.isCompressed() || !validation.features.isCompressed() || !test.features.isCompressed())
    throw std::invalid_argument("feature matrices must be compressed (makeCompressed())");
  for (const Dataset* d : {&train, &validation, &test}) check_features(*d);

  TrainResult result;
  result.name = cfg.loss.name();
  result.loss_description = cfg.loss.describe();
  // The counts of the whole training split (all-reduced from the shards): the class weights,
  // caps and buckets below are those of one process.
  result.train_counts = global_label_counts(train, comm);

  // The density of the whole training split decides the first layer's mode, the same on every rank.
  std::int64_t non_zeros = train.features.nonZeros();
  comm.allreduce_sum(&non_zeros, 1);
  const double train_density =
      double(non_zeros) / std::max(1.0, double(data.train_rows) * double(train.num_features()));
  const bool dense_input = cfg.input == InputMode::dense || (cfg.input == InputMode::automatic && train_density > 0.25);
  const MlpShape shape{train.num_features(), cfg.hidden, train.num_labels()};
  Mlp<float> model(shape, dense_input);
  model.set_threads(cfg.threads);
  model.init(cfg.seed);
  Adam<float> adam(cfg.adam, shape.parameter_count());
  const TrainingLoss loss(cfg.loss, result.train_counts, data.train_rows, cfg.threads);
  result.warnings = check_learnable(train, result.train_counts, loss);
  if (root)
    for (const auto& w : result.warnings) progress.warn(w);
  const bool has_validation = validation.rows() > 0;
  // The validation rows this rank scores every epoch (the shard rule; all of them with one process).
  Dataset validation_part;
  if (ranks > 1) validation_part = select_rows(validation, shard_rows(validation.rows(), rank, ranks), validation.name);
  const Dataset& val_epoch = ranks > 1 ? validation_part : validation;
  const RowMatrix<float> val_targets = dense_targets(val_epoch.labels);

  const Eigen::Index n = data.train_rows;
  const Eigen::Index batches = (n + cfg.batch_size - 1) / cfg.batch_size;
  const double labels = double(shape.outputs);
  auto epoch_order = [&](int epoch) {
    Rng rng(cfg.seed, stream_id(RngStream::shuffle, std::uint64_t(epoch)));
    return shuffled_indices<std::int64_t>(n, rng);
  };
  // This rank's block of the parameters, the part of the Adam step it computes.
  const std::size_t parameters = std::size_t(shape.parameter_count());
  const Eigen::Index block_begin = Eigen::Index(Communicator::block_begin(parameters, rank, ranks));
  const Eigen::Index block_end = Eigen::Index(Communicator::block_begin(parameters, rank + 1, ranks));
  MlpWorkspace<float> ws;
  RowMatrix<float> targets;
  LocalBatch local;
  // The divergence reference: the loss of the initial weights (model.init(seed), deterministic,
  // so a resumed run computes the same value) on the first minibatch of epoch 1, over all ranks.
  double initial_loss = 0;
  {
    const auto order = epoch_order(1);
    const Eigen::Index count = std::min(cfg.batch_size, n);
    local.select(order, 0, count, rank, ranks);
    if (local.count() > 0) {
      const RowBatch<float> x{&train.features, local.rows.data(), local.count()};
      model.forward(x, ws, nullptr);
      gather_targets(train.labels, x.rows, x.count, targets);
      initial_loss = loss.forward(ws.logits(), targets, double(count) * labels);
    }
    comm.allreduce_sum(&initial_loss, 1);
  }

  Checkpoint checkpoint;
  checkpoint.settings = cfg.resume_settings(data.train_description, describe_data(validation));
  checkpoint.data = data.train_description;
  checkpoint.data_fingerprint = data.fingerprint;
  checkpoint.shape = shape;
  checkpoint.dense_input = dense_input;
  checkpoint.label_names = train.label_set.names;
  if (checkpoint.label_names.size() != std::size_t(shape.outputs)) checkpoint.label_names.clear();
  checkpoint.train_label_counts = result.train_counts;
  checkpoint.train_rows = std::int64_t(data.train_rows);
  if (featurizer) checkpoint.featurizer = *featurizer;
  TrainingState& state = checkpoint.state;
  if (root) state.best_params = model.parameters();

  if (!cfg.resume_path.empty()) {
    Checkpoint saved = load_checkpoint(cfg.resume_path);
    for (const auto& [key, value] : checkpoint.settings) {
      const std::string was = saved.setting(key);
      if (was != value)
        throw std::invalid_argument("--resume " + cfg.resume_path + ": the checkpoint was trained with " + key +
                                    " = '" + was + "' but this run has '" + value + "'");
    }
    if (saved.data_fingerprint != 0 && saved.data_fingerprint != checkpoint.data_fingerprint)
      throw std::invalid_argument("--resume " + cfg.resume_path +
                                  ": the checkpoint was trained on other data (same description '" + saved.data +
                                  "', different contents: the fingerprints of the train and validation rows differ)");
    if (!(saved.shape == shape) || saved.dense_input != dense_input)
      throw std::invalid_argument("--resume " + cfg.resume_path + ": model " + saved.shape.to_string() +
                                  " does not match " + shape.to_string());
    const bool early_stopped =
        saved.state.finished && cfg.patience > 0 && saved.state.epochs_without_improvement >= cfg.patience;
    state = std::move(saved.state);
    // The checkpoint holds nothing of the ranks (whole parameters and moments): it resumes on any N.
    model.parameters() = state.params;
    if (root) {
      adam.restore(state.adam_steps, state.adam_m, state.adam_v);
    } else {  // only rank 0 keeps copies of the state
      adam.restore(state.adam_steps, std::move(state.adam_m), std::move(state.adam_v));
      state.params = state.adam_m = state.adam_v = state.best_params = Eigen::VectorXf();
    }
    // A finished run that stopped early stays stopped; one that ran out of epochs continues when
    // --epochs is larger now.
    state.finished = false;
    if (early_stopped) state.epochs_done = std::max(state.epochs_done, cfg.epochs);
  }
  // Each rank's Adam moments are current in its own block only: the snapshot gathers them to
  // rank 0 (a collective, so every rank takes it), the only rank that writes checkpoints and
  // keeps copies of the state; the others keep none (memory per rank).
  auto snapshot = [&] {
    state.adam_steps = adam.steps();
    if (root) {
      state.params = model.parameters();
      state.adam_m.resize(model.parameters().size());
      state.adam_v.resize(model.parameters().size());
    }
    comm.gather_blocks_to_root(adam.first_moment().data(), state.adam_m.data(), parameters);
    comm.gather_blocks_to_root(adam.second_moment().data(), state.adam_v.data(), parameters);
  };

  Eigen::VectorXf grad;
  double train_time = 0, train_cpu_time = 0, communication_time = 0, communication_cpu_time = 0;
  int epochs_run = 0;
  bool stopped = state.epochs_done >= cfg.epochs;
  auto last_save = Clock::now();  // cfg.checkpoint_overhead: when the checkpoint was last written
  double last_save_seconds = -1;  // and how long that took (-1: not yet written by this call)
  progress.start(state.epochs_done + 1, cfg.epochs, batches);
  for (int epoch = state.epochs_done + 1; epoch <= cfg.epochs && !stopped; ++epoch) {
    const auto t_epoch = Clock::now();
    const double cpu_epoch = process_cpu_seconds();
    const auto order = epoch_order(epoch);
    double loss_sum = 0;
    for (Eigen::Index b = 0; b < batches; ++b) {
      // The global minibatch is the one of one process; this rank computes the rows it holds,
      // with the loss divided by the whole batch's element count, so that the ranks' losses and
      // gradients add up to the one-process values.
      const Eigen::Index start = b * cfg.batch_size, count = std::min(cfg.batch_size, n - start);
      local.select(order, start, count, rank, ranks);
      double l = 0;
      if (local.count() > 0) {
        const RowBatch<float> x{&train.features, local.rows.data(), local.count()};
        const DropoutSpec dropout{cfg.dropout, cfg.seed, std::uint64_t(epoch), local.global_rows.data()};
        model.forward(x, ws, &dropout);
        gather_targets(train.labels, x.rows, x.count, targets);
        l = loss.forward_backward(ws.logits(), targets, ws.logit_grad(), double(count) * labels);
        model.backward(x, ws, grad);
      } else {
        grad.setZero(model.parameters().size());
      }
      // A rank whose rows give a non-finite loss stops the job (main ends every rank); the
      // losses themselves are added over the ranks once per epoch, not per step: every
      // collective is a point where all ranks wait for the slowest.
      if (!std::isfinite(l)) {
        std::ostringstream os;
        os << "the loss is " << l << " at batch " << b + 1;
        diverged(os.str(), epoch);
      }
      // Sum of the ranks' gradients, each rank receiving its block; Adam on that block; every
      // rank gets every block back. With one process both collectives are the identity.
      const auto t_reduce = Clock::now();
      const double cpu_reduce = process_cpu_seconds();
      comm.reduce_scatter_sum(grad.data(), parameters);
      communication_time += seconds_since(t_reduce);
      communication_cpu_time += process_cpu_seconds() - cpu_reduce;
      adam.step(model.parameters(), grad, model.segments(), block_begin, block_end);
      const auto t_gather = Clock::now();
      const double cpu_gather = process_cpu_seconds();
      comm.all_gather_blocks(model.parameters().data(), parameters);
      communication_time += seconds_since(t_gather);
      communication_cpu_time += process_cpu_seconds() - cpu_gather;
      loss_sum += l;
      // The running loss shown while the epoch runs is rank 0's rows' share scaled by the ranks
      // (about 1/N of each batch); the epoch's loss below is the exact sum.
      progress.batch(epoch, b, loss_sum * double(ranks) / double(b + 1));
    }
    comm.allreduce_sum(&loss_sum, 1);
    const double epoch_train_seconds = seconds_since(t_epoch);
    const double epoch_train_cpu = process_cpu_seconds() - cpu_epoch;
    train_time += epoch_train_seconds;
    train_cpu_time += epoch_train_cpu;
    ++epochs_run;

    EpochRecord rec;
    rec.epoch = epoch;
    rec.train_loss = loss_sum / double(batches);
    if (!model.parameters().allFinite()) diverged("the weights hold a non-finite value", epoch);
    if (rec.train_loss > kDivergenceFactor * initial_loss) {
      std::ostringstream os;
      os << "the mean training loss " << rec.train_loss << " is over " << kDivergenceFactor
         << "x the loss of the initial weights (" << initial_loss << ")";
      diverged(os.str(), epoch);
    }
    bool improved = true;  // without validation the latest epoch is the best
    check_parameters_in_sync(model.parameters(), comm, epoch);
    if (has_validation) {
      // Per-label TP / FP / FN of this rank's validation rows, added over the ranks.
      LabelCounts counts;
      if (val_epoch.rows() > 0)
        counts = label_confusion(predict_probabilities(model, val_epoch.features), val_targets, 0.5);
      else
        counts =
            LabelCounts{decltype(LabelCounts::tp)::Zero(shape.outputs), decltype(LabelCounts::fp)::Zero(shape.outputs),
                        decltype(LabelCounts::fn)::Zero(shape.outputs)};
      allreduce(counts, comm);
      const auto f1 = f1_from_counts(counts);
      rec.val_macro_f1 = f1.macro.f1;
      rec.val_micro_f1 = f1.micro.f1;
      improved = rec.val_macro_f1 > state.best_score;
    }
    if (improved) {
      state.best_score = has_validation ? rec.val_macro_f1 : 0.0;
      state.best_epoch = epoch;
      if (root) state.best_params = model.parameters();  // rank 0 alone evaluates the best epoch
      state.epochs_without_improvement = 0;
    } else {
      ++state.epochs_without_improvement;
    }
    rec.seconds = seconds_since(t_epoch);
    rec.train_seconds = epoch_train_seconds;
    rec.train_cpu_seconds = epoch_train_cpu;
    state.history.push_back(rec);
    state.epochs_done = epoch;
    stopped = cfg.patience > 0 && state.epochs_without_improvement >= cfg.patience;
    if (!cfg.checkpoint_path.empty() && !cfg.checkpoint_at_end_only &&
        (cfg.checkpoint_overhead <= 0 || last_save_seconds < 0 ||
         seconds_since(last_save) * cfg.checkpoint_overhead >= last_save_seconds)) {
      const auto t_save = Clock::now();
      snapshot();
      if (root) save_checkpoint(cfg.checkpoint_path, checkpoint);
      last_save = Clock::now();
      last_save_seconds = seconds_since(t_save);
    }
    progress.epoch(rec, state.best_score, state.best_epoch, stopped && epoch < cfg.epochs);
  }
  progress.finish();

  // Final model: the best epoch's weights; the decision rules tuned on validation with them,
  // each scored by cross-fitting on validation and on test; the chosen one is kept. Rank 0 alone,
  // over the whole validation and test splits in their row order: the code and the numbers of one
  // process.
  snapshot();
  if (root) {
    model.parameters() = state.best_params;
    RowMatrix<float> whole_val_targets;  // with one process val_targets already are
    if (ranks > 1) whole_val_targets = dense_targets(validation.labels);
    const RowMatrix<float>& all_val_targets = ranks > 1 ? whole_val_targets : val_targets;
    const RowMatrix<float> val_probs = predict_probabilities(model, validation.features);
    const RowMatrix<float> test_probs = predict_probabilities(model, test.features);
    const RowMatrix<float> test_targets = dense_targets(test.labels);
    RuleOptions rule_options = cfg.rules;
    rule_options.seed = cfg.seed;
    RuledEvaluation evaluation = evaluate_with_rules(val_probs, all_val_targets, test_probs, test_targets,
                                                     result.train_counts, n, cfg.buckets, rule_options);
    result.rules = std::move(evaluation.rules);
    if (!result.rules.note.empty()) {
      result.warnings.push_back(result.rules.note);
      progress.warn(result.rules.note);
    }
    const AppliedRule& applied = evaluation.applied;
    result.thresholds = applied.thresholds;
    result.validation = std::move(evaluation.validation);
    result.test = std::move(evaluation.test);
    checkpoint.rule = applied.name;
    checkpoint.at_least_one = applied.at_least_one;
    checkpoint.thresholds = result.thresholds;
    state.finished = true;
    if (!cfg.checkpoint_path.empty()) save_checkpoint(cfg.checkpoint_path, checkpoint);
  }

  result.best_epoch = state.best_epoch;
  result.epochs_done = state.epochs_done;
  result.early_stopped =
      cfg.patience > 0 && state.epochs_without_improvement >= cfg.patience && state.epochs_done < cfg.epochs;
  result.history = state.history;
  result.train_seconds_per_epoch = epochs_run ? train_time / epochs_run : 0.0;
  result.train_cpu_seconds_per_epoch = epochs_run ? train_cpu_time / epochs_run : 0.0;
  result.communication_seconds_per_epoch = epochs_run && ranks > 1 ? communication_time / epochs_run : 0.0;
  result.communication_cpu_seconds_per_epoch = epochs_run && ranks > 1 ? communication_cpu_time / epochs_run : 0.0;
  result.model = std::move(model);
  result.seconds = seconds_since(t_call);
  return result;
}

}  // namespace longtail_train
