// SPDX-License-Identifier: Apache-2.0
// The 64-bit index path: a batch of more than 2^32 elements (6,153,500 x 698 = 4,295,143,000,
// past both the int32 and the uint32 limits), half logits with the gradient written in place and
// bit-packed targets: 8.59 GB + 0.54 GB of device memory (about 9.2 GB with the workspace). It
// runs only when that much is free (an 80 GB H100 has it; a 16 GB T4 does too) and skips with a
// message otherwise.
//
// Inputs are a hash of the element's index, so a verification kernel can recompute every
// element's expected gradient and the loss from its (row, column) alone, without a copy of the
// inputs: it checks all 4.3e9 gradients, the float loss against a double sum, and a few elements
// around 2^31 and 2^32 against the CPU functor.

#include <catch2/catch.hpp>

#include <cmath>
#include <cstdint>

#include "gpu.cuh"

using namespace longtail_test;
namespace lc = longtail::cuda;

namespace {

constexpr std::int64_t kRows = 6153500, kCols = 698;

/// Logit of element e: a multiple of 1/64 in [-8, 8), exact in half.
__host__ __device__ float pattern_logit(std::uint64_t e) {
  std::uint64_t h = e * 0x9E3779B97F4A7C15ull;
  h ^= h >> 29;
  return static_cast<float>(static_cast<int>((h >> 20) & 1023u) - 512) / 64.0f;
}

/// Target of element (i, j): 0 or 1.
__host__ __device__ std::uint32_t pattern_bit(std::uint64_t i, std::uint64_t j) {
  std::uint64_t h = (i * 0x100000001B3ull) ^ (j * 0xC2B2AE3D27D4EB4Full);
  h ^= h >> 31;
  return static_cast<std::uint32_t>((h >> 7) & 1u);
}

__global__ void fill_logits(__half* x, std::uint64_t n) {
  for (std::uint64_t e = blockIdx.x * std::uint64_t(blockDim.x) + threadIdx.x; e < n;
       e += std::uint64_t(gridDim.x) * blockDim.x)
    x[e] = __float2half_rn(pattern_logit(e));
}

__global__ void fill_bits(std::uint32_t* y, std::uint64_t rows, std::uint64_t cols, std::uint64_t wpr) {
  for (std::uint64_t w = blockIdx.x * std::uint64_t(blockDim.x) + threadIdx.x; w < rows * wpr;
       w += std::uint64_t(gridDim.x) * blockDim.x) {
    const std::uint64_t i = w / wpr, k = w % wpr;
    std::uint32_t word = 0;
    for (std::uint32_t b = 0; b < 32; ++b) {
      const std::uint64_t j = k * 32 + b;
      if (j < cols && pattern_bit(i, j)) word |= 1u << b;
    }
    y[w] = word;
  }
}

constexpr int kVerifyThreads = 256;

/// Recomputes every element through the same math-core call, compares the stored gradient with a
/// half-precision tolerance and sums the expected loss in double. One result per block.
template <class Math>
__global__ void verify(const __half* grad, std::uint64_t n, Math math,
                       lc::detail::TileParams<__half, lc::packed_bits> p, double* block_loss,
                       unsigned long long* block_bad) {
  double loss = 0.0;
  unsigned long long bad = 0;
  for (std::uint64_t e = blockIdx.x * std::uint64_t(blockDim.x) + threadIdx.x; e < n;
       e += std::uint64_t(gridDim.x) * blockDim.x) {
    std::uint64_t i;
    std::uint32_t j;
    p.row_col(static_cast<std::int64_t>(e), i, j);
    const auto vg = lc::detail::evaluate<false>(math, p, pattern_logit(e), static_cast<float>(pattern_bit(i, j)), i, j);
    loss += vg.value;
    const float got = __half2float(grad[e]);
    if (!(fabsf(got - vg.grad) <= ldexpf(1.0f, -10) * fabsf(vg.grad) + ldexpf(1.0f, -24))) ++bad;
  }
  __shared__ double losses[kVerifyThreads];
  __shared__ unsigned long long bads[kVerifyThreads];
  losses[threadIdx.x] = loss;
  bads[threadIdx.x] = bad;
  __syncthreads();
  for (int s = kVerifyThreads / 2; s > 0; s /= 2) {
    if (static_cast<int>(threadIdx.x) < s) {
      losses[threadIdx.x] += losses[threadIdx.x + s];
      bads[threadIdx.x] += bads[threadIdx.x + s];
    }
    __syncthreads();
  }
  if (threadIdx.x == 0) {
    block_loss[blockIdx.x] = losses[0];
    block_bad[blockIdx.x] = bads[0];
  }
}

}  // namespace

TEST_CASE("cuda large: more than 2^32 elements, half in place, bit-packed targets", "[cuda][gpu][large]") {
  LONGTAIL_REQUIRE_GPU();
  const std::int64_t n = kRows * kCols;
  REQUIRE(n > (std::int64_t(1) << 32));
  const std::int64_t wpr = lc::words_per_row(kCols);
  const std::size_t needed = static_cast<std::size_t>(n) * sizeof(__half) +
                             static_cast<std::size_t>(kRows * wpr) * sizeof(std::uint32_t) +
                             lc::workspace_size(kRows, kCols);
  std::size_t free_bytes = 0, total_bytes = 0;
  CUDA_REQUIRE(cudaMemGetInfo(&free_bytes, &total_bytes));
  if (free_bytes < needed + (std::size_t(512) << 20)) {
    WARN("64-bit test skipped: it needs " << needed / 1e9 << " GB of device memory, " << free_bytes / 1e9
                                          << " GB are free");
    return;
  }
  DeviceBuffer<__half> x(static_cast<std::size_t>(n));
  DeviceBuffer<std::uint32_t> y(static_cast<std::size_t>(kRows * wpr));
  DeviceBuffer<unsigned char> ws(lc::workspace_size(kRows, kCols));
  constexpr int kBlocks = 2048;
  DeviceBuffer<float> loss(1);
  DeviceBuffer<double> block_loss(kBlocks);
  DeviceBuffer<unsigned long long> block_bad(kBlocks);
  fill_logits<<<kBlocks, 256>>>(x.get(), static_cast<std::uint64_t>(n));
  fill_bits<<<kBlocks, 256>>>(y.get(), kRows, kCols, wpr);
  CUDA_REQUIRE(cudaGetLastError());

  auto options = longtail::FocalBCEOptions::focal(2.0, 0.25);
  options.reduction = longtail::Reduction::sum;  // per-element gradients: 1/n would underflow half
  longtail::math::FocalBCEMath<float, true, true, false> math;
  math.gamma_pos = math.gamma_neg = 2.0f;
  math.margin = 0.0f;
  math.int_pos = math.int_neg = 2;
  const auto setup = lc::detail::FocalBCESpec::setup(options);
  const lc::Batch<__half, lc::packed_bits> batch{x.get(), y.get(), kRows, kCols};
  const lc::Outputs<__half> out{loss.get(), x.get()};  // in place
  lc::detail::check_arguments("large", lc::ClassWeights{}, batch, out, {ws.get(), ws.size()}, ws.size());
  CUDA_REQUIRE(lc::detail::launch_elementwise(math, setup, lc::ClassWeights{}, batch, out, {ws.get(), ws.size()},
                                              cudaStream_t{}));
  const auto p = lc::detail::make_tile_params(setup, lc::ClassWeights{}, batch, out);
  verify<<<kBlocks, kVerifyThreads>>>(x.get(), static_cast<std::uint64_t>(n), math, p, block_loss.get(),
                                      block_bad.get());
  CUDA_REQUIRE(cudaGetLastError());
  CUDA_REQUIRE(cudaDeviceSynchronize());

  double expected = 0.0;
  unsigned long long bad = 0;
  for (double v : block_loss.download()) expected += v;
  for (auto b : block_bad.download()) bad += b;
  CHECK(bad == 0);
  const float got = download_scalar(loss.get());
  INFO("loss " << got << ", double reference " << expected);
  CHECK(std::abs(got - expected) <= 1e-5 * expected);

  // A few elements around the 32-bit boundaries against the CPU functor.
  for (std::int64_t e : {std::int64_t(0), (std::int64_t(1) << 31) - 1, std::int64_t(1) << 31,
                         (std::int64_t(1) << 32) - 1, std::int64_t(1) << 32, n - 1}) {
    __half g;
    CUDA_REQUIRE(cudaMemcpy(&g, x.get() + e, sizeof(__half), cudaMemcpyDeviceToHost));
    Problem one;
    one.rows = one.cols = 1;
    one.x = {pattern_logit(static_cast<std::uint64_t>(e))};
    one.y = {
        static_cast<float>(pattern_bit(static_cast<std::uint64_t>(e / kCols), static_cast<std::uint64_t>(e % kCols)))};
    const Result ref = cpu_reference(options, one, false);
    INFO("element " << e);
    check_close("gradient", {__half2float(g)}, ref.grad, storage_tolerance<__half>());
  }
}
