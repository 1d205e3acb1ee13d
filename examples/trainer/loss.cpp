// SPDX-License-Identifier: Apache-2.0
#include "loss.hpp"

#include <cmath>
#include <sstream>

namespace longtail_train {
namespace {

std::string number(double v, int precision = 6) {
  std::ostringstream os;
  os.precision(precision);
  os << v;
  return os.str();
}

std::string fixed1(double v) {
  std::ostringstream os;
  os.setf(std::ios::fixed);
  os.precision(1);
  os << v;
  return os.str();
}

}  // namespace

const char* to_string(LossKind k) {
  switch (k) {
    case LossKind::bce:
      return "bce";
    case LossKind::weighted:
      return "weighted";
    case LossKind::focal:
      return "focal";
    case LossKind::asl:
      return "asl";
  }
  return "?";
}

const char* to_string(WeightMode m) { return m == WeightMode::pos_weight ? "pos_weight" : "class_weight"; }

std::string LossConfig::name() const {
  std::string weights_part;
  if (scheme) {
    if (*scheme != longtail::WeightScheme::pos_neg_ratio)
      weights_part = std::string(longtail::to_string(*scheme)) + "_";
    if (normalize) weights_part += "norm_";
    weights_part += cap > 0 ? "cap_" + fixed1(cap) : "uncapped";
    if (mode == WeightMode::class_weight) weights_part += "_classw";
  }
  std::string loss_part;
  switch (kind) {
    case LossKind::bce:
    case LossKind::weighted:
      break;
    case LossKind::focal:
      loss_part = "focal_g" + number(gamma);
      if (alpha) loss_part += "_a" + number(*alpha);
      break;
    case LossKind::asl:
      loss_part = "asl_gp" + number(gamma_pos) + "_gn" + number(gamma_neg) + "_m" + number(margin);
      break;
  }
  std::string name = weights_part;
  if (!loss_part.empty()) name += (name.empty() ? "" : "_") + loss_part;
  if (name.empty()) name = "bce";
  if (label_smoothing > 0) name += "_ls" + number(label_smoothing);
  return name;
}

std::string LossConfig::describe() const {
  std::ostringstream os;
  switch (kind) {
    case LossKind::bce:
    case LossKind::weighted:
      os << "WeightedBCE";
      break;
    case LossKind::focal:
      os << "FocalBCE(gamma " << gamma;
      if (alpha) os << ", alpha " << *alpha;
      os << ")";
      break;
    case LossKind::asl:
      os << "FocalBCE::asymmetric(gamma_pos " << gamma_pos << ", gamma_neg " << gamma_neg << ", margin " << margin
         << ")";
      break;
  }
  if (scheme) {
    os << ", " << (mode == WeightMode::pos_weight ? "pos_weight" : "class weight") << " = " << (cap > 0 ? "min(" : "")
       << longtail::to_string(*scheme) << (normalize ? "/mean" : "");
    if (*scheme == longtail::WeightScheme::effective_number) os << "(beta " << beta << ")";
    if (cap > 0) os << ", " << cap << ")";
  } else {
    os << ", no class weights";
  }
  if (label_smoothing > 0) os << ", label smoothing " << label_smoothing;
  os << ", mean over batch x labels";
  return os.str();
}

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
  Eigen::ArrayXf pos_weight, weight;
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

float TrainingLoss::forward_backward(const RowMatrix<float>& logits, const RowMatrix<float>& targets,
                                     RowMatrix<float>& grad) const {
  grad.resize(logits.rows(), logits.cols());
  return std::visit([&](const auto& f) { return f.forward_backward(logits, targets, grad); }, fn_);
}

float TrainingLoss::forward(const RowMatrix<float>& logits, const RowMatrix<float>& targets) const {
  return std::visit([&](const auto& f) { return f.forward(logits, targets); }, fn_);
}

}  // namespace longtail_train
