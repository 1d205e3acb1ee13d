// SPDX-License-Identifier: Apache-2.0
#pragma once
// What one lane of a warp does for one tile of the elementwise loss: load, evaluate the math core,
// store, and sum its elements' losses. Written as host+device functions so that the host can
// replay a launch exactly (tests/cuda/emulate.cuh checks the indexing, the packing of targets and
// the vector/scalar paths against the CPU functors on a machine without a GPU).
//
// Work decomposition (depends on the element count n only, never on the grid or the device):
//   - the n = rows * cols elements are taken in flat row-major order, so rows of any length
//     (698 labels: 2792 bytes, not a multiple of 16) stay vectorisable end to end;
//   - a tile is 512 consecutive elements: 32 lanes x 16 elements. Lane l handles the chunks
//     c = u * 32 + l (u = 0 .. 16/V - 1) of V = 16 bytes / sizeof(T) elements (4 floats or 8
//     halves), so each warp-wide load is one contiguous, coalesced 512-byte (256-byte) line;
//   - a unit is `tiles_per_unit` consecutive tiles, reduced by one warp in a fixed order into one
//     partial sum; there are at most kMaxUnits units, so the second stage reads a bounded array.
// Each element's arithmetic and every addition in the loss sum therefore happen in an order fixed
// by n: the loss is bit-identical whatever grid the launcher picks (it sizes the grid to the SMs).
//
// Vector path: a full tile whose pointers are all aligned for 16-byte access (the host checks
// once: `vector_ok`) loads every chunk first (U independent 16-byte loads in flight per array),
// then computes and stores. Scalar path: the last, partial tile, or any tile when a pointer is
// unaligned; it visits the same elements in the same order, so the loss is summed in the same
// order (the tests check both paths against the CPU, aligned and unaligned).

#include <cstdint>
#include <type_traits>

#include "longtail/detail/fast_divmod.cuh"
#include "longtail/detail/storage.cuh"
#include "longtail/math/distribution_balanced.hpp"
#include "longtail/math/value_grad.hpp"

namespace longtail::cuda::detail {

inline constexpr int kWarpSize = 32;
inline constexpr int kElemsPerLane = 16;
inline constexpr int kTileElems = kWarpSize * kElemsPerLane;  // 512
/// Upper bound on the partial sums of the first stage (the second stage reads at most 512 KiB).
inline constexpr std::int64_t kMaxUnits = std::int64_t(1) << 17;

/// Elements per vector access of T: one 16-byte load of logits.
template <class T>
inline constexpr int kVec = 16 / static_cast<int>(sizeof(T));

/// Tiles and units of n elements.
struct Decomposition {
  std::int64_t tiles = 0;
  std::int64_t tiles_per_unit = 1;
  std::int64_t units = 0;

  static Decomposition of(std::int64_t n) {
    Decomposition d;
    d.tiles = (n + kTileElems - 1) / kTileElems;
    d.tiles_per_unit = d.tiles > kMaxUnits ? (d.tiles + kMaxUnits - 1) / kMaxUnits : 1;
    d.units = (d.tiles + d.tiles_per_unit - 1) / d.tiles_per_unit;
    return d;
  }
};

/// Everything a lane reads besides the math functor. Optional pointers are null when absent.
template <class T, class Target>
struct TileParams {
  const T* x = nullptr;
  const target_storage_t<Target>* y = nullptr;
  const std::uint8_t* mask = nullptr;
  const float* sample_weight = nullptr;  // per row
  const float* weight = nullptr;         // per class (column)
  const float* pos_weight = nullptr;     // per class
  const float* logit_offset = nullptr;   // per class: the loss at x + s_c
  const float* class_rate = nullptr;     // per class, re-balanced losses (math::is_rebalanced_v) only
  const float* row_rate = nullptr;       // per row, the same
  T* grad = nullptr;
  T* loss = nullptr;  // per-element losses
  std::int64_t n = 0;
  std::int64_t words_per_row = 0;   // packed_bits targets
  FastDivmod cols{};                // flat index -> (row, column)
  std::uint32_t cols32 = 1;         // cols (< 2^31, checked on the host)
  float keep = 1.0f, shift = 0.0f;  // label smoothing: y_s = y * keep + shift
  float alpha_pos = 1.0f, alpha_neg = 1.0f;
  bool vector_ok = false;  // every pointer aligned for Pack access
  bool weighted = false;   // per-class or per-sample inputs present (weights, offsets, rates)

  /// Row and column of flat index e.
  LONGTAIL_HD void row_col(std::int64_t e, std::uint64_t& i, std::uint32_t& j) const {
    std::uint64_t r;
    cols.divmod(static_cast<std::uint64_t>(e), i, r);
    j = static_cast<std::uint32_t>(r);
  }
  /// Moves (i, j) to the next element in row-major order.
  LONGTAIL_HD void advance(std::uint64_t& i, std::uint32_t& j) const {
    if (++j == cols32) {
      j = 0;
      ++i;
    }
  }
};

/// Targets of `count` consecutive elements starting at (i, j) from bit-packed rows. Consecutive
/// elements mostly share a word: it is re-read only when the element moves to another word.
template <int V, class P>
LONGTAIL_HD void load_packed_bits(const P& p, std::uint64_t i, std::uint32_t j, int count, float (&y)[V]) {
  std::uint64_t current = ~std::uint64_t(0);
  std::uint32_t word = 0;
  LONGTAIL_UNROLL
  for (int k = 0; k < V; ++k) {
    if (k < count) {
      const std::uint64_t w = i * static_cast<std::uint64_t>(p.words_per_row) + (j >> 5);
      if (w != current) {
        word = load_shared_ro(p.y + w);
        current = w;
      }
      y[k] = static_cast<float>((word >> (j & 31u)) & 1u);
      p.advance(i, j);
    }
  }
}

/// The loss and gradient of one element, through the math core: per-class coefficients
/// (math::class_coefficients), smoothed target and sample weight (math::term_weights), then the
/// loss functor. Same operations in the same order as the CPU kernel. Without per-class and
/// per-sample weights (Weighted = false) the coefficients are the constants the CPU uses then,
/// class_coefficients(1, 1, alpha+, alpha-) and a sample weight of 1, and (i, j) is not needed.
/// The logit offset (logit adjustment) is added to x first, and a re-balanced loss
/// (DistributionBalanced) multiplies both term weights by its weight of (class, row), as the CPU
/// kernel does; both need (i, j), so they come with Weighted = true (make_tile_params sets
/// `weighted` whenever they are present; a re-balanced loss always has its rates).
template <bool Weighted, class Math, class T, class Target>
LONGTAIL_HD math::ValueGrad<float> evaluate(const Math& math, const TileParams<T, Target>& p, float x, float y,
                                            std::uint64_t i, std::uint32_t j) {
  float w = 1.0f, pw = 1.0f, sw = 1.0f;
  if constexpr (Weighted) {
    if (p.weight) w = load_shared_ro(p.weight + j);
    if (p.pos_weight) pw = load_shared_ro(p.pos_weight + j);
    if (p.sample_weight) sw = load_shared_ro(p.sample_weight + i);
    if (p.logit_offset) x = x + load_shared_ro(p.logit_offset + j);
  }
  const auto coef = math::class_coefficients<float>(w, pw, p.alpha_pos, p.alpha_neg);
  auto tw = math::term_weights<float>(y, p.keep, p.shift, coef.pos, coef.neg, sw);
  if constexpr (Weighted && math::is_rebalanced_v<Math>) {
    const float r = math.rebalanced_weight(load_shared_ro(p.class_rate + j), load_shared_ro(p.row_rate + i));
    tw.a = tw.a * r;
    tw.b = tw.b * r;
  }
  return math(x, tw.a, tw.b);
}

/// The same for V consecutive elements that lie in one row (j + V <= cols): their bits are
/// consecutive within the row's words, so one 32-bit word, or two when the run crosses a word
/// boundary (V <= 8 bits from bit j & 31), give all of them: a funnel shift and one AND + select
/// per element, instead of tracking (row, column) and the current word element by element. The
/// second word exists: bit j + V - 1 < cols lies in the row's padded words.
template <int V, class P>
LONGTAIL_HD void load_packed_bits_in_row(const P& p, std::uint64_t i, std::uint32_t j, float (&y)[V]) {
  static_assert(V <= 8, "a run spans at most two words");
  const std::uint64_t w = i * static_cast<std::uint64_t>(p.words_per_row) + (j >> 5);
  const std::uint32_t shift = j & 31u;
  std::uint32_t bits = load_shared_ro(p.y + w) >> shift;
  if (shift + V > 32u) bits |= load_shared_ro(p.y + w + 1) << (32u - shift);
  LONGTAIL_UNROLL
  for (int k = 0; k < V; ++k) y[k] = (bits >> k) & 1u ? 1.0f : 0.0f;
}

template <class T, int V, int U>
struct VectorTile {
  Pack<T, V> x[U];
  float y[U][V];
  Pack<std::uint8_t, V> mask[U];
};

/// The math and the stores of a loaded vector tile; returns the lane's loss sum.
template <bool Weighted, class Math, class T, class Target, int V, int U>
LONGTAIL_HD float compute_vector_tile(const Math& math, const TileParams<T, Target>& p, float grad_scale,
                                      std::int64_t begin, int lane, const VectorTile<T, V, U>& t) {
  float acc = 0.0f;
  LONGTAIL_UNROLL
  for (int u = 0; u < U; ++u) {
    const std::int64_t e = begin + static_cast<std::int64_t>(u * kWarpSize + lane) * V;
    std::uint64_t i = 0;
    std::uint32_t j = 0;
    if constexpr (Weighted) p.row_col(e, i, j);
    Pack<T, V> g, l;
    LONGTAIL_UNROLL
    for (int k = 0; k < V; ++k) {
      math::ValueGrad<float> vg = evaluate<Weighted>(math, p, to_float(t.x[u].v[k]), t.y[u][k], i, j);
      if (p.mask && t.mask[u].v[k] == 0) vg = {0.0f, 0.0f};  // masked: ignored whatever x and y hold
      acc += vg.value;
      g.v[k] = from_float<T>(vg.grad * grad_scale);
      l.v[k] = from_float<T>(vg.value);
      if constexpr (Weighted) p.advance(i, j);
    }
    if (p.grad) store_pack<T, V>(p.grad + e, g);
    if (p.loss) store_pack<T, V>(p.loss + e, l);
  }
  return acc;
}

/// Lane `lane`'s share of tile `tile`: writes its gradients / per-element losses and returns the
/// sum of its elements' losses (masked elements add 0). `grad_scale` is the factor of every
/// gradient (1/valid for the mean, times the loss scale).
template <class Math, class T, class Target>
LONGTAIL_HD float lane_tile(const Math& math, const TileParams<T, Target>& p, float grad_scale, std::int64_t tile,
                            int lane) {
  constexpr int V = kVec<T>;
  constexpr int U = kElemsPerLane / V;
  constexpr bool kBits = std::is_same_v<Target, packed_bits>;
  const std::int64_t begin = tile * kTileElems;

  if (p.vector_ok && begin + kTileElems <= p.n) {
    // ---- vector path: all loads first (U independent 16-byte loads per array in flight), then
    // the math and the stores; a warp-uniform branch picks the code without weight loads and
    // index arithmetic when there are no weights ----
    VectorTile<T, V, U> t;
    LONGTAIL_UNROLL
    for (int u = 0; u < U; ++u) {
      const std::int64_t e = begin + static_cast<std::int64_t>(u * kWarpSize + lane) * V;
      t.x[u] = load_pack<T, V>(p.x + e);
      if constexpr (kBits) {
        std::uint64_t i;
        std::uint32_t j;
        p.row_col(e, i, j);
        if (j + static_cast<std::uint32_t>(V) <= p.cols32)
          load_packed_bits_in_row<V>(p, i, j, t.y[u]);
        else  // the run crosses a row end (or rows are shorter than V)
          load_packed_bits<V>(p, i, j, V, t.y[u]);
      } else {
        const Pack<target_storage_t<Target>, V> y = load_pack<target_storage_t<Target>, V>(p.y + e);
        LONGTAIL_UNROLL
        for (int k = 0; k < V; ++k) t.y[u][k] = to_float(y.v[k]);
      }
      if (p.mask) t.mask[u] = load_pack<std::uint8_t, V>(p.mask + e);
    }
    return p.weighted ? compute_vector_tile<true>(math, p, grad_scale, begin, lane, t)
                      : compute_vector_tile<false>(math, p, grad_scale, begin, lane, t);
  }

  // ---- scalar path: same elements in the same order, one at a time, bounds-checked (not
  // unrolled: it runs for one tile per launch unless a pointer is unaligned) ----
  float acc = 0.0f;
  LONGTAIL_NO_UNROLL
  for (int u = 0; u < U; ++u) {
    const std::int64_t e0 = begin + static_cast<std::int64_t>(u * kWarpSize + lane) * V;
    if (e0 >= p.n) break;  // later chunks of this lane start even further
    const int count = p.n - e0 < V ? static_cast<int>(p.n - e0) : V;
    std::uint64_t i;
    std::uint32_t j;
    p.row_col(e0, i, j);
    LONGTAIL_NO_UNROLL
    for (int k = 0; k < count; ++k) {
      const std::int64_t e = e0 + k;
      float y;
      if constexpr (kBits) {
        const std::uint32_t word = load_shared_ro(p.y + i * static_cast<std::uint64_t>(p.words_per_row) + (j >> 5));
        y = static_cast<float>((word >> (j & 31u)) & 1u);
      } else {
        y = to_float(p.y[e]);
      }
      math::ValueGrad<float> vg = evaluate<true>(math, p, to_float(p.x[e]), y, i, j);
      if (p.mask && p.mask[e] == 0) vg = {0.0f, 0.0f};
      acc += vg.value;
      if (p.grad) p.grad[e] = from_float<T>(vg.grad * grad_scale);
      if (p.loss) p.loss[e] = from_float<T>(vg.value);
      p.advance(i, j);
    }
  }
  return acc;
}

/// Nonzero bytes of a 32-bit word: bit 7 of each byte of ((w & 0x7f..) + 0x7f..) | w is set iff
/// that byte is nonzero (no carry crosses a byte); the multiply adds the four flags into the top
/// byte.
LONGTAIL_HD int nonzero_bytes(std::uint32_t w) {
  const std::uint32_t t = ((((w & 0x7f7f7f7fu) + 0x7f7f7f7fu) | w) & 0x80808080u) >> 7;
  return static_cast<int>((t * 0x01010101u) >> 24);
}

/// Lane `lane`'s count of valid (nonzero) mask bytes in tile `tile`: 16 consecutive bytes each.
LONGTAIL_HD std::uint32_t lane_mask_count(const std::uint8_t* mask, std::int64_t n, bool aligned16, std::int64_t tile,
                                          int lane) {
  const std::int64_t e = tile * kTileElems + static_cast<std::int64_t>(lane) * kElemsPerLane;
  if (aligned16 && e + kElemsPerLane <= n) {
    const Pack<std::uint32_t, 4> w = load_pack<std::uint32_t, 4>(reinterpret_cast<const std::uint32_t*>(mask + e));
    return static_cast<std::uint32_t>(nonzero_bytes(w.v[0]) + nonzero_bytes(w.v[1]) + nonzero_bytes(w.v[2]) +
                                      nonzero_bytes(w.v[3]));
  }
  std::uint32_t c = 0;
  for (int k = 0; k < kElemsPerLane; ++k)
    if (e + k < n && mask[e + k] != 0) ++c;
  return c;
}

/// Thread `t` of `threads`' share of the second stage: partials t, t + threads, ... summed with
/// Kahan compensation (float, fixed order; up to kMaxUnits / threads terms).
LONGTAIL_HD float strided_kahan_sum(const float* partials, std::int64_t count, int t, int threads) {
  float sum = 0.0f, c = 0.0f;
  for (std::int64_t k = t; k < count; k += threads) {
    const float y = partials[k] - c;
    const float s = sum + y;
    c = (s - sum) - y;
    sum = s;
  }
  return sum;
}

}  // namespace longtail::cuda::detail
