// SPDX-License-Identifier: Apache-2.0
#pragma once
// Per-class weights from training label counts: what fixes label *frequency* (focal loss then
// down-weights the easy examples). The cap is the knob the grid search tunes (2 ... 8).
//
// From n_c positives of class c among N samples (C classes):
//   pos_neg_ratio            w_c = (N - n_c) / n_c          (PyTorch's usual pos_weight)
//   inverse_frequency        w_c = N / (C * n_c)
//   sqrt_pos_neg_ratio       w_c = sqrt((N - n_c) / n_c)
//   sqrt_inverse_frequency   w_c = sqrt(N / (C * n_c))
//   effective_number         w_c = (1 - beta) / (1 - beta^n_c)   (Cui et al. 2019)
//   uniform                  w_c = 1
// then, optionally, normalised to mean 1 over the classes, then capped: w_c = min(w_c, cap).
// A class with n_c = 0 (never positive in training) is given the weight of a class seen once
// (n_c = 1): the largest weight any observed class could have, before normalisation and cap.
// Its value is irrelevant to the positive term (no positives to weigh) unless the weights are
// used as per-class loss weights, where it keeps the negatives of unseen labels from dominating
// (they are still capped). `zero_count_weight` overrides it with a fixed value (after the cap).

#include <cmath>
#include <limits>
#include <optional>
#include <string_view>

#include <Eigen/Core>

#include "longtail/class_priors.hpp"
#include "longtail/error.hpp"

namespace longtail {

enum class WeightScheme {
  uniform,
  pos_neg_ratio,
  inverse_frequency,
  sqrt_pos_neg_ratio,
  sqrt_inverse_frequency,
  effective_number
};

inline const char* to_string(WeightScheme s) {
  switch (s) {
    case WeightScheme::uniform:
      return "uniform";
    case WeightScheme::pos_neg_ratio:
      return "pos_neg_ratio";
    case WeightScheme::inverse_frequency:
      return "inverse_frequency";
    case WeightScheme::sqrt_pos_neg_ratio:
      return "sqrt_pos_neg_ratio";
    case WeightScheme::sqrt_inverse_frequency:
      return "sqrt_inverse_frequency";
    case WeightScheme::effective_number:
      return "effective_number";
  }
  return "?";
}

/// Parses the names printed by to_string(WeightScheme); std::nullopt when unknown.
inline std::optional<WeightScheme> parse_weight_scheme(std::string_view name) {
  for (auto s :
       {WeightScheme::uniform, WeightScheme::pos_neg_ratio, WeightScheme::inverse_frequency,
        WeightScheme::sqrt_pos_neg_ratio, WeightScheme::sqrt_inverse_frequency, WeightScheme::effective_number})
    if (name == to_string(s)) return s;
  return std::nullopt;
}

struct ClassWeightOptions {
  WeightScheme scheme = WeightScheme::pos_neg_ratio;
  double beta = 0.999;                                   ///< effective_number only, in [0, 1)
  bool normalize_mean = false;                           ///< rescale to mean 1 over classes (before the cap)
  double cap = std::numeric_limits<double>::infinity();  ///< w_c = min(w_c, cap), cap > 0
  std::optional<double> zero_count_weight{};             ///< weight of classes with n_c = 0 (default: as n_c = 1)

  void validate() const {
    if (!(beta >= 0.0 && beta < 1.0)) detail::fail("ClassWeightOptions.beta must be in [0, 1) (got ", beta, ")");
    if (!(cap > 0.0)) detail::fail("ClassWeightOptions.cap must be > 0 (got ", cap, ")");
    if (zero_count_weight && !(std::isfinite(*zero_count_weight) && *zero_count_weight >= 0.0))
      detail::fail("ClassWeightOptions.zero_count_weight must be finite and >= 0 (got ", *zero_count_weight, ")");
  }
};

/// Weights for each class from its positive count `label_counts[c]` among `num_samples` rows.
template <class Scalar = float, class D>
Eigen::Array<Scalar, Eigen::Dynamic, 1> class_weights(const Eigen::DenseBase<D>& label_counts, Eigen::Index num_samples,
                                                      const ClassWeightOptions& options = {}) {
  options.validate();
  if (label_counts.rows() != 1 && label_counts.cols() != 1 && label_counts.size() != 0)
    detail::fail("label_counts must be a vector (got shape ", label_counts.rows(), "x", label_counts.cols(), ")");
  if (num_samples <= 0) detail::fail("num_samples must be > 0 (got ", num_samples, ")");
  const Eigen::Index C = label_counts.size();
  const double N = static_cast<double>(num_samples);
  Eigen::ArrayXd w(C);
  for (Eigen::Index c = 0; c < C; ++c) {
    const double n = static_cast<double>(label_counts.derived().coeff(c));
    if (!(n >= 0.0 && n <= N) || n != std::floor(n))
      detail::fail("label_counts[", c, "] must be an integer count in [0, num_samples = ", num_samples, "] (got ", n,
                   ")");
    const double m = n > 0 ? n : 1.0;  // unseen classes weigh like a class seen once
    switch (options.scheme) {
      case WeightScheme::uniform:
        w[c] = 1.0;
        break;
      case WeightScheme::pos_neg_ratio:
        w[c] = (N - m) / m;
        break;
      case WeightScheme::inverse_frequency:
        w[c] = N / (static_cast<double>(C) * m);
        break;
      case WeightScheme::sqrt_pos_neg_ratio:
        w[c] = std::sqrt((N - m) / m);
        break;
      case WeightScheme::sqrt_inverse_frequency:
        w[c] = std::sqrt(N / (static_cast<double>(C) * m));
        break;
      // 1 - beta^n = -expm1(n log beta), exact also for beta close to 1; beta = 0 gives 1.
      case WeightScheme::effective_number:
        w[c] = options.beta == 0.0 ? 1.0 : (1.0 - options.beta) / -std::expm1(m * std::log(options.beta));
        break;
    }
  }
  if (options.normalize_mean && C > 0) {
    const double mean = w.mean();
    if (mean > 0) w /= mean;
  }
  w = w.min(options.cap);
  if (options.zero_count_weight)
    for (Eigen::Index c = 0; c < C; ++c)
      if (label_counts.derived().coeff(c) == 0) w[c] = *options.zero_count_weight;
  return w.cast<Scalar>();
}

/// Number of positive targets (> 0.5) in each column of a samples x labels matrix.
template <class D>
Eigen::ArrayXd label_counts(const Eigen::DenseBase<D>& targets) {
  Eigen::ArrayXd n = Eigen::ArrayXd::Zero(targets.cols());
  for (Eigen::Index j = 0; j < targets.cols(); ++j)
    for (Eigen::Index i = 0; i < targets.rows(); ++i) n[j] += static_cast<double>(targets.derived().coeff(i, j)) > 0.5;
  return n;
}

}  // namespace longtail
