// SPDX-License-Identifier: Apache-2.0
#include "loss.hpp"

#include <cmath>
#include <sstream>
#include <stdexcept>
#include <type_traits>

#include "longtail/class_priors.hpp"

namespace longtail_train {

TrainingLoss::TrainingLoss(const LossConfig& config, const Eigen::ArrayXd& label_counts, Eigen::Index train_rows,
                           int threads)
    : config_(config), label_counts_(label_counts), train_rows_(train_rows), fn_(longtail::cpu::WeightedBCE<float>()) {
  if (config.scheme) {
    longtail::ClassWeightOptions w;
    w.scheme = *config.scheme;
    w.beta = config.beta;
    w.normalize_mean = config.normalize;
    if (config.cap > 0) w.cap = config.cap;
    weights_ = longtail::class_weights<float>(label_counts, train_rows, w);
  }
  if (config.logit_adjust_tau > 0)
    logit_offset_ = longtail::logit_adjustment<float>(label_counts, train_rows, config.logit_adjust_tau);
  Eigen::ArrayXf& pos_weight = pos_weight_;
  Eigen::ArrayXf& weight = weight_;
  if (weights_.size()) (config.mode == WeightMode::pos_weight ? pos_weight : weight) = weights_;
  longtail::ExecutionOptions exec;
  exec.threads = threads < 1 ? 1 : threads;
  if (config.kind == LossKind::bce || config.kind == LossKind::weighted) {
    longtail::WeightedBCEOptions o;
    o.label_smoothing = config.label_smoothing;
    o.execution = exec;
    fn_ = longtail::cpu::WeightedBCE<float>(o, weight, pos_weight, logit_offset_);
  } else if (config.kind == LossKind::db) {
    if (pos_weight.size())
      throw std::invalid_argument("the Distribution-Balanced loss has no pos_weight: use --weight-mode class");
    longtail::DistributionBalancedOptions o;
    o.alpha = config.db_alpha;
    o.beta = config.db_beta;
    o.mu = config.db_mu;
    o.lambda = config.db_lambda;
    o.kappa = config.db_kappa;
    o.gamma = config.gamma;
    o.label_smoothing = config.label_smoothing;
    o.execution = exec;
    fn_ = longtail::cpu::DistributionBalanced<float>(o, label_counts, train_rows, weight, logit_offset_);
  } else {
    longtail::FocalBCEOptions o =
        config.kind == LossKind::focal
            ? longtail::FocalBCEOptions::focal(config.gamma, config.alpha)
            : longtail::FocalBCEOptions::asymmetric(config.gamma_pos, config.gamma_neg, config.margin);
    o.label_smoothing = config.label_smoothing;
    o.execution = exec;
    fn_ = longtail::cpu::FocalBCE<float>(o, weight, pos_weight, logit_offset_);
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
        if constexpr (std::is_same_v<Fn, longtail::cpu::DistributionBalanced<float>>)
          return f(Fn(options, label_counts_, train_rows_, weight_, logit_offset_));
        else
          return f(Fn(options, weight_, pos_weight_, logit_offset_));
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
