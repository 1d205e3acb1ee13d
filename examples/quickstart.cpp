// SPDX-License-Identifier: Apache-2.0
// The loss API in one page: class weights from label counts, a focal loss with capped
// pos_weight (the write-up's best configuration), its value and gradient, and the F1 metrics.
//
//   build/examples/longtail_quickstart

#include <cstdio>

#include <Eigen/Core>

#include "longtail/longtail.hpp"

int main() {
  // A batch of 4 samples x 3 labels: logits from some model and 0/1 targets.
  Eigen::MatrixXf logits(4, 3);
  logits << 2.0f, -1.0f, -3.0f, 0.5f, 1.5f, -2.0f, -1.0f, -0.5f, -0.3f,  // the rare label is missed here
      3.0f, -2.0f, -4.0f;
  Eigen::MatrixXf targets(4, 3);
  targets << 1, 0, 0, 1, 1, 0, 0, 0, 1, 1, 0, 0;

  // Per-label weights from training counts (label 2 is rare): pos_weight = min((N - n) / n, 7).
  const Eigen::ArrayXd train_counts = (Eigen::ArrayXd(3) << 900, 300, 12).finished();
  longtail::ClassWeightOptions wopt;
  wopt.scheme = longtail::WeightScheme::pos_neg_ratio;
  wopt.cap = 7.0;
  const Eigen::ArrayXf pos_weight = longtail::class_weights<float>(train_counts, 1000, wopt);

  // Focal loss, gamma 3, with those pos_weights; mean over the 12 elements.
  const longtail::cpu::FocalBCE<float> loss(longtail::FocalBCEOptions::focal(3.0), /*weight=*/{}, pos_weight);
  Eigen::MatrixXf grad(4, 3);
  const float value = loss.forward_backward(logits, targets, grad);  // one pass: value and d loss / d logits

  std::printf("pos_weight = [%.3f %.3f %.3f]\n", pos_weight[0], pos_weight[1], pos_weight[2]);
  std::printf("focal loss (gamma 3, capped pos_weight) = %.6f\n", value);
  std::printf("d loss / d logits, first row = [%.6f %.6f %.6f]\n", grad(0, 0), grad(0, 1), grad(0, 2));

  // Evaluation: probabilities, F1 at 0.5.
  const Eigen::MatrixXf probs = (1.0f + (-logits.array()).exp()).inverse().matrix();
  const auto f1 = longtail::metrics::f1_scores(probs, targets, 0.5);
  std::printf("micro-F1 %.3f  macro-F1 %.3f  samples-F1 %.3f\n", f1.micro.f1, f1.macro.f1, f1.samples.f1);
  return 0;
}
