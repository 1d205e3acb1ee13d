// SPDX-License-Identifier: Apache-2.0
#pragma once
// longtail's losses on torch tensors (libtorch; CMake target longtail::torch). Not included by
// longtail/longtail.hpp: Eigen-only users never see libtorch.
//
//   #include <longtail/torch/losses.hpp>
//   // was: auto loss = torch::binary_cross_entropy_with_logits(logits, targets, {}, pos_weight);
//   longtail::torch::LossTensors classes;  classes.pos_weight = pos_weight;
//   at::Tensor loss = longtail::torch::focal_bce_with_logits(logits, targets,
//                                                             longtail::FocalBCEOptions::focal(3.0), classes);
//   loss.backward();
//
// What runs: the CPU functors (longtail::cpu::FocalBCE / WeightedBCE) on CPU tensors, the
// longtail::cuda launchers on CUDA tensors (the current stream, workspace from PyTorch's caching
// allocator), inside a torch::autograd::Function: the result is differentiable with respect to
// the logits (targets, weights and masks are constants: asking for their gradient is an error).
// Formulas, options and conventions are the library's (README.md, longtail/options.hpp).
//
// Tensors:
//  - logits: 2-D (samples x labels). CPU: float32 / float64 computed natively, float16 / bfloat16
//    through a float32 copy; any strides (no copy). CUDA: float32 / float16 / bfloat16, dense
//    row-major (a non-contiguous input is copied once).
//  - targets: same shape (or broadcastable to it); float32 / float64 / float16 / uint8 / bool
//    (0/1 or soft targets in [0, 1]). Other dtypes are converted to the logits' type.
//  - LossTensors::weight: per class, shape (C) or (1, C), as BCEWithLogitsLoss's `weight`
//    broadcast over the rows; shape (N, 1) is a per-row weight (folded into sample_weight).
//  - LossTensors::pos_weight: per class, shape (C) or (1, C).
//  - LossTensors::mask: same shape as logits, nonzero = valid (bool / uint8 / any number).
//  - LossTensors::sample_weight: one weight per row, shape (N) or (N, 1).
//  Per-class / per-row values must be finite and >= 0 (longtail::invalid_argument otherwise).
//
// Gradient: with GradMode::fused (default) the forward computes the loss and dL/dlogits in one
// pass over memory whenever autograd will need the gradient (logits.requires_grad() and grad mode
// on) and keeps that gradient (one tensor the size of the logits) until backward, which scales it
// by the incoming gradient (not at all for the usual 1: then it hands that same tensor on, and a
// leaf keeps it as its .grad without a copy unless the graph is retained). That tensor is the
// whole memory cost (PyTorch's own focal loss keeps several logits-sized intermediates).
// GradMode::recompute saves nothing but
// references to the inputs and evaluates the gradient in backward (a second pass over memory):
// less memory between forward and backward, more time. Reduction::none returns the per-element
// losses; their derivatives come from the same pass on CUDA (fused) and from a second pass in
// backward on the CPU (the CPU functors write either losses or gradients in one pass). The
// gradient itself is not differentiable: a double backward raises an error naming the loss.
//
// Reduction::mean divides by the number of valid (unmasked) elements, or by options.mean_divisor
// when it is set (distributed training: the global count, see torch/README.md).

#include <optional>

#include <ATen/core/Tensor.h>

#include "longtail/error.hpp"
#include "longtail/options.hpp"

namespace longtail::torch {

/// Thrown for a tensor of the wrong dtype (the Python module raises it as TypeError); every
/// other bad argument is a longtail::invalid_argument (ValueError in Python).
class type_error : public longtail::invalid_argument {
 public:
  using longtail::invalid_argument::invalid_argument;
};

/// When the gradient is evaluated (see the header comment).
enum class GradMode { fused, recompute };

/// The optional tensors of a loss call (undefined tensors = absent).
struct LossTensors {
  at::Tensor weight;         ///< per class (C) / (1, C), or per row (N, 1)
  at::Tensor pos_weight;     ///< per class (C) / (1, C)
  at::Tensor mask;           ///< N x C, nonzero = valid
  at::Tensor sample_weight;  ///< per row (N) / (N, 1)
};

/// Weighted BCE with logits: BCEWithLogitsLoss(weight, pos_weight) plus smoothing, mask and
/// sample weights. Returns a 0-d tensor (sum / mean) or the N x C per-element losses (none), in
/// the logits' dtype.
at::Tensor weighted_bce_with_logits(const at::Tensor& logits, const at::Tensor& targets,
                                    const WeightedBCEOptions& options = {}, const LossTensors& tensors = {},
                                    GradMode mode = GradMode::fused);

/// Focal BCE with logits (FocalBCEOptions::focal(gamma, alpha)) and ASL
/// (FocalBCEOptions::asymmetric(gamma_pos, gamma_neg, margin)).
at::Tensor focal_bce_with_logits(const at::Tensor& logits, const at::Tensor& targets,
                                 const FocalBCEOptions& options = {}, const LossTensors& tensors = {},
                                 GradMode mode = GradMode::fused);

/// A loss object for the one-line swap in libtorch code: construct once with the options and the
/// per-class tensors, call like torch::nn::BCEWithLogitsLoss (`loss(logits, targets)`).
template <class Options>
class Loss {
 public:
  explicit Loss(Options options = {}, LossTensors tensors = {}, GradMode mode = GradMode::fused)
      : options_(options), tensors_(std::move(tensors)), mode_(mode) {
    options_.validate();
  }
  at::Tensor operator()(const at::Tensor& logits, const at::Tensor& targets) const { return forward(logits, targets); }
  at::Tensor forward(const at::Tensor& logits, const at::Tensor& targets) const;
  Options& options() { return options_; }
  LossTensors& tensors() { return tensors_; }

 private:
  Options options_;
  LossTensors tensors_;
  GradMode mode_;
};

using WeightedBCEWithLogitsLoss = Loss<WeightedBCEOptions>;
using FocalBCEWithLogitsLoss = Loss<FocalBCEOptions>;

template <>
inline at::Tensor Loss<WeightedBCEOptions>::forward(const at::Tensor& logits, const at::Tensor& targets) const {
  return weighted_bce_with_logits(logits, targets, options_, tensors_, mode_);
}
template <>
inline at::Tensor Loss<FocalBCEOptions>::forward(const at::Tensor& logits, const at::Tensor& targets) const {
  return focal_bce_with_logits(logits, targets, options_, tensors_, mode_);
}

}  // namespace longtail::torch
