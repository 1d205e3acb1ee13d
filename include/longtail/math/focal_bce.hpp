// SPDX-License-Identifier: Apache-2.0
#pragma once

#include "longtail/math/logit_terms.hpp"
#include "longtail/math/value_grad.hpp"

namespace longtail::math {

/// Focal BCE with asymmetric focusing (ASL) for one element, given the term weights a, b:
///   l = a * L+(x) + b * L-(x)
/// Each term has the form  L = e^g * CE  with an "error probability" e and a cross-entropy CE:
///   positive:            e = q = 1 - p,        CE = softplus(-x)
///   negative, margin 0:  e = p,                CE = softplus(x)
///   negative, margin m:  e = p_m = max(p-m,0), CE = -log(1 - p_m) = -log(q + m)
/// and the closed-form derivative
///   dL/dx = e^g * ( g * (de/dx / e) * CE + dCE/dx )
/// with de/dx / e = -p (positive), q (negative, m = 0), p q / p_m (negative, m > 0), and
/// dCE/dx = -q, p, p q / (q + m). No e^(g-1) is ever formed, so 0 < g < 1 and g = 0 stay finite
/// where autograd through pow() gives inf * 0 = NaN (optax #1267, kornia #918).
/// e^g: repeated multiplication for integer g (IntPos / IntNeg), else exp(g log e) with
/// log q = -softplus(x) and log p = -softplus(-x) (exact in logit space, no log of a rounded p).
/// With m = 0, g+ = g- = g this is the focal loss of Lin et al. (torchvision's sigmoid_focal_loss
/// for hard targets); with g = 0 it is weighted BCE.
template <class V, bool IntPos, bool IntNeg, bool Margin>
struct FocalBCEMath {
  V gamma_pos, gamma_neg, margin;
  int int_pos = 0, int_neg = 0;  ///< the exponents when IntPos / IntNeg

  LONGTAIL_HD ValueGrad<V> operator()(V x, V a, V b) const {
    const V zero(0), one(1);
    const LogitTerms<V> t = logit_terms(x);
    const V pq = t.p * t.q;

    // Positive term: e = q.
    const V e_pos = IntPos ? ipow(t.q, int_pos) : exp(-gamma_pos * t.softplus_x);
    const V ce_pos = t.softplus_neg_x;
    const V l_pos = e_pos * ce_pos;
    const V g_pos = -e_pos * (gamma_pos * t.p * ce_pos + t.q);

    V l_neg, g_neg;
    if constexpr (!Margin) {
      // Negative term: e = p.
      const V e_neg = IntNeg ? ipow(t.p, int_neg) : exp(-gamma_neg * t.softplus_neg_x);
      const V ce_neg = t.softplus_x;
      l_neg = e_neg * ce_neg;
      g_neg = e_neg * (gamma_neg * t.q * ce_neg + t.p);
    } else {
      // Negative term with probability margin: e = p - m where p > m, else the term is 0
      // (value and slope). 1 - p_m = q + m >= m > 0, so the log never sees 0.
      const V pm = t.p - margin;
      const auto active = pm > zero;
      const V e = select(active, pm, one);  // safe divisor / log argument where inactive
      const V qm = t.q + margin;
      const V ce = -log(qm);
      const V pow_e = IntNeg ? ipow(e, int_neg) : exp(gamma_neg * log(e));
      const V value = pow_e * ce;
      const V slope = pow_e * pq * (gamma_neg * ce / e + one / qm);
      l_neg = select(active, value, zero);
      g_neg = select(active, slope, zero);
    }
    return {a * l_pos + b * l_neg, a * g_pos + b * g_neg};
  }
};

}  // namespace longtail::math
