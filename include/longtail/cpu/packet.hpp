// SPDX-License-Identifier: Apache-2.0
#pragma once
// A thin value type over Eigen's SIMD packets that provides the operations of
// math/scalar_ops.hpp, so the math core's formulas run unchanged on 4/8/16 lanes. Transcendentals
// are Eigen's packet functions (no -ffast-math needed):
//   exp     float: Eigen's pexp (Cephes-style, ~1 ulp); double: division-free Taylor form, see exp_packet
//   plog    float/double: Cephes-style, ~1 ulp
//   log1p_and_reciprocal  log1p(t) and 1/(1+t) on t in [0, 1] (all the core needs), see below

#include <type_traits>

#include <Eigen/Core>

#include "longtail/math/scalar_ops.hpp"

#include <cstdint>
#include <cstring>

#if defined(__AVX2__) || defined(__AVX512F__)
#include <immintrin.h>
#endif

namespace longtail::cpu::detail {

namespace ei = Eigen::internal;

template <class Scalar>
using RawPacket = typename ei::packet_traits<Scalar>::type;

/// Lane count of the widest packet Eigen uses for Scalar on this target (1 when not vectorised:
/// then Eigen's generic packet functions act on plain scalars and everything below still works).
template <class Scalar>
inline constexpr int packet_size = ei::unpacket_traits<RawPacket<Scalar>>::size;

template <class Scalar>
struct Packet;

/// Result of a lane-wise comparison: all bits set in the lanes where it holds.
template <class Scalar>
struct PacketMask {
  RawPacket<Scalar> bits;
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
  Scalar sum() const { return ei::predux(v); }

  friend Packet operator+(Packet a, Packet b) { return raw(ei::padd(a.v, b.v)); }
  friend Packet operator-(Packet a, Packet b) { return raw(ei::psub(a.v, b.v)); }
  friend Packet operator*(Packet a, Packet b) { return raw(ei::pmul(a.v, b.v)); }
  friend Packet operator/(Packet a, Packet b) { return raw(ei::pdiv(a.v, b.v)); }
  friend Packet operator-(Packet a) { return raw(ei::pnegate(a.v)); }
  friend PacketMask<Scalar> operator>=(Packet a, Packet b) { return {ei::pcmp_le(b.v, a.v)}; }
  friend PacketMask<Scalar> operator>(Packet a, Packet b) { return {ei::pcmp_lt(b.v, a.v)}; }

  friend Packet exp(Packet a) { return exp_packet(a); }
  friend Packet log(Packet a) { return raw(ei::plog(a.v)); }
  friend math::Log1pReciprocal<Packet> log1p_and_reciprocal(Packet t) { return log1p_and_reciprocal_unit(t); }
  friend Packet abs(Packet a) { return raw(ei::pabs(a.v)); }
  friend Packet max(Packet a, Packet b) { return raw(ei::pmax(a.v, b.v)); }
  friend Packet select(PacketMask<Scalar> m, Packet a, Packet b) { return raw(ei::pselect(m.bits, a.v, b.v)); }
};

/// exp. float: Eigen's pexp (Cephes-style, ~1 ulp). double: Eigen's pexp_double evaluates a Pade
/// approximant with a division, and 512-bit double division is very slow on some cores (~27
/// cycles a packet measured here), so doubles use a division-free form: n = round(x / ln 2),
/// r = x - n ln 2 in two parts (|r| <= 0.347), e^r by its Taylor polynomial to degree 13 (the
/// first omitted term is below 4e-18 relative), then the exact scaling by 2^n (Eigen's pldexp).
/// Below the underflow threshold both return 0, as libm does (to within denormals): Eigen's pexp
/// clamps its argument and returns exp(clamp), ~2.9e-39 (float), for anything below, and the core
/// multiplies terms derived from exp(-|x|) by |x| (p * softplus(-x) in the focal gradient), so that
/// floor became an O(1) gradient error for |x| > ~1e31. NaN compares false and stays NaN.
template <class Scalar>
inline Packet<Scalar> exp_packet(Packet<Scalar> x) {
  using V = Packet<Scalar>;
  const auto below = V(std::is_same_v<Scalar, float> ? Scalar(-88.72f) : Scalar(-745.13)) > x;
  return select(below, V(Scalar(0)), exp_unclamped(x));
}

template <class Scalar>
inline Packet<Scalar> exp_unclamped(Packet<Scalar> x) {
  using V = Packet<Scalar>;
  if constexpr (std::is_same_v<Scalar, double>) {
    const V one(1.0);
    x = V::raw(ei::pmin(ei::pmax(x.v, V(-745.1332191019412).v), V(709.782712893384).v));
    const V n = V::raw(ei::pfloor((x * V(1.4426950408889634) + V(0.5)).v));
    V r = x - n * V(6.93145751953125e-1);
    r = r - n * V(1.42860682030941723212e-6);
    // Horner over 1/k!, k = 13 .. 2, then 1 + r (1 + r p).
    constexpr double inv_fact[14] = {1.0, 1.0, 1.0 / 2, 1.0 / 6, 1.0 / 24, 1.0 / 120, 1.0 / 720, 1.0 / 5040,
                                     1.0 / 40320, 1.0 / 362880, 1.0 / 3628800, 1.0 / 39916800,
                                     1.0 / 479001600, 1.0 / 6227020800.0};
    V p(inv_fact[13]);
    for (int k = 12; k >= 1; --k) p = p * r + V(inv_fact[k]);
    p = p * r + one;
    return V::raw(ei::pldexp(p.v, n.v));
  } else {
    return V::raw(ei::pexp(x.v));
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

/// 1 / d for d in [1, 6] (what log1p_and_reciprocal_unit needs). A 512-bit double division is
/// very slow on some cores (measured ~27 cycles a packet here, the largest cost of the whole
/// double kernel), so with AVX-512 doubles use vrcp14pd (relative error < 2^-14) refined by two
/// Newton steps r <- r + r (1 - d r) (error squares each step: < 2^-56, then rounding). Float
/// division is cheap and exact.
template <class Scalar>
Packet<Scalar> reciprocal_1_to_6(Packet<Scalar> d) {
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

/// log1p(t) and 1 / (1 + t) for t in [0, 1], sharing one reciprocal:
///   w = 1 / ((1 + t)(2 + t)),   1 / (1 + t) = (2 + t) w,   s = t / (2 + t) = t (1 + t) w,
///   log1p(t) = 2 atanh(s) = 2 s (1 + s^2/3 + s^4/5 + ... + s^(2K)/(2K+1)),  s in [0, 1/3],
/// K = 6 for float, 15 for double: the first omitted term is below 1.4e-8 (float) and 1.7e-17
/// (double) relative, so the error is that of s and w, a few ulp: largest relative error seen in
/// a 2M-point sweep over (0, 1]: 3.1e-7 (float) and 6.1e-16 (double). No frexp, no range reduction, no special
/// cases (the domain has no 0, negatives, infinities or denormals); several times faster than
/// Eigen's general plog / generic_plog1p here.
template <class Scalar>
math::Log1pReciprocal<Packet<Scalar>> log1p_and_reciprocal_unit(Packet<Scalar> t) {
  using V = Packet<Scalar>;
  constexpr int K = std::is_same_v<Scalar, float> ? 6 : 15;
  const V u1 = V(Scalar(1)) + t, u2 = V(Scalar(2)) + t;
  const V w = reciprocal_1_to_6(u1 * u2);
  const V s = t * u1 * w;
  const V z = s * s;
  V p(Scalar(1) / Scalar(2 * K + 1));
  for (int k = K - 1; k >= 0; --k) p = p * z + V(Scalar(1) / Scalar(2 * k + 1));
  return {(s + s) * p, u2 * w};
}

}  // namespace longtail::cpu::detail
