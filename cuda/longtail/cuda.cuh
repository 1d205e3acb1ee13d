// SPDX-License-Identifier: Apache-2.0
#pragma once
// Umbrella header of the CUDA losses (nvcc only; link longtail::cuda).
//
//   #include <longtail/cuda.cuh>
//   longtail::cuda::FocalBCE<__half> loss(longtail::FocalBCEOptions::focal(2.0, 0.25));
//   longtail::cuda::Batch<__half, longtail::cuda::packed_bits> batch{d_logits, d_bits, rows, cols};
//   std::size_t bytes = loss.workspace_size(rows, cols);   // cudaMalloc once, reuse
//   loss.forward_backward(batch, d_loss, d_grad, {d_workspace, bytes}, stream);
//
// Raw launchers in the CUB style: longtail::cuda::focal_bce(), weighted_bce().

#include "longtail/options.hpp"
#include "longtail/storage.cuh"
#include "longtail/arguments.cuh"
#include "longtail/launch.cuh"
#include "longtail/focal_bce.cuh"
#include "longtail/weighted_bce.cuh"
