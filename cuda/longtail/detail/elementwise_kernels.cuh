// SPDX-License-Identifier: Apache-2.0
#pragma once
// The kernels behind every loss:
//   count_valid_kernel / reduce_counts_kernel   number of unmasked elements (Reduction::mean
//                                                with a mask: the gradient needs 1/count before
//                                                the first gradient is written)
//   elementwise_loss_kernel                      stage 1: one pass over memory; gradients,
//                                                per-element losses, one partial sum per unit
//   finalize_loss_kernel                         stage 2: one block sums the partials
// No atomics anywhere: every sum is a fixed tree or a fixed sequence (elementwise_tile.cuh says
// why the grid size does not enter). The grid is sized to the device (SMs x resident blocks per
// SM); the warps loop over the units.
//
// On sm_90+ the finalize kernel is a programmatic dependent launch (launch.cuh): stage 1 lets it
// be scheduled while its own blocks still run, and it waits (griddepcontrol.wait) for stage 1 to
// complete and its partials to be visible before it reads them. That hides the second kernel's
// launch gap, which can be a sizeable part of a small call (4096x698: ~7 us of memory traffic;
// not yet measured on a GPU); the sums are unchanged. Code for
// older architectures compiles the two instructions out, and the launch is then an ordinary one
// (launch.cuh checks the architecture of the code the device runs, not just the device's).

#include <cstdint>

#include "longtail/detail/elementwise_tile.cuh"

namespace longtail::cuda::detail {

inline constexpr int kBlockThreads = 256;
inline constexpr int kFinalizeThreads = 1024;

/// Fixed-order warp reduction: lane 0 ends with ((v0 + v16) + (v8 + v24)) + ... (a fixed tree,
/// replayed by tests/cuda/emulate.cuh). Other lanes hold partial trees.
template <class V>
__device__ __forceinline__ V warp_sum(V v) {
#pragma unroll
  for (int offset = kWarpSize / 2; offset > 0; offset /= 2) v += __shfl_down_sync(0xffffffffu, v, offset);
  return v;
}

/// Fixed-order block reduction; the result is valid in thread 0.
template <int Threads, class V>
__device__ __forceinline__ V block_sum(V v) {
  static_assert(Threads % kWarpSize == 0 && Threads <= kWarpSize * kWarpSize, "block size");
  __shared__ V warp_sums[Threads / kWarpSize];
  const int lane = threadIdx.x % kWarpSize, warp = threadIdx.x / kWarpSize;
  v = warp_sum(v);
  if (lane == 0) warp_sums[warp] = v;
  __syncthreads();
  V total = V(0);
  if (warp == 0) total = warp_sum(lane < Threads / kWarpSize ? warp_sums[lane] : V(0));
  return total;
}

/// Per-launch constants of the first stage besides the tile parameters.
struct UnitParams {
  std::int64_t tiles = 0, tiles_per_unit = 1, units = 0;
  /// Factor of every gradient: the loss scale, times 1/valid for the mean when the host knows
  /// the count (no mask).
  float grad_scale = 1.0f;
  /// Count of valid elements on the device (mean with a mask), or null: then the factor is
  /// grad_scale * (1 / valid), or 0 when nothing is valid.
  const unsigned long long* d_valid = nullptr;
  /// One loss partial per unit, or null when no reduced loss is wanted.
  float* partials = nullptr;
};

/// Stage 1 side: allow the dependent grid (the finalize kernel) to be scheduled now.
__device__ __forceinline__ void allow_dependent_launch() {
#if defined(__CUDA_ARCH__) && __CUDA_ARCH__ >= 900
  asm volatile("griddepcontrol.launch_dependents;" ::: "memory");
#endif
}

/// Stage 2 side: wait until the grids this one depends on have completed and their memory
/// writes are visible (returns at once when the launch was not a dependent one).
__device__ __forceinline__ void wait_for_prerequisite_grids() {
#if defined(__CUDA_ARCH__) && __CUDA_ARCH__ >= 900
  asm volatile("griddepcontrol.wait;" ::: "memory");
#endif
}

template <class Math, class T, class Target>
static __global__ void __launch_bounds__(kBlockThreads)
    elementwise_loss_kernel(const Math math, const TileParams<T, Target> p, const UnitParams u) {
  allow_dependent_launch();
  const int lane = static_cast<int>(threadIdx.x % kWarpSize);
  const std::int64_t warp = (static_cast<std::int64_t>(blockIdx.x) * blockDim.x + threadIdx.x) / kWarpSize;
  const std::int64_t warps = static_cast<std::int64_t>(gridDim.x) * blockDim.x / kWarpSize;
  float scale = u.grad_scale;
  if (u.d_valid) {
    const unsigned long long valid = *u.d_valid;
    scale = valid ? u.grad_scale * (1.0f / static_cast<float>(valid)) : 0.0f;
  }
  // Units are warp-uniform, so every lane takes part in each shuffle.
  for (std::int64_t unit = warp; unit < u.units; unit += warps) {
    const std::int64_t t0 = unit * u.tiles_per_unit;
    const std::int64_t t1 = t0 + u.tiles_per_unit < u.tiles ? t0 + u.tiles_per_unit : u.tiles;
    float sum = 0.0f;
    for (std::int64_t t = t0; t < t1; ++t) sum += warp_sum(lane_tile(math, p, scale, t, lane));
    if (lane == 0 && u.partials) u.partials[unit] = sum;
  }
}

template <int Threads>
static __global__ void __launch_bounds__(Threads)
    count_valid_kernel(const std::uint8_t* mask, std::int64_t n, bool aligned16, std::int64_t tiles,
                       std::int64_t tiles_per_unit, std::int64_t units, unsigned long long* counts) {
  const int lane = static_cast<int>(threadIdx.x % kWarpSize);
  const std::int64_t warp = (static_cast<std::int64_t>(blockIdx.x) * blockDim.x + threadIdx.x) / kWarpSize;
  const std::int64_t warps = static_cast<std::int64_t>(gridDim.x) * blockDim.x / kWarpSize;
  for (std::int64_t unit = warp; unit < units; unit += warps) {
    const std::int64_t t0 = unit * tiles_per_unit;
    const std::int64_t t1 = t0 + tiles_per_unit < tiles ? t0 + tiles_per_unit : tiles;
    unsigned long long count = 0;
    for (std::int64_t t = t0; t < t1; ++t) count += lane_mask_count(mask, n, aligned16, t, lane);
    count = warp_sum(count);
    if (lane == 0) counts[unit] = count;
  }
}

template <int Threads>
static __global__ void __launch_bounds__(Threads)
    reduce_counts_kernel(const unsigned long long* counts, std::int64_t units, unsigned long long* d_valid) {
  unsigned long long c = 0;
  for (std::int64_t k = threadIdx.x; k < units; k += Threads) c += counts[k];
  c = block_sum<Threads>(c);
  if (threadIdx.x == 0) *d_valid = c;
}

/// The reduced loss from the sum of the partials: for the mean, divided by `divisor` (the valid
/// count, or the options' mean_divisor) in double as the CPU functors do; a divisor of 0 gives 0.
LONGTAIL_HD float finalize_value(float sum, bool mean, double divisor) {
  if (!mean) return sum;
  return divisor > 0 ? static_cast<float>(static_cast<double>(sum) / divisor) : 0.0f;
}

/// Stage 2. `mean`: divide by the valid count from d_valid when set, else by host_divisor.
template <int Threads>
static __global__ void __launch_bounds__(Threads)
    finalize_loss_kernel(const float* partials, std::int64_t units, bool mean, const unsigned long long* d_valid,
                         double host_divisor, float* d_loss) {
  wait_for_prerequisite_grids();
  float s = strided_kahan_sum(partials, units, static_cast<int>(threadIdx.x), Threads);
  s = block_sum<Threads>(s);
  if (threadIdx.x == 0) *d_loss = finalize_value(s, mean, d_valid ? static_cast<double>(*d_valid) : host_divisor);
}

}  // namespace longtail::cuda::detail
