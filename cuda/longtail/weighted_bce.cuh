// SPDX-License-Identifier: Apache-2.0
#pragma once
// Weighted binary cross-entropy with logits on the GPU: PyTorch's
// BCEWithLogitsLoss(weight, pos_weight) with label smoothing, mask and per-sample weights,
//   l = w_c * [ pw_c * y * softplus(-x) + (1 - y) * softplus(x) ]
// evaluated by math::WeightedBCEMath (include/longtail/math/weighted_bce.hpp), the function the
// CPU functor evaluates. Same options and conventions as longtail::cpu::WeightedBCE.

#include "longtail/detail/device_loss.cuh"
#include "longtail/math/weighted_bce.hpp"

namespace longtail::cuda {
namespace detail {

struct WeightedBCESpec {
  using Options = WeightedBCEOptions;
  static constexpr const char* name = "WeightedBCE";

  static LossSetup setup(const Options& o) { return LossSetup::common(o); }

  template <class F>
  static cudaError_t visit_math(const Options&, F&& f) {
    return f(math::WeightedBCEMath{});
  }
};

}  // namespace detail

/// Raw launcher (CUB style). With d_workspace == nullptr it only writes the workspace size into
/// workspace_bytes. Otherwise it checks everything it can on the host (options, shapes, null or
/// overlapping pointers, workspace size: cudaErrorInvalidValue, nothing launched), then enqueues
/// the kernels on `stream` and returns the launch status. Never throws, never allocates.
template <class T, class Target>
cudaError_t weighted_bce(void* d_workspace, std::size_t& workspace_bytes, const WeightedBCEOptions& options,
                         const ClassWeights& classes, const Batch<T, Target>& batch, const Outputs<T>& outputs,
                         cudaStream_t stream = 0) noexcept {
  return detail::guarded_launch<detail::WeightedBCESpec>(d_workspace, workspace_bytes, options, classes, batch, outputs,
                                                         stream);
}

/// Drop-in functor: `WeightedBCE<__half> loss(options, {d_w, d_pw, C});
/// loss.forward_backward(batch, d_loss, d_grad, workspace, stream);` (see DeviceLoss).
template <class T = float>
class WeightedBCE : public DeviceLoss<detail::WeightedBCESpec, T> {
 public:
  using DeviceLoss<detail::WeightedBCESpec, T>::DeviceLoss;
};

}  // namespace longtail::cuda
