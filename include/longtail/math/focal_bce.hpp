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
///   negative, margin m:  e = p_m = max(p-m,0), CE = -log(1 - p_m) = -log1p(-p_m)
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

  LONGTAIL_HD_TEMPLATE
  LONGTAIL_HD ValueGrad<V> operator()(V x, V a, V b) const {
    const LogitTerms<V> t = logit_terms(x);
    // Positive focusing factor q^g+.
    const V pos_power = IntPos ? ipow(t.q, int_pos) : exp_nonpositive(-gamma_pos * t.softplus_x);
    if constexpr (!Margin) {
      // Negative focusing factor p^g-.
      const V neg_power = IntNeg ? ipow(t.p, int_neg) : exp_nonpositive(-gamma_neg * t.softplus_neg_x);
      return without_margin(t, a, b, pos_power, neg_power);
    } else {
      const V zero(0), one(1);
      const Term pos = positive_term(t, a, pos_power);
      // Negative term with probability margin: e = p - m where p > m, else the term is 0
      // (value and slope). CE = -log(1 - p_m) = -log1p(-p_m), from the p_m just formed: just above
      // the margin p_m is tiny and 1 - p_m near 1, where -log(q + m) would add log's absolute
      // error ~eps, i.e. eps / p_m relative (3e-11 in double, up to 0.7 in float at p_m = 1e-7);
      // log1p keeps only the cancellation p - m itself, eps * p / p_m
      // (tests/cpu/test_asl_margin_accuracy.cpp). Inactive lanes take log1p(0) = 0: their value
      // B * CE is 0 * 0, never 0 * inf. The slope's 1 / (1 - p_m) uses q + m >= m > 0, accurate
      // to an ulp (a sum of two positives).
      const V pm = t.p - margin;
      const auto active = pm > zero;
      const V e = select(active, pm, one);  // safe divisor where inactive
      const V qm = t.q + margin;
      const V ce = -log1p(-select(active, pm, zero));
      const V B = select(active, b * (IntNeg ? ipow(e, int_neg) : exp_nonpositive(gamma_neg * log(e))), zero);
      return {B * ce + pos.value, B * (t.p * t.q) * (gamma_neg * ce / e + one / qm) - pos.slope};
    }
  }

  /// The loss without margin given the logit's terms and both focusing factors q^g+ and p^g-
  /// (FocalIntegerGammaMath passes q^N and p^N as products).
  LONGTAIL_HD_TEMPLATE
  LONGTAIL_HD ValueGrad<V> without_margin(const LogitTerms<V>& t, V a, V b, V pos_power, V neg_power) const {
    const Term pos = positive_term(t, a, pos_power);
    // Negative term: e = p, weighted: B = b * p^g-.
    const V B = b * neg_power;
    const V ce_neg = t.softplus_x;
    return {B * ce_neg + pos.value, B * (gamma_neg * t.q * ce_neg + t.p) - pos.slope};
  }

 private:
  struct Term {
    V value, slope;
  };
  /// Positive term: e = q, weighted: A = a * q^g+. Its slope A (g+ p CE+ + q) enters with a minus
  /// sign, subtracted at the end (a multiply-subtract, no separate negation).
  LONGTAIL_HD_TEMPLATE
  LONGTAIL_HD Term positive_term(const LogitTerms<V>& t, V a, V pos_power) const {
    const V A = a * pos_power;
    const V ce_pos = t.softplus_neg_x;
    return {A * ce_pos, A * (gamma_pos * t.p * ce_pos + t.q)};
  }
};

/// Focal loss with one small integer gamma N on both sides and no margin (gamma 2 is the default
/// options and what most users run; gamma 3 is the write-up's best, cap 7 + gamma 3), with the
/// focusing factors written out as products: ipow(v, n) takes n at run time, and whether a
/// compiler folds it for a constant n depends on the surrounding code (nvcc once left a peeled
/// loop with its branches; on the GPU the run-time n also costs registers: the generic integer
/// kernel needs 104 at sm_90 where this one needs 80). Same function, same products (v v) v ...
/// as ipow: bit-identical to FocalBCEMath<V, true, true, false> with int_pos = int_neg = N
/// (tests/cpu/test_math_core.cpp). The CUDA kernels pick it for those options (there a branch
/// per element costs more than on the CPU).
template <class V, int N>
struct FocalIntegerGammaMath {
  static_assert(N >= 1 && N <= 4, "a small integer gamma");
  FocalBCEMath<V, true, true, false> core;  ///< gamma_pos = gamma_neg = N, int_pos = int_neg = N

  /// v^N as ((v v) v) ..., ipow's order.
  LONGTAIL_HD_TEMPLATE
  static LONGTAIL_HD V power(V v) {
    if constexpr (N == 1)
      return v;
    else
      return FocalIntegerGammaMath<V, N - 1>::power(v) * v;
  }

  LONGTAIL_HD_TEMPLATE
  LONGTAIL_HD ValueGrad<V> operator()(V x, V a, V b) const {
    const LogitTerms<V> t = logit_terms(x);
    return core.without_margin(t, a, b, power(t.q), power(t.p));
  }
};

template <class V>
using FocalGamma2Math = FocalIntegerGammaMath<V, 2>;
template <class V>
using FocalGamma3Math = FocalIntegerGammaMath<V, 3>;

}  // namespace longtail::math
