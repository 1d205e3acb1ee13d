// SPDX-License-Identifier: Apache-2.0
#pragma once

#include "longtail/math/scalar_ops.hpp"

namespace longtail::math {

/// Everything the losses need from one logit x, from one exp, one log1p and one division:
///   p = sigmoid(x), q = 1 - p = sigmoid(-x)      (q is never formed as 1 - p)
///   softplus(x)  = -log(1 - p) = max(x, 0) + log1p(exp(-|x|))
///   softplus(-x) = -log(p)     = max(-x, 0) + log1p(exp(-|x|))
/// With t = exp(-|x|) in (0, 1] nothing overflows for any finite x; for |x| beyond ~88 (float)
/// t underflows to 0 and p, q become exactly 1 and 0 (or their tiny limits), while the two
/// softplus values stay exact (= |x| or 0). A NaN logit yields NaN in every field.

template <class V>
struct LogitTerms {
  V p, q, softplus_x, softplus_neg_x;
};

LONGTAIL_HD_TEMPLATE
template <class V>
LONGTAIL_HD LogitTerms<V> logit_terms(V x) {
  const V zero(0);
  // max(-x, 0) = m - x with m = max(x, 0), exactly (one operand is 0): one max and one
  // subtraction instead of a negation and a second max. A NaN x propagates through neg_abs.
  const V m = max(x, zero);
  const V t = exp_nonpositive(neg_abs(x));  // exp(-|x|) in (0, 1]
  const auto lr = log1p_and_reciprocal(t);
  const V r = lr.reciprocal;  // 1 / (1 + t) = sigmoid(|x|) in [1/2, 1)
  const V tr = t * r;         // sigmoid(-|x|)
  const auto nonneg = x >= zero;
  const V l = lr.log1p;
  LogitTerms<V> out;
  out.p = select(nonneg, r, tr);
  out.q = select(nonneg, tr, r);
  out.softplus_x = m + l;
  out.softplus_neg_x = (m - x) + l;
  return out;
}

/// x^n for a small non-negative integer n by repeated multiplication: integer focusing exponents
/// (gamma = 1, 2, 3, ...) pay no exp/log. x^0 = 1, also for x = 0.
LONGTAIL_HD_TEMPLATE
template <class V>
LONGTAIL_HD V ipow(V x, int n) {
#if defined(__CUDA_ARCH__)
  // Device code. n is an option, the same in every thread, so the selects below are uniform
  // predicates, not divergent branches: n <= 3 (gamma 1, 2, 3: what people use) costs at most
  // two multiplications and no loop. Beyond, the loop, kept rolled: unrolled it was most of a
  // kernel's code, and a switch made ptxas take over 6 minutes and 3 GB for the 30-kernel CUDA
  // benchmark at sm_90. The same products as the host's: x (x x) equals (x x) x exactly.
  if (n <= 3) {
    const V x2 = x * x;
    const V r = (n & 1) ? x : V(1);
    return (n & 2) ? r * x2 : r;
  }
  V r = x * x * x * x;
#pragma unroll 1
  for (int k = 4; k < n; ++k) r = r * x;
  return r;
#else
  // Host / SIMD: straight-line code for the exponents people use (n arrives at run time; the
  // loop carried its counter and a multiplication by 1 into every packet: 7% of the focal
  // kernel). Same products in the same order as the loop, so every n gives the same bits.
  switch (n) {
    case 0:
      return V(1);
    case 1:
      return x;
    case 2:
      return x * x;
    case 3:
      return x * x * x;
    default: {
      V r = x * x * x * x;
      for (int k = 4; k < n; ++k) r = r * x;
      return r;
    }
  }
#endif
}

}  // namespace longtail::math
