// SPDX-License-Identifier: Apache-2.0
// The math core's primitives as the GPU evaluates them. The host tests (tests/cpu/
// test_math_core.cpp) check the scalar formulas with the host's IEEE division; on the device the
// reciprocal is rcp.approx refined by one Newton step (math/log1p_unit.hpp), whose result no host
// can reproduce, so it is checked here on every input it can receive, and the composite
// log1p_and_reciprocal and logit_terms on sweeps against long double.

#include <catch2/catch.hpp>

#include <cmath>
#include <cstdint>
#include <cstring>
#include <limits>
#include <vector>

#include "gpu.cuh"
#include "longtail/math/logit_terms.hpp"

using namespace longtail_test;
namespace lm = longtail::math;

namespace {

/// Distance in representable floats (both finite, same sign).
__host__ __device__ inline std::uint32_t float_distance(float a, float b) {
  std::uint32_t ua, ub;
  memcpy(&ua, &a, 4);
  memcpy(&ub, &b, 4);
  return ua > ub ? ua - ub : ub - ua;
}

/// Every float d in [2, 6] (bit patterns first .. last): reciprocal_2_to_6(d) against the
/// correctly rounded 1 / d. counts[0]: results that differ; counts[1]: the largest distance.
__global__ void reciprocal_sweep(std::uint32_t first, std::uint32_t last, unsigned* counts) {
  const std::uint32_t stride = gridDim.x * blockDim.x;
  unsigned differ = 0, worst = 0;
  for (std::uint32_t bits = first + blockIdx.x * blockDim.x + threadIdx.x; bits <= last; bits += stride) {
    float d;
    memcpy(&d, &bits, 4);
    const std::uint32_t dist = float_distance(lm::reciprocal_2_to_6(d), __fdiv_rn(1.0f, d));
    differ += dist != 0;
    worst = dist > worst ? dist : worst;
  }
  atomicAdd(&counts[0], differ);
  atomicMax(&counts[1], worst);
}

__global__ void log1p_reciprocal_kernel(const float* t, std::int64_t n, float* log1p, float* reciprocal) {
  const std::int64_t i = blockIdx.x * std::int64_t(blockDim.x) + threadIdx.x;
  if (i >= n) return;
  const auto r = lm::log1p_and_reciprocal(t[i]);
  log1p[i] = r.log1p;
  reciprocal[i] = r.reciprocal;
}

__global__ void logit_terms_kernel(const float* x, std::int64_t n, float* out) {
  const std::int64_t i = blockIdx.x * std::int64_t(blockDim.x) + threadIdx.x;
  if (i >= n) return;
  const auto t = lm::logit_terms(x[i]);
  out[4 * i + 0] = t.p;
  out[4 * i + 1] = t.q;
  out[4 * i + 2] = t.softplus_x;
  out[4 * i + 3] = t.softplus_neg_x;
}

double ulps(float got, long double want) {
  if (want == 0) return got == 0 ? 0 : std::numeric_limits<double>::infinity();
  return double(std::abs((long double)got - want) / std::abs(want)) / double(std::numeric_limits<float>::epsilon());
}

long double softplus_ld(long double x) { return x > 0 ? x + std::log1p(std::exp(-x)) : std::log1p(std::exp(x)); }

}  // namespace

TEST_CASE("cuda device math: reciprocal_2_to_6 is within 1 ulp of 1/d for every float from 2 to 6",
          "[cuda][gpu][math]") {
  LONGTAIL_REQUIRE_GPU();
  DeviceBuffer<unsigned> counts(2);
  CUDA_REQUIRE(cudaMemset(counts.get(), 0, 2 * sizeof(unsigned)));
  const float lo = 2.0f, hi = 6.0f;
  std::uint32_t first, last;
  std::memcpy(&first, &lo, 4);
  std::memcpy(&last, &hi, 4);
  reciprocal_sweep<<<1024, 256>>>(first, last, counts.get());
  CUDA_REQUIRE(cudaGetLastError());
  const std::vector<unsigned> c = counts.download();
  INFO((last - first + 1) << " inputs; " << c[0] << " differ from the correctly rounded 1/d, by at most " << c[1]
                          << " ulp");
  WARN("reciprocal_2_to_6 on the GPU: " << c[0] << " of " << (last - first + 1)
                                        << " floats in [2, 6] differ from the correctly rounded 1/d (at most " << c[1]
                                        << " ulp)");
  CHECK(c[1] <= 1u);
}

TEST_CASE("cuda device math: log1p_and_reciprocal is within a few ulp for 0 < t <= 1", "[cuda][gpu][math]") {
  LONGTAIL_REQUIRE_GPU();
  std::vector<float> ts;
  for (int i = 1; i <= 200000; ++i) ts.push_back(float(i / 200000.0));
  for (int e = 1; e <= 126; ++e) ts.push_back(float(std::ldexp(1.3, -e)));
  ts.push_back(std::numeric_limits<float>::min());
  ts.push_back(0.0f);
  ts.push_back(std::numeric_limits<float>::quiet_NaN());
  const auto n = static_cast<std::int64_t>(ts.size());
  DeviceBuffer<float> d_t(ts), d_log(ts.size()), d_rec(ts.size());
  log1p_reciprocal_kernel<<<(n + 255) / 256, 256>>>(d_t.get(), n, d_log.get(), d_rec.get());
  CUDA_REQUIRE(cudaGetLastError());
  const std::vector<float> l = d_log.download(), r = d_rec.download();
  double worst_log = 0, worst_recip = 0;
  for (std::size_t i = 0; i + 2 < ts.size(); ++i) {
    worst_log = std::max(worst_log, ulps(l[i], std::log1p((long double)ts[i])));
    worst_recip = std::max(worst_recip, ulps(r[i], 1.0L / (1.0L + ts[i])));
  }
  INFO("largest error: log1p " << worst_log << " ulp, 1/(1+t) " << worst_recip << " ulp");
  // A host run of the formula with w moved 1 ulp either way (the most the device reciprocal can
  // be off) peaks at 3.7 ulp (log1p) and 2.4 ulp (1/(1+t)); exact w: 2.9 and 1.4.
  CHECK(worst_log <= 4.0);
  CHECK(worst_recip <= 3.0);
  CHECK(l[ts.size() - 2] == 0.0f);
  CHECK(r[ts.size() - 2] == 1.0f);
  CHECK(std::isnan(l.back()));
  CHECK(std::isnan(r.back()));
}

TEST_CASE("cuda device math: logit_terms is within a few ulp for every logit", "[cuda][gpu][math]") {
  LONGTAIL_REQUIRE_GPU();
  std::vector<float> xs;
  for (double v = -100; v <= 100; v += 0.0137) xs.push_back(float(v));
  for (float v :
       {0.0f, -0.0f, 1e-30f, -1e-30f, 1e-8f, -1e-8f, 88.0f, -88.0f, 104.0f, -104.0f, 1e4f, -1e4f, 3e38f, -3e38f})
    xs.push_back(v);
  const auto n = static_cast<std::int64_t>(xs.size());
  DeviceBuffer<float> d_x(xs), d_out(4 * xs.size());
  logit_terms_kernel<<<(n + 255) / 256, 256>>>(d_x.get(), n, d_out.get());
  CUDA_REQUIRE(cudaGetLastError());
  const std::vector<float> out = d_out.download();
  const long double tiny = std::numeric_limits<float>::min();
  double worst = 0;
  std::int64_t bad = 0;
  for (std::int64_t i = 0; i < n; ++i) {
    const long double x = xs[i];
    const long double want[4] = {1.0L / (1.0L + std::exp(-x)), 1.0L / (1.0L + std::exp(x)), softplus_ld(x),
                                 softplus_ld(-x)};
    for (int k = 0; k < 4; ++k) {
      const float got = out[4 * i + k];
      if (std::abs((long double)got - want[k]) <= tiny) continue;  // underflowed in float
      const double u = ulps(got, want[k]);
      worst = std::max(worst, u);
      // expf is within 2 ulp (CUDA C++ Programming Guide), the reciprocal 3, their product p or q
      // 5.5 before rounding.
      if (!(u <= 6.0) && bad++ == 0)
        FAIL_CHECK("x = " << xs[i] << " field " << k << ": " << got << " vs " << double(want[k]));
    }
  }
  INFO("largest error " << worst << " ulp");
  CHECK(bad == 0);
}
