// SPDX-License-Identifier: Apache-2.0
#include "loss.hpp"

#include <cmath>
#include <sstream>
#include <type_traits>

namespace longtail_train {

TrainingLoss::TrainingLoss(const LossConfig& config, const Eigen::ArrayXd& label_counts, Eigen::Index train_rows,
                           int threads)
    : config_(config), fn_(longtail::cpu::WeightedBCE<float>()) {
  if (config.scheme) {
    longtail::ClassWeightOptions w;
    w.scheme = *config.scheme;
    w.beta = config.beta;
    w.normalize_mean = config.normalize;
    if (config.cap > 0) w.cap = config.cap;
    weights_ = longtail::class_weights<float>(label_counts, train_rows, w);
  }
  Eigen::ArrayXf& pos_weight = pos_weight_;
  Eigen::ArrayXf& weight = weight_;
  if (weights_.size()) (config.mode == WeightMode::pos_weight ? pos_weight : weight) = weights_;
  longtail::ExecutionOptions exec;
  exec.threads = threads < 1 ? 1 : threads;
  if (config.kind == LossKind::bce || config.kind == LossKind::weighted) {
    longtail::WeightedBCEOptions o;
    o.label_smoothing = config.label_smoothing;
    o.execution = exec;
    fn_ = longtail::cpu::WeightedBCE<float>(o, weight, pos_weight);
  } else {
    longtail::FocalBCEOptions o =
        config.kind == LossKind::focal
            ? longtail::FocalBCEOptions::focal(config.gamma, config.alpha)
            : longtail::FocalBCEOptions::asymmetric(config.gamma_pos, config.gamma_neg, config.margin);
    o.label_smoothing = config.label_smoothing;
    o.execution = exec;
    fn_ = longtail::cpu::FocalBCE<float>(o, weight, pos_weight);
  }
}

template <class F>
decltype(auto) TrainingLoss::visit(std::optional<double> mean_divisor, F&& f) const {
  return std::visit(
      [&](const auto& fn) {
        if (!mean_divisor) return f(fn);
        using Fn = std::decay_t<decltype(fn)>;
        auto options = fn.options();
        options.mean_divisor = mean_divisor;
        return f(Fn(options, weight_, pos_weight_));
      },
      fn_);
}

float TrainingLoss::forward_backward(const RowMatrix<float>& logits, const RowMatrix<float>& targets,
                                     RowMatrix<float>& grad, std::optional<double> mean_divisor) const {
  grad.resize(logits.rows(), logits.cols());
  return visit(mean_divisor, [&](const auto& f) { return f.forward_backward(logits, targets, grad); });
}

float TrainingLoss::forward(const RowMatrix<float>& logits, const RowMatrix<float>& targets,
                            std::optional<double> mean_divisor) const {
  return visit(mean_divisor, [&](const auto& f) { return f.forward(logits, targets); });
}

}  // namespace longtail_train
