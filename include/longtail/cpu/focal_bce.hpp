// SPDX-License-Identifier: Apache-2.0
#pragma once

#include "longtail/cpu/elementwise_loss.hpp"
#include "longtail/cpu/simd_abi.hpp"
#include "longtail/math/focal_bce.hpp"

LONGTAIL_CPU_NAMESPACE_BEGIN

/// Focal BCE with per-class weights, pos_weight, optional alpha and asymmetric focusing (ASL):
///   l = w_c * [ alpha_+ pw_c y (1-p)^g+ softplus(-x) + alpha_- (1-y) p_m^g- (-log(1-p_m)) ]
/// (options.hpp, FocalBCEOptions). `weight` and `pos_weight` are per-class vectors, one entry per
/// column of the logits; either may be empty (all 1), and either may be any real vector (an Eigen
/// vector or array of any real scalar, a std::vector, an initializer list: PerClassVector),
/// converted to Scalar. `logit_offset` (s_c, any finite values; empty: none) is the logit
/// adjustment: the loss is evaluated at x + s_c and its gradient is d loss / d x
/// (longtail::logit_adjustment() in class_priors.hpp computes Menon et al.'s tau log p_c).
/// See ElementwiseLoss for the calls.
///
/// Why the ASL margin stays one number and not a per-class shift: it shifts the probability of
/// the negative term only (p_m = max(p - m, 0)), which is not a shift of the logit, so it cannot
/// ride on the per-class logit offset; a per-class margin would be one more per-class load and
/// argument of the math core in every kernel, CPU and CUDA (the margin is a member of the math
/// functor, the same for every lane). The logit offset already gives every loss, ASL included,
/// a per-class shift of both terms.
template <class Scalar = float>
class FocalBCE : public ElementwiseLoss<FocalBCE<Scalar>, Scalar> {
  using Base = ElementwiseLoss<FocalBCE<Scalar>, Scalar>;
  friend Base;

 public:
  using Options = FocalBCEOptions;
  using Vector = typename Base::Vector;
  static constexpr const char* name = "FocalBCE";

  explicit FocalBCE(Options options = {}, const PerClassVector& weight = {}, const PerClassVector& pos_weight = {},
                    const PerClassVector& logit_offset = {})
      : options_(options) {
    options_.validate();
    const Scalar alpha_pos = options_.alpha ? Scalar(*options_.alpha) : Scalar(1);
    const Scalar alpha_neg = options_.alpha ? Scalar(1 - *options_.alpha) : Scalar(1);
    this->set_class_vectors(name, weight, pos_weight, alpha_pos, alpha_neg);
    this->set_logit_offset(name, logit_offset);
    pos_ = GammaSpec::from(options_.gamma_pos);
    neg_ = GammaSpec::from(options_.gamma_neg);
  }

  const Options& options() const { return options_; }

 private:
  // Picks the math-core instantiation: integer exponents on both sides (repeated
  // multiplication) or real ones (exp / log; a side whose gamma happens to be an integer is then
  // evaluated exactly the same way, to within rounding), margin or not. Four instantiations, not
  // eight: each one is a whole family of kernels, and compile time matters to users too. (A fifth
  // with gamma 2 fixed at compile time, math::FocalGamma2Math, measured no faster here: ipow's
  // switch on the run-time exponent is one predictable branch per packet. The CUDA kernels do
  // use gamma 2 and 3 fixed: on the GPU the run-time exponent costs registers.)
  template <class F>
  decltype(auto) visit_math(F&& f) const {
    using V = detail::Packet<Scalar>;
    auto make = [&](auto int_tag, auto margin_tag) {
      constexpr bool Int = decltype(int_tag)::value;
      constexpr bool Margin = decltype(margin_tag)::value;
      math::FocalBCEMath<V, Int, Int, Margin> m;
      m.gamma_pos = V(Scalar(pos_.value));
      m.gamma_neg = V(Scalar(neg_.value));
      m.margin = V(Scalar(options_.margin));
      m.int_pos = pos_.integer;
      m.int_neg = neg_.integer;
      return f(m);
    };
    const bool integer = pos_.is_integer && neg_.is_integer;
    if (options_.margin > 0)
      return integer ? make(std::true_type{}, std::true_type{}) : make(std::false_type{}, std::true_type{});
    return integer ? make(std::true_type{}, std::false_type{}) : make(std::false_type{}, std::false_type{});
  }

  Options options_;
  GammaSpec pos_, neg_;
};

LONGTAIL_CPU_NAMESPACE_END
