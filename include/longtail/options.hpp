// SPDX-License-Identifier: Apache-2.0
#pragma once
// Loss options: plain structs with documented defaults and a validate() that throws
// longtail::invalid_argument naming the field and the value. No Eigen, no CUDA: the CPU functors
// and the CUDA launchers validate with the same code.

#include <cmath>
#include <optional>

#include "longtail/error.hpp"

namespace longtail {

/// How per-element losses are combined.
///  - none: no reduction: the per-element losses come from forward_elements() (CPU; it returns
///          their sum) / Outputs::d_loss_elements (CUDA), and gradients are each element's own
///          derivative. The CPU forward() refuses it (there is no single loss to return, where
///          PyTorch returns the per-element tensor) and names forward_elements().
///  - sum:  sum over valid (unmasked) elements.
///  - mean: sum divided by the number of valid (unmasked) elements. Per-sample and per-class
///          weights scale the terms but do not change the divisor (PyTorch's convention for
///          BCEWithLogitsLoss(weight=...)). With zero valid elements the mean is defined as 0 and
///          the gradient is 0, so a fully masked batch contributes nothing instead of NaN.
///          The options' mean_divisor, when set, replaces the count (data-parallel training:
///          the global count), for the loss and the gradient alike.
enum class Reduction { none, sum, mean };

inline const char* to_string(Reduction r) {
  switch (r) {
    case Reduction::none:
      return "none";
    case Reduction::sum:
      return "sum";
    case Reduction::mean:
      return "mean";
  }
  return "?";
}

/// Execution and input-checking knobs shared by the CPU functors.
struct ExecutionOptions {
  /// Threads for the CPU kernels (OpenMP). 0: OpenMP's default (omp_get_max_threads()); 1: serial.
  /// The loss is bit-identical for every value: rows are cut into blocks that depend only on the
  /// shape, and block sums are added in a fixed order.
  int threads = 0;
  /// O(elements) checks of input *values* (targets finite and in [0,1], uint8 targets 0/1).
  /// Shapes, lengths, options and per-class / per-sample weights are always checked; they cost
  /// O(rows + cols). Off by default so the hot path reads each element once.
  bool check_inputs = false;
};

namespace detail {

inline void check_finite_range(const char* field, double v, double lo, double hi, bool hi_open) {
  if (!std::isfinite(v) || v < lo || (hi_open ? v >= hi : v > hi))
    fail(field, " must be in [", lo, ", ", hi, hi_open ? ")" : "]", " (got ", v, ")");
}

inline void check_threads(const char* field, int threads) {
  if (threads < 0) fail(field, " must be >= 0 (0 = OpenMP default; got ", threads, ")");
}

/// mean_divisor: finite and > 0 when set, and only meaningful for Reduction::mean (with sum or
/// none it would be silently ignored, which hides a mistake in the caller's reduction setup).
inline void check_mean_divisor(const char* field, const std::optional<double>& divisor, Reduction reduction) {
  if (!divisor) return;
  if (!std::isfinite(*divisor) || !(*divisor > 0)) fail(field, " must be finite and > 0 (got ", *divisor, ")");
  if (reduction != Reduction::mean)
    fail(field, " is set (", *divisor, ") but reduction is ", to_string(reduction),
         "; it applies to Reduction::mean only");
}

}  // namespace detail

/// Weighted binary cross-entropy with logits (PyTorch's BCEWithLogitsLoss semantics):
///   l = w_c * [ pw_c * y * softplus(-x) + (1 - y) * softplus(x) ]
/// Per-class weight w_c and pos_weight pw_c are given to the functor, not here.
struct WeightedBCEOptions {
  Reduction reduction = Reduction::mean;
  /// Label smoothing eps in [0, 1): y <- y * (1 - eps) + eps / 2 (towards 0.5, the two-class
  /// convention for sigmoid outputs). Applied to the target before anything else.
  double label_smoothing = 0.0;
  /// Reduction::mean only: divide the sum by this count instead of this call's number of valid
  /// (unmasked) elements, e.g. the global number of valid elements over all data-parallel ranks.
  /// Empty (default): the local count. Must be finite and > 0.
  std::optional<double> mean_divisor{};
  ExecutionOptions execution{};

  void validate() const {
    detail::check_finite_range("WeightedBCEOptions.label_smoothing", label_smoothing, 0.0, 1.0, true);
    detail::check_mean_divisor("WeightedBCEOptions.mean_divisor", mean_divisor, reduction);
    detail::check_threads("WeightedBCEOptions.execution.threads", execution.threads);
  }
};

/// Focal binary cross-entropy, with asymmetric focusing (ASL) as a parameterisation:
///   positive term  L+ = (1 - p)^gamma_pos * softplus(-x)
///   negative term  L- = p_m^gamma_neg * (-log(1 - p_m)),  p_m = max(p - margin, 0)
///   l = w_c * [ alpha_+ * pw_c * y * L+ + alpha_- * (1 - y) * L- ]
/// with alpha_+ = alpha, alpha_- = 1 - alpha when alpha is set (torchvision), 1 and 1 otherwise.
/// Focal loss (Lin et al. 2017) is gamma_pos = gamma_neg = gamma, margin = 0; gamma = 0 and no
/// alpha is exactly weighted BCE. Soft targets (and label smoothing) mix the positive and the
/// negative term linearly, each with its own p_t: smoothing is applied to y, never to p_t.
struct FocalBCEOptions {
  double gamma_pos = 2.0;         ///< focusing exponent for positive targets, >= 0 (any real)
  double gamma_neg = 2.0;         ///< focusing exponent for negative targets, >= 0 (any real)
  std::optional<double> alpha{};  ///< in [0, 1]; off by default
  double margin = 0.0;            ///< ASL probability margin for negatives, in [0, 1)
  double label_smoothing = 0.0;   ///< as in WeightedBCEOptions
  Reduction reduction = Reduction::mean;
  /// Reduction::mean only: divide the sum by this count instead of this call's number of valid
  /// (unmasked) elements, e.g. the global number of valid elements over all data-parallel ranks.
  /// Empty (default): the local count. Must be finite and > 0.
  std::optional<double> mean_divisor{};
  ExecutionOptions execution{};

  /// Focal loss (Lin et al. 2017): the same gamma for both targets.
  static FocalBCEOptions focal(double gamma, std::optional<double> alpha = std::nullopt) {
    FocalBCEOptions o;
    o.gamma_pos = o.gamma_neg = gamma;
    o.alpha = alpha;
    return o;
  }
  /// Asymmetric loss (Ridnik et al. 2021); the paper's defaults are (0, 4, 0.05), without alpha.
  static FocalBCEOptions asymmetric(double gamma_pos, double gamma_neg, double margin,
                                    std::optional<double> alpha = std::nullopt) {
    FocalBCEOptions o;
    o.gamma_pos = gamma_pos;
    o.gamma_neg = gamma_neg;
    o.margin = margin;
    o.alpha = alpha;
    return o;
  }

  void validate() const {
    auto check_gamma = [](const char* field, double g) {
      if (!std::isfinite(g) || g < 0) detail::fail(field, " must be a finite number >= 0 (got ", g, ")");
    };
    check_gamma("FocalBCEOptions.gamma_pos", gamma_pos);
    check_gamma("FocalBCEOptions.gamma_neg", gamma_neg);
    if (alpha) detail::check_finite_range("FocalBCEOptions.alpha", *alpha, 0.0, 1.0, false);
    detail::check_finite_range("FocalBCEOptions.margin", margin, 0.0, 1.0, true);
    detail::check_finite_range("FocalBCEOptions.label_smoothing", label_smoothing, 0.0, 1.0, true);
    detail::check_mean_divisor("FocalBCEOptions.mean_divisor", mean_divisor, reduction);
    detail::check_threads("FocalBCEOptions.execution.threads", execution.threads);
  }
};

/// Distribution-Balanced loss (Wu et al., ECCV 2020, "Distribution-Balanced Loss for
/// Multi-Label Classification in Long-Tailed Datasets"): re-balanced weighting plus
/// negative-tolerant regularisation, with optional focusing (the paper's best, DB-Focal):
///   z   = x + b_c (+ s_c)                  b_c = (kappa / lambda) * logit(p_c), p_c = n_c / N
///   r   = (1 / n_c) / sum_{j: y_ij = 1} (1 / n_j)       (per element; factorises per class x row)
///   r^  = alpha + sigmoid(beta * (r - mu))
///   l   = r^ * w_c * [ y q^gamma softplus(-z) + (1 - y) p'^gamma softplus(lambda z) / lambda ]
///   q = sigmoid(-z), p' = sigmoid(lambda z)
/// with the class counts n_c among N training rows given to the functor (class_priors.hpp says
/// what an unseen label gets), s_c an optional logit adjustment (the functor's logit_offset).
/// The class bias b_c and its sign are the authors' code's (mllt/models/losses/resample_loss.py,
/// `init_bias = -log(N / n_c - 1) * init_bias / neg_scale`, added to the logits before the
/// negatives' are multiplied by neg_scale = lambda): the negative term sees
/// lambda x + kappa logit(p_c), so a rare label's negatives start out nearly free (the
/// "negative-tolerant" part) instead of being pushed down as hard as the head's.
/// Defaults: the authors' DB configuration for COCO-MLT (wutong16/DistributionBalancedLoss,
/// configs/coco/LT_resnet50_pfc_DB.py: map_param alpha 0.1, beta 10, gamma (here mu) 0.2;
/// logit_reg neg_scale (lambda) 2, init_bias (kappa) 0.05; focal gamma 2). The multi-label text
/// port of Huang et al. 2021 (Roche/BalancedLossNLP) keeps all of them but mu = 0.05. The
/// authors' focal variant also multiplies the loss by a constant balance_param = 2, a
/// learning-rate factor, left out here (a per-class weight of 2 reproduces it).
struct DistributionBalancedOptions {
  // Every value is bounded by 1e6 (lambda also from below by 1e-6): far beyond any useful
  // setting, and so the kernels' float copies (and 1 / lambda) exist.
  double alpha = 0.1;            ///< r^'s floor, in [0, 1e6]
  double beta = 10.0;            ///< r^'s slope, in [0, 1e6] (0: r^ = alpha + 1/2 for every element)
  double mu = 0.2;               ///< r^'s centre, in [-1e6, 1e6]
  double lambda = 2.0;           ///< negative-tolerant scale, in [1e-6, 1e6] (1: negatives not regularised)
  double kappa = 0.05;           ///< scale of the class bias b_c, in [0, 1e6] (0: no bias)
  double gamma = 2.0;            ///< focusing exponent of both terms, in [0, 1e6] (0: no focusing)
  double label_smoothing = 0.0;  ///< as in WeightedBCEOptions (applied to y in the loss, not in r)
  Reduction reduction = Reduction::mean;
  /// Reduction::mean only: divide the sum by this count instead of this call's number of valid
  /// (unmasked) elements, e.g. the global number of valid elements over all data-parallel ranks.
  /// Empty (default): the local count. Must be finite and > 0.
  std::optional<double> mean_divisor{};
  ExecutionOptions execution{};

  void validate() const {
    auto check = [](const char* field, double v, double lo, double hi, const char* range) {
      if (!std::isfinite(v) || v < lo || v > hi)
        detail::fail(field, " must be a finite number in ", range, " (got ", v, ")");
    };
    check("DistributionBalancedOptions.alpha", alpha, 0.0, 1e6, "[0, 1e6]");
    check("DistributionBalancedOptions.beta", beta, 0.0, 1e6, "[0, 1e6]");
    check("DistributionBalancedOptions.mu", mu, -1e6, 1e6, "[-1e6, 1e6]");
    check("DistributionBalancedOptions.lambda", lambda, 1e-6, 1e6, "[1e-6, 1e6]");
    check("DistributionBalancedOptions.kappa", kappa, 0.0, 1e6, "[0, 1e6]");
    check("DistributionBalancedOptions.gamma", gamma, 0.0, 1e6, "[0, 1e6]");
    detail::check_finite_range("DistributionBalancedOptions.label_smoothing", label_smoothing, 0.0, 1.0, true);
    detail::check_mean_divisor("DistributionBalancedOptions.mean_divisor", mean_divisor, reduction);
    detail::check_threads("DistributionBalancedOptions.execution.threads", execution.threads);
  }
};

/// A focusing exponent resolved for the kernels: small integers are raised by repeated
/// multiplication (no exp/log), anything else through exp(gamma * log(e)).
struct GammaSpec {
  double value = 0.0;
  int integer = 0;  ///< the exponent when is_integer
  bool is_integer = true;

  static GammaSpec from(double g) {
    GammaSpec s;
    s.value = g;
    s.is_integer = g == std::floor(g) && g <= 8.0;
    s.integer = s.is_integer ? static_cast<int>(g) : 0;
    return s;
  }
};

}  // namespace longtail
