// SPDX-License-Identifier: Apache-2.0
#pragma once
// Storage types of the CUDA kernels and how they become float. Math and accumulation are always
// float; storage is what crosses the memory bus:
//   logits / gradients / per-element losses: float, __half, __nv_bfloat16
//   targets: float, __half, std::uint8_t (0/1), or packed_bits (1 bit per label)
//   mask:    std::uint8_t (nonzero = valid)
// __nv_bfloat16 needs no native support: on sm_75 (T4) cuda_bf16.h converts in software (a few
// integer instructions), from sm_80 on in hardware, so every storage type compiles and runs on
// every architecture this library builds for.
//
// Vector access: `Pack<S, N>` is N elements of S with the alignment of one 16-byte (or smaller)
// memory transaction, so load_pack()/store_pack() compile to LDG/STG.E.128 (.64, .32). The
// kernels use them only where the host checked the pointers' alignment (detail/tile.cuh).

#include <cuda_bf16.h>
#include <cuda_fp16.h>
#include <cuda_runtime.h>

#include <cstdint>
#include <cstring>
#include <type_traits>
#include <vector>

#include "longtail/config.hpp"

/// `#pragma unroll` for device code only (the host compiler would warn about an unknown pragma
/// in the __host__ __device__ functions).
#if defined(__CUDA_ARCH__)
#define LONGTAIL_UNROLL _Pragma("unroll")
#define LONGTAIL_NO_UNROLL _Pragma("unroll 1")
#else
#define LONGTAIL_UNROLL
#define LONGTAIL_NO_UNROLL
#endif

namespace longtail::cuda {

/// Target storage tag: one bit per label, LSB first. Row i of a rows x cols target matrix is
/// `words_per_row(cols)` 32-bit words starting at word i * words_per_row(cols); label j is bit
/// (j % 32) of word j / 32 of its row. The padding bits of a row's last word are ignored.
struct packed_bits {};

/// The element type behind a target storage tag: uint32_t words for packed_bits, else itself.
template <class Target>
struct target_storage {
  using type = Target;
};
template <>
struct target_storage<packed_bits> {
  using type = std::uint32_t;
};
template <class Target>
using target_storage_t = typename target_storage<Target>::type;

/// Words of one bit-packed row (rows are padded to 32 bits).
constexpr std::int64_t words_per_row(std::int64_t cols) { return (cols + 31) / 32; }

/// Packs dense 0/1 targets (row-major, nonzero = 1) into the packed_bits layout on the host.
inline std::vector<std::uint32_t> pack_bits(const std::uint8_t* dense, std::int64_t rows, std::int64_t cols) {
  const std::int64_t wpr = words_per_row(cols);
  std::vector<std::uint32_t> out(static_cast<std::size_t>(rows * wpr), 0u);
  for (std::int64_t i = 0; i < rows; ++i)
    for (std::int64_t j = 0; j < cols; ++j)
      if (dense[i * cols + j]) out[static_cast<std::size_t>(i * wpr + j / 32)] |= 1u << (j % 32);
  return out;
}

template <class T>
inline constexpr bool is_logit_storage_v =
    std::is_same_v<T, float> || std::is_same_v<T, __half> || std::is_same_v<T, __nv_bfloat16>;
template <class Target>
inline constexpr bool is_target_storage_v = std::is_same_v<Target, float> || std::is_same_v<Target, __half> ||
                                            std::is_same_v<Target, std::uint8_t> || std::is_same_v<Target, packed_bits>;

namespace detail {

// ---- conversions (round to nearest even on the way back) --------------------------------------
LONGTAIL_HD float to_float(float v) { return v; }
LONGTAIL_HD float to_float(__half v) { return __half2float(v); }
LONGTAIL_HD float to_float(__nv_bfloat16 v) { return __bfloat162float(v); }
LONGTAIL_HD float to_float(std::uint8_t v) { return static_cast<float>(v); }  // as the CPU: 0, 1 (or the raw value)

template <class T>
LONGTAIL_HD T from_float(float v);
template <>
LONGTAIL_HD float from_float<float>(float v) {
  return v;
}
template <>
LONGTAIL_HD __half from_float<__half>(float v) {
  return __float2half_rn(v);
}
template <>
LONGTAIL_HD __nv_bfloat16 from_float<__nv_bfloat16>(float v) {
  return __float2bfloat16_rn(v);
}

// ---- vector packs -----------------------------------------------------------------------------
template <class S, int N>
struct alignas(sizeof(S) * N >= 16 ? 16 : sizeof(S) * N) Pack {
  S v[N];
};

/// Bytes a pointer must be aligned to for Pack<S, N> access.
template <class S, int N>
constexpr std::size_t pack_alignment() {
  return alignof(Pack<S, N>);
}

template <class S, int N>
LONGTAIL_HD Pack<S, N> load_pack(const S* p) {
  constexpr int bytes = static_cast<int>(sizeof(S)) * N;
  Pack<S, N> out;
  if constexpr (bytes % 16 == 0) {
    LONGTAIL_UNROLL
    for (int c = 0; c < bytes / 16; ++c) {
      const uint4 r = reinterpret_cast<const uint4*>(p)[c];
      std::memcpy(reinterpret_cast<char*>(static_cast<void*>(out.v)) + 16 * c, &r, 16);
    }
  } else if constexpr (bytes == 8) {
    const uint2 r = *reinterpret_cast<const uint2*>(p);
    std::memcpy(static_cast<void*>(out.v), &r, 8);
  } else if constexpr (bytes == 4) {
    const unsigned r = *reinterpret_cast<const unsigned*>(p);
    std::memcpy(static_cast<void*>(out.v), &r, 4);
  } else {
    static_assert(bytes == 4 || bytes == 8 || bytes % 16 == 0, "unsupported pack size");
  }
  return out;
}

template <class S, int N>
LONGTAIL_HD void store_pack(S* p, const Pack<S, N>& in) {
  constexpr int bytes = static_cast<int>(sizeof(S)) * N;
  if constexpr (bytes % 16 == 0) {
    LONGTAIL_UNROLL
    for (int c = 0; c < bytes / 16; ++c) {
      uint4 r;
      std::memcpy(&r, reinterpret_cast<const char*>(static_cast<const void*>(in.v)) + 16 * c, 16);
      reinterpret_cast<uint4*>(p)[c] = r;
    }
  } else if constexpr (bytes == 8) {
    uint2 r;
    std::memcpy(&r, static_cast<const void*>(in.v), 8);
    *reinterpret_cast<uint2*>(p) = r;
  } else {
    static_assert(bytes == 8 || bytes % 16 == 0, "unsupported pack size");
  }
}

/// Read-only data that many threads reuse (per-class and per-sample weights): the read-only
/// cache path on the device. Never used for memory the kernel writes.
template <class S>
LONGTAIL_HD S load_shared_ro(const S* p) {
#if defined(__CUDA_ARCH__)
  return __ldg(p);
#else
  return *p;
#endif
}

inline bool is_aligned(const void* p, std::size_t alignment) {
  return reinterpret_cast<std::uintptr_t>(p) % alignment == 0;
}

}  // namespace detail
}  // namespace longtail::cuda
