// SPDX-License-Identifier: Apache-2.0
#pragma once

#include "longtail/math/focal_bce.hpp"
#include "longtail/math/logit_terms.hpp"
#include "longtail/math/value_grad.hpp"

namespace longtail::math {

/// sigmoid(u) = 1 / (1 + e^-u) for any u, from t = e^-|u| in (0, 1] (never overflows):
/// 1 / (1 + t) for u >= 0, t / (1 + t) below. u = +inf gives exactly 1, u = -inf exactly 0.
LONGTAIL_HD_TEMPLATE
template <class V>
LONGTAIL_HD V sigmoid(V u) {
  const V one(1), zero(0);
  const V t = exp_nonpositive(neg_abs(u));
  const V r = one / (one + t);
  return select(u >= zero, r, t * r);
}

/// The logit's terms at lambda * z, scaled back by 1 / lambda where the loss needs it:
///   p = sigmoid(lambda z), q = 1 - p = sigmoid(-lambda z)
///   softplus_x_over_lambda = softplus(lambda z) / lambda = max(z, 0) + log1p(e^(-lambda |z|)) / lambda
/// Formed from z itself, never from the product lambda z: for |z| near the largest finite value
/// lambda z overflows to inf and softplus(inf) - inf would be NaN, while this form stays exact
/// (max(z, 0) + 0). With lambda = 1 every field equals logit_terms(z)'s to the bit.
template <class V>
struct ScaledLogitTerms {
  V p, q, softplus_x_over_lambda;
};

LONGTAIL_HD_TEMPLATE
template <class V>
LONGTAIL_HD ScaledLogitTerms<V> scaled_logit_terms(V z, V lambda, V inv_lambda) {
  const V zero(0);
  const V t = exp_nonpositive(lambda * neg_abs(z));  // e^(-lambda |z|) in [0, 1]
  const auto lr = log1p_and_reciprocal(t);
  const V r = lr.reciprocal;  // sigmoid(lambda |z|)
  const V tr = t * r;         // sigmoid(-lambda |z|)
  const auto nonneg = z >= zero;
  ScaledLogitTerms<V> out;
  out.p = select(nonneg, r, tr);
  out.q = select(nonneg, tr, r);
  out.softplus_x_over_lambda = max(z, zero) + lr.log1p * inv_lambda;
  return out;
}

/// Distribution-Balanced loss (Wu et al., ECCV 2020) for one element, given the term weights
/// a, b (value_grad.hpp; the kernels have already multiplied them by the re-balanced weight
/// r_hat, see rebalanced_weight below) and the shifted logit z (the kernels add the per-class
/// offset: the class bias of the negative-tolerant regularisation plus any logit adjustment):
///   L+ = q^g softplus(-z)                                   q = sigmoid(-z)
///   L- = p'^g softplus(lambda z) / lambda                   p' = sigmoid(lambda z)
///   l  = a L+ + b L-
/// With the closed-form slopes (FocalBCEMath's form, e^g * (g * (de/dz) / e * CE + dCE/dz)):
///   dL+/dz = -q^g (g p softplus(-z) + q)
///   dL-/dz =  p'^g (g q' softplus(lambda z) + p')   (the 1/lambda of the value and the lambda of
///                                                     the chain rule cancel)
/// g = 0 is DB without focusing; the authors' best configuration ("DB-Focal") uses g = 2 on both
/// terms, the negative one's p' taken at the scaled logit as in their code (pt = exp(-BCE) of the
/// regularised logit). Tolerant = false is lambda = 1, where L- is the focal negative term and one
/// logit_terms() serves both terms: then the loss is FocalBCEMath<V, Int, Int, false>'s to the bit.
/// Tolerant = true costs a second exp and log1p per element.
template <class V, bool Int, bool Tolerant>
struct DistributionBalancedMath {
  /// The kernels multiply a and b by rebalanced_weight(class_rate, row_rate) first.
  static constexpr bool rebalanced = true;

  FocalBCEMath<V, Int, Int, false> core;  ///< gamma_pos = gamma_neg = g, margin 0
  V lambda, inv_lambda;                   ///< lambda > 0 and 1 / lambda
  V alpha, beta, mu;                      ///< the smoothing of r: r_hat = alpha + sigmoid(beta (r - mu))

  /// r_hat = alpha + sigmoid(beta (r - mu)) with r = class_rate * row_rate: class_rate = 1 / n_c,
  /// row_rate = 1 / sum over the row's positive labels j of 1 / n_j (so r = (1/n_c) / sum_j 1/n_j,
  /// the ratio of the class-level to the instance-level sampling frequency). A row without positive
  /// labels has row_rate = +inf (r -> inf): r_hat = alpha + 1, the limit; the CPU and CUDA callers
  /// pass row_rate = 0 instead when beta = 0 (then r_hat = alpha + 1/2 for every r, and beta * inf
  /// would be NaN). No gradient flows through r_hat: it depends on the targets, not the logits.
  LONGTAIL_HD_TEMPLATE
  LONGTAIL_HD V rebalanced_weight(V class_rate, V row_rate) const {
    return alpha + sigmoid(beta * (class_rate * row_rate - mu));
  }

  LONGTAIL_HD_TEMPLATE
  LONGTAIL_HD ValueGrad<V> operator()(V z, V a, V b) const {
    const LogitTerms<V> t = logit_terms(z);
    const V pos_power = Int ? ipow(t.q, core.int_pos) : exp_nonpositive(-core.gamma_pos * t.softplus_x);
    if constexpr (!Tolerant) {
      const V neg_power = Int ? ipow(t.p, core.int_neg) : exp_nonpositive(-core.gamma_neg * t.softplus_neg_x);
      return core.without_margin(t, a, b, pos_power, neg_power);
    } else {
      const ScaledLogitTerms<V> s = scaled_logit_terms(z, lambda, inv_lambda);
      // p'^g: log p' = -softplus(-lambda z) = -(softplus(lambda z) - lambda z) = -lambda (S - z)
      // with S = softplus(lambda z) / lambda >= max(z, 0), so S - z >= 0 and the exponent <= 0.
      const V neg_power =
          Int ? ipow(s.p, core.int_neg) : exp_nonpositive(-core.gamma_neg * lambda * (s.softplus_x_over_lambda - z));
      // Positive term: A = a q^g, value A softplus(-z), slope -A (g p softplus(-z) + q).
      const V A = a * pos_power;
      const V ce_pos = t.softplus_neg_x;
      // Negative term: B = b p'^g, value B S, slope B (g q' lambda S + p').
      const V B = b * neg_power;
      const V S = s.softplus_x_over_lambda;
      return {B * S + A * ce_pos,
              B * (core.gamma_neg * lambda * s.q * S + s.p) - A * (core.gamma_pos * t.p * ce_pos + t.q)};
    }
  }
};

/// Whether a math-core functor wants the re-balanced weight (the kernels test it at compile time).
template <class M, class = void>
struct is_rebalanced {
  static constexpr bool value = false;
};
template <class M>
struct is_rebalanced<M, decltype(void(M::rebalanced))> {
  static constexpr bool value = M::rebalanced;
};
template <class M>
inline constexpr bool is_rebalanced_v = is_rebalanced<M>::value;

}  // namespace longtail::math
