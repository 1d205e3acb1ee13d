// SPDX-License-Identifier: Apache-2.0
#pragma once
// The launch sequence shared by every loss: workspace layout, grid sizing and the kernels of
// elementwise_kernels.cuh in stream order. Nothing here allocates, synchronises or throws.

#include <cuda_runtime.h>

#include <atomic>
#include <cstdint>
#include <limits>
#include <type_traits>

#include "longtail/detail/arguments.cuh"
#include "longtail/detail/elementwise_kernels.cuh"
#include "longtail/options.hpp"

namespace longtail::cuda {

namespace detail {

inline constexpr std::size_t kWorkspaceAlignment = 256;

inline constexpr std::size_t align_up(std::size_t v, std::size_t a) { return (v + a - 1) / a * a; }

/// Where the scratch arrays live inside the (aligned) workspace.
struct WorkspaceLayout {
  Decomposition d;
  std::size_t partials = 0;  // float[units]: loss partial per unit
  std::size_t counts = 0;    // unsigned long long[units]: valid elements per unit
  std::size_t valid = 0;     // unsigned long long: valid elements in all
  std::size_t bytes = 0;     // from the aligned base

  static WorkspaceLayout of(std::int64_t n) {
    WorkspaceLayout l;
    l.d = Decomposition::of(n);
    const auto units = static_cast<std::size_t>(l.d.units);
    l.partials = 0;
    l.counts = align_up(units * sizeof(float), kWorkspaceAlignment);
    l.valid = l.counts + align_up(units * sizeof(unsigned long long), kWorkspaceAlignment);
    l.bytes = l.valid + kWorkspaceAlignment;
    return l;
  }
};

/// Per-call constants derived from the options (computed as the CPU functors compute them).
struct LossSetup {
  float keep = 1.0f, shift = 0.0f;
  float alpha_pos = 1.0f, alpha_neg = 1.0f;
  Reduction reduction = Reduction::mean;
  /// Reduction::mean: the options' mean_divisor (> 0), or 0 to divide by the valid count.
  double mean_divisor = 0.0;

  /// What every loss's options share: label smoothing, reduction, mean_divisor.
  template <class Options>
  static LossSetup common(const Options& o) {
    LossSetup s;
    const float eps = static_cast<float>(o.label_smoothing);
    s.keep = 1.0f - eps;
    s.shift = eps / 2.0f;
    s.reduction = o.reduction;
    s.mean_divisor = o.mean_divisor ? *o.mean_divisor : 0.0;
    return s;
  }
};

/// Test hook: when > 0, the number of blocks of the stage-1 kernels (instead of SMs x resident
/// blocks). The tests use it to show that the loss does not depend on the grid.
inline int& grid_blocks_override() {
  static int blocks = 0;
  return blocks;
}

/// Benchmark and test hook: whether the finalize kernel may be a programmatic dependent launch
/// (default: yes, on sm_90+). It changes no bit of any result (tests/cuda check this); the
/// benchmark switches it off to price it.
inline bool& dependent_finalize_enabled() {
  static bool enabled = true;
  return enabled;
}

/// A positive int per device, computed once by `query(device, value)` and then read from a cache
/// (`Tag` gives each use its own). Devices beyond the first 64 are queried every time.
template <class Tag, class Query>
cudaError_t cached_per_device(int& value, Query&& query) {
  constexpr int kMaxDevices = 64;
  static std::atomic<int> cache[kMaxDevices] = {};
  int device = 0;
  cudaError_t err = cudaGetDevice(&device);
  if (err != cudaSuccess) return err;
  const bool cacheable = device >= 0 && device < kMaxDevices;
  if (cacheable) {
    const int cached = cache[device].load(std::memory_order_relaxed);
    if (cached > 0) {
      value = cached;
      return cudaSuccess;
    }
  }
  if ((err = query(device, value)) != cudaSuccess) return err;
  if (cacheable && value > 0) cache[device].store(value, std::memory_order_relaxed);
  return cudaSuccess;
}

/// SMs of the current device and blocks of `kernel` resident on one SM, queried once per device
/// and cached (per kernel: each instantiation has its own cache).
template <class KernelTag>
cudaError_t grid_capacity(const void* kernel, int threads, int& blocks) {
  return cached_per_device<KernelTag>(blocks, [&](int device, int& value) {
    int sms = 0, per_sm = 0;
    cudaError_t err;
    if ((err = cudaDeviceGetAttribute(&sms, cudaDevAttrMultiProcessorCount, device)) != cudaSuccess) return err;
    if ((err = cudaOccupancyMaxActiveBlocksPerMultiprocessor(&per_sm, kernel, threads, 0)) != cudaSuccess) return err;
    value = sms * (per_sm > 0 ? per_sm : 1);
    return cudaSuccess;
  });
}

template <class... Ts>
struct KernelTag {};

/// Whether the finalize kernel can be a programmatic dependent launch on the current device,
/// queried once per device and cached: the device has compute capability 9.0+ AND the finalize
/// code it runs was compiled for compute_90 or later. The second condition is not implied by the
/// first: a build for "75;80" runs on an H100 as compute_80 PTX, compiled without
/// griddepcontrol.wait, and a dependent launch would then let it read the partials before stage 1
/// wrote them. cudaFuncGetAttributes reports the PTX version the running code came from.
inline cudaError_t dependent_finalize_supported(bool& supported) {
  struct Tag {};
  int answer = 0;  // 1: no, 2: yes
  const cudaError_t err = cached_per_device<Tag>(answer, [](int device, int& value) {
    int major = 0;
    cudaError_t e;
    if ((e = cudaDeviceGetAttribute(&major, cudaDevAttrComputeCapabilityMajor, device)) != cudaSuccess) return e;
    cudaFuncAttributes finalize{};
    if ((e = cudaFuncGetAttributes(&finalize, finalize_loss_kernel<kFinalizeThreads>)) != cudaSuccess) return e;
    value = major >= 9 && finalize.ptxVersion >= 90 ? 2 : 1;
    return cudaSuccess;
  });
  supported = answer == 2;
  return err;
}

/// Stage 2: sums the partials into *d_loss. After a stage-1 launch on an sm_90+ device (running
/// compute_90+ code) it is a programmatic dependent launch (elementwise_kernels.cuh), else an
/// ordinary one. Built with a
/// CUDA runtime older than 12.3 (where stream capture into graphs does not take programmatic
/// dependencies) it is always an ordinary launch.
inline cudaError_t launch_finalize(const float* partials, std::int64_t units, bool mean,
                                   const unsigned long long* d_valid, double host_divisor, float* d_loss,
                                   bool after_stage1, cudaStream_t stream) {
#if CUDART_VERSION >= 12030
  bool dependent = false;
  if (after_stage1 && dependent_finalize_enabled()) {
    const cudaError_t err = dependent_finalize_supported(dependent);
    if (err != cudaSuccess) return err;
  }
  if (dependent) {
    cudaLaunchConfig_t config = {};
    config.gridDim = dim3(1);
    config.blockDim = dim3(kFinalizeThreads);
    config.stream = stream;
    cudaLaunchAttribute attribute[1] = {};
    attribute[0].id = cudaLaunchAttributeProgrammaticStreamSerialization;
    attribute[0].val.programmaticStreamSerializationAllowed = 1;
    config.attrs = attribute;
    config.numAttrs = 1;
    return cudaLaunchKernelEx(&config, finalize_loss_kernel<kFinalizeThreads>, partials, units, mean, d_valid,
                              host_divisor, d_loss);
  }
#else
  (void)after_stage1;
#endif
  finalize_loss_kernel<kFinalizeThreads>
      <<<1, kFinalizeThreads, 0, stream>>>(partials, units, mean, d_valid, host_divisor, d_loss);
  return cudaGetLastError();
}

/// Blocks for a stage-1 launch over `units` units (one warp per unit at a time).
template <class Tag>
cudaError_t stage1_blocks(const void* kernel, std::int64_t units, int& blocks) {
  constexpr int warps_per_block = kBlockThreads / kWarpSize;
  const std::int64_t wanted = (units + warps_per_block - 1) / warps_per_block;
  int capacity = 0;
  const cudaError_t err = grid_capacity<Tag>(kernel, kBlockThreads, capacity);
  if (err != cudaSuccess) return err;
  const int override_blocks = grid_blocks_override();
  const std::int64_t limit = override_blocks > 0 ? override_blocks : capacity;
  blocks = static_cast<int>(wanted < limit ? wanted : limit);
  if (blocks < 1) blocks = 1;
  return cudaSuccess;
}

/// The per-class and per-row inputs of a re-balanced loss (DistributionBalanced): device pointers,
/// both null for the other losses.
struct RebalanceRates {
  const float* d_class_rate = nullptr;  ///< length cols
  const float* d_row_rate = nullptr;    ///< length rows
};

/// The stage-1 parameters of a call (also used by the host replay in tests/cuda/emulate.cuh).
template <class T, class Target>
TileParams<T, Target> make_tile_params(const LossSetup& setup, const ClassWeights& classes,
                                       const Batch<T, Target>& batch, const Outputs<T>& out,
                                       const RebalanceRates& rates = {}) {
  constexpr int V = kVec<T>;
  constexpr bool kBits = std::is_same_v<Target, packed_bits>;
  TileParams<T, Target> p;
  p.x = batch.d_logits;
  p.y = batch.d_targets;
  p.mask = batch.d_mask;
  p.sample_weight = batch.d_sample_weight;
  p.weight = classes.d_weight;
  p.pos_weight = classes.d_pos_weight;
  p.logit_offset = classes.d_logit_offset;
  p.class_rate = rates.d_class_rate;
  p.row_rate = rates.d_row_rate;
  p.grad = out.d_grad;
  p.loss = out.d_loss_elements;
  p.n = batch.elements();
  p.words_per_row = words_per_row(batch.cols);
  p.cols = FastDivmod::make(batch.cols > 0 ? static_cast<std::uint64_t>(batch.cols) : 1u);
  p.cols32 = batch.cols > 0 ? static_cast<std::uint32_t>(batch.cols) : 1u;
  p.keep = setup.keep;
  p.shift = setup.shift;
  p.alpha_pos = setup.alpha_pos;
  p.alpha_neg = setup.alpha_neg;
  p.vector_ok = is_aligned(p.x, pack_alignment<T, V>()) && (!p.grad || is_aligned(p.grad, pack_alignment<T, V>())) &&
                (!p.loss || is_aligned(p.loss, pack_alignment<T, V>())) &&
                (kBits || is_aligned(p.y, pack_alignment<target_storage_t<Target>, V>())) &&
                (!p.mask || is_aligned(p.mask, pack_alignment<std::uint8_t, V>()));
  p.weighted = p.weight || p.pos_weight || p.sample_weight || p.logit_offset || p.class_rate;
  return p;
}

/// Whether the valid-element count must be computed on the device first (mean with a mask and
/// no mean_divisor).
template <class T, class Target>
bool count_on_device(const LossSetup& setup, const Batch<T, Target>& batch, const Outputs<T>& out) {
  return setup.reduction == Reduction::mean && !(setup.mean_divisor > 0) && batch.d_mask && batch.elements() > 0 &&
         (out.d_loss || out.d_grad);
}

/// The mean's divisor when the host knows it: the options' mean_divisor, else the element count
/// without a mask; 0 otherwise (counted on the device, or nothing to divide: the mean is 0).
template <class T, class Target>
double host_mean_divisor(const LossSetup& setup, const Batch<T, Target>& batch) {
  if (setup.mean_divisor > 0) return setup.mean_divisor;
  return batch.d_mask ? 0.0 : static_cast<double>(batch.elements());
}

/// The gradient factor known on the host: the loss scale, times 1/divisor for the mean when the
/// host knows the divisor (1/divisor as float, exactly as the CPU functors form it).
template <class T, class Target>
float host_grad_scale(const LossSetup& setup, const Batch<T, Target>& batch, const Outputs<T>& out) {
  const double divisor = host_mean_divisor(setup, batch);
  if (setup.reduction == Reduction::mean && divisor > 0) return out.grad_scale * (1.0f / static_cast<float>(divisor));
  return out.grad_scale;
}

/// Runs one loss evaluation. The arguments have been checked (check_arguments).
template <class Math, class T, class Target>
cudaError_t launch_elementwise(const Math& math, const LossSetup& setup, const ClassWeights& classes,
                               const Batch<T, Target>& batch, const Outputs<T>& out, const Workspace& ws,
                               cudaStream_t stream, const RebalanceRates& rates = {}) noexcept {
  const std::int64_t n = batch.elements();
  const WorkspaceLayout layout = WorkspaceLayout::of(n);
  char* base = reinterpret_cast<char*>(align_up(reinterpret_cast<std::uintptr_t>(ws.d_ptr), kWorkspaceAlignment));
  float* partials = reinterpret_cast<float*>(base + layout.partials);
  auto* counts = reinterpret_cast<unsigned long long*>(base + layout.counts);
  auto* d_valid = reinterpret_cast<unsigned long long*>(base + layout.valid);
  const bool mean = setup.reduction == Reduction::mean;
  const bool device_count = count_on_device(setup, batch, out);
  cudaError_t err = cudaSuccess;

  if (device_count) {
    auto* kernel = &count_valid_kernel<kBlockThreads>;
    int blocks = 0;
    if ((err = stage1_blocks<KernelTag<void>>(reinterpret_cast<const void*>(kernel), layout.d.units, blocks)))
      return err;
    kernel<<<blocks, kBlockThreads, 0, stream>>>(batch.d_mask, n, is_aligned(batch.d_mask, 16), layout.d.tiles,
                                                 layout.d.tiles_per_unit, layout.d.units, counts);
    if ((err = cudaGetLastError())) return err;
    reduce_counts_kernel<kFinalizeThreads><<<1, kFinalizeThreads, 0, stream>>>(counts, layout.d.units, d_valid);
    if ((err = cudaGetLastError())) return err;
  }

  if (n > 0) {
    const TileParams<T, Target> p = make_tile_params(setup, classes, batch, out, rates);
    UnitParams u;
    u.tiles = layout.d.tiles;
    u.tiles_per_unit = layout.d.tiles_per_unit;
    u.units = layout.d.units;
    u.grad_scale = host_grad_scale(setup, batch, out);
    u.d_valid = device_count ? d_valid : nullptr;
    u.partials = out.d_loss ? partials : nullptr;
    auto* kernel = &elementwise_loss_kernel<Math, T, Target>;
    int blocks = 0;
    if ((err = stage1_blocks<KernelTag<Math, T, Target>>(reinterpret_cast<const void*>(kernel), u.units, blocks)))
      return err;
    kernel<<<blocks, kBlockThreads, 0, stream>>>(math, p, u);
    if ((err = cudaGetLastError())) return err;
  }

  if (out.d_loss) {
    const std::int64_t units = n > 0 ? layout.d.units : 0;
    if ((err = launch_finalize(partials, units, mean, device_count ? d_valid : nullptr, host_mean_divisor(setup, batch),
                               out.d_loss, n > 0, stream)))
      return err;
  }
  return cudaSuccess;
}

}  // namespace detail

/// Bytes of device workspace that a rows x cols batch needs, whatever the loss, options and
/// storage types (0 for a negative or overflowing shape). It includes slack to align any pointer
/// to 256 bytes; memory from cudaMalloc needs none of it but the size stays the same. At most
/// about 1.5 MiB (2^17 partial sums), 1 KiB for small batches.
inline std::size_t workspace_size(std::int64_t rows, std::int64_t cols) noexcept {
  if (rows < 0 || cols < 0 || (cols > 0 && rows > std::numeric_limits<std::int64_t>::max() / cols)) return 0;
  return detail::WorkspaceLayout::of(rows * cols).bytes + detail::kWorkspaceAlignment;
}

}  // namespace longtail::cuda
