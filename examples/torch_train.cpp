// SPDX-License-Identifier: Apache-2.0
// longtail-train's experiment in libtorch: the same MLP on the embedded 698-label data, trained
// with longtail's focal loss through the PyTorch adapter (longtail::torch).
//
//   Linear(F, 512) -> ReLU -> Linear(512, L), PyTorch's default initialisation, Adam (lr 1e-3),
//   batch 256, a fresh shuffle every epoch, focal BCE gamma 3 with pos_weight_c =
//   min((N - n_c) / n_c, 7) (cap_7.0_focal_g3); the epoch with the best validation macro-F1 is
//   kept (patience 5), per-label thresholds tuned on validation; prints the test micro / macro /
//   samples F1 (threshold 0.5 and tuned) and macro-F1 by label frequency.
//
//   build/examples/longtail_torch_train [--epochs N] [--patience N] [--threads N]
//
// The loss is the one line marked below: torch::nn::BCEWithLogitsLoss with pos_weight becomes
// longtail::torch::FocalBCEWithLogitsLoss with the same tensors.

#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <sstream>
#include <string>

#include <torch/torch.h>

#include <Eigen/Core>

#include <longtail/class_weights.hpp>
#include <longtail/metrics.hpp>
#include <longtail/torch/losses.hpp>

#include "data/generator.hpp"
#include "data/taxonomy.hpp"

namespace {

using RowMatrixXf = Eigen::Matrix<float, Eigen::Dynamic, Eigen::Dynamic, Eigen::RowMajor>;

/// A sparse row matrix as a dense float32 tensor (the features are ~31 non-zeros per row of 5000;
/// dense keeps the example short: 6758 x 5000 floats are 135 MB).
at::Tensor dense(const longtail_train::SparseRowMatrix& m) {
  at::Tensor t = torch::zeros({m.rows(), m.cols()});
  float* d = t.data_ptr<float>();
  for (Eigen::Index i = 0; i < m.outerSize(); ++i)
    for (longtail_train::SparseRowMatrix::InnerIterator it(m, i); it; ++it) d[i * m.cols() + it.col()] = it.value();
  return t;
}

Eigen::Map<const RowMatrixXf> eigen(const at::Tensor& t) { return {t.data_ptr<float>(), t.size(0), t.size(1)}; }

struct MLP : torch::nn::Module {
  MLP(std::int64_t in, std::int64_t hidden, std::int64_t out)
      : fc1(register_module("fc1", torch::nn::Linear(in, hidden))),
        fc2(register_module("fc2", torch::nn::Linear(hidden, out))) {}
  at::Tensor forward(const at::Tensor& x) { return fc2(torch::relu(fc1(x))); }
  torch::nn::Linear fc1, fc2;
};

at::Tensor predict(MLP& model, const at::Tensor& x) {
  torch::NoGradGuard no_grad;
  return torch::sigmoid(model.forward(x)).contiguous();
}

int arg_int(int argc, char** argv, const std::string& name, int fallback) {
  for (int i = 1; i + 1 < argc; ++i)
    if (argv[i] == name) return std::atoi(argv[i + 1]);
  return fallback;
}

}  // namespace

int main(int argc, char** argv) {
  if (argc > 1 && std::string(argv[1]) == "--help") {
    std::printf("usage: %s [--epochs 20] [--patience 5] [--threads 1]\n", argv[0]);
    return 0;
  }
  const int epochs = arg_int(argc, argv, "--epochs", 20), patience = arg_int(argc, argv, "--patience", 5);
  torch::set_num_threads(arg_int(argc, argv, "--threads", 1));
  torch::manual_seed(1);

  const longtail_train::GeneratorConfig config;
  const auto splits = longtail_train::generate_corpus(longtail_train::generate_iab_like_taxonomy(config.seed), config);
  const at::Tensor x_train = dense(splits.train.features), y_train = dense(splits.train.labels);
  const at::Tensor x_val = dense(splits.validation.features), y_val = dense(splits.validation.labels);
  const at::Tensor x_test = dense(splits.test.features), y_test = dense(splits.test.labels);
  const std::int64_t n = x_train.size(0), features = x_train.size(1), labels = y_train.size(1);
  std::printf("data: %lld / %lld / %lld rows, %lld features, %lld labels\n", static_cast<long long>(n),
              static_cast<long long>(x_val.size(0)), static_cast<long long>(x_test.size(0)),
              static_cast<long long>(features), static_cast<long long>(labels));

  const Eigen::ArrayXd counts = longtail::label_counts(eigen(y_train));
  longtail::ClassWeightOptions wopt;
  wopt.cap = 7.0;
  const Eigen::ArrayXf w = longtail::class_weights<float>(counts, n, wopt);
  longtail::torch::LossTensors classes;
  classes.pos_weight = torch::from_blob(const_cast<float*>(w.data()), {labels}).clone();
  // The one line: torch::nn::BCEWithLogitsLoss(BCEWithLogitsLossOptions().pos_weight(pw)) ->
  const longtail::torch::FocalBCEWithLogitsLoss criterion(longtail::FocalBCEOptions::focal(3.0), classes);

  auto model = std::make_shared<MLP>(features, 512, labels);
  torch::optim::Adam opt(model->parameters(), torch::optim::AdamOptions(1e-3));
  double best = -1;
  int since_best = 0;
  std::stringstream best_bytes;
  for (int epoch = 1; epoch <= epochs; ++epoch) {
    const auto start = std::chrono::steady_clock::now();
    const at::Tensor order = torch::randperm(n);
    double total = 0;
    for (std::int64_t i = 0; i < n; i += 256) {
      const at::Tensor idx = order.slice(0, i, std::min(i + 256, n));
      opt.zero_grad();
      const at::Tensor loss = criterion(model->forward(x_train.index_select(0, idx)), y_train.index_select(0, idx));
      loss.backward();
      opt.step();
      total += loss.item<double>() * static_cast<double>(idx.numel());
    }
    const double seconds = std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count();
    const double val_f1 = longtail::metrics::f1_scores(eigen(predict(*model, x_val)), eigen(y_val), 0.5).macro.f1;
    std::printf("epoch %d: loss %.5f, validation macro-F1 %.4f, %.2f s\n", epoch, total / double(n), val_f1, seconds);
    std::fflush(stdout);
    if (val_f1 > best) {
      best = val_f1;
      since_best = 0;
      best_bytes.str("");
      torch::save(model, best_bytes);
    } else if (patience && ++since_best >= patience) {
      break;
    }
  }
  best_bytes.seekg(0);
  torch::load(model, best_bytes);

  const Eigen::ArrayXd thresholds = longtail::metrics::tune_thresholds(eigen(predict(*model, x_val)), eigen(y_val));
  const at::Tensor p_test = predict(*model, x_test);
  std::printf("test (longtail focal gamma 3, pos_weight cap 7, through longtail::torch):\n");
  for (int tuned = 0; tuned < 2; ++tuned) {
    const auto r = tuned ? longtail::metrics::f1_scores(eigen(p_test), eigen(y_test), thresholds)
                         : longtail::metrics::f1_scores(eigen(p_test), eigen(y_test), 0.5);
    std::printf("  %-16s micro-F1 %.3f  macro-F1 %.3f  samples-F1 %.3f  |",
                tuned ? "tuned thresholds" : "threshold 0.5", r.micro.f1, r.macro.f1, r.samples.f1);
    for (const auto& b : longtail::metrics::frequency_bucket_f1(r.label_f1, counts))
      std::printf("  %s (%lld) %.3f", b.name.c_str(), static_cast<long long>(b.labels), b.macro_f1);
    std::printf("\n");
  }
  return 0;
}
