// SPDX-License-Identifier: Apache-2.0
#pragma once
// An independent per-element reference of every loss, in long double (64-bit mantissa, exponent
// range to 1e-4951, so exp(-1e4) is still a normal number), written straight from the
// definitions and differentiated by the chain rule. It shares no code with the library: no
// logit_terms, no select/ipow, no closed-form rearrangement.
//
//   p = 1 / (1 + e^-x),  q = 1 - p = 1 / (1 + e^x),  sp(t) = log(1 + e^t)  (softplus)
//   L+ = q^g+ * sp(-x)                      dL+/dx = g+ q^(g+ - 1) (dq/dx) sp(-x) + q^g+ (-q)
//   L- = p^g- * sp(x)            (m = 0)     dL-/dx = g- p^(g- - 1) (dp/dx) sp(x)  + p^g- p
//   L- = p_m^g- * -log(1 - p_m)  (m > 0)     dL-/dx = g- p_m^(g- - 1) (dp/dx) CE + p_m^g- (dp/dx) / (1 - p_m)
//        p_m = p - m where p > m, else L- = 0
//   dp/dx = p q, dq/dx = -p q
//   l = sw * w_c * [ alpha+ * pw_c * y_s * L+ + alpha- * (1 - y_s) * L- ],  y_s = y (1 - eps) + eps / 2

#include <cmath>
#include <optional>

#include "test_support.hpp"

namespace lt_test {

struct RefValueGrad {
  long double value, grad;
  /// |a L+| + |b L-| and |a dL+| + |b dL-|: the size of the terms before they are added. With
  /// soft or smoothed targets the two terms of the gradient have opposite signs and may cancel,
  /// so a rounding error is relative to this scale, not to the (possibly tiny) result.
  long double value_scale, grad_scale;
};

struct RefElementInputs {
  long double x, y;
  long double weight = 1, pos_weight = 1, sample_weight = 1, label_smoothing = 0;
};

inline long double ref_softplus(long double t) {
  return t > 0 ? t + std::log1p(std::exp(-t)) : std::log1p(std::exp(t));
}

/// x^g with 0^0 = 1 and x^(g-1) never formed for g = 0 (callers multiply it by g).
inline long double ref_pow(long double base, long double g) { return g == 0 ? 1.0L : std::pow(base, g); }

inline RefValueGrad reference_element(const LossConfig& c, const RefElementInputs& in) {
  const long double x = in.x;
  const long double p = 1.0L / (1.0L + std::exp(-x));
  const long double q = 1.0L / (1.0L + std::exp(x));
  const long double dp = p * q;  // dp/dx; dq/dx = -dp
  const bool focal = c.kind == LossConfig::focal;
  const long double gp = focal ? c.gamma_pos : 0, gn = focal ? c.gamma_neg : 0, m = focal ? c.margin : 0;

  // Positive term.
  const long double ce_pos = ref_softplus(-x);
  const long double lp = ref_pow(q, gp) * ce_pos;
  const long double dlp = (gp == 0 ? 0.0L : gp * ref_pow(q, gp - 1) * (-dp) * ce_pos) + ref_pow(q, gp) * (-q);

  // Negative term.
  long double ln = 0, dln = 0;
  if (m == 0) {
    const long double ce = ref_softplus(x);
    ln = ref_pow(p, gn) * ce;
    dln = (gn == 0 ? 0.0L : gn * ref_pow(p, gn - 1) * dp * ce) + ref_pow(p, gn) * p;
  } else if (p > m) {
    const long double pm = p - m;
    const long double one_minus_pm = q + m;  // 1 - p_m, formed without cancellation
    const long double ce = -std::log(one_minus_pm);
    ln = ref_pow(pm, gn) * ce;
    dln = (gn == 0 ? 0.0L : gn * ref_pow(pm, gn - 1) * dp * ce) + ref_pow(pm, gn) * dp / one_minus_pm;
  }

  const long double a_pos = focal && c.alpha ? (long double)*c.alpha : 1.0L;
  const long double a_neg = focal && c.alpha ? 1.0L - (long double)*c.alpha : 1.0L;
  const long double ys = in.y * (1.0L - in.label_smoothing) + in.label_smoothing / 2.0L;
  const long double a = in.sample_weight * in.weight * a_pos * in.pos_weight * ys;
  const long double b = in.sample_weight * in.weight * a_neg * (1.0L - ys);
  return {a * lp + b * ln, a * dlp + b * dln, std::abs(a * lp) + std::abs(b * ln),
          std::abs(a * dlp) + std::abs(b * dln)};
}

}  // namespace lt_test
