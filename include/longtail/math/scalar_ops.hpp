// SPDX-License-Identifier: Apache-2.0
#pragma once
// The elementary operations the math core is written in, for plain float and double. The CPU
// functors supply the same names for SIMD packets (cpu/packet.hpp), found by argument-dependent
// lookup, so every formula in math/ is written once and evaluated on scalars (CUDA, scalar
// fallbacks) and on packets (CPU) alike.

#include <math.h>

#include "longtail/config.hpp"
#include "longtail/math/log1p_unit.hpp"

namespace longtail::math {

// ::expf and friends are host+device under nvcc and plain libm on the host.
LONGTAIL_HD float exp(float v) { return ::expf(v); }
LONGTAIL_HD double exp(double v) { return ::exp(v); }
LONGTAIL_HD float log(float v) { return ::logf(v); }
LONGTAIL_HD double log(double v) { return ::log(v); }
LONGTAIL_HD float log1p(float v) { return ::log1pf(v); }
LONGTAIL_HD double log1p(double v) { return ::log1p(v); }
/// For t in [0, 1] (the core only needs t = exp(-|x|)): log1p(t) and 1 / (1 + t) together,
/// sharing one reciprocal (math/log1p_unit.hpp; the SIMD packets run the same formula).
LONGTAIL_HD Log1pReciprocal<float> log1p_and_reciprocal(float t) { return log1p_and_reciprocal_unit(t); }
LONGTAIL_HD Log1pReciprocal<double> log1p_and_reciprocal(double t) { return log1p_and_reciprocal_unit(t); }
/// e^v for v <= 0 (or NaN), all the core ever exponentiates; SIMD versions may skip the
/// overflow handling.
LONGTAIL_HD float exp_nonpositive(float v) { return ::expf(v); }
LONGTAIL_HD double exp_nonpositive(double v) { return ::exp(v); }
LONGTAIL_HD float abs(float v) { return ::fabsf(v); }
LONGTAIL_HD double abs(double v) { return ::fabs(v); }
/// -|v| (one OR of the sign bit on SIMD packets).
LONGTAIL_HD float neg_abs(float v) { return -::fabsf(v); }
LONGTAIL_HD double neg_abs(double v) { return -::fabs(v); }
// max(NaN, 0) may be 0; the core always adds a NaN-propagating term (log1p(exp(-|x|))) to it.
LONGTAIL_HD float max(float a, float b) { return a > b ? a : b; }
LONGTAIL_HD double max(double a, double b) { return a > b ? a : b; }
LONGTAIL_HD float select(bool c, float a, float b) { return c ? a : b; }
LONGTAIL_HD double select(bool c, double a, double b) { return c ? a : b; }

}  // namespace longtail::math
