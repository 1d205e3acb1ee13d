// SPDX-License-Identifier: Apache-2.0
#pragma once
// Host replay of a launch: the same host setup (make_tile_params, host_grad_scale), the same
// lane_tile / lane_mask_count / strided_kahan_sum functions the kernels run, and the kernels'
// fixed reduction trees, executed lane by lane on the CPU with host pointers. It checks the
// indexing, packing, vector/scalar paths and reduction structure without a GPU. (Its bits differ
// from the GPU's only through the host's expf/logf.)

#include <array>
#include <cstdint>
#include <vector>

#include "longtail/cuda.cuh"

namespace longtail_test {

namespace lcd = longtail::cuda::detail;

/// Lane 0's result of warp_sum(): v[l] += v[l + offset] for offset 16, 8, 4, 2, 1, where a lane
/// whose source lane is out of range (shfl_down) adds its own value.
template <class V>
V emulated_warp_sum(std::array<V, 32> v) {
  for (int offset = 16; offset > 0; offset /= 2) {
    std::array<V, 32> next{};
    for (int l = 0; l < 32; ++l) next[l] = v[l] + (l + offset < 32 ? v[l + offset] : v[l]);
    v = next;
  }
  return v[0];
}

/// block_sum<Threads>() on the values of all threads.
template <class V>
V emulated_block_sum(const std::vector<V>& values) {
  const int threads = static_cast<int>(values.size()), warps = threads / 32;
  std::array<V, 32> warp_sums{};
  for (int w = 0; w < warps; ++w) {
    std::array<V, 32> lanes{};
    for (int l = 0; l < 32; ++l) lanes[l] = values[w * 32 + l];
    warp_sums[w] = emulated_warp_sum(lanes);
  }
  std::array<V, 32> lanes{};
  for (int l = 0; l < 32; ++l) lanes[l] = l < warps ? warp_sums[l] : V(0);
  return emulated_warp_sum(lanes);
}

/// launch_elementwise() replayed on the host. All pointers in batch / classes / out are host
/// pointers.
template <class Math, class T, class Target>
void emulate_launch(const Math& math, const lcd::LossSetup& setup, const longtail::cuda::ClassWeights& classes,
                    const longtail::cuda::Batch<T, Target>& batch, const longtail::cuda::Outputs<T>& out,
                    const lcd::RebalanceRates& rates = {}) {
  const std::int64_t n = batch.elements();
  const auto layout = lcd::WorkspaceLayout::of(n);
  const auto& d = layout.d;
  const bool mean = setup.reduction == longtail::Reduction::mean;
  const bool device_count = lcd::count_on_device(setup, batch, out);

  unsigned long long valid = 0;
  if (device_count) {
    std::vector<unsigned long long> counts(d.units);
    for (std::int64_t unit = 0; unit < d.units; ++unit) {
      unsigned long long c = 0;
      for (std::int64_t t = unit * d.tiles_per_unit; t < std::min(d.tiles, (unit + 1) * d.tiles_per_unit); ++t)
        for (int lane = 0; lane < 32; ++lane)
          c += lcd::lane_mask_count(batch.d_mask, n, lcd::is_aligned(batch.d_mask, 16), t, lane);
      counts[unit] = c;
    }
    for (auto c : counts) valid += c;
  }

  std::vector<float> partials(d.units, 0.0f);
  if (n > 0) {
    const auto p = lcd::make_tile_params(setup, classes, batch, out, rates);
    float scale = lcd::host_grad_scale(setup, batch, out);
    if (device_count) scale = valid ? out.grad_scale * (1.0f / static_cast<float>(valid)) : 0.0f;
    for (std::int64_t unit = 0; unit < d.units; ++unit) {
      float sum = 0.0f;
      for (std::int64_t t = unit * d.tiles_per_unit; t < std::min(d.tiles, (unit + 1) * d.tiles_per_unit); ++t) {
        std::array<float, 32> lanes{};
        for (int lane = 0; lane < 32; ++lane) lanes[lane] = lcd::lane_tile(math, p, scale, t, lane);
        sum += emulated_warp_sum(lanes);
      }
      partials[unit] = sum;
    }
  }

  if (out.d_loss) {
    const std::int64_t units = n > 0 ? d.units : 0;
    std::vector<float> per_thread(lcd::kFinalizeThreads);
    for (int t = 0; t < lcd::kFinalizeThreads; ++t)
      per_thread[t] = lcd::strided_kahan_sum(partials.data(), units, t, lcd::kFinalizeThreads);
    const float s = emulated_block_sum(per_thread);
    *out.d_loss =
        lcd::finalize_value(s, mean, device_count ? static_cast<double>(valid) : lcd::host_mean_divisor(setup, batch));
  }
}

/// A raw launcher's work, replayed on the host (Spec: lcd::FocalBCESpec or lcd::WeightedBCESpec).
template <class Spec, class T, class Target>
void emulate(const typename Spec::Options& options, const longtail::cuda::ClassWeights& classes,
             const longtail::cuda::Batch<T, Target>& batch, const longtail::cuda::Outputs<T>& out) {
  Spec::visit_math(options, [&](const auto& math) {
    emulate_launch(math, Spec::setup(options), classes, batch, out);
    return cudaSuccess;
  });
}

/// distribution_balanced()'s work replayed on the host: the row-rate pre-pass (row_rate_kernel's
/// lanes and warp tree) into `row_rate` (resized to the rows), then the elementwise launch.
template <class T, class Target>
void emulate_distribution_balanced(const longtail::DistributionBalancedOptions& options,
                                   const longtail::cuda::DistributionBalancedClasses& classes,
                                   const longtail::cuda::Batch<T, Target>& batch, const longtail::cuda::Outputs<T>& out,
                                   std::vector<float>& row_rate) {
  using Spec = lcd::DistributionBalancedSpec;
  row_rate.assign(static_cast<std::size_t>(batch.rows), 0.0f);
  for (std::int64_t i = 0; i < batch.rows && batch.cols > 0; ++i) {
    std::array<float, 32> lanes{};
    for (int lane = 0; lane < 32; ++lane)
      lanes[lane] = lcd::row_rate_lane_sum<Target>(batch.d_targets, batch.d_mask, classes.d_class_rate, i, batch.cols,
                                                   longtail::cuda::words_per_row(batch.cols), lane);
    row_rate[static_cast<std::size_t>(i)] = lcd::row_rate_from_sum(emulated_warp_sum(lanes), options.beta > 0);
  }
  Spec::visit_math(options, [&](const auto& math) {
    emulate_launch(math, Spec::setup(options), Spec::class_weights(classes), batch, out,
                   lcd::RebalanceRates{classes.d_class_rate, row_rate.data()});
    return cudaSuccess;
  });
}

}  // namespace longtail_test
