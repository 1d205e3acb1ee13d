// SPDX-License-Identifier: Apache-2.0
#include "cli.hpp"

#include <algorithm>
#include <cerrno>
#include <cmath>
#include <cstdlib>
#include <functional>
#include <limits>
#include <sstream>

namespace longtail_train {
namespace {

// Which commands a flag belongs to.
enum : unsigned { kTrain = 1, kSweep = 2, kEval = 4, kPredict = 8, kGenerate = 16 };
constexpr unsigned kData = kTrain | kSweep | kEval | kPredict | kGenerate;
constexpr unsigned kFit = kTrain | kSweep;
constexpr unsigned kAll = kData;

unsigned bit(Command c) {
  switch (c) {
    case Command::train:
      return kTrain;
    case Command::sweep:
      return kSweep;
    case Command::eval:
      return kEval;
    case Command::predict:
      return kPredict;
    case Command::generate:
      return kGenerate;
  }
  return 0;
}

struct Flag {
  const char* name;  // "--lr"
  const char* arg;   // "X" or nullptr for a switch
  const char* def;   // default as shown in --help (nullptr: none)
  const char* help;
  const char* section;
  unsigned commands;
  std::function<void(CliOptions&, const std::string&)> set;
};

[[noreturn]] void bad(const std::string& flag, const std::string& value, const std::string& expected) {
  throw cli_error(flag + ": expected " + expected + ", got '" + value + "'");
}

double to_double(const std::string& flag, const std::string& v, const char* expected = "a number") {
  errno = 0;
  char* end = nullptr;
  const double d = std::strtod(v.c_str(), &end);
  if (v.empty() || *end != '\0' || errno == ERANGE || std::isnan(d)) bad(flag, v, expected);
  return d;
}

double positive(const std::string& flag, const std::string& v) {
  const double d = to_double(flag, v, "a number > 0");
  if (!(d > 0) || !std::isfinite(d)) bad(flag, v, "a number > 0");
  return d;
}

double non_negative(const std::string& flag, const std::string& v) {
  const double d = to_double(flag, v, "a number >= 0");
  if (!(d >= 0) || !std::isfinite(d)) bad(flag, v, "a number >= 0");
  return d;
}

double unit_open(const std::string& flag, const std::string& v) {  // [0, 1)
  const double d = to_double(flag, v, "a number in [0, 1)");
  if (!(d >= 0 && d < 1)) bad(flag, v, "a number in [0, 1)");
  return d;
}

long long integer(const std::string& flag, const std::string& v, long long lo, long long hi) {
  errno = 0;
  char* end = nullptr;
  const long long n = std::strtoll(v.c_str(), &end, 10);
  const std::string expected = "an integer in [" + std::to_string(lo) + ", " + std::to_string(hi) + "]";
  if (v.empty() || *end != '\0' || errno == ERANGE || n < lo || n > hi) bad(flag, v, expected);
  return n;
}

std::vector<std::string> split_list(const std::string& flag, const std::string& v) {
  std::vector<std::string> out;
  std::size_t start = 0;
  while (true) {
    const auto end = v.find(',', start);
    out.push_back(v.substr(start, end == std::string::npos ? std::string::npos : end - start));
    if (out.back().empty()) bad(flag, v, "a comma-separated list without empty items");
    if (end == std::string::npos) break;
    start = end + 1;
  }
  return out;
}

/// "none" -> nullopt, else a number >= 0 (caps: > 0).
std::vector<std::optional<double>> optional_numbers(const std::string& flag, const std::string& v,
                                                    bool strictly_positive) {
  std::vector<std::optional<double>> out;
  for (const auto& item : split_list(flag, v)) {
    if (item == "none") {
      out.push_back(std::nullopt);
    } else if (item == "inf") {
      out.push_back(std::numeric_limits<double>::infinity());
    } else {
      const double d =
          to_double(flag, item, strictly_positive ? "'none', 'inf' or numbers > 0" : "'none' or numbers >= 0");
      if (strictly_positive ? !(d > 0) : !(d >= 0))
        bad(flag, item, strictly_positive ? "a number > 0" : "a number >= 0");
      out.push_back(d);
    }
  }
  return out;
}

const std::vector<Flag>& flags() {
  static const std::vector<Flag> table = {
      // ---- data ----
      {"--taxonomy", "FILE", nullptr, "IAB Content Taxonomy TSV: use its 698 topical labels (names and tree) for the embedded data",
       "Data (default: the embedded IAB-like generator, no files needed)", kData,
       [](CliOptions& o, const std::string& v) { o.data.taxonomy = v; }},
      {"--data-seed", "N", "20240611", "seed of the embedded generator and of the random train/validation/test splits", "", kData,
       [](CliOptions& o, const std::string& v) {
         o.data.data_seed = static_cast<std::uint64_t>(integer("--data-seed", v, 0, std::numeric_limits<long long>::max()));
       }},
      {"--generator", "K=V[,K=V]", "calibrated", "override embedded-generator knobs (calibration experiments), e.g. noise_rate=0.6", "",
       kData,
       [](CliOptions& o, const std::string& v) {
         for (const auto& kv : split_list("--generator", v)) {
           const auto eq = kv.find('=');
           if (eq == std::string::npos || eq == 0) bad("--generator", kv, "KEY=VALUE");
           o.data.generator_overrides.emplace_back(kv.substr(0, eq), kv.substr(eq + 1));
         }
       }},
      {"--arff", "FILE", nullptr, "Mulan ARFF training file (sparse or dense); labels are the last L attributes", "", kData,
       [](CliOptions& o, const std::string& v) { o.data.arff = v; }},
      {"--arff-test", "FILE", nullptr, "Mulan ARFF test file (official split); without it --test-fraction of --arff is held out", "",
       kData, [](CliOptions& o, const std::string& v) { o.data.arff_test = v; }},
      {"--labels", "L", nullptr, "number of label attributes of the ARFF files", "", kData,
       [](CliOptions& o, const std::string& v) { o.data.labels = int(integer("--labels", v, 1, 100000000)); }},
      {"--xml", "FILE", nullptr, "Mulan labels XML (gives L instead of --labels)", "", kData,
       [](CliOptions& o, const std::string& v) { o.data.xml = v; }},
      {"--xmc", "FILE", nullptr, "XMC text training file (header 'N F L', rows 'l1,l2 f:v ...')", "", kData,
       [](CliOptions& o, const std::string& v) { o.data.xmc = v; }},
      {"--xmc-test", "FILE", nullptr, "XMC text test file", "", kData,
       [](CliOptions& o, const std::string& v) { o.data.xmc_test = v; }},
      {"--tsv", "FILE", nullptr, "labelled text 'label1,label2<TAB>text' (hashed TF-IDF features fitted on train)", "", kData,
       [](CliOptions& o, const std::string& v) { o.data.tsv = v; }},
      {"--tsv-validation", "FILE", nullptr, "labelled text validation file", "", kData,
       [](CliOptions& o, const std::string& v) { o.data.tsv_validation = v; }},
      {"--tsv-test", "FILE", nullptr, "labelled text test file", "", kData,
       [](CliOptions& o, const std::string& v) { o.data.tsv_test = v; }},
      {"--hash-buckets", "N", "16384", "feature buckets of the text featurizer", "", kData,
       [](CliOptions& o, const std::string& v) { o.data.hash_buckets = int(integer("--hash-buckets", v, 1, 1 << 26)); }},
      {"--bigrams", nullptr, "off", "also hash adjacent token pairs (text)", "", kData,
       [](CliOptions& o, const std::string&) { o.data.bigrams = true; }},
      {"--data-dir", "DIR", nullptr, "data written by `longtail-train generate` (train/validation/test.txt, labels.tsv)", "", kData,
       [](CliOptions& o, const std::string& v) { o.data.data_dir = v; }},
      {"--validation-fraction", "F", "0.1", "share of the training rows held out for validation when no validation file is given",
       "", kData,
       [](CliOptions& o, const std::string& v) { o.data.validation_fraction = unit_open("--validation-fraction", v); }},
      {"--test-fraction", "F", "0.2", "share of the rows held out for test when no test file is given", "", kData,
       [](CliOptions& o, const std::string& v) { o.data.test_fraction = unit_open("--test-fraction", v); }},

      // ---- model ----
      {"--hidden", "LIST", "512", "hidden layer sizes, e.g. 512 or 512,256; 0 or none = linear model", "Model", kFit,
       [](CliOptions& o, const std::string& v) {
         o.train.hidden.clear();
         if (v == "0" || v == "none") return;
         for (const auto& item : split_list("--hidden", v))
           o.train.hidden.push_back(Eigen::Index(integer("--hidden", item, 1, 1 << 20)));
       }},
      {"--dropout", "P", "0", "dropout rate on hidden activations (inverted dropout)", "", kFit,
       [](CliOptions& o, const std::string& v) { o.train.dropout = unit_open("--dropout", v); }},
      {"--input", "MODE", "auto", "first layer: sparse (axpy per non-zero), dense (GEMM), auto (dense when > 25% non-zero)", "",
       kFit,
       [](CliOptions& o, const std::string& v) {
         if (v == "auto") o.train.input = InputMode::automatic;
         else if (v == "sparse") o.train.input = InputMode::sparse;
         else if (v == "dense") o.train.input = InputMode::dense;
         else bad("--input", v, "auto, sparse or dense");
       }},

      // ---- optimisation ----
      {"--epochs", "N", "20", "maximum epochs", "Optimisation (Adam with decoupled weight decay = AdamW)", kFit,
       [](CliOptions& o, const std::string& v) { o.train.epochs = int(integer("--epochs", v, 1, 1000000)); }},
      {"--patience", "N", "5", "early stopping: stop after N epochs without a better validation macro-F1 (0 = off); the best "
       "epoch's weights are kept", "", kFit,
       [](CliOptions& o, const std::string& v) { o.train.patience = int(integer("--patience", v, 0, 1000000)); }},
      {"--batch", "N", "256", "minibatch size", "", kFit,
       [](CliOptions& o, const std::string& v) { o.train.batch_size = integer("--batch", v, 1, 1 << 24); }},
      {"--lr", "X", "0.001", "Adam learning rate", "", kFit,
       [](CliOptions& o, const std::string& v) { o.train.adam.lr = positive("--lr", v); }},
      {"--weight-decay", "X", "0", "decoupled weight decay (AdamW: w <- w (1 - lr wd) each step; weights only, not biases)", "",
       kFit, [](CliOptions& o, const std::string& v) { o.train.adam.weight_decay = non_negative("--weight-decay", v); }},
      {"--beta1", "X", "0.9", "Adam beta1", "", kFit,
       [](CliOptions& o, const std::string& v) { o.train.adam.beta1 = unit_open("--beta1", v); }},
      {"--beta2", "X", "0.999", "Adam beta2", "", kFit,
       [](CliOptions& o, const std::string& v) { o.train.adam.beta2 = unit_open("--beta2", v); }},
      {"--adam-eps", "X", "1e-8", "Adam epsilon", "", kFit,
       [](CliOptions& o, const std::string& v) { o.train.adam.eps = positive("--adam-eps", v); }},
      {"--seed", "N", "1", "seed of the initial weights, the shuffles and dropout", "", kFit,
       [](CliOptions& o, const std::string& v) {
         o.train.seed = static_cast<std::uint64_t>(integer("--seed", v, 0, std::numeric_limits<long long>::max()));
       }},

      // ---- loss ----
      {"--loss", "NAME", "focal",
       "bce | weighted | focal | asl | db (longtail's WeightedBCE / FocalBCE / DistributionBalanced functors)",
       "Loss (the default is the write-up's best configuration, cap_7.0_focal_g3)", kTrain,
       [](CliOptions& o, const std::string& v) {
         if (v == "bce") o.loss_flags.kind = LossKind::bce;
         else if (v == "weighted") o.loss_flags.kind = LossKind::weighted;
         else if (v == "focal") o.loss_flags.kind = LossKind::focal;
         else if (v == "asl") o.loss_flags.kind = LossKind::asl;
         else if (v == "db") o.loss_flags.kind = LossKind::db;
         else bad("--loss", v, "bce, weighted, focal, asl or db");
       }},
      {"--weights", "SCHEME", "pos_neg_ratio",
       "class weights from training label counts: none | uniform | pos_neg_ratio | inverse_frequency | sqrt_pos_neg_ratio | "
       "sqrt_inverse_frequency | effective_number. On by default for every loss except bce", "", kFit,
       [](CliOptions& o, const std::string& v) {
         if (v != "none" && !longtail::parse_weight_scheme(v))
           bad("--weights", v,
               "none, uniform, pos_neg_ratio, inverse_frequency, sqrt_pos_neg_ratio, sqrt_inverse_frequency or "
               "effective_number");
         o.loss_flags.weights = v;
       }},
      {"--cap", "X", "7", "cap on the class weights, w = min(w, X); 'inf' = uncapped, 'none' = no class weights. sweep: a list "
       "(default 6,7,8)", "", kFit,
       [](CliOptions& o, const std::string& v) { o.loss_flags.caps = optional_numbers("--cap", v, true); }},
      {"--weight-mode", "MODE", "pos", "pos: weights multiply the positive term only (PyTorch pos_weight); class: both terms", "",
       kFit,
       [](CliOptions& o, const std::string& v) {
         if (v == "pos") o.loss_settings.mode = WeightMode::pos_weight;
         else if (v == "class") o.loss_settings.mode = WeightMode::class_weight;
         else bad("--weight-mode", v, "pos or class");
       }},
      {"--normalize-weights", nullptr, "off", "rescale the class weights to mean 1 before the cap", "", kFit,
       [](CliOptions& o, const std::string&) { o.loss_settings.normalize = true; }},
      {"--beta", "B", "0.999", "effective_number's beta, in [0, 1)", "", kFit,
       [](CliOptions& o, const std::string& v) { o.loss_settings.beta = unit_open("--beta", v); }},
      {"--gamma", "G", "3", "focal exponent (implies --loss focal; 'none' = no focusing); with --loss db its focusing exponent "
       "(default 2). sweep: a list (default none,2,3)", "",
       kFit, [](CliOptions& o, const std::string& v) { o.loss_flags.gammas = optional_numbers("--gamma", v, false); }},
      {"--alpha", "A", "off", "focal alpha in [0, 1] (alpha for positives, 1 - alpha for negatives)", "", kFit,
       [](CliOptions& o, const std::string& v) {
         const double a = to_double("--alpha", v, "a number in [0, 1]");
         if (!(a >= 0 && a <= 1)) bad("--alpha", v, "a number in [0, 1]");
         o.loss_settings.alpha = a;
       }},
      {"--gamma-pos", "G", "0", "asl: focusing exponent of positives", "", kTrain,
       [](CliOptions& o, const std::string& v) { o.loss_settings.gamma_pos = non_negative("--gamma-pos", v); }},
      {"--gamma-neg", "G", "4", "asl: focusing exponent of negatives", "", kTrain,
       [](CliOptions& o, const std::string& v) { o.loss_settings.gamma_neg = non_negative("--gamma-neg", v); }},
      {"--margin", "M", "0.05", "asl: probability margin shifting the negatives, in [0, 1)", "", kTrain,
       [](CliOptions& o, const std::string& v) { o.loss_settings.margin = unit_open("--margin", v); }},
      {"--db-alpha", "A", "0.1", "db: floor of the re-balancing weight, alpha + sigmoid(beta (r - mu)), >= 0", "",
       kTrain | kSweep, [](CliOptions& o, const std::string& v) { o.loss_settings.db_alpha = non_negative("--db-alpha", v); }},
      {"--db-beta", "B", "10", "db: slope of the re-balancing weight, >= 0", "", kTrain | kSweep,
       [](CliOptions& o, const std::string& v) { o.loss_settings.db_beta = non_negative("--db-beta", v); }},
      {"--db-mu", "M", "0.2", "db: centre of the re-balancing weight", "", kTrain | kSweep,
       [](CliOptions& o, const std::string& v) {
         const double d = to_double("--db-mu", v, "a finite number");
         if (!std::isfinite(d)) bad("--db-mu", v, "a finite number");
         o.loss_settings.db_mu = d;
       }},
      {"--db-lambda", "L", "2", "db: negative-tolerant scale, negatives scored as softplus(L z) / L (1 = none), > 0", "",
       kTrain | kSweep, [](CliOptions& o, const std::string& v) { o.loss_settings.db_lambda = positive("--db-lambda", v); }},
      {"--db-kappa", "K", "0.05", "db: class bias kappa / lambda * logit(prior) added to the logits in the loss (0 = none)",
       "", kTrain | kSweep,
       [](CliOptions& o, const std::string& v) { o.loss_settings.db_kappa = non_negative("--db-kappa", v); }},
      {"--logit-adjust", "TAU", "0", "logit adjustment, every loss: the loss sees x + TAU log(prior) (Menon et al. 2021; "
       "priors from the training counts); inference uses the raw logits. 0 = off", "", kFit,
       [](CliOptions& o, const std::string& v) {
         o.loss_settings.logit_adjust_tau = non_negative("--logit-adjust", v);
       }},
      {"--label-smoothing", "E", "0", "label smoothing y <- y (1 - E) + E / 2, with every loss", "", kFit,
       [](CliOptions& o, const std::string& v) { o.loss_settings.label_smoothing = unit_open("--label-smoothing", v); }},

      // ---- evaluation ----
      {"--buckets", "M,H", "20,100", "frequency buckets by training positives n: tail n < M, medium M <= n < H, head n >= H",
       "Evaluation", kFit | kEval,
       [](CliOptions& o, const std::string& v) {
         const auto items = split_list("--buckets", v);
         if (items.size() != 2) bad("--buckets", v, "two numbers MEDIUM,HEAD");
         o.train.buckets.medium_from = non_negative("--buckets", items[0]);
         o.train.buckets.head_from = non_negative("--buckets", items[1]);
         if (o.train.buckets.medium_from > o.train.buckets.head_from) bad("--buckets", v, "MEDIUM <= HEAD");
       }},

      // ---- decision rules ----
      {"--rule", "NAME", "auto",
       "decision rule from probabilities to labels: 0.5 | global (one threshold tuned on validation) | shrunk (per-label "
       "thresholds shrunk toward the global one by validation support) | per-label (raw per-label tuning); +top1 (e.g. "
       "shrunk+top1): the most probable label when none clears its threshold. auto = the rule with the best "
       "cross-fitted validation F1 (--metric)",
       "Decision rules (decision_rules.hpp; tuned on validation, scored by cross-fitting over validation folds)", kFit,
       [](CliOptions& o, const std::string& v) {
         if (v == "auto") {
           o.train.rules.rule.reset();
         } else if (const auto rule = parse_rule(v)) {
           o.train.rules.rule = *rule;
         } else {
           bad("--rule", v, rule_choices());
         }
       }},
      {"--rule-shrinkage", "M", "10",
       "shrunk: t_c = (k_c t_c* + M t_global) / (k_c + M), k_c = the label's validation positives", "", kFit,
       [](CliOptions& o, const std::string& v) { o.train.rules.shrinkage = non_negative("--rule-shrinkage", v); }},
      {"--rule-min-positives", "N", "1", "shrunk: labels with fewer validation positives keep the global threshold", "",
       kFit,
       [](CliOptions& o, const std::string& v) {
         o.train.rules.min_positives = Eigen::Index(integer("--rule-min-positives", v, 1, 1000000000));
       }},
      {"--rule-folds", "K", "5", "cross-fitting folds of the validation rows that score the tuned rules", "", kFit,
       [](CliOptions& o, const std::string& v) { o.train.rules.folds = int(integer("--rule-folds", v, 2, 1000)); }},
      {"--select-se", "T", "1",
       "auto's rule and the sweep's configuration: candidates within T standard errors (over the folds) of the best "
       "cross-fitted validation F1 are tied, --tie-break decides; 0: the best",
       "", kFit,
       [](CliOptions& o, const std::string& v) { o.train.rules.tolerance_se = non_negative("--select-se", v); }},
      {"--tie-break", "NAME", "auto",
       "what decides among tied candidates: auto (micro-F1 under --metric macro, macro-F1 under micro, else "
       "simplest) | simplest (the simplest rule; for configurations the best) | macro | micro | samples",
       "", kFit,
       [](CliOptions& o, const std::string& v) {
         const auto t = parse_tie_break(v);
         if (!t) bad("--tie-break", v, "auto, simplest, macro, micro or samples");
         o.train.rules.tie_break = *t;
       }},
      {"--metric", "NAME", "macro",
       "the F1 the global threshold maximises, --rule auto selects by and sweep ranks by: macro | micro | samples | "
       "macro+micro (their mean)", "",
       kFit,
       [](CliOptions& o, const std::string& v) {
         const auto average = parse_f1_average(v);
         if (!average) bad("--metric", v, "macro, micro, samples or macro+micro");
         o.sweep.metric = v;
         o.train.rules.metric = *average;
       }},

      // ---- sweep ----
      {"--jobs", "N", "cores", "configurations trained in parallel (each single-threaded unless --threads)", "Sweep", kSweep,
       [](CliOptions& o, const std::string& v) { o.sweep.jobs = int(integer("--jobs", v, 1, 1024)); }},
      {"--baseline", "NAME", "bce", "configuration the improvement column is relative to", "", kSweep,
       [](CliOptions& o, const std::string& v) { o.sweep.baseline = v; }},
      {"--no-bce", nullptr, "off", "do not add the plain-BCE configuration to the grid", "", kSweep,
       [](CliOptions& o, const std::string&) { o.sweep.add_bce_baseline = false; }},
      {"--tuned", nullptr, "off", "the same as --rule per-label (kept for older command lines)", "", kSweep,
       [](CliOptions& o, const std::string&) { o.train.rules.rule = DecisionRule{ThresholdKind::per_label, false}; }},

      {"--search", "NAME", "grid", "grid: the write-up's grid (--cap x --gamma); wide: successive halving over the grid "
       "plus configurations drawn (from --seed) from a wider space (every weight scheme, caps up to uncapped, focal "
       "gamma 0-4, ASL, DB, logit adjustment; hidden width, dropout and learning rate): rung 1 trains all for a few "
       "epochs, each rung keeps the best 1/eta by validation F1 and trains them on, the last to --epochs; writes "
       "search.json too",
       "", kSweep,
       [](CliOptions& o, const std::string& v) {
         if (v != "grid" && v != "wide") bad("--search", v, "grid or wide");
         o.search.wide = v == "wide";
       }},
      {"--budget-minutes", "M", "20", "--search wide: no training job starts that is predicted to end more than M minutes after the "
       "search began", "",
       kSweep,
       [](CliOptions& o, const std::string& v) { o.search.budget_minutes = positive("--budget-minutes", v); }},
      {"--search-configs", "N", "81", "--search wide: configurations of the first rung, the grid's among them (the "
       "baseline comes on top)", "", kSweep,
       [](CliOptions& o, const std::string& v) {
         o.search.configurations = std::size_t(integer("--search-configs", v, 1, 100000));
       }},
      {"--eta", "N", "3", "--search wide: each rung keeps the best 1/N of its configurations and trains them N times "
       "longer", "", kSweep,
       [](CliOptions& o, const std::string& v) { o.search.eta = int(integer("--eta", v, 2, 1000)); }},
      {"--min-epochs", "N", "2", "--search wide: epochs of the first rung, at least", "", kSweep,
       [](CliOptions& o, const std::string& v) { o.search.min_epochs = int(integer("--min-epochs", v, 1, 1000000)); }},
      {"--last-rung-epochs", "N", "--epochs", "--search wide: the last rung trains its runs up to N epochs, each "
       "ended earlier by --patience when validation stops improving (the earlier rungs follow --epochs)", "", kSweep,
       [](CliOptions& o, const std::string& v) {
         o.search.last_rung_epochs = int(integer("--last-rung-epochs", v, 1, 1000000));
       }},
      {"--ensemble", "K", "3", "--search wide: also rank the mean probabilities of the best K configurations of the "
       "last rung, its decision rule tuned like theirs (0: no ensemble)", "", kSweep,
       [](CliOptions& o, const std::string& v) {
         const long long k = integer("--ensemble", v, 0, 100000);
         if (k == 1) bad("--ensemble", v, "0 (no ensemble) or at least 2 members");
         o.search.ensemble = std::size_t(k);
       }},
      {"--no-refit", nullptr, "off", "--search wide: keep the search's own model instead of training the selected "
       "row again on train + validation for its selected epochs", "", kSweep,
       [](CliOptions& o, const std::string&) { o.search.refit = false; }},

      // ---- run ----
      {"--threads", "N", "1", "threads (Eigen/BLAS GEMMs, sparse layer, loss; per job in sweep); 0 = all cores. One thread is "
       "the default because small GEMMs scale poorly and the machine may be shared",
       "Run", kAll,
       [](CliOptions& o, const std::string& v) { o.threads = int(integer("--threads", v, 0, 1024)); }},
      {"--gemm", "NAME", "auto", "matrix products: blas (OpenBLAS), eigen, auto (the faster kernel on this CPU)", "", kAll,
       [](CliOptions& o, const std::string& v) {
         if (v == "auto") o.gemm.reset();
         else if (v == "blas") o.gemm = GemmBackend::blas;
         else if (v == "eigen") o.gemm = GemmBackend::eigen;
         else bad("--gemm", v, "auto, blas or eigen");
       }},
      {"--progress", "MODE", "auto", "bar | lines | none; auto = bar on a terminal, lines otherwise", "", kAll,
       [](CliOptions& o, const std::string& v) {
         if (v == "auto") o.progress.reset();
         else if (v == "bar") o.progress = ProgressMode::bar;
         else if (v == "lines") o.progress = ProgressMode::lines;
         else if (v == "none") o.progress = ProgressMode::quiet;
         else bad("--progress", v, "auto, bar, lines or none");
       }},
      {"--checkpoint", "FILE", nullptr,
       "train: write the checkpoint here after every epoch (atomically); eval / predict: the model to use (a "
       "checkpoint, or an ensemble file that sweep --search wide wrote)", "",
       kTrain | kEval | kPredict, [](CliOptions& o, const std::string& v) { o.checkpoint = v; }},
      {"--resume", "FILE", nullptr, "continue training from this checkpoint (same settings; --epochs may grow)", "", kTrain,
       [](CliOptions& o, const std::string& v) { o.train.resume_path = v; }},
      {"--resume", nullptr, "off",
       "sweep: continue the sweep in --out: finished configurations are reported from their results, the others "
       "continue from their last epoch's checkpoint (OUT/checkpoints); other settings or data are refused",
       "", kSweep, [](CliOptions& o, const std::string&) { o.sweep_resume = true; }},
      {"--out", "DIR", nullptr, "train: write result.json and history.csv; sweep: sweep.csv and sweep.json (default "
       "sweep-results); generate: the data set (required)", "", kTrain | kSweep | kGenerate,
       [](CliOptions& o, const std::string& v) { o.out_dir = v; }},

      // ---- eval / predict ----
      {"--split", "NAME", "test", "eval / predict: test | validation | train", "Eval and predict", kEval | kPredict,
       [](CliOptions& o, const std::string& v) {
         if (v != "test" && v != "validation" && v != "train") bad("--split", v, "test, validation or train");
         o.split = v;
       }},
      {"--rows", "N", "10", "predict: rows to print", "", kPredict,
       [](CliOptions& o, const std::string& v) { o.rows = int(integer("--rows", v, 1, 100000000)); }},
      {"--top", "K", "5", "predict: labels per row, highest score first", "", kPredict,
       [](CliOptions& o, const std::string& v) { o.top = int(integer("--top", v, 1, 1000000)); }},
      {"--text", "FILE", nullptr,
       "predict: classify raw documents instead of a data split, one per line ('-': standard input; an empty "
       "line is the empty document), through the checkpoint's text featurizer (a model trained with --tsv); "
       "prints one JSON object per line: {\"line\": N, \"top\": [{\"label\", \"index\", \"p\"}, ...], "
       "\"predicted\": [the labels the checkpoint's decision rule predicts]}",
       "", kPredict, [](CliOptions& o, const std::string& v) {
         if (v.empty()) bad("--text", v, "a file name or '-'");
         o.text = v;
       }},
      {"--format", "NAME", "xmc", "generate: xmc (XMC text + labels.tsv) or text (train/validation/test.tsv, "
       "'label1,label2<TAB>words' for --tsv)", "", kGenerate,
       [](CliOptions& o, const std::string& v) {
         if (v != "xmc" && v != "text") bad("--format", v, "xmc or text");
         o.generate_text = v == "text";
       }},
  };
  return table;
}

/// The flag `name` of `command` (a name may mean different things to different commands: train's
/// --resume FILE, sweep's --resume), else any flag of that name (to say which commands it is for).
const Flag* find_flag(const std::string& name, Command command) {
  const Flag* any = nullptr;
  for (const auto& f : flags())
    if (name == f.name) {
      if (f.commands & bit(command)) return &f;
      if (!any) any = &f;
    }
  return any;
}

std::string commands_of(unsigned mask) {
  std::string s;
  for (Command c : {Command::train, Command::sweep, Command::eval, Command::predict, Command::generate})
    if (mask & bit(c)) s += std::string(s.empty() ? "" : ", ") + to_string(c);
  return s;
}

}  // namespace

const char* to_string(Command c) {
  switch (c) {
    case Command::train:
      return "train";
    case Command::sweep:
      return "sweep";
    case Command::eval:
      return "eval";
    case Command::predict:
      return "predict";
    case Command::generate:
      return "generate";
  }
  return "?";
}

CliOptions parse_cli(int argc, const char* const* argv) {
  CliOptions o;
  std::vector<std::string> given;  // flags seen, for the cross-flag checks
  int i = 1;
  if (i < argc && argv[i][0] != '-') {
    const std::string c = argv[i];
    if (c == "train")
      o.command = Command::train;
    else if (c == "sweep")
      o.command = Command::sweep;
    else if (c == "eval")
      o.command = Command::eval;
    else if (c == "predict")
      o.command = Command::predict;
    else if (c == "generate")
      o.command = Command::generate;
    else if (c == "help")
      o.help = true;
    else
      throw cli_error("unknown command '" + c + "' (commands: train, sweep, eval, predict, generate; see --help)");
    ++i;
  }
  for (; i < argc; ++i) {
    std::string arg = argv[i];
    if (arg == "-h" || arg == "--help") {
      o.help = true;
      continue;
    }
    if (arg == "--version") {
      o.version = true;
      continue;
    }
    std::string value;
    bool inline_value = false;
    if (const auto eq = arg.find('='); arg.rfind("--", 0) == 0 && eq != std::string::npos) {
      value = arg.substr(eq + 1);
      arg = arg.substr(0, eq);
      inline_value = true;
    }
    const Flag* f = find_flag(arg, o.command);
    if (!f) {
      if (arg.rfind("-", 0) == 0)
        throw cli_error("unknown flag '" + arg + "' (see longtail-train " + to_string(o.command) + " --help)");
      throw cli_error("unexpected argument '" + arg + "' (commands come first; flags start with --)");
    }
    if (!(f->commands & bit(o.command)))
      throw cli_error(arg + " does not apply to '" + to_string(o.command) +
                      "' (it is for: " + commands_of(f->commands) + ")");
    if (f->arg) {
      if (!inline_value) {
        if (i + 1 >= argc) throw cli_error(arg + ": missing value " + f->arg);
        value = argv[++i];
      }
    } else if (inline_value) {
      throw cli_error(arg + " takes no value (got '" + value + "')");
    }
    f->set(o, value);
    given.push_back(f->name);
  }
  if (o.help || o.version) return o;

  // Cross-flag checks.
  try {
    o.data.validate();
  } catch (const std::invalid_argument& e) {
    throw cli_error(e.what());
  }
  auto was_given = [&](const char* flag) { return std::find(given.begin(), given.end(), flag) != given.end(); };
  for (const char* flag : {"--db-alpha", "--db-beta", "--db-mu", "--db-lambda", "--db-kappa"}) {
    if (!was_given(flag)) continue;
    if (o.command == Command::train && o.loss_flags.kind != LossKind::db)
      throw cli_error(std::string(flag) + " is for --loss db");
    if (o.command == Command::sweep && !o.search.wide)
      throw cli_error(std::string(flag) + " applies to sweep --search wide (the grid has no db configuration)");
  }
  if (o.command == Command::train) {
    try {
      o.train.loss = resolve_loss(o.loss_flags, o.loss_settings);
    } catch (const std::invalid_argument& e) {
      throw cli_error(e.what());
    }
    if (!o.train.resume_path.empty() && o.checkpoint.empty()) o.checkpoint = o.train.resume_path;
    o.train.checkpoint_path = o.checkpoint;
  }
  if (o.command == Command::sweep) {
    if (o.sweep.jobs < 0) throw cli_error("--jobs must be >= 1");
    const auto grid = sweep_losses(o);  // validates the grid and the baseline name
    if (!o.search.wide)
      for (const char* flag : {"--budget-minutes", "--search-configs", "--eta", "--min-epochs", "--last-rung-epochs",
                               "--ensemble", "--no-refit"})
        if (was_given(flag))
          throw cli_error(std::string(flag) + " applies to --search wide (the grid sweep trains every configuration)");
    if (o.search.wide) {
      const auto competitors =
          grid.size() - std::size_t(std::count_if(grid.begin(), grid.end(),
                                                  [&](const LossConfig& c) { return c.name() == o.sweep.baseline; }));
      if (o.search.configurations < competitors)
        throw cli_error(
            "--search-configs " + std::to_string(o.search.configurations) + ": the grid alone has " +
            std::to_string(competitors) +
            " configurations besides the baseline (give a larger number or a smaller --cap / --gamma grid)");
      try {
        (void)halving_plan(o.search.configurations, o.train.epochs, o.search.eta, o.search.min_epochs,
                           last_rung_epochs(o.search, o.train.epochs));
      } catch (const std::invalid_argument& e) {
        throw cli_error(e.what());
      }
    }
  }
  if ((o.command == Command::eval || o.command == Command::predict) && o.checkpoint.empty())
    throw cli_error(std::string(to_string(o.command)) +
                    " needs --checkpoint FILE (written by `longtail-train train --checkpoint FILE`)");
  if (o.command == Command::generate && o.out_dir.empty()) throw cli_error("generate needs --out DIR");
  if (!o.text.empty() && (was_given("--rows") || was_given("--split")))
    throw cli_error(std::string(was_given("--rows") ? "--rows" : "--split") +
                    " selects rows of a data set; with --text every line of the file is predicted");
  if (!o.text.empty() && o.data.source() != "embedded")
    throw cli_error("predict --text reads raw documents with the checkpoint's featurizer: the data flags (--" +
                    o.data.source() + " ...) do not apply");
  if (o.generate_text && o.data.source() != "embedded")
    throw cli_error("generate --format text writes the embedded data set only (its words are known)");
  return o;
}

std::vector<LossConfig> sweep_losses(const CliOptions& o) {
  try {
    return sweep_losses(o.loss_flags, o.loss_settings, o.sweep.add_bce_baseline, o.sweep.baseline);
  } catch (const std::invalid_argument& e) {
    throw cli_error(e.what());
  }
}

std::string help_text(Command command) {
  std::ostringstream os;
  const unsigned mask = bit(command);
  os << "longtail-train: the reference trainer of the longtail loss library (an MLP on Eigen trained with\n"
        "longtail's losses; long-tailed multi-label classification, e.g. the 698 IAB topical categories).\n\n"
        "usage: longtail-train [COMMAND] [FLAGS]       (flags: --name VALUE or --name=VALUE)\n\n"
        "commands:\n"
        "  train     (default) train one configuration, print its metrics\n"
        "  sweep     train the write-up's grid (--cap 6,7,8 x --gamma none,2,3, plus plain BCE), print the table\n"
        "  eval      evaluate a checkpoint on a data set\n"
        "  predict   print the top labels with scores for rows of a data set, or for raw text (--text)\n"
        "  generate  write the embedded data set to files (--out DIR; --format text: labelled text)\n\n"
        "longtail-train "
     << to_string(command) << " flags:\n";
  const char* section = nullptr;
  for (const auto& f : flags()) {
    if (f.section[0]) section = f.section;
    if (!(f.commands & mask)) continue;
    if (section) {
      os << "\n " << section << ":\n";
      section = nullptr;
    }
    std::string head = std::string("  ") + f.name + (f.arg ? std::string(" ") + f.arg : "");
    std::string text = f.help;
    if (f.def) text += std::string(" [default: ") + f.def + "]";
    os << head;
    // Wrap the help text at ~100 columns, indented under column 28.
    constexpr std::size_t indent = 28, width = 104;
    std::size_t col = head.size();
    if (col + 1 >= indent) {
      os << "\n";
      col = 0;
    }
    os << std::string(indent - col, ' ');
    col = indent;
    std::istringstream words(text);
    std::string w;
    bool first = true;
    while (words >> w) {
      if (!first && col + 1 + w.size() > width) {
        os << "\n" << std::string(indent, ' ');
        col = indent;
      } else if (!first) {
        os << ' ';
        ++col;
      }
      os << w;
      col += w.size();
      first = false;
    }
    os << "\n";
  }
  if (command == Command::train || command == Command::sweep)
    os << "\nClass weights enter as PyTorch-style pos_weight (they multiply the positive term of each label):\n"
          "pos_weight_c = min((N - n_c) / n_c, cap) for the default scheme, n_c = training positives of label c.\n"
          "Configuration names: bce, cap_7.0 (weighted BCE), cap_7.0_focal_g3, focal_g2 (no weights), db_g2\n"
          "(Distribution-Balanced), ..._la1 (logit adjustment tau 1), ...\n";
  os << "\nexamples:\n"
        "  longtail-train                                   # embedded data, cap 7 + focal gamma 3\n"
        "  longtail-train --loss bce                        # plain BCE baseline\n"
        "  longtail-train sweep --out sweep-results         # the write-up's grid, table + CSV + JSON\n"
        "  longtail-train sweep --search wide --budget-minutes 20 --jobs 2   # successive halving beyond the grid\n"
        "  longtail-train sweep --out sweep-results --resume   # continue it after a crash or kill\n"
        "  mpirun -np 2 longtail-train sweep --jobs 1       # the grid spread over 2 MPI ranks\n"
        "  longtail-train --arff delicious-train.arff --arff-test delicious-test.arff --xml delicious.xml \\\n"
        "                 --epochs 60 --patience 10 --lr 0.002 --dropout 0.3   # Delicious, official split\n"
        "  longtail-train --checkpoint model.ltck && longtail-train predict --checkpoint model.ltck --rows 3\n"
        "  longtail-train --tsv train.tsv --checkpoint text.ltck && longtail-train predict --checkpoint text.ltck "
        "--text docs.txt\n";
  return os.str();
}

}  // namespace longtail_train
