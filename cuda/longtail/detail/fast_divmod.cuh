// SPDX-License-Identifier: Apache-2.0
#pragma once
// Division of 64-bit element indices by the column count without a 64-bit divide instruction
// (GPUs have none: nvcc emits a ~70-instruction subroutine). The divisor is fixed per launch, so
// the host precomputes a "magic" multiplier once and the device divides with one 64x64->128
// high multiply, a subtraction, an add and two shifts (Granlund & Montgomery 1994, "Division by
// invariant integers using multiplication", figure 4.1, the round-up variant that is exact for
// every 64-bit dividend and every divisor 1 <= d < 2^64):
//   l  = ceil(log2 d),  m = floor(2^64 (2^l - d) / d) + 1   (fits in 64 bits)
//   t  = mulhi(m, n),   q = (t + ((n - t) >> min(l, 1))) >> max(l - 1, 0)

#include <cstdint>

#include "longtail/config.hpp"

namespace longtail::cuda::detail {

/// High 64 bits of the 128-bit product a * b.
LONGTAIL_HD std::uint64_t mulhi64(std::uint64_t a, std::uint64_t b) {
#if defined(__CUDA_ARCH__)
  return __umul64hi(a, b);
#else
  const std::uint64_t a_lo = a & 0xffffffffu, a_hi = a >> 32, b_lo = b & 0xffffffffu, b_hi = b >> 32;
  const std::uint64_t lo_lo = a_lo * b_lo, hi_lo = a_hi * b_lo, lo_hi = a_lo * b_hi, hi_hi = a_hi * b_hi;
  const std::uint64_t cross = (lo_lo >> 32) + (hi_lo & 0xffffffffu) + lo_hi;  // < 3 * 2^32, no overflow
  return hi_hi + (hi_lo >> 32) + (cross >> 32);
#endif
}

struct FastDivmod {
  std::uint64_t divisor = 1;
  std::uint64_t multiplier = 1;
  unsigned shift1 = 0, shift2 = 0;

  /// Host-side setup for a divisor d >= 1.
  static FastDivmod make(std::uint64_t d) {
    FastDivmod f;
    f.divisor = d;
    unsigned l = 0;
    while (l < 64 && (std::uint64_t(1) << l) < d) ++l;  // l = ceil(log2 d)
    // m - 1 = floor(2^64 * r / d) with r = 2^l - d < d: long division of the 128-bit (r, 0) by d,
    // one quotient bit a step (host only, once per launch). For l = 64, 2^l - d wraps to the
    // right value modulo 2^64.
    const std::uint64_t r0 = (l == 64 ? std::uint64_t(0) : (std::uint64_t(1) << l)) - d;
    std::uint64_t rem = r0, quot = 0;
    for (int bit = 0; bit < 64; ++bit) {
      const bool carry = (rem >> 63) != 0;  // rem < d < 2^64: the shifted value may need 65 bits
      rem <<= 1;
      quot <<= 1;
      if (carry || rem >= d) {
        rem -= d;
        quot |= 1;
      }
    }
    f.multiplier = quot + 1;
    f.shift1 = l < 1 ? l : 1;
    f.shift2 = l > 1 ? l - 1 : 0;
    return f;
  }

  LONGTAIL_HD std::uint64_t div(std::uint64_t n) const {
    const std::uint64_t t = mulhi64(multiplier, n);
    return (t + ((n - t) >> shift1)) >> shift2;
  }

  /// n = quotient * divisor + remainder.
  LONGTAIL_HD void divmod(std::uint64_t n, std::uint64_t& quotient, std::uint64_t& remainder) const {
    quotient = div(n);
    remainder = n - quotient * divisor;
  }
};

}  // namespace longtail::cuda::detail
