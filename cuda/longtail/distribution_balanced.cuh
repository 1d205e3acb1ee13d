// SPDX-License-Identifier: Apache-2.0
#pragma once
// The Distribution-Balanced loss on the GPU (Wu et al., ECCV 2020; options.hpp,
// DistributionBalancedOptions, for the formula, the defaults and their source):
//   l = r^ * w_c * [ y q^g softplus(-z) + (1 - y) p'^g softplus(lambda z) / lambda ],  z = x + o_c
// evaluated by math::DistributionBalancedMath (include/longtail/math/distribution_balanced.hpp),
// the function the CPU functor longtail::cpu::DistributionBalanced evaluates, with the same
// conventions (mask, sample weights, smoothing, reductions, rows without positive labels).
//
// The per-class inputs are device vectors the caller fills once from the training label counts,
// with the CPU library on the host (class_priors.hpp; this header needs no Eigen):
//   auto t = longtail::distribution_balanced_class_terms<float>(counts, train_rows, o.kappa, o.lambda
//                                                                 [, logit_adjustment]);
//   cudaMemcpy(d_class_rate, t.class_rate.data(), ...); cudaMemcpy(d_offset, t.logit_offset.data(), ...);
//   longtail::cuda::DistributionBalanced<float> loss(o, {d_class_rate, d_offset, d_weight, C});
// Each call runs a pre-pass kernel over the targets (one warp per row, a fixed-order sum) that
// writes the per-row rate 1 / sum_j y_ij / n_j into the workspace, then the one-pass elementwise
// kernel of every loss. The workspace is larger than the other losses' by one float per row:
// size it with distribution_balanced_workspace_size(rows, cols).

#include <cuda_runtime.h>

#include <cmath>
#include <cstdint>
#include <limits>
#include <type_traits>

#include "longtail/detail/arguments.cuh"
#include "longtail/detail/elementwise_kernels.cuh"
#include "longtail/detail/input_checks.cuh"
#include "longtail/detail/launch.cuh"
#include "longtail/math/distribution_balanced.hpp"
#include "longtail/options.hpp"

namespace longtail::cuda {

/// The per-class device vectors of the Distribution-Balanced loss (length num_classes = the
/// batch's cols). From longtail::distribution_balanced_class_terms (class_priors.hpp).
struct DistributionBalancedClasses {
  const float* d_class_rate = nullptr;    ///< 1 / max(n_c, 1/2); required
  const float* d_logit_offset = nullptr;  ///< class bias plus any logit adjustment; null: none
  const float* d_weight = nullptr;        ///< w_c; null: all 1
  std::int64_t num_classes = 0;
};

namespace detail {

/// Lane `lane`'s share of row i's sum  sum_j y_ij * class_rate_j  over the valid elements:
/// columns lane, lane + 32, ... in order (a host+device function, so the host replay runs it).
template <class Target>
LONGTAIL_HD float row_rate_lane_sum(const target_storage_t<Target>* y, const std::uint8_t* mask,
                                    const float* class_rate, std::int64_t i, std::int64_t cols,
                                    std::int64_t words_per_row, int lane) {
  float acc = 0.0f;
  for (std::int64_t j = lane; j < cols; j += kWarpSize) {
    const std::int64_t e = i * cols + j;
    if (mask && mask[e] == 0) continue;
    float v;
    if constexpr (std::is_same_v<Target, packed_bits>) {
      const std::uint32_t word = load_shared_ro(y + i * words_per_row + (j >> 5));
      v = static_cast<float>((word >> (j & 31)) & 1u);
    } else {
      v = to_float(y[e]);
    }
    acc += v * load_shared_ro(class_rate + j);
  }
  return acc;
}

/// The row rate from the row's sum: 1 / sum, +inf for a row without positive valid labels (then
/// r^ = alpha + 1), and 0 for every row when beta = 0 (r^ = alpha + 1/2 whatever r is; beta * inf
/// would be NaN). As the CPU functor (which sums in double).
LONGTAIL_HD float row_rate_from_sum(float sum, bool beta_positive) {
  if (!beta_positive) return 0.0f;
  return sum > 0.0f ? 1.0f / sum : INFINITY;
}

template <class Target>
static __global__ void __launch_bounds__(kBlockThreads)
    row_rate_kernel(const target_storage_t<Target>* y, const std::uint8_t* mask, const float* class_rate,
                    std::int64_t rows, std::int64_t cols, std::int64_t words_per_row, bool beta_positive,
                    float* row_rate) {
  const int lane = static_cast<int>(threadIdx.x % kWarpSize);
  const std::int64_t warp = (static_cast<std::int64_t>(blockIdx.x) * blockDim.x + threadIdx.x) / kWarpSize;
  const std::int64_t warps = static_cast<std::int64_t>(gridDim.x) * blockDim.x / kWarpSize;
  for (std::int64_t i = warp; i < rows; i += warps) {
    const float s = warp_sum(row_rate_lane_sum<Target>(y, mask, class_rate, i, cols, words_per_row, lane));
    if (lane == 0) row_rate[i] = row_rate_from_sum(s, beta_positive);
  }
}

/// Where the row rates live: after the common workspace layout, from the aligned base.
inline std::size_t row_rate_offset(std::int64_t rows, std::int64_t cols) {
  return WorkspaceLayout::of(rows * cols).bytes;
}

}  // namespace detail

/// Workspace bytes of a Distribution-Balanced call: workspace_size(rows, cols) plus one float per
/// row (the row rates), rounded up to 256 bytes (0 for a negative or overflowing shape).
inline std::size_t distribution_balanced_workspace_size(std::int64_t rows, std::int64_t cols) noexcept {
  const std::size_t base = workspace_size(rows, cols);
  if (base == 0) return 0;
  return base + detail::align_up(static_cast<std::size_t>(rows) * sizeof(float), detail::kWorkspaceAlignment);
}

namespace detail {

struct DistributionBalancedSpec {
  using Options = DistributionBalancedOptions;
  static constexpr const char* name = "DistributionBalanced";

  static LossSetup setup(const Options& o) { return LossSetup::common(o); }

  /// Integer or real exponent, lambda = 1 or not: 4 kernels per storage combination.
  template <class F>
  static cudaError_t visit_math(const Options& o, F&& f) {
    const GammaSpec g = GammaSpec::from(o.gamma);
    auto make = [&](auto int_tag, auto tolerant_tag) {
      math::DistributionBalancedMath<float, decltype(int_tag)::value, decltype(tolerant_tag)::value> m;
      m.core.gamma_pos = m.core.gamma_neg = static_cast<float>(g.value);
      m.core.margin = 0.0f;
      m.core.int_pos = m.core.int_neg = g.integer;
      m.lambda = static_cast<float>(o.lambda);
      m.inv_lambda = static_cast<float>(1.0 / o.lambda);
      m.alpha = static_cast<float>(o.alpha);
      m.beta = static_cast<float>(o.beta);
      m.mu = static_cast<float>(o.mu);
      return f(m);
    };
    const bool tolerant = o.lambda != 1.0;
    if (g.is_integer)
      return tolerant ? make(std::true_type{}, std::true_type{}) : make(std::true_type{}, std::false_type{});
    return tolerant ? make(std::false_type{}, std::true_type{}) : make(std::false_type{}, std::false_type{});
  }

  /// The per-class vectors as the elementwise launch takes them.
  static ClassWeights class_weights(const DistributionBalancedClasses& c) {
    ClassWeights w;
    w.d_weight = c.d_weight;
    w.num_classes = c.num_classes;
    w.d_logit_offset = c.d_logit_offset;
    return w;
  }

  /// Every host-side check (the common ones with the larger workspace, plus the class rates).
  template <class T, class Target>
  static void check(const DistributionBalancedClasses& c, const Batch<T, Target>& batch, const Outputs<T>& out,
                    const Workspace& ws) {
    check_arguments(name, class_weights(c), batch, out, ws,
                    distribution_balanced_workspace_size(batch.rows, batch.cols));
    if (!c.d_class_rate) longtail::detail::fail(name, ": classes.d_class_rate is null (1 / n_c per class is required)");
    if (c.num_classes != batch.cols)
      longtail::detail::fail(name, ": classes.num_classes is ", c.num_classes, " but logits have ", batch.cols,
                             " columns");
  }

  /// The pre-pass and the elementwise launch. The arguments have been checked.
  template <class Math, class T, class Target>
  static cudaError_t launch(const Math& math, const Options& o, const DistributionBalancedClasses& c,
                            const Batch<T, Target>& batch, const Outputs<T>& out, const Workspace& ws,
                            cudaStream_t stream) noexcept {
    char* base = reinterpret_cast<char*>(align_up(reinterpret_cast<std::uintptr_t>(ws.d_ptr), kWorkspaceAlignment));
    float* d_row_rate = reinterpret_cast<float*>(base + row_rate_offset(batch.rows, batch.cols));
    if (batch.rows > 0 && batch.cols > 0) {
      auto* kernel = &row_rate_kernel<Target>;
      int blocks = 0;
      cudaError_t err = stage1_blocks<KernelTag<Target, DistributionBalancedSpec>>(
          reinterpret_cast<const void*>(kernel), batch.rows, blocks);
      if (err != cudaSuccess) return err;
      kernel<<<blocks, kBlockThreads, 0, stream>>>(batch.d_targets, batch.d_mask, c.d_class_rate, batch.rows,
                                                   batch.cols, words_per_row(batch.cols), o.beta > 0, d_row_rate);
      if ((err = cudaGetLastError()) != cudaSuccess) return err;
    }
    return launch_elementwise(math, setup(o), class_weights(c), batch, out, ws, stream,
                              RebalanceRates{c.d_class_rate, d_row_rate});
  }
};

}  // namespace detail

/// Raw launcher (CUB style), as weighted_bce(): d_workspace == nullptr is a size query (writes
/// distribution_balanced_workspace_size(rows, cols)); bad arguments return cudaErrorInvalidValue
/// before anything is launched. Never throws, never allocates.
template <class T, class Target>
cudaError_t distribution_balanced(void* d_workspace, std::size_t& workspace_bytes,
                                  const DistributionBalancedOptions& options,
                                  const DistributionBalancedClasses& classes, const Batch<T, Target>& batch,
                                  const Outputs<T>& outputs, cudaStream_t stream = 0) noexcept {
  using Spec = detail::DistributionBalancedSpec;
  const Workspace ws{d_workspace, workspace_bytes};
  try {
    detail::check_shape(batch.rows, batch.cols);
    if (!d_workspace) {
      workspace_bytes = distribution_balanced_workspace_size(batch.rows, batch.cols);
      return cudaSuccess;
    }
    options.validate();
    Spec::check(classes, batch, outputs, ws);
  } catch (...) {  // longtail::invalid_argument, or std::bad_alloc while formatting its message
    return cudaErrorInvalidValue;
  }
  return Spec::visit_math(
      options, [&](const auto& math) { return Spec::launch(math, options, classes, batch, outputs, ws, stream); });
}

/// Drop-in functor with DeviceLoss's calls (forward, backward, forward_backward, forward_elements,
/// evaluate; grad_scale), holding the options and the per-class device vectors. Calls throw
/// longtail::invalid_argument naming a bad argument, then launch on `stream` and return the
/// launch status; no allocation, no synchronisation (except options.execution.check_inputs).
template <class T = float>
class DistributionBalanced {
  static_assert(is_logit_storage_v<T>, "logits and gradients are float, __half or __nv_bfloat16");

 public:
  using Options = DistributionBalancedOptions;
  using storage_type = T;
  static constexpr const char* name = detail::DistributionBalancedSpec::name;

  explicit DistributionBalanced(Options options, DistributionBalancedClasses classes)
      : options_(options), classes_(classes) {
    options_.validate();
    if (!classes_.d_class_rate)
      longtail::detail::fail(name, ": classes.d_class_rate is null (1 / n_c per class is required)");
    if (classes_.num_classes <= 0)
      longtail::detail::fail(name, ": classes.num_classes must be > 0 (got ", classes_.num_classes, ")");
  }

  const Options& options() const { return options_; }
  const DistributionBalancedClasses& classes() const { return classes_; }

  float grad_scale() const { return grad_scale_; }
  void set_grad_scale(float scale) {
    if (!std::isfinite(scale)) longtail::detail::fail(name, ": grad_scale must be finite (got ", scale, ")");
    grad_scale_ = scale;
  }

  static std::size_t workspace_size(std::int64_t rows, std::int64_t cols) {
    return distribution_balanced_workspace_size(rows, cols);
  }

  template <class Target>
  cudaError_t forward(const Batch<T, Target>& batch, float* d_loss, const Workspace& workspace,
                      cudaStream_t stream = 0) const {
    return evaluate(batch, Outputs<T>{d_loss, nullptr, nullptr, grad_scale_}, workspace, stream);
  }
  template <class Target>
  cudaError_t backward(const Batch<T, Target>& batch, T* d_grad, const Workspace& workspace,
                       cudaStream_t stream = 0) const {
    return evaluate(batch, Outputs<T>{nullptr, d_grad, nullptr, grad_scale_}, workspace, stream);
  }
  template <class Target>
  cudaError_t forward_backward(const Batch<T, Target>& batch, float* d_loss, T* d_grad, const Workspace& workspace,
                               cudaStream_t stream = 0) const {
    return evaluate(batch, Outputs<T>{d_loss, d_grad, nullptr, grad_scale_}, workspace, stream);
  }
  template <class Target>
  cudaError_t forward_elements(const Batch<T, Target>& batch, T* d_loss_elements, float* d_loss,
                               const Workspace& workspace, cudaStream_t stream = 0) const {
    return evaluate(batch, Outputs<T>{d_loss, nullptr, d_loss_elements, grad_scale_}, workspace, stream);
  }

  template <class Target>
  cudaError_t evaluate(const Batch<T, Target>& batch, const Outputs<T>& outputs, const Workspace& workspace,
                       cudaStream_t stream = 0) const {
    using Spec = detail::DistributionBalancedSpec;
    Spec::check(classes_, batch, outputs, workspace);
    if (options_.execution.check_inputs) {
      cudaError_t err = detail::check_input_values(name, Spec::class_weights(classes_), batch, stream);
      if (err != cudaSuccess) return err;
      std::vector<float> rate;
      if ((err = detail::copy_to_host(rate, classes_.d_class_rate, classes_.num_classes, stream))) return err;
      for (std::size_t k = 0; k < rate.size(); ++k)
        if (!std::isfinite(rate[k]) || !(rate[k] > 0))
          longtail::detail::fail(name, ": class_rate[", k, "] must be finite and > 0 (got ", double(rate[k]), ")");
    }
    return Spec::visit_math(options_, [&](const auto& math) {
      return Spec::launch(math, options_, classes_, batch, outputs, workspace, stream);
    });
  }

 private:
  Options options_;
  DistributionBalancedClasses classes_;
  float grad_scale_ = 1.0f;
};

}  // namespace longtail::cuda
