// SPDX-License-Identifier: Apache-2.0
#pragma once
// The arguments of one loss evaluation on the GPU and their host-side checks. Every pointer is a
// device pointer (d_ prefix). Matrices are dense row-major: element (i, j) of a rows x cols
// matrix is at index i * cols + j (rows = samples, cols = labels), as torch tensors from
// `.contiguous()`.
//
// check_arguments() throws longtail::invalid_argument naming the argument; the raw launchers turn
// that into cudaErrorInvalidValue, the functors let it propagate (as the CPU functors do). The
// checks are O(1): the values inside device arrays are not read (see the functors' check_inputs).

#include <cuda_runtime.h>

#include <cmath>
#include <cstdint>
#include <limits>

#include "longtail/detail/storage.cuh"
#include "longtail/error.hpp"

namespace longtail::cuda {

/// One batch of inputs. `Target` is the target storage: float, __half, std::uint8_t or
/// packed_bits (then d_targets points at the uint32 words, see storage.cuh).
template <class T, class Target = T>
struct Batch {
  const T* d_logits = nullptr;                          ///< rows x cols
  const target_storage_t<Target>* d_targets = nullptr;  ///< rows x cols (packed_bits: rows x words_per_row(cols) words)
  std::int64_t rows = 0;
  std::int64_t cols = 0;
  const std::uint8_t* d_mask = nullptr;    ///< optional, rows x cols, nonzero = valid
  const float* d_sample_weight = nullptr;  ///< optional, length rows, finite and >= 0

  std::int64_t elements() const { return rows * cols; }
};

/// Per-class vectors (length num_classes, which must equal the batch's cols when any is set).
/// Null: all ones (weights) or none (offset). Weights must be finite and >= 0, offsets finite
/// (checked only with check_inputs).
struct ClassWeights {
  const float* d_weight = nullptr;      ///< w_c
  const float* d_pos_weight = nullptr;  ///< pw_c
  std::int64_t num_classes = 0;
  /// s_c, the logit adjustment: the loss is evaluated at x + s_c, the gradient is d loss / d x
  /// (longtail::logit_adjustment() in the CPU library's class_priors.hpp computes tau log p_c).
  const float* d_logit_offset = nullptr;

  bool any() const { return d_weight || d_pos_weight || d_logit_offset; }
};

/// What to compute. A null pointer skips that output; at least one must be set.
///  - d_loss: one float, the reduced loss (Reduction::none: the sum, as the CPU forward()).
///  - d_grad: d(reduced loss)/d(logits) * grad_scale, rows x cols, may equal d_logits (in place).
///  - d_loss_elements: the per-element losses (weighted, masked elements 0, never divided by a
///    count), rows x cols; may equal d_logits when d_grad does not.
/// grad_scale multiplies every gradient (static or dynamic loss scaling for fp16 training); the
/// loss itself is never scaled. A scaled gradient that overflows the storage type becomes inf,
/// which is what dynamic loss scaling looks for.
template <class T>
struct Outputs {
  float* d_loss = nullptr;
  T* d_grad = nullptr;
  T* d_loss_elements = nullptr;
  float grad_scale = 1.0f;
};

/// Caller-provided device scratch memory (see workspace_size()). A call uses it until its last
/// kernel has run: calls that may overlap (different streams) need separate workspaces; calls in
/// one stream can share one.
struct Workspace {
  void* d_ptr = nullptr;
  std::size_t bytes = 0;
};

namespace detail {

inline void check_shape(std::int64_t rows, std::int64_t cols) {
  if (rows < 0) longtail::detail::fail("batch.rows must be >= 0 (got ", rows, ")");
  if (cols < 0) longtail::detail::fail("batch.cols must be >= 0 (got ", cols, ")");
  if (cols > std::numeric_limits<std::int32_t>::max())
    longtail::detail::fail("batch.cols must be < 2^31 labels (got ", cols, ")");
  if (cols > 0 && rows > std::numeric_limits<std::int64_t>::max() / cols)
    longtail::detail::fail("batch has ", rows, "x", cols, " elements, more than a 64-bit index can address");
}

/// True when the byte ranges [a, a + a_bytes) and [b, b + b_bytes) intersect.
inline bool overlaps(const void* a, std::size_t a_bytes, const void* b, std::size_t b_bytes) {
  const auto pa = reinterpret_cast<std::uintptr_t>(a), pb = reinterpret_cast<std::uintptr_t>(b);
  return a_bytes && b_bytes && pa < pb + b_bytes && pb < pa + a_bytes;
}

/// Every check that does not read device memory. `workspace_needed` is workspace_size(rows, cols).
template <class T, class Target>
void check_arguments(const char* loss, const ClassWeights& classes, const Batch<T, Target>& batch,
                     const Outputs<T>& out, const Workspace& ws, std::size_t workspace_needed) {
  static_assert(is_logit_storage_v<T>, "logits and gradients are float, __half or __nv_bfloat16");
  static_assert(is_target_storage_v<Target>, "targets are float, __half, std::uint8_t or packed_bits");
  using longtail::detail::fail;
  check_shape(batch.rows, batch.cols);
  const std::int64_t n = batch.elements();
  if (!out.d_loss && !out.d_grad && !out.d_loss_elements)
    fail(loss, ": nothing to compute (outputs.d_loss, d_grad and d_loss_elements are all null)");
  if (!std::isfinite(out.grad_scale)) fail(loss, ": outputs.grad_scale must be finite (got ", out.grad_scale, ")");
  if (n > 0) {
    if (!batch.d_logits) fail(loss, ": batch.d_logits is null for a ", batch.rows, "x", batch.cols, " batch");
    if (!batch.d_targets) fail(loss, ": batch.d_targets is null for a ", batch.rows, "x", batch.cols, " batch");
  }
  if (classes.num_classes < 0) fail(loss, ": classes.num_classes must be >= 0 (got ", classes.num_classes, ")");
  if (classes.any() && classes.num_classes != batch.cols)
    fail(loss, ": per-class vectors have ", classes.num_classes, " classes but logits have ", batch.cols,
         " columns (set ClassWeights.num_classes to the length of d_weight / d_pos_weight / d_logit_offset)");
  // Outputs may replace the logits in place, but must not partly overlap them or each other:
  // every element is read and written by the same thread, so only exact aliasing is safe.
  const std::size_t bytes = static_cast<std::size_t>(n) * sizeof(T);
  if (out.d_grad && out.d_grad != batch.d_logits && overlaps(out.d_grad, bytes, batch.d_logits, bytes))
    fail(loss, ": outputs.d_grad overlaps batch.d_logits without being equal to it");
  if (out.d_loss_elements && out.d_loss_elements != batch.d_logits &&
      overlaps(out.d_loss_elements, bytes, batch.d_logits, bytes))
    fail(loss, ": outputs.d_loss_elements overlaps batch.d_logits without being equal to it");
  if (out.d_grad && out.d_loss_elements && overlaps(out.d_grad, bytes, out.d_loss_elements, bytes))
    fail(loss, ": outputs.d_grad and outputs.d_loss_elements overlap");
  if (!ws.d_ptr) fail(loss, ": the workspace is null (query its size with workspace_size(rows, cols))");
  if (ws.bytes < workspace_needed)
    fail(loss, ": the workspace has ", ws.bytes, " bytes but a ", batch.rows, "x", batch.cols, " batch needs ",
         workspace_needed);
}

}  // namespace detail
}  // namespace longtail::cuda
