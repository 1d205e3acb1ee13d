// SPDX-License-Identifier: Apache-2.0
#pragma once
// log1p(t) and 1 / (1 + t) for t in [0, 1], the only logarithm and the only division the core
// needs (t = exp(-|x|), math/logit_terms.hpp). One formula for every value type: plain float and
// double (the CUDA kernels, host replays) and SIMD packets (cpu/packet.hpp), which supply the
// two primitives it is written in, found by argument-dependent lookup:
//   mul_add(a, b, c)       a * b + c with one rounding (FMA)
//   reciprocal_2_to_6(d)   1 / d for d in [2, 6], correctly rounded or within 1 ulp of it
//
// The two results share one reciprocal:
//   w = 1 / ((1 + t)(2 + t)),   1 / (1 + t) = (2 + t) w,   s = t / (2 + t) = t (1 + t) w,
//   log1p(t) = 2 atanh(s) = 2 s g(z),  z = s^2 in [0, 1/9],  g(z) = atanh(sqrt z) / sqrt z.
// float: g by its degree-4 polynomial of minimax relative error 4.0e-9 on [0, 1/9] (Remez,
// tools/fit_polynomials.py; the series 1 + z/3 + z^2/5 + ... needs degree 6 for 1.4e-8), the
// factor 2 folded into the coefficients, Estrin's scheme. double: the series to z^15 (first
// omitted term below 1.7e-17 relative). The error is then that of s and w, a few ulp: largest
// relative error in a 2M-point sweep over (0, 1]: 3.4e-7 (float) and 5.9e-16 (double),
// tests/cpu/test_math_core.cpp. No frexp, no range reduction, no special cases (the domain has
// no 0 divisor, negatives, infinities or denormals); NaN propagates. Several times faster than
// Eigen's general plog1p on the CPU, and ~15 instructions on a GPU where CUDA's accurate log1pf
// and IEEE division took ~60 plus their slow-path branches (bench/cuda/README.md).

#include <math.h>

#include "longtail/config.hpp"

namespace longtail::math {

// ---- the primitives for plain float and double ----

LONGTAIL_HD float mul_add(float a, float b, float c) { return ::fmaf(a, b, c); }
LONGTAIL_HD double mul_add(double a, double b, double c) { return ::fma(a, b, c); }

/// 1 / d for d in [2, 6]. On the GPU: the hardware approximation (rcp.approx, at most 1 ulp off
/// per the PTX ISA) refined by one Newton step r + r (1 - d r) in FMAs, 3 instructions; the
/// domain needs none of the special-case handling (denormals, overflow) that makes CUDA's IEEE
/// division a ~10-instruction sequence with a slow-path branch. The step leaves about 2^-46
/// relative error before the final rounding: correctly rounded, or 1 ulp off when 1/d lies
/// within that of a rounding midpoint (tests/cuda compares every float in [2, 6] to 1 / d).
/// On the host: the IEEE division.
LONGTAIL_HD float reciprocal_2_to_6(float d) {
#if defined(__CUDA_ARCH__)
  float r;
  asm("rcp.approx.ftz.f32 %0, %1;" : "=f"(r) : "f"(d));
  return ::fmaf(r, ::fmaf(-d, r, 1.0f), r);
#else
  return 1.0f / d;
#endif
}
LONGTAIL_HD double reciprocal_2_to_6(double d) { return 1.0 / d; }

// ---- the formula ----

template <class S>
struct Log1pReciprocal {
  S log1p, reciprocal;
};

/// The scalar type of a value type (packets specialise it).
template <class V>
struct scalar_of {
  using type = V;
};

/// sum_{k=K..15} 2 z^(k-K) / (2k + 1) by Horner's rule from k = 15 down (the double series:
/// 2 atanh(s) / s = sum 2 z^k / (2k + 1), z = s^2). Each coefficient is a constant expression of
/// the template argument: no table for device code to reach (a namespace-scope array is host
/// memory; nvcc compiles the device side of every instantiation, also the CPU's double one, when
/// a .cu file includes the CPU library) and nothing computed at run time (a coefficient computed
/// from a loop index was evaluated at run time wherever the compiler did not unroll: this once
/// halved the double kernels' speed). The same operations in the same order as a loop.
LONGTAIL_HD_TEMPLATE
template <class V, class S, int K>
LONGTAIL_HD V atanh_series_tail(V z) {
  constexpr S coefficient = S(2.0 / (2 * K + 1));
  if constexpr (K == 15) {
    return V(coefficient);
  } else {
    return mul_add(atanh_series_tail<V, S, K + 1>(z), z, V(coefficient));
  }
}

LONGTAIL_HD_TEMPLATE
template <class V>
LONGTAIL_HD Log1pReciprocal<V> log1p_and_reciprocal_unit(V t) {
  using S = typename scalar_of<V>::type;
  const V u1 = V(S(1)) + t, u2 = V(S(2)) + t;
  const V w = reciprocal_2_to_6(u1 * u2);
  const V s = t * u1 * w;
  const V z = s * s;
  V g2;  // 2 g(z)
  if constexpr (sizeof(S) == sizeof(float)) {
    const V z2 = z * z;
    const V c01 = mul_add(V(S(2 * 0.3333315734095137492884f)), z, V(S(2 * 1.000000003960523531324f)));
    const V c23 = mul_add(V(S(2 * 0.1398030135441023718044f)), z, V(S(2 * 0.2001245514273012156284f)));
    g2 = mul_add(mul_add(V(S(2 * 0.1408916755241142957649f)), z2, c23), z2, c01);
  } else {
    g2 = atanh_series_tail<V, S, 0>(z);
  }
  return {s * g2, u2 * w};
}

}  // namespace longtail::math
