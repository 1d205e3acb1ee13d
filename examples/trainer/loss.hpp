// SPDX-License-Identifier: Apache-2.0
#pragma once
// The training loss: one of the library's functors (longtail::cpu::WeightedBCE or FocalBCE),
// built from the command line's loss settings and the training split's label counts.
//
// How class weights enter (the write-up's "per-class weights, capped"): as PyTorch-style
// pos_weight by default, i.e. they multiply the POSITIVE term of each label only:
//   l = pw_c * y * L+(x) + (1 - y) * L-(x),   pw_c = min(scheme(n_c, N), cap)
// (scheme pos_neg_ratio: pw_c = (N - n_c) / n_c, the "balanced" ratio of negatives to positives).
// --weight-mode class uses them as per-class weights w_c instead, multiplying both terms.
// Focal / ASL focusing, alpha, label smoothing and the weights all compose (library semantics:
// options.hpp); the loss is the mean over batch x labels (Reduction::mean).

#include <optional>
#include <string>
#include <variant>

#include <Eigen/Core>

#include "longtail/class_weights.hpp"
#include "longtail/cpu/focal_bce.hpp"
#include "longtail/cpu/weighted_bce.hpp"

#include "gemm.hpp"

namespace longtail_train {

enum class LossKind { bce, weighted, focal, asl };
const char* to_string(LossKind k);

enum class WeightMode { pos_weight, class_weight };
const char* to_string(WeightMode m);

struct LossConfig {
  LossKind kind = LossKind::bce;
  /// Class-weight scheme from training label counts; empty: no class weights.
  std::optional<longtail::WeightScheme> scheme;
  double cap = 0;          ///< 0 = no cap; else w_c = min(w_c, cap)
  bool normalize = false;  ///< rescale weights to mean 1 before the cap
  double beta = 0.999;     ///< effective_number's beta
  WeightMode mode = WeightMode::pos_weight;
  double gamma = 2.0;           ///< focal
  std::optional<double> alpha;  ///< focal alpha (off by default)
  double gamma_pos = 0.0;       ///< asl (Ridnik et al. 2021 defaults 0 / 4 / 0.05)
  double gamma_neg = 4.0;
  double margin = 0.05;
  double label_smoothing = 0.0;

  /// Short configuration name in the write-up's style: "bce", "cap_7.0", "cap_7.0_focal_g3",
  /// "focal_g2", "asl_gp0_gn4_m0.05", with "_ls0.1" for label smoothing, "_a0.25" for alpha, and
  /// the scheme / mode spelled out when they are not the default pos_neg_ratio / pos_weight.
  std::string name() const;
  /// One readable line: the functor, its parameters and how the weights were made.
  std::string describe() const;
};

/// The functor ready to train with, plus the class weights it was given.
class TrainingLoss {
 public:
  /// `label_counts`: training positives per label; `train_rows`: N. `threads`: the functor's
  /// execution.threads (>= 1).
  TrainingLoss(const LossConfig& config, const Eigen::ArrayXd& label_counts, Eigen::Index train_rows, int threads);

  /// Mean loss over the batch; writes d loss / d logits into `grad` (same shape as logits).
  float forward_backward(const RowMatrix<float>& logits, const RowMatrix<float>& targets, RowMatrix<float>& grad) const;
  /// Mean loss only.
  float forward(const RowMatrix<float>& logits, const RowMatrix<float>& targets) const;

  const LossConfig& config() const { return config_; }
  /// The per-class weights (empty when none are used).
  const Eigen::ArrayXf& class_weights() const { return weights_; }

 private:
  LossConfig config_;
  Eigen::ArrayXf weights_;
  std::variant<longtail::cpu::WeightedBCE<float>, longtail::cpu::FocalBCE<float>> fn_;
};

}  // namespace longtail_train
