// SPDX-License-Identifier: Apache-2.0
#pragma once
// The one CPU loop behind every loss: a single pass over memory that reads logits, targets (and
// mask), evaluates a math-core functor on SIMD packets, writes the gradient and/or the
// per-element loss, and accumulates the loss sum.
//
// Work is cut into "lines": rows when the logits' columns are contiguous (row-major), columns
// when their rows are (column-major). Contiguous lines are read with packet loads; any other
// layout (non-unit inner strides, mixed storage orders) is gathered lane by lane into the same
// packet code, so every element goes through identical arithmetic whatever the layout: results
// are bit-identical across layouts, thread counts and in-place use.
//
// Determinism: lines are grouped into blocks whose size depends only on the line length; each
// line's packet accumulator is reduced to double, lines are summed in order inside a block, and
// block sums are added in block order. Threads (OpenMP) only decide who computes which block.

#include <algorithm>
#include <cstdint>
#include <type_traits>
#include <vector>

#if defined(_OPENMP)
#include <omp.h>
#endif

#include "longtail/cpu/detail/strided_view.hpp"
#include "longtail/cpu/packet.hpp"
#include "longtail/cpu/simd_abi.hpp"
#include "longtail/math/distribution_balanced.hpp"
#include "longtail/math/value_grad.hpp"

LONGTAIL_CPU_NAMESPACE_BEGIN
namespace detail {

/// Everything one call needs besides the math functor. Absent optional inputs are null.
template <class Scalar, class TargetT, class MaskT>
struct KernelArgs {
  StridedView<const Scalar> x;
  StridedView<const TargetT> y;
  StridedView<const MaskT> mask;          // data == nullptr: every element valid
  StridedView<Scalar> grad;               // data == nullptr: no gradient wanted
  StridedView<Scalar> loss;               // data == nullptr: no per-element loss wanted
  const Scalar* sample_weight = nullptr;  // length rows, stride sample_weight_stride
  Index sample_weight_stride = 1;
  const Scalar* coef_pos = nullptr;  // length cols (coef_stride 1) or one value (coef_stride 0)
  const Scalar* coef_neg = nullptr;
  Index coef_stride = 1;
  const Scalar* logit_offset = nullptr;  // length cols, or null: no offset
  // Re-balanced weighting (math::is_rebalanced_v<Math> only): per class and per row.
  const Scalar* class_rate = nullptr;  // length cols
  const Scalar* row_rate = nullptr;    // length rows, stride 1
  Scalar keep = 1, shift = 0;          // label smoothing: y_s = y * keep + shift
  Scalar grad_scale = 1;               // 1 / (valid count) for Reduction::mean
  int threads = 1;
};

inline int resolve_threads(int requested) {
#if defined(_OPENMP)
  return requested > 0 ? requested : omp_get_max_threads();
#else
  (void)requested;
  return 1;
#endif
}

/// Loads `count` (<= lane count) elements at stride `stride`, converted to Scalar; missing lanes
/// are 0. `Contig` promises stride 1 and a full packet: one unaligned load, or a fixed-length
/// conversion loop the compiler vectorises (uint8 targets, float targets of double logits).
template <class Scalar, bool Contig, class T>
inline Packet<Scalar> load_lanes(const T* p, Index stride, int count) {
  constexpr int P = Packet<Scalar>::size;
  if constexpr (Contig && std::is_same_v<T, Scalar>) {
    (void)stride;
    (void)count;
    return Packet<Scalar>::load(p);
  } else if constexpr (Contig && std::is_same_v<T, std::uint8_t>) {
    (void)stride;
    (void)count;
    return load_bytes_as<Scalar>(p);
  } else if constexpr (Contig) {
    (void)stride;
    (void)count;
    alignas(64) Scalar buf[P];
    for (int k = 0; k < P; ++k) buf[k] = static_cast<Scalar>(p[k]);
    return Packet<Scalar>::load(buf);
  } else {
    alignas(64) Scalar buf[P];
    for (int k = 0; k < P; ++k) buf[k] = k < count ? static_cast<Scalar>(p[k * stride]) : Scalar(0);
    return Packet<Scalar>::load(buf);
  }
}

/// Mask lanes as 1 (valid) / 0 (masked or padding); `Contig` as for load_lanes.
template <class Scalar, bool Contig, class T>
inline Packet<Scalar> load_mask(const T* p, Index stride, int count) {
  constexpr int P = Packet<Scalar>::size;
  alignas(64) Scalar buf[P];
  if constexpr (Contig && sizeof(T) == 1 && !std::is_signed_v<T>) {  // uint8_t, bool, unsigned char
    (void)stride;
    (void)count;
    (void)buf;
    // Byte values 1..255 (bool: 1) become positive floats: "> 0" is "nonzero".
    return load_bytes_as<Scalar>(reinterpret_cast<const std::uint8_t*>(p));
  } else if constexpr (Contig) {
    (void)stride;
    (void)count;
    for (int k = 0; k < P; ++k) buf[k] = p[k] != T(0) ? Scalar(1) : Scalar(0);
  } else {
    for (int k = 0; k < P; ++k) buf[k] = (k < count && p[k * stride] != T(0)) ? Scalar(1) : Scalar(0);
  }
  return Packet<Scalar>::load(buf);
}

template <class Scalar, bool Contig>
inline void store_lanes(Packet<Scalar> v, Scalar* p, Index stride, int count) {
  if constexpr (Contig) {
    (void)stride;
    (void)count;
    v.store(p);
  } else {
    constexpr int P = Packet<Scalar>::size;
    alignas(64) Scalar buf[P];
    v.store(buf);
    for (int k = 0; k < count; ++k) p[k * stride] = buf[k];
  }
}

/// One line: the elements of row `line` (RowLines) or column `line`. Returns its loss sum.
///
/// Lines are walked in full packets. A line whose length n is not a multiple of the lane count P
/// ends with one more full packet over [n - P, n) that overlaps the previous one; only its last
/// n mod P lanes ("fresh") are counted and written. So every element of a line longer than P is
/// evaluated in full packets, in the same lane, whatever the layout (contiguous or gathered),
/// and the in-place case stays correct (stale lanes are never written back). Lines shorter than
/// P are padded instead.
template <bool RowLines, bool WantGrad, bool WantLoss, class Math, class Scalar, class TargetT, class MaskT>
double run_line(const Math& math, const KernelArgs<Scalar, TargetT, MaskT>& a, Index line, bool contiguous) {
  using V = Packet<Scalar>;
  constexpr int P = V::size;
  const Index n = RowLines ? a.x.cols : a.x.rows;
  auto at = [line](const auto& view) {
    return view.data + (RowLines ? line * view.row_stride : line * view.col_stride);
  };
  auto inner = [](const auto& view) { return RowLines ? view.col_stride : view.row_stride; };
  const Scalar* x = at(a.x);
  const TargetT* y = at(a.y);
  const MaskT* m = a.mask.data ? at(a.mask) : nullptr;
  Scalar* g = WantGrad ? at(a.grad) : nullptr;
  Scalar* l = WantLoss ? at(a.loss) : nullptr;
  const Index sx = inner(a.x), sy = inner(a.y), sm = a.mask.data ? inner(a.mask) : 0;
  const Index sg = WantGrad ? inner(a.grad) : 0, sl = WantLoss ? inner(a.loss) : 0;

  const V keep(a.keep), shift(a.shift), zero(0);
  // The loss is linear in the sample weight r, so it scales the element's value and gradient
  // after the core (math::term_weights): along a row r is one number, folded into the gradient
  // scale once per line. Along a column it varies per lane and the same two products are formed
  // per packet: the same operations on the same values, so both layouts give the same bits.
  const bool weighted = a.sample_weight != nullptr;
  const Scalar line_sw = RowLines && weighted ? a.sample_weight[line * a.sample_weight_stride] : Scalar(1);
  const V line_sw_v(line_sw), line_grad_scale(line_sw * a.grad_scale);
  const Scalar grad_scale_s = a.grad_scale;
  // Per-class coefficients: along a row one per lane (or one uniform value), along a column one
  // per line.
  const Scalar* const coef_pos = a.coef_pos;
  const Scalar* const coef_neg = a.coef_neg;
  const bool uniform_coef = a.coef_stride == 0;
  const V line_coef_pos(RowLines ? coef_pos[0] : coef_pos[line * a.coef_stride]);
  const V line_coef_neg(RowLines ? coef_neg[0] : coef_neg[line * a.coef_stride]);

  // Loss value and scaled gradient of the `count` elements from k0 (count < P only when n < P:
  // the missing lanes are padding with x = y = 0 and coefficients 0).
  auto evaluate = [&](Index k0, int count) LONGTAIL_ALWAYS_INLINE {
    const bool contig = contiguous && count == P;
    V xv, yv, cp, cn;
    if (contig) {
      xv = load_lanes<Scalar, true>(x + k0, 1, P);
      yv = load_lanes<Scalar, true>(y + k0, 1, P);
    } else {
      xv = load_lanes<Scalar, false>(x + k0 * sx, sx, count);
      yv = load_lanes<Scalar, false>(y + k0 * sy, sy, count);
    }
    if (!RowLines || uniform_coef) {
      cp = line_coef_pos;
      cn = line_coef_neg;
    } else if (count == P) {
      cp = V::load(coef_pos + k0);
      cn = V::load(coef_neg + k0);
    } else {
      cp = load_lanes<Scalar, false>(coef_pos + k0, 1, count);
      cn = load_lanes<Scalar, false>(coef_neg + k0, 1, count);
    }
    // Per-class vectors that are not folded into the coefficients: along a row one per lane,
    // along a column one per line.
    auto class_lanes = [&](const Scalar* v) LONGTAIL_ALWAYS_INLINE {
      if (!RowLines) return V(v[line]);
      return count == P ? V::load(v + k0) : load_lanes<Scalar, false>(v + k0, 1, count);
    };
    // Logit adjustment: the loss at x + s_c. x + 0 is x for every x but -0 (which the core
    // treats as +0), so a zero offset changes no bit of the result.
    if (a.logit_offset) xv = xv + class_lanes(a.logit_offset);
    auto tw = math::term_weights(yv, keep, shift, cp, cn);
    if constexpr (math::is_rebalanced_v<Math>) {
      // r = class_rate * row_rate: along a row the row's rate is one number, along a column one per lane.
      const V row_rate = RowLines ? V(a.row_rate[line]) : load_lanes<Scalar, false>(a.row_rate + k0, 1, count);
      const V w = math.rebalanced_weight(class_lanes(a.class_rate), row_rate);
      tw.a = tw.a * w;
      tw.b = tw.b * w;
    }
    auto vg = math(xv, tw.a, tw.b);
    if (RowLines) {
      if (weighted) vg.value = vg.value * line_sw_v;
      vg.grad = vg.grad * line_grad_scale;
    } else if (weighted) {
      const V sw =
          load_lanes<Scalar, false>(a.sample_weight + k0 * a.sample_weight_stride, a.sample_weight_stride, count);
      vg.value = vg.value * sw;
      vg.grad = vg.grad * (sw * V(grad_scale_s));
    } else {
      vg.grad = vg.grad * line_grad_scale;
    }
    if (m) {
      // Masked elements are ignored entirely, whatever their logits or targets hold.
      const V mv = contig ? load_mask<Scalar, true>(m + k0, 1, P) : load_mask<Scalar, false>(m + k0 * sm, sm, count);
      const auto valid = mv > zero;
      vg.value = select(valid, vg.value, zero);
      vg.grad = select(valid, vg.grad, zero);
    }
    return vg;
  };
  // Writes lanes [first, P) of v to out[k0 + lane] (first > 0 only for the overlapping packet).
  auto write = [&](V v, Scalar* out, Index stride, Index k0, int first, int count) LONGTAIL_ALWAYS_INLINE {
    if (contiguous && count == P) {
      if (first == 0)
        store_lanes<Scalar, true>(v, out + k0, 1, P);
      else
        v.store_lanes(out + k0, first, P);  // the overlapping tail: its fresh lanes only
    } else {
      alignas(64) Scalar buf[P];
      v.store(buf);
      for (int k = first; k < count; ++k) out[(k0 + k) * stride] = buf[k];
    }
  };

  V acc = zero;
  const Index full_end = n - n % P;
  for (Index k0 = 0; k0 < full_end; k0 += P) {
    const auto vg = evaluate(k0, P);
    acc = acc + vg.value;
    if constexpr (WantGrad) write(vg.grad, g, sg, k0, 0, P);
    if constexpr (WantLoss) write(vg.value, l, sl, k0, 0, P);
  }
  if (full_end < n) {
    const bool overlap = n >= P;
    const Index k0 = overlap ? n - P : 0;
    const int count = overlap ? P : static_cast<int>(n);
    const int first = overlap ? static_cast<int>(full_end - k0) : 0;
    auto vg = evaluate(k0, count);
    vg.value = select(V::lanes(first, count), vg.value, zero);  // padding / already counted
    acc = acc + vg.value;
    if constexpr (WantGrad) write(vg.grad, g, sg, k0, first, count);
    if constexpr (WantLoss) write(vg.value, l, sl, k0, first, count);
  }
  return static_cast<double>(acc.sum());
}

template <bool RowLines, bool WantGrad, bool WantLoss, class Math, class Scalar, class TargetT, class MaskT>
double run_lines(const Math& math, const KernelArgs<Scalar, TargetT, MaskT>& a, bool contig) {
  const Index lines = RowLines ? a.x.rows : a.x.cols;
  const Index n = RowLines ? a.x.cols : a.x.rows;
  if (lines == 0 || n == 0) return 0.0;
  // Block size depends on the shape only (never on the thread count): ~16K elements a block.
  const Index lines_per_block = std::max<Index>(1, Index(16384) / n);
  const Index blocks = (lines + lines_per_block - 1) / lines_per_block;
  auto block_sum = [&](Index b) {
    double s = 0.0;
    const Index end = std::min(lines, (b + 1) * lines_per_block);
    for (Index line = b * lines_per_block; line < end; ++line)
      s += run_line<RowLines, WantGrad, WantLoss>(math, a, line, contig);
    return s;
  };
  const int threads = static_cast<int>(std::min<Index>(a.threads, blocks));
  double total = 0.0;
  if (threads <= 1) {
    for (Index b = 0; b < blocks; ++b) total += block_sum(b);
    return total;
  }
  std::vector<double> partial(static_cast<std::size_t>(blocks));
#if defined(_OPENMP)
#pragma omp parallel for schedule(static) num_threads(threads)
#endif
  for (Index b = 0; b < blocks; ++b) partial[static_cast<std::size_t>(b)] = block_sum(b);
  for (double s : partial) total += s;
  return total;
}

/// Picks the line orientation and the contiguous fast path, then runs. Returns the loss sum.
template <bool WantGrad, bool WantLoss, class Math, class Scalar, class TargetT, class MaskT>
double run_elementwise(const Math& math, const KernelArgs<Scalar, TargetT, MaskT>& a) {
  const bool row_lines = a.x.col_stride == 1 || a.x.row_stride != 1;
  auto unit_inner = [row_lines](const auto& v) {
    return v.data == nullptr || (row_lines ? v.col_stride : v.row_stride) == 1;
  };
  const bool contig = unit_inner(a.x) && unit_inner(a.y) && (!WantGrad || unit_inner(a.grad)) &&
                      (!WantLoss || unit_inner(a.loss)) && unit_inner(a.mask);
  // Contiguity is a run-time flag (one predictable branch a packet), not a template parameter:
  // it would double the instantiations of every loss.
  return row_lines ? run_lines<true, WantGrad, WantLoss>(math, a, contig)
                   : run_lines<false, WantGrad, WantLoss>(math, a, contig);
}

}  // namespace detail
LONGTAIL_CPU_NAMESPACE_END
