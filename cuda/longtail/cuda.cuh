// SPDX-License-Identifier: Apache-2.0
#pragma once
// longtail's CUDA losses (nvcc only; CMake target longtail::cuda). Umbrella header.
//
//   #include <longtail/cuda.cuh>
//   namespace lc = longtail::cuda;
//   lc::FocalBCE<__half> loss(longtail::FocalBCEOptions::focal(2.0, 0.25));
//   lc::Batch<__half, lc::packed_bits> batch{d_logits, d_label_bits, rows, cols};
//   std::size_t bytes = lc::workspace_size(rows, cols);        // cudaMalloc once, reuse
//   loss.forward_backward(batch, d_loss, d_grad, {d_workspace, bytes}, stream);
//
// What it computes: exactly the CPU functors' losses (longtail::cpu::FocalBCE / WeightedBCE /
// DistributionBalanced, same options, same conventions), through the same math-core functions
// (include/longtail/math, __host__ __device__ under nvcc): per-class weight, pos_weight and logit
// offset (ClassWeights), alpha, integer and real gamma, ASL margin, the Distribution-Balanced
// loss (distribution_balanced.cuh), label smoothing, mask, per-sample weights, Reduction none / sum /
// mean (mean over unmasked elements, or over options.mean_divisor, e.g. the global count of a
// data-parallel step; 0 when nothing is valid).
// Accuracy: the transcendentals are CUDA's expf (2 ulp) and math/log1p_unit.hpp's log1p and
// 1/(1+t) (a few ulp; the reciprocal is rcp.approx + one Newton step), plus CUDA's log1pf and
// logf in the ASL margin term, no fast-math flags; the GPU matches the CPU functors to 1e-5
// relative in float (tests/cuda/README.md). About 53 instructions per element for focal gamma 2,
// 45 for weighted BCE (bench/cuda/inspect_sass.sh).
//
// API (CUB / tiny-cuda-nn style):
//   - Raw launchers focal_bce() and weighted_bce() (focal_bce.cuh, weighted_bce.cuh):
//     (d_workspace, workspace_bytes&, options, classes, batch, outputs, stream) -> cudaError_t,
//     noexcept. d_workspace == nullptr is a size query. Bad arguments: cudaErrorInvalidValue,
//     nothing launched.
//   - Functors FocalBCE<T>, WeightedBCE<T> (detail/device_loss.cuh): forward, backward,
//     forward_backward, forward_elements, evaluate; they throw longtail::invalid_argument naming
//     the bad argument (as the CPU functors) and return the launch status.
//   - No allocation, no synchronisation (except options.execution.check_inputs, a debugging aid
//     that copies inputs to the host to check their values), the stream last.
// Storage (detail/storage.cuh): logits/gradients float, __half, __nv_bfloat16; targets float, __half,
// uint8_t, packed_bits; math and accumulation in float; Outputs::grad_scale for loss scaling.
// Layout: dense row-major rows x cols, 64-bit element indices (cols < 2^31), any pointer
// alignment. The vectorised path moves chunks of 16 bytes of logits (4 floats, 8 halves) and
// needs every pointer aligned to its chunk (logits and gradients 16 bytes, uint8 targets and
// mask 4 or 8); otherwise the whole launch takes the scalar, element-at-a-time path. cudaMalloc and PyTorch allocations
// are aligned; a row-offset view x[k:] is when k * cols * sizeof(T) is a multiple of 16 (with 698 labels: even k for
// float). Determinism (detail/elementwise_tile.cuh): the loss and every gradient are bit-identical across runs, streams
// and grid sizes on a device: the work is cut into tiles and units fixed by the element count, every sum is a fixed
// tree or sequence, and no atomics are used. The grid is sized to the device (SMs x resident blocks, queried once per
// device) and only decides who computes which unit, never the order of an addition. Launches: a call is one pass over
// memory (stage 1) and, when a reduced loss is asked for, a one-block finalize kernel (two more small kernels first for
// a mean under a mask). On sm_90+ the finalize is a programmatic dependent launch (detail/launch.cuh), which hides its
// launch gap. Calls can be captured into CUDA graphs (tests/cuda check the replay's bits).
//
// Headers: include this one (or focal_bce.cuh / weighted_bce.cuh for one loss). The types it
// documents (Batch, ClassWeights, Outputs, Workspace, packed_bits, workspace_size) live in
// detail/ beside the kernels, tiles and launch plumbing; detail/ file names and everything in a
// `detail` namespace may change without notice, the names in longtail::cuda may not.

#include "longtail/detail/arguments.cuh"
#include "longtail/detail/launch.cuh"
#include "longtail/detail/storage.cuh"
#include "longtail/distribution_balanced.cuh"
#include "longtail/focal_bce.cuh"
#include "longtail/options.hpp"
#include "longtail/weighted_bce.cuh"
