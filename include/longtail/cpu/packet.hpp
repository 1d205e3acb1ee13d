// SPDX-License-Identifier: Apache-2.0
#pragma once
// A thin value type over Eigen's SIMD packets that provides the operations of
// math/scalar_ops.hpp, so the math core's formulas run unchanged on 4/8/16 lanes. No -ffast-math
// needed; every function below is accurate to about 1 ulp (exp) or a few ulp (log1p):
//   exp     AVX-512: own reduction + minimax polynomial + vscalef (exp_avx512); otherwise float:
//           Eigen's pexp, double: division-free Taylor form (exp_packet)
//   plog    Eigen's (Cephes-style), only for the ASL margin term (log1p: plog with Goldberg's
//           correction)
//   log1p_and_reciprocal  log1p(t) and 1/(1+t) on t in [0, 1] (all the core needs), see below
// Why not Eigen's pexp/plog1p everywhere: the fused kernels are bound by the latency of one
// element's chain (exp -> division -> log1p -> loss) times the out-of-order window, not by
// arithmetic throughput, so shorter chains and fewer instructions per packet are what counts
// (bench/README.md has the measurements).

#include <array>
#include <type_traits>

#include <Eigen/Core>

#include "longtail/cpu/simd_abi.hpp"

#include "longtail/math/scalar_ops.hpp"

#include <cstdint>
#include <cstring>

#if defined(__AVX2__) || defined(__AVX512F__)
#include <immintrin.h>
#endif

LONGTAIL_CPU_NAMESPACE_BEGIN
namespace detail {

namespace ei = Eigen::internal;

template <class Scalar>
using RawPacket = typename ei::packet_traits<Scalar>::type;

/// Lane count of the widest packet Eigen uses for Scalar on this target (1 when not vectorised:
/// then Eigen's generic packet functions act on plain scalars and everything below still works).
template <class Scalar>
inline constexpr int packet_size = ei::unpacket_traits<RawPacket<Scalar>>::size;

template <class Scalar>
struct Packet;
template <bool NonPositive, class Scalar>
Packet<Scalar> exp_packet(Packet<Scalar> x);

/// How lane-wise comparisons and selects are done. Generic: Eigen's convention, a packet with all
/// bits set in the lanes where the comparison holds.
template <class Scalar, class = void>
struct MaskOps {
  using Raw = RawPacket<Scalar>;
  using Bits = Raw;
  static Bits ge(Raw a, Raw b) { return ei::pcmp_le(b, a); }
  static Bits gt(Raw a, Raw b) { return ei::pcmp_lt(b, a); }
  static Raw select(Bits m, Raw a, Raw b) { return ei::pselect(m, a, b); }
  /// Lanes [first, count) set.
  static Bits lanes(int first, int count) {
    alignas(64) Scalar buf[packet_size<Scalar>];
    for (int k = 0; k < packet_size<Scalar>; ++k) buf[k] = k >= first && k < count ? Scalar(1) : Scalar(0);
    return gt(ei::pload<Raw>(buf), ei::pset1<Raw>(Scalar(0)));
  }
  /// Writes lanes [first, count) of v to to[first .. count), nothing else.
  static void store(Scalar* to, Raw v, int first, int count) {
    alignas(64) Scalar buf[packet_size<Scalar>];
    ei::pstore(buf, v);
    for (int k = first; k < count; ++k) to[k] = buf[k];
  }
};

#if defined(__AVX512F__)
/// AVX-512 compares into a k-register and blends from one. Eigen's pcmp_* widen the k-mask to a
/// vector and its pselect compares it back into a k-mask: two extra instructions per select,
/// several per element in the core. Ordered predicates: NaN compares false, as in Eigen.
template <class Scalar>
struct MaskOps<Scalar, std::enable_if_t<std::is_same_v<Scalar, float> && packet_size<Scalar> == 16>> {
  using Raw = __m512;
  using Bits = __mmask16;
  static Bits ge(Raw a, Raw b) { return _mm512_cmp_ps_mask(a, b, _CMP_GE_OQ); }
  static Bits gt(Raw a, Raw b) { return _mm512_cmp_ps_mask(a, b, _CMP_GT_OQ); }
  static Raw select(Bits m, Raw a, Raw b) { return _mm512_mask_blend_ps(m, b, a); }
  static Bits lanes(int first, int count) { return Bits(((1u << count) - 1u) & ~((1u << first) - 1u)); }
  static void store(float* to, Raw v, int first, int count) { _mm512_mask_storeu_ps(to, lanes(first, count), v); }
};
template <class Scalar>
struct MaskOps<Scalar, std::enable_if_t<std::is_same_v<Scalar, double> && packet_size<Scalar> == 8>> {
  using Raw = __m512d;
  using Bits = __mmask8;
  static Bits ge(Raw a, Raw b) { return _mm512_cmp_pd_mask(a, b, _CMP_GE_OQ); }
  static Bits gt(Raw a, Raw b) { return _mm512_cmp_pd_mask(a, b, _CMP_GT_OQ); }
  static Raw select(Bits m, Raw a, Raw b) { return _mm512_mask_blend_pd(m, b, a); }
  static Bits lanes(int first, int count) { return Bits(((1u << count) - 1u) & ~((1u << first) - 1u)); }
  static void store(double* to, Raw v, int first, int count) { _mm512_mask_storeu_pd(to, lanes(first, count), v); }
};
#endif

/// Result of a lane-wise comparison (MaskOps decides the representation).
template <class Scalar>
struct PacketMask {
  typename MaskOps<Scalar>::Bits bits;
};

template <class Scalar>
struct Packet {
  using Raw = RawPacket<Scalar>;
  static constexpr int size = packet_size<Scalar>;
  Raw v;

  Packet() = default;
  explicit Packet(Scalar s) : v(ei::pset1<Raw>(s)) {}
  static Packet raw(Raw r) {
    Packet p;
    p.v = r;
    return p;
  }
  static Packet load(const Scalar* from) { return raw(ei::ploadu<Raw>(from)); }
  void store(Scalar* to) const { ei::pstoreu(to, v); }
  /// Stores lanes [first, count) only, to to[first .. count) (AVX-512: one masked store).
  void store_lanes(Scalar* to, int first, int count) const { MaskOps<Scalar>::store(to, v, first, count); }
  /// The mask of lanes [first, count).
  static PacketMask<Scalar> lanes(int first, int count) { return {MaskOps<Scalar>::lanes(first, count)}; }
  Scalar sum() const { return ei::predux(v); }

  friend Packet operator+(Packet a, Packet b) { return raw(ei::padd(a.v, b.v)); }
  friend Packet operator-(Packet a, Packet b) { return raw(ei::psub(a.v, b.v)); }
  friend Packet operator*(Packet a, Packet b) { return raw(ei::pmul(a.v, b.v)); }
  friend Packet operator/(Packet a, Packet b) { return raw(ei::pdiv(a.v, b.v)); }
  friend Packet operator-(Packet a) { return raw(ei::pnegate(a.v)); }
  friend PacketMask<Scalar> operator>=(Packet a, Packet b) { return {MaskOps<Scalar>::ge(a.v, b.v)}; }
  friend PacketMask<Scalar> operator>(Packet a, Packet b) { return {MaskOps<Scalar>::gt(a.v, b.v)}; }

  friend Packet exp(Packet a) { return exp_packet<false>(a); }
  friend Packet exp_nonpositive(Packet a) { return exp_packet<true>(a); }
  friend Packet neg_abs(Packet a) { return raw(ei::por(a.v, ei::pset1<Raw>(Scalar(-0.0)))); }
  friend Packet log(Packet a) { return raw(ei::plog(a.v)); }
  /// log(1 + a) for a > -1 (the ASL margin term's log1p(-p_m)) from Eigen's log with Goldberg's
  /// correction: u = 1 + a rounded, log1p(a) = log(u) * a / (u - 1), where u - 1 is exact, so the
  /// rounding of 1 + a cancels to first order; a itself where 1 + a rounds to 1. A few ulp.
  friend Packet log1p(Packet a) {
    const Packet one(Scalar(1)), zero(Scalar(0));
    const Packet u = one + a, d = u - one;
    return select(abs(d) > zero, log(u) * (a / d), a);
  }
  friend math::Log1pReciprocal<Packet> log1p_and_reciprocal(Packet t) { return math::log1p_and_reciprocal_unit(t); }
  friend Packet mul_add(Packet a, Packet b, Packet c) { return raw(ei::pmadd(a.v, b.v, c.v)); }
  friend Packet abs(Packet a) { return raw(ei::pabs(a.v)); }
  friend Packet max(Packet a, Packet b) { return raw(ei::pmax(a.v, b.v)); }
  friend Packet select(PacketMask<Scalar> m, Packet a, Packet b) {
    return raw(MaskOps<Scalar>::select(m.bits, a.v, b.v));
  }
};

}  // namespace detail
LONGTAIL_CPU_NAMESPACE_END

namespace longtail::math {
template <class Scalar>
struct scalar_of<cpu::detail::Packet<Scalar>> {
  using type = Scalar;
};
}  // namespace longtail::math

LONGTAIL_CPU_NAMESPACE_BEGIN
namespace detail {

/// x = n ln 2 + r with integral n = round(x / ln 2) and |r| <= ln(2)/2, ln 2 in two parts
/// (Cody-Waite; the high parts have few significant bits, so n * hi is exact for every n exp can
/// reach and, with the FMA, r carries no rounding from the reduction beyond the lo term's).
template <class Scalar>
struct ExpReduced {
  Packet<Scalar> n, r;
};

template <class Scalar>
inline ExpReduced<Scalar> exp_reduce(Packet<Scalar> x) {
  using V = Packet<Scalar>;
  constexpr bool F = std::is_same_v<Scalar, float>;
  const V log2e(Scalar(1.44269504088896340736)), half(Scalar(0.5));
  const V minus_ln2_hi(F ? Scalar(-0.693359375f) : Scalar(-6.93145751953125e-1));
  const V minus_ln2_lo(F ? Scalar(2.12194440e-4f) : Scalar(-1.42860682030941723212e-6));
  const V n = V::raw(ei::pfloor(ei::pmadd(x.v, log2e.v, half.v)));
  V r = V::raw(ei::pmadd(n.v, minus_ln2_hi.v, x.v));
  r = V::raw(ei::pmadd(n.v, minus_ln2_lo.v, r.v));
  return {n, r};
}

/// Polynomial coefficients as compile-time tables: a coefficient written as an expression of the
/// loop index (1 / k!) was evaluated at run time, divisions and all, wherever the
/// compiler did not unroll the loop (this halved the double kernels' speed once).
template <int N>
constexpr std::array<double, N + 1> inverse_factorials() {
  std::array<double, N + 1> c{};
  c[0] = 1.0;
  for (int k = 1; k <= N; ++k) c[k] = c[k - 1] / k;
  return c;
}

/// e^r for |r| <= ln(2)/2 (plus rounding), no division, no table.
/// float: e^r = 1 + r + r^2 q(r) with q the degree-4 polynomial of minimax relative error
/// (1.24e-7 in q, Remez exchange in 50-digit arithmetic, tools/fit_polynomials.py), so e^r is off
/// by at most 0.125 * 0.5 * 1.24e-7 = 7.8e-9 relative before rounding (a Taylor polynomial needs
/// degree 7 for that). Evaluated in Estrin's scheme (powers r^2, r^4 beside the pairs): a chain
/// 4 operations deep instead of Horner's 6. Largest error in a 2M-point sweep over [-110, 89]
/// against long double: 0.99 ulp (tests/cpu/test_math_core.cpp).
/// double: the Taylor polynomial to degree 13 (first omitted term below 4e-18 relative).
template <class Scalar>
inline Packet<Scalar> exp_polynomial(Packet<Scalar> r) {
  using V = Packet<Scalar>;
  auto fma = [](V a, V b, V c) { return V::raw(ei::pmadd(a.v, b.v, c.v)); };
  const V one(Scalar(1));
  if constexpr (std::is_same_v<Scalar, float>) {
    const V r2 = r * r, r4 = r2 * r2;
    const V c01 = fma(V(0.1666657731993814575f), r, V(0.49999999552859670551f));
    const V c23 = fma(V(0.0083631403795553217584f), r, V(0.041666853345628252246f));
    const V q = fma(V(0.0013901285063337511387f), r4, fma(c23, r2, c01));
    return fma(q, r2, r + one);
  } else {
    constexpr int degree = 13;
    constexpr std::array<double, degree + 1> c = inverse_factorials<degree>();
    V p{Scalar(c[degree])};
    for (int k = degree - 1; k >= 0; --k) p = fma(p, r, V(Scalar(c[k])));
    return p;
  }
}

#if defined(__AVX512F__)
/// exp on AVX-512: reduction and polynomial as above, then vscalefps/pd multiplies by 2^n
/// in one instruction, exactly, with IEEE overflow to inf and gradual underflow to denormals and
/// 0, so no exponent-field arithmetic and no clamping of n are needed (Eigen's generic pldexp
/// splits the scaling into four multiplies to stay in range: ~15 instructions of a ~30-instruction
/// pexp). The clamp only keeps n finite: exp(lo) is already 0 and exp(hi) already inf. vmaxps /
/// vminps return their second operand when either is NaN, so NaN passes through; -inf gives 0,
/// +inf gives inf.
/// NonPositive: the caller promises x <= 0 or NaN, so the upper clamp is skipped.
template <bool NonPositive, class Scalar>
inline Packet<Scalar> exp_avx512(Packet<Scalar> x) {
  using V = Packet<Scalar>;
  if constexpr (std::is_same_v<Scalar, float>) {
    x = V::raw(_mm512_max_ps(_mm512_set1_ps(-110.0f), x.v));
    if constexpr (!NonPositive) x = V::raw(_mm512_min_ps(_mm512_set1_ps(89.0f), x.v));
    const ExpReduced<Scalar> red = exp_reduce(x);
    return V::raw(_mm512_scalef_ps(exp_polynomial(red.r).v, red.n.v));
  } else {
    x = V::raw(_mm512_max_pd(_mm512_set1_pd(-760.0), x.v));
    if constexpr (!NonPositive) x = V::raw(_mm512_min_pd(_mm512_set1_pd(710.0), x.v));
    const ExpReduced<Scalar> red = exp_reduce(x);
    return V::raw(_mm512_scalef_pd(exp_polynomial(red.r).v, red.n.v));
  }
}
#endif

/// exp. With AVX-512, exp_avx512 above. Otherwise, float: Eigen's pexp (Cephes-style, ~1 ulp);
/// double: Eigen's pexp_double evaluates a Pade approximant with a division, and 512-bit double
/// division is very slow on some cores, so doubles use the division-free exp_polynomial.
/// Below the underflow threshold both return 0, as libm does (to within denormals): Eigen's pexp
/// clamps its argument and returns exp(clamp), ~2.9e-39 (float), for anything below, and the core
/// multiplies terms derived from exp(-|x|) by |x| (p * softplus(-x) in the focal gradient), so that
/// floor became an O(1) gradient error for |x| > ~1e31. NaN compares false and stays NaN.
template <bool NonPositive, class Scalar>
inline Packet<Scalar> exp_packet(Packet<Scalar> x) {
  using V = Packet<Scalar>;
#if defined(__AVX512F__)
  if constexpr (sizeof(typename V::Raw) == 64) return exp_avx512<NonPositive>(x);
#endif
  const auto below = V(std::is_same_v<Scalar, float> ? Scalar(-88.72f) : Scalar(-745.13)) > x;
  if constexpr (std::is_same_v<Scalar, double>) {
    x = V::raw(ei::pmin(ei::pmax(x.v, V(-745.1332191019412).v), V(710.0).v));  // 710: 2^1024 = inf
    const ExpReduced<Scalar> red = exp_reduce(x);
    return select(below, V(Scalar(0)), V::raw(ei::pldexp(exp_polynomial(red.r).v, red.n.v)));
  } else {
    return select(below, V(Scalar(0)), V::raw(ei::pexp(x.v)));
  }
}

/// One full packet of bytes (uint8 targets or masks) converted to Scalar. With AVX2 / AVX-512 one
/// zero-extending load and one convert; the generic loop otherwise (the compiler's own version
/// of it bounced through the stack, a store-forwarding stall per packet).
template <class Scalar>
inline Packet<Scalar> load_bytes_as(const std::uint8_t* p) {
  using V = Packet<Scalar>;
#if defined(__AVX512F__)
  if constexpr (std::is_same_v<Scalar, float> && V::size == 16) {
    return V::raw(_mm512_cvtepi32_ps(_mm512_cvtepu8_epi32(_mm_loadu_si128(reinterpret_cast<const __m128i*>(p)))));
  } else if constexpr (std::is_same_v<Scalar, double> && V::size == 8) {
    return V::raw(_mm512_cvtepi32_pd(_mm256_cvtepu8_epi32(_mm_loadl_epi64(reinterpret_cast<const __m128i*>(p)))));
  }
#endif
#if defined(__AVX2__)
  if constexpr (std::is_same_v<Scalar, float> && V::size == 8) {
    return V::raw(_mm256_cvtepi32_ps(_mm256_cvtepu8_epi32(_mm_loadl_epi64(reinterpret_cast<const __m128i*>(p)))));
  } else if constexpr (std::is_same_v<Scalar, double> && V::size == 4) {
    std::int32_t four;
    std::memcpy(&four, p, 4);
    return V::raw(_mm256_cvtepi32_pd(_mm_cvtepu8_epi32(_mm_cvtsi32_si128(four))));
  }
#endif
  alignas(64) Scalar buf[V::size];
  for (int k = 0; k < V::size; ++k) buf[k] = static_cast<Scalar>(p[k]);
  return V::load(buf);
}

/// 1 / d for d in [2, 6] (what math::log1p_and_reciprocal_unit needs). A 512-bit double division
/// is very slow on some cores (measured ~27 cycles a packet here, the largest cost of the whole
/// double kernel), so with AVX-512 doubles use vrcp14pd (relative error < 2^-14) refined by two
/// Newton steps r <- r + r (1 - d r) (error squares each step: < 2^-56, then rounding). Float
/// division is cheap and exact.
template <class Scalar>
Packet<Scalar> reciprocal_2_to_6(Packet<Scalar> d) {
  using V = Packet<Scalar>;
#if defined(__AVX512F__)
  if constexpr (std::is_same_v<Scalar, double> && V::size == 8) {
    const V one(1.0);
    V r = V::raw(_mm512_rcp14_pd(d.v));
    r = r + r * (one - d * r);
    r = r + r * (one - d * r);
    return r;
  }
#endif
  return V(Scalar(1)) / d;
}

}  // namespace detail
LONGTAIL_CPU_NAMESPACE_END
