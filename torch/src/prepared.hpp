// SPDX-License-Identifier: Apache-2.0
#pragma once
// The inputs of one loss call after checking and normalisation (losses.cpp), shared by the CPU
// evaluation and the CUDA one (losses_cuda.cu). Internal to longtail_torch.

#include <cstdint>

#include <ATen/core/Tensor.h>

#include "longtail/options.hpp"

namespace longtail::torch::detail {

/// 2-D tensors in the storage the backend computes on (CPU: float/double logits with any strides,
/// targets of the logits' type or uint8; CUDA: dense row-major float/half/bfloat16 logits,
/// float/half/uint8 targets, float per-class and per-row vectors). Undefined = absent.
struct Prepared {
  at::Tensor logits, targets, mask, sample_weight, weight, pos_weight;
  std::int64_t rows = 0, cols = 0;
};

/// Which outputs one evaluation writes (undefined = not wanted). `loss` is a 0-d float64 (CPU)
/// or float32 (CUDA) tensor with the reduced loss (Reduction::none: the sum).
struct Outputs {
  at::Tensor loss, grad, elements;
};

#ifdef LONGTAIL_TORCH_WITH_CUDA
// losses_cuda.cu: the longtail::cuda launchers on the current stream. `outputs.grad` /
// `outputs.elements` are preallocated dense tensors of the logits' dtype.
void cuda_evaluate(const WeightedBCEOptions& options, const Prepared& p, Outputs& outputs);
void cuda_evaluate(const FocalBCEOptions& options, const Prepared& p, Outputs& outputs);
#endif

}  // namespace longtail::torch::detail
