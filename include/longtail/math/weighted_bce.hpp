// SPDX-License-Identifier: Apache-2.0
#pragma once

#include "longtail/math/logit_terms.hpp"
#include "longtail/math/value_grad.hpp"

namespace longtail::math {

/// Weighted BCE with logits for one element, given the term weights a, b (value_grad.hpp):
///   l     = a * softplus(-x) + b * softplus(x)          (= a * -log p + b * -log(1 - p))
///   dl/dx = -a * q + b * p                              (= (a + b) p - a, without cancellation)
/// With a = w pw y, b = w (1 - y) this is PyTorch's BCEWithLogitsLoss(weight, pos_weight).
/// Cost: one exp, one log1p, one division.
struct WeightedBCEMath {
  LONGTAIL_HD_TEMPLATE
  template <class V>
  LONGTAIL_HD ValueGrad<V> operator()(V x, V a, V b) const {
    const LogitTerms<V> t = logit_terms(x);
    return {a * t.softplus_neg_x + b * t.softplus_x, b * t.p - a * t.q};
  }
};

}  // namespace longtail::math
