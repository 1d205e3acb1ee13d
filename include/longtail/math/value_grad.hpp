// SPDX-License-Identifier: Apache-2.0
#pragma once

#include "longtail/config.hpp"

namespace longtail::math {

/// The loss of one element and its derivative with respect to the logit.
template <class V>
struct ValueGrad {
  V value, grad;
};

/// How one element's target enters the loss. With smoothed target y_s = y (1 - eps) + eps / 2,
/// per-class coefficients (coef_pos, coef_neg) and per-row (sample) weight r:
///   a = r * coef_pos * y_s        weight of the positive term
///   b = r * coef_neg * (1 - y_s)  weight of the negative term
/// Every loss is then  l = a * L+(x) + b * L-(x), linear in the target: label smoothing mixes
/// the positive and the negative loss, each computed with its own p_t (keras-cv #672 applied it
/// to p_t instead).
template <class V>
struct TermWeights {
  V a, b;
};

/// Smoothing constants: y_s = y * keep + shift, keep = 1 - eps, shift = eps / 2.
LONGTAIL_HD_TEMPLATE
template <class V>
LONGTAIL_HD TermWeights<V> term_weights(V y, V keep, V shift, V coef_pos, V coef_neg) {
  const V ys = y * keep + shift;
  TermWeights<V> w;
  w.a = coef_pos * ys;
  w.b = coef_neg * (V(1) - ys);
  return w;
}

/// The same with a sample weight r. The loss is linear in r, so a kernel may equally scale the
/// element's value and gradient by r afterwards (the CPU kernel does: one multiplication fewer).
LONGTAIL_HD_TEMPLATE
template <class V>
LONGTAIL_HD TermWeights<V> term_weights(V y, V keep, V shift, V coef_pos, V coef_neg, V sample_weight) {
  TermWeights<V> w = term_weights(y, keep, shift, coef_pos, coef_neg);
  w.a = sample_weight * w.a;
  w.b = sample_weight * w.b;
  return w;
}

/// Per-class coefficients of the two terms, from the per-class weight w_c, pos_weight pw_c and
/// the focal alpha (alpha_pos = alpha, alpha_neg = 1 - alpha; both 1 when alpha is off):
///   coef_pos = w_c * alpha_pos * pw_c,  coef_neg = w_c * alpha_neg.
template <class S>
struct ClassCoefficients {
  S pos, neg;
};

LONGTAIL_HD_TEMPLATE
template <class S>
LONGTAIL_HD ClassCoefficients<S> class_coefficients(S weight, S pos_weight, S alpha_pos, S alpha_neg) {
  return {weight * alpha_pos * pos_weight, weight * alpha_neg};
}

}  // namespace longtail::math
