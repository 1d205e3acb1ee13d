// SPDX-License-Identifier: Apache-2.0
#pragma once
// A thin value type over Eigen's SIMD packets that provides the operations of
// math/scalar_ops.hpp, so the math core's formulas run unchanged on 4/8/16 lanes. Transcendentals
// are Eigen's packet functions (no -ffast-math needed):
//   pexp    float: Cephes-style range reduction + degree-6 polynomial, ~1 ulp; double: Pade, ~1 ulp
//   plog    float/double: Cephes-style, ~1 ulp
//   log1p   Eigen's generic_plog1p (log(u) * t / (u - 1), u = 1 + t; the Kahan trick), ~2 ulp
// The whole library only needs log1p on t = exp(-|x|) in (0, 1].

#include <type_traits>

#include <Eigen/Core>

#include "longtail/math/scalar_ops.hpp"

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

  // Eigen's pexp clamps its argument at -88.723 (float) / -709.784 (double) and returns
  // exp(clamp), ~2.9e-39 / ~5.6e-309, for anything below instead of underflowing to 0. The core
  // multiplies terms derived from exp(-|x|) by |x| (p * softplus(-x) in the focal gradient), so
  // that floor became an O(1) gradient error for |x| > ~1e31 (float) / ~1e292 (double). Below the
  // clamp return 0, as libm does (to within denormals); NaN compares false and stays NaN.
  friend Packet exp(Packet a) {
    const Raw e = ei::pexp(a.v);
    const Raw below =
        ei::pcmp_lt(a.v, ei::pset1<Raw>(std::is_same_v<Scalar, float> ? Scalar(-88.72f) : Scalar(-709.78)));
    return raw(ei::pselect(below, ei::pset1<Raw>(Scalar(0)), e));
  }
  friend Packet log(Packet a) { return raw(ei::plog(a.v)); }
  friend Packet log1p(Packet a) { return raw(ei::generic_plog1p(a.v)); }
  friend Packet abs(Packet a) { return raw(ei::pabs(a.v)); }
  friend Packet max(Packet a, Packet b) { return raw(ei::pmax(a.v, b.v)); }
  friend Packet select(PacketMask<Scalar> m, Packet a, Packet b) { return raw(ei::pselect(m.bits, a.v, b.v)); }
};

}  // namespace longtail::cpu::detail
