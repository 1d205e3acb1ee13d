// SPDX-License-Identifier: Apache-2.0
#pragma once
// What the CUDA losses share: the raw launcher's argument guard (CUB convention) and the
// drop-in functor base. A loss (weighted_bce.cuh, focal_bce.cuh) is described by a Spec: its
// Options type, its name, `setup(options)` (a LossSetup) and `visit_math(options, f)`, which
// hands f the math-core functor (include/longtail/math) for the options.

#include <cuda_runtime.h>

#include <cmath>
#include <cstdint>
#include <utility>

#include "longtail/detail/arguments.cuh"
#include "longtail/detail/input_checks.cuh"
#include "longtail/detail/launch.cuh"

namespace longtail::cuda {
namespace detail {

/// The raw launchers' common body. d_workspace == nullptr: a size query (CUB convention) that
/// writes workspace_bytes and returns cudaSuccess; it needs only a valid shape. Otherwise every
/// host-side check runs first; a failed one returns cudaErrorInvalidValue before anything is
/// launched. Never throws.
template <class Spec, class T, class Target>
cudaError_t guarded_launch(void* d_workspace, std::size_t& workspace_bytes, const typename Spec::Options& options,
                           const ClassWeights& classes, const Batch<T, Target>& batch, const Outputs<T>& outputs,
                           cudaStream_t stream) noexcept {
  const Workspace ws{d_workspace, workspace_bytes};
  try {
    check_shape(batch.rows, batch.cols);
    if (!d_workspace) {
      workspace_bytes = workspace_size(batch.rows, batch.cols);
      return cudaSuccess;
    }
    options.validate();
    check_arguments(Spec::name, classes, batch, outputs, ws, workspace_size(batch.rows, batch.cols));
  } catch (...) {  // longtail::invalid_argument, or std::bad_alloc while formatting its message
    return cudaErrorInvalidValue;
  }
  return Spec::visit_math(options, [&](const auto& math) {
    return launch_elementwise(math, Spec::setup(options), classes, batch, outputs, ws, stream);
  });
}

}  // namespace detail

/// Base of the drop-in functors FocalBCE<T> and WeightedBCE<T>: options and per-class device
/// vectors held by value, device pointers passed per call, workspace and stream last.
///
/// Each call checks options, shapes and pointers on the host and throws
/// longtail::invalid_argument naming the argument (as the CPU functors do), then launches on
/// `stream` and returns the launch status; it neither allocates nor synchronises (except with
/// options.execution.check_inputs, see input_checks.cuh). The loss lands in *d_loss (device
/// memory) when the stream gets there.
template <class Spec, class T>
class DeviceLoss {
  static_assert(is_logit_storage_v<T>, "logits and gradients are float, __half or __nv_bfloat16");

 public:
  using Options = typename Spec::Options;
  using storage_type = T;
  static constexpr const char* name = Spec::name;

  /// Validates the options (throws longtail::invalid_argument naming the field). The per-class
  /// vectors are device pointers of length classes.num_classes; their values are read only
  /// with options.execution.check_inputs.
  explicit DeviceLoss(Options options = {}, ClassWeights classes = {}) : options_(options), classes_(classes) {
    options_.validate();
    if (classes_.num_classes < 0)
      longtail::detail::fail(name, ": classes.num_classes must be >= 0 (got ", classes_.num_classes, ")");
    if (classes_.any() && classes_.num_classes == 0)
      longtail::detail::fail(name,
                             ": classes.num_classes must be set when d_weight, d_pos_weight or d_logit_offset is");
  }

  const Options& options() const { return options_; }
  const ClassWeights& classes() const { return classes_; }

  /// Factor of every gradient (loss scaling); the loss value is never scaled. Default 1.
  float grad_scale() const { return grad_scale_; }
  void set_grad_scale(float scale) {
    if (!std::isfinite(scale)) longtail::detail::fail(name, ": grad_scale must be finite (got ", scale, ")");
    grad_scale_ = scale;
  }

  /// Workspace bytes for a rows x cols batch (longtail::cuda::workspace_size).
  static std::size_t workspace_size(std::int64_t rows, std::int64_t cols) { return cuda::workspace_size(rows, cols); }

  /// Reduced loss into *d_loss.
  template <class Target>
  cudaError_t forward(const Batch<T, Target>& batch, float* d_loss, const Workspace& workspace,
                      cudaStream_t stream = 0) const {
    return evaluate(batch, Outputs<T>{d_loss, nullptr, nullptr, grad_scale_}, workspace, stream);
  }

  /// Same as forward().
  template <class Target>
  cudaError_t operator()(const Batch<T, Target>& batch, float* d_loss, const Workspace& workspace,
                         cudaStream_t stream = 0) const {
    return forward(batch, d_loss, workspace, stream);
  }

  /// Gradient of the reduced loss (times grad_scale()) into d_grad; may be batch.d_logits.
  template <class Target>
  cudaError_t backward(const Batch<T, Target>& batch, T* d_grad, const Workspace& workspace,
                       cudaStream_t stream = 0) const {
    return evaluate(batch, Outputs<T>{nullptr, d_grad, nullptr, grad_scale_}, workspace, stream);
  }

  /// forward() and backward() in one pass over memory.
  template <class Target>
  cudaError_t forward_backward(const Batch<T, Target>& batch, float* d_loss, T* d_grad, const Workspace& workspace,
                               cudaStream_t stream = 0) const {
    return evaluate(batch, Outputs<T>{d_loss, d_grad, nullptr, grad_scale_}, workspace, stream);
  }

  /// Per-element losses into d_loss_elements, and the reduced loss into *d_loss when not null.
  template <class Target>
  cudaError_t forward_elements(const Batch<T, Target>& batch, T* d_loss_elements, float* d_loss,
                               const Workspace& workspace, cudaStream_t stream = 0) const {
    return evaluate(batch, Outputs<T>{d_loss, nullptr, d_loss_elements, grad_scale_}, workspace, stream);
  }

  /// The general call: any combination of outputs (Outputs::grad_scale is used as given).
  template <class Target>
  cudaError_t evaluate(const Batch<T, Target>& batch, const Outputs<T>& outputs, const Workspace& workspace,
                       cudaStream_t stream = 0) const {
    detail::check_arguments(name, classes_, batch, outputs, workspace, cuda::workspace_size(batch.rows, batch.cols));
    if (options_.execution.check_inputs) {
      const cudaError_t err = detail::check_input_values(name, classes_, batch, stream);
      if (err != cudaSuccess) return err;
    }
    return Spec::visit_math(options_, [&](const auto& math) {
      return detail::launch_elementwise(math, Spec::setup(options_), classes_, batch, outputs, workspace, stream);
    });
  }

 private:
  Options options_;
  ClassWeights classes_;
  float grad_scale_ = 1.0f;
};

}  // namespace longtail::cuda
