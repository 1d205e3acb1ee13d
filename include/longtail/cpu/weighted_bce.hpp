// SPDX-License-Identifier: Apache-2.0
#pragma once

#include "longtail/cpu/elementwise_loss.hpp"
#include "longtail/cpu/simd_abi.hpp"
#include "longtail/math/weighted_bce.hpp"

LONGTAIL_CPU_NAMESPACE_BEGIN

/// Weighted binary cross-entropy with logits, PyTorch's BCEWithLogitsLoss(weight, pos_weight):
///   l = w_c * [ pw_c * y * softplus(-x) + (1 - y) * softplus(x) ]
/// `weight` (w_c) and `pos_weight` (pw_c) are per-class vectors, one entry per column of the
/// logits; either may be empty (all 1). `logit_offset` (s_c, any finite values; empty: none) is
/// the logit adjustment: the loss is evaluated at x + s_c, the gradient is d loss / d x
/// (longtail::logit_adjustment() in class_priors.hpp). See ElementwiseLoss for the calls.
template <class Scalar = float>
class WeightedBCE : public ElementwiseLoss<WeightedBCE<Scalar>, Scalar> {
  using Base = ElementwiseLoss<WeightedBCE<Scalar>, Scalar>;
  friend Base;

 public:
  using Options = WeightedBCEOptions;
  using Vector = typename Base::Vector;
  static constexpr const char* name = "WeightedBCE";

  explicit WeightedBCE(Options options = {}, const PerClassVector& weight = {}, const PerClassVector& pos_weight = {},
                       const PerClassVector& logit_offset = {})
      : options_(options) {
    options_.validate();
    this->set_class_vectors(name, weight, pos_weight, Scalar(1), Scalar(1));
    this->set_logit_offset(name, logit_offset);
  }

  const Options& options() const { return options_; }

 private:
  template <class F>
  decltype(auto) visit_math(F&& f) const {
    return f(math::WeightedBCEMath{});
  }

  Options options_;
};

LONGTAIL_CPU_NAMESPACE_END
