// SPDX-License-Identifier: Apache-2.0
#pragma once
// The training loss: one of the library's functors (longtail::cpu::WeightedBCE, FocalBCE or
// DistributionBalanced), built from a LossConfig (loss_config.hpp) and the training split's label
// counts.
//
// How class weights enter (the write-up's "per-class weights, capped"): as PyTorch-style
// pos_weight by default, i.e. they multiply the POSITIVE term of each label only:
//   l = pw_c * y * L+(x) + (1 - y) * L-(x),   pw_c = min(scheme(n_c, N), cap)
// (scheme pos_neg_ratio: pw_c = (N - n_c) / n_c, the "balanced" ratio of negatives to positives).
// --weight-mode class uses them as per-class weights w_c instead, multiplying both terms.
// Focal / ASL focusing, alpha, label smoothing and the weights all compose (library semantics:
// options.hpp); the loss is the mean over batch x labels (Reduction::mean).
// The Distribution-Balanced loss takes the label counts itself and has no pos_weight: class
// weights reach it as per-class weights (--weight-mode class) only.
// Logit adjustment (--logit-adjust tau): the functor's logit_offset, tau * log(prior_c) from the
// training counts (longtail::logit_adjustment); only the loss sees it. The model's logits, and so
// inference (inference.hpp) and every metric, stay raw.

#include <optional>
#include <variant>

#include <Eigen/Core>

#include "longtail/cpu/distribution_balanced.hpp"
#include "longtail/cpu/focal_bce.hpp"
#include "longtail/cpu/weighted_bce.hpp"

#include "gemm.hpp"
#include "loss_config.hpp"

namespace longtail_train {

/// The functor ready to train with, plus the class weights it was given.
class TrainingLoss {
 public:
  /// `label_counts`: training positives per label; `train_rows`: N. `threads`: the functor's
  /// execution.threads (>= 1).
  TrainingLoss(const LossConfig& config, const Eigen::ArrayXd& label_counts, Eigen::Index train_rows, int threads);

  /// Mean loss over the batch; writes d loss / d logits into `grad` (same shape as logits).
  /// `mean_divisor`: divide the sum by this count instead of the batch's elements (the library's
  /// options.mean_divisor): in data-parallel training each rank passes the element count of the
  /// whole global batch, so the ranks' losses and gradients add up to those of one process.
  float forward_backward(const RowMatrix<float>& logits, const RowMatrix<float>& targets, RowMatrix<float>& grad,
                         std::optional<double> mean_divisor = std::nullopt) const;
  /// Mean loss only.
  float forward(const RowMatrix<float>& logits, const RowMatrix<float>& targets,
                std::optional<double> mean_divisor = std::nullopt) const;

  const LossConfig& config() const { return config_; }
  /// The per-class weights (empty when none are used).
  const Eigen::ArrayXf& class_weights() const { return weights_; }
  /// The logit adjustment the loss adds to the logits (empty when tau is 0).
  const Eigen::ArrayXf& logit_offset() const { return logit_offset_; }

 private:
  /// The functor with options.mean_divisor set (a copy; the class vectors are small).
  template <class F>
  decltype(auto) visit(std::optional<double> mean_divisor, F&& f) const;

  LossConfig config_;
  Eigen::ArrayXd label_counts_;  // the DB functor's constructor arguments (visit rebuilds it)
  Eigen::Index train_rows_ = 0;
  Eigen::ArrayXf weights_, logit_offset_;
  Eigen::ArrayXf weight_, pos_weight_;  // what fn_ was built with (one of them is weights_, or both empty)
  std::variant<longtail::cpu::WeightedBCE<float>, longtail::cpu::FocalBCE<float>,
               longtail::cpu::DistributionBalanced<float>>
      fn_;
};

}  // namespace longtail_train
