// SPDX-License-Identifier: Apache-2.0
#include "trainer.hpp"

#include <chrono>
#include <cmath>
#include <ctime>
#include <sstream>
#include <stdexcept>

#include "checkpoint.hpp"
#include "common/rng.hpp"
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

double density(const SparseRowMatrix& m) {
  const double cells = double(m.rows()) * double(m.cols());
  return cells > 0 ? double(m.nonZeros()) / cells : 0.0;
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
}

std::vector<std::pair<std::string, std::string>> TrainConfig::resume_settings(const Splits& data) const {
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
          {"train data", describe_data(data.train)},
          {"validation data", describe_data(data.validation)}};
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
  throw std::runtime_error("training diverged at epoch " + std::to_string(epoch) + ": " + what +
                           " (try a smaller --lr; the checkpoint, if any, keeps the last good epoch)");
}

}  // namespace

TrainResult train_model(const Splits& data, const TrainConfig& cfg, Progress& progress,
                        const TextFeaturizer* featurizer) {
  const auto t_call = Clock::now();
  cfg.validate();
  const Dataset& train = data.train;
  check_compatible(train, data.validation, "validation");
  check_compatible(train, data.test, "test");
  if (train.rows() == 0) throw std::invalid_argument("the training split '" + train.name + "' has no rows");
  if (!train.features.isCompressed() || !data.validation.features.isCompressed() || !data.test.features.isCompressed())
    throw std::invalid_argument("feature matrices must be compressed (makeCompressed())");
  for (const Dataset* d : {&train, &data.validation, &data.test}) check_features(*d);

  TrainResult result;
  result.name = cfg.loss.name();
  result.loss_description = cfg.loss.describe();
  result.train_counts = label_counts(train.labels);

  const bool dense_input =
      cfg.input == InputMode::dense || (cfg.input == InputMode::automatic && density(train.features) > 0.25);
  const MlpShape shape{train.num_features(), cfg.hidden, train.num_labels()};
  Mlp<float> model(shape, dense_input);
  model.set_threads(cfg.threads);
  model.init(cfg.seed);
  Adam<float> adam(cfg.adam, shape.parameter_count());
  const TrainingLoss loss(cfg.loss, result.train_counts, train.rows(), cfg.threads);
  result.warnings = check_learnable(train, result.train_counts, loss);
  for (const auto& w : result.warnings) progress.warn(w);
  const RowMatrix<float> val_targets = dense_targets(data.validation.labels);
  const bool has_validation = data.validation.rows() > 0;

  const Eigen::Index n = train.rows();
  const Eigen::Index batches = (n + cfg.batch_size - 1) / cfg.batch_size;
  auto epoch_order = [&](int epoch) {
    Rng rng(cfg.seed, stream_id(RngStream::shuffle, std::uint64_t(epoch)));
    return shuffled_indices<std::int64_t>(n, rng);
  };
  MlpWorkspace<float> ws;
  RowMatrix<float> targets;
  // The divergence reference: the loss of the initial weights (model.init(seed), deterministic,
  // so a resumed run computes the same value) on the first minibatch of epoch 1.
  double initial_loss = 0;
  {
    const auto order = epoch_order(1);
    const RowBatch<float> x{&train.features, order.data(), std::min(cfg.batch_size, n)};
    model.forward(x, ws, nullptr);
    gather_targets(train.labels, x.rows, x.count, targets);
    initial_loss = loss.forward(ws.logits(), targets);
  }

  Checkpoint checkpoint;
  checkpoint.settings = cfg.resume_settings(data);
  checkpoint.data = describe_data(train);
  checkpoint.data_fingerprint = fingerprint(train) ^ (fingerprint(data.validation) * 0x9E3779B97F4A7C15ull);
  checkpoint.shape = shape;
  checkpoint.dense_input = dense_input;
  checkpoint.label_names = train.label_set.names;
  if (checkpoint.label_names.size() != std::size_t(shape.outputs)) checkpoint.label_names.clear();
  checkpoint.train_label_counts = result.train_counts;
  if (featurizer) checkpoint.featurizer = *featurizer;
  TrainingState& state = checkpoint.state;
  state.best_params = model.parameters();

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
    model.parameters() = state.params;
    adam.restore(state.adam_steps, state.adam_m, state.adam_v);
    // A finished run that stopped early stays stopped; one that ran out of epochs continues when
    // --epochs is larger now.
    state.finished = false;
    if (early_stopped) state.epochs_done = std::max(state.epochs_done, cfg.epochs);
  }
  auto snapshot = [&] {
    state.params = model.parameters();
    state.adam_steps = adam.steps();
    state.adam_m = adam.first_moment();
    state.adam_v = adam.second_moment();
  };

  Eigen::VectorXf grad;
  double train_time = 0, train_cpu_time = 0;
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
      const Eigen::Index start = b * cfg.batch_size, count = std::min(cfg.batch_size, n - start);
      const RowBatch<float> x{&train.features, order.data() + start, count};
      const DropoutSpec dropout{cfg.dropout, cfg.seed, std::uint64_t(epoch), std::uint64_t(b)};
      model.forward(x, ws, &dropout);
      gather_targets(train.labels, x.rows, count, targets);
      const float l = loss.forward_backward(ws.logits(), targets, ws.logit_grad());
      if (!std::isfinite(l)) {
        std::ostringstream os;
        os << "the loss is " << l << " at batch " << b + 1;
        diverged(os.str(), epoch);
      }
      model.backward(x, ws, grad);
      adam.step(model.parameters(), grad, model.segments());
      loss_sum += l;
      progress.batch(epoch, b, loss_sum / double(b + 1));
    }
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
    if (has_validation) {
      const auto f1 =
          longtail::metrics::f1_scores(predict_probabilities(model, data.validation.features), val_targets, 0.5);
      rec.val_macro_f1 = f1.macro.f1;
      rec.val_micro_f1 = f1.micro.f1;
      improved = rec.val_macro_f1 > state.best_score;
    }
    if (improved) {
      state.best_score = has_validation ? rec.val_macro_f1 : 0.0;
      state.best_epoch = epoch;
      state.best_params = model.parameters();
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
    if (!cfg.checkpoint_path.empty() && (cfg.checkpoint_overhead <= 0 || last_save_seconds < 0 ||
                                         seconds_since(last_save) * cfg.checkpoint_overhead >= last_save_seconds)) {
      const auto t_save = Clock::now();
      snapshot();
      save_checkpoint(cfg.checkpoint_path, checkpoint);
      last_save = Clock::now();
      last_save_seconds = seconds_since(t_save);
    }
    progress.epoch(rec, state.best_score, state.best_epoch, stopped && epoch < cfg.epochs);
  }
  progress.finish();

  // Final model: the best epoch's weights; thresholds tuned on validation with them.
  snapshot();
  model.parameters() = state.best_params;
  const RowMatrix<float> val_probs = predict_probabilities(model, data.validation.features);
  result.thresholds =
      has_validation ? tune_thresholds(val_probs, val_targets) : Eigen::ArrayXd::Constant(shape.outputs, 0.5);
  result.validation =
      evaluate_split("validation", val_probs, val_targets, result.thresholds, result.train_counts, n, cfg.buckets);
  result.test = evaluate_split("test", predict_probabilities(model, data.test.features),
                               dense_targets(data.test.labels), result.thresholds, result.train_counts, n, cfg.buckets);
  checkpoint.thresholds = result.thresholds;
  state.finished = true;
  if (!cfg.checkpoint_path.empty()) save_checkpoint(cfg.checkpoint_path, checkpoint);

  result.best_epoch = state.best_epoch;
  result.epochs_done = state.epochs_done;
  result.early_stopped =
      cfg.patience > 0 && state.epochs_without_improvement >= cfg.patience && state.epochs_done < cfg.epochs;
  result.history = state.history;
  result.train_seconds_per_epoch = epochs_run ? train_time / epochs_run : 0.0;
  result.train_cpu_seconds_per_epoch = epochs_run ? train_cpu_time / epochs_run : 0.0;
  result.model = std::move(model);
  result.seconds = seconds_since(t_call);
  return result;
}

}  // namespace longtail_train
