// SPDX-License-Identifier: Apache-2.0
#pragma once
// Focal binary cross-entropy on the GPU, with asymmetric focusing (ASL) as a parameterisation:
//   l = w_c * [ alpha_+ pw_c y (1-p)^g+ softplus(-x) + alpha_- (1-y) p_m^g- (-log(1-p_m)) ]
// evaluated by math::FocalBCEMath (include/longtail/math/focal_bce.hpp), the function the CPU
// functor evaluates; options, conventions and the integer-exponent fast path (GammaSpec) are the
// CPU's (longtail::cpu::FocalBCE, options.hpp FocalBCEOptions).

#include <type_traits>

#include "longtail/detail/device_loss.cuh"
#include "longtail/math/focal_bce.hpp"

namespace longtail::cuda {
namespace detail {

/// The gamma = 2 and gamma = 3 focal losses with their exponents fixed at compile time
/// (math/focal_bce.hpp).
using FocalGamma2Math = math::FocalGamma2Math<float>;
using FocalGamma3Math = math::FocalGamma3Math<float>;

struct FocalBCESpec {
  using Options = FocalBCEOptions;
  static constexpr const char* name = "FocalBCE";

  static LossSetup setup(const Options& o) {
    LossSetup s = LossSetup::common(o);
    s.alpha_pos = o.alpha ? static_cast<float>(*o.alpha) : 1.0f;
    s.alpha_neg = o.alpha ? static_cast<float>(1 - *o.alpha) : 1.0f;
    return s;
  }

  /// Picks the math-core instantiation as the CPU does: integer or real exponent on each side,
  /// margin or not (8 kernels per storage combination), plus the focal loss with gamma 2 or 3 on
  /// both sides and no margin, its exponent fixed at compile time (FocalGamma2Math and
  /// FocalGamma3Math: kernels 9 and 10; the generic integer kernel evaluates the same products
  /// with more registers and selects).
  template <class F>
  static cudaError_t visit_math(const Options& o, F&& f) {
    const GammaSpec pos = GammaSpec::from(o.gamma_pos), neg = GammaSpec::from(o.gamma_neg);
    if (pos.is_integer && neg.is_integer && pos.integer == neg.integer && (pos.integer == 2 || pos.integer == 3) &&
        !(o.margin > 0)) {
      auto fixed = [&](auto m) {
        m.core.gamma_pos = m.core.gamma_neg = static_cast<float>(pos.integer);
        m.core.margin = static_cast<float>(o.margin);
        m.core.int_pos = m.core.int_neg = pos.integer;
        return f(m);
      };
      return pos.integer == 2 ? fixed(FocalGamma2Math{}) : fixed(FocalGamma3Math{});
    }
    auto make = [&](auto int_pos, auto int_neg, auto margin) {
      math::FocalBCEMath<float, decltype(int_pos)::value, decltype(int_neg)::value, decltype(margin)::value> m;
      m.gamma_pos = static_cast<float>(pos.value);
      m.gamma_neg = static_cast<float>(neg.value);
      m.margin = static_cast<float>(o.margin);
      m.int_pos = pos.integer;
      m.int_neg = neg.integer;
      return f(m);
    };
    auto with_margin = [&](auto int_pos, auto int_neg) {
      return o.margin > 0 ? make(int_pos, int_neg, std::true_type{}) : make(int_pos, int_neg, std::false_type{});
    };
    auto with_neg = [&](auto int_pos) {
      return neg.is_integer ? with_margin(int_pos, std::true_type{}) : with_margin(int_pos, std::false_type{});
    };
    return pos.is_integer ? with_neg(std::true_type{}) : with_neg(std::false_type{});
  }
};

}  // namespace detail

/// Raw launcher (CUB style); see weighted_bce() for the contract.
template <class T, class Target>
cudaError_t focal_bce(void* d_workspace, std::size_t& workspace_bytes, const FocalBCEOptions& options,
                      const ClassWeights& classes, const Batch<T, Target>& batch, const Outputs<T>& outputs,
                      cudaStream_t stream = 0) noexcept {
  return detail::guarded_launch<detail::FocalBCESpec>(d_workspace, workspace_bytes, options, classes, batch, outputs,
                                                      stream);
}

/// Drop-in functor: `FocalBCE<float> loss(FocalBCEOptions::focal(2.0, 0.25));
/// loss.forward_backward(batch, d_loss, d_grad, workspace, stream);` (see DeviceLoss).
template <class T = float>
class FocalBCE : public DeviceLoss<detail::FocalBCESpec, T> {
 public:
  using DeviceLoss<detail::FocalBCESpec, T>::DeviceLoss;
};

}  // namespace longtail::cuda
