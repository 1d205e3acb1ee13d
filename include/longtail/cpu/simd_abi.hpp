// SPDX-License-Identifier: Apache-2.0
#pragma once
// One set of symbols per SIMD instruction set. The CPU library's code depends on the instruction
// set it is compiled for: Packet<float> has 16, 8 or 4 lanes, or 1 in host code compiled by nvcc
// (where Eigen turns its vectorisation off), and the functors' member templates hold the packet
// loops. Two translation units of one program built differently (a .cu and a .cpp file; an
// -mavx2 file beside a portable one) would emit the same inline symbols with different code, and
// the linker keeps one of each: an ODR violation, which gave wrong losses and a hang when a .cu
// and a .cpp file both used the CPU functors (tests/cuda/test_cpu_library_in_cu.cu). So all of
// longtail::cpu lives in an inline namespace named after the instruction set (as CUB names its
// namespace after the GPU architectures): each build gets its own symbols, and code still writes
// longtail::cpu::FocalBCE.

#include <Eigen/Core>

#if defined(EIGEN_VECTORIZE_AVX512)
#define LONGTAIL_DETAIL_SIMD_ISA avx512
#elif defined(EIGEN_VECTORIZE_AVX2)
#define LONGTAIL_DETAIL_SIMD_ISA avx2
#elif defined(EIGEN_VECTORIZE_AVX)
#define LONGTAIL_DETAIL_SIMD_ISA avx
#elif defined(EIGEN_VECTORIZE_SSE4_2)
#define LONGTAIL_DETAIL_SIMD_ISA sse4_2
#elif defined(EIGEN_VECTORIZE_SSE4_1)
#define LONGTAIL_DETAIL_SIMD_ISA sse4_1
#elif defined(EIGEN_VECTORIZE_SSSE3)
#define LONGTAIL_DETAIL_SIMD_ISA ssse3
#elif defined(EIGEN_VECTORIZE_SSE3)
#define LONGTAIL_DETAIL_SIMD_ISA sse3
#elif defined(EIGEN_VECTORIZE_SSE2)
#define LONGTAIL_DETAIL_SIMD_ISA sse2
#elif defined(EIGEN_VECTORIZE_SVE)
#define LONGTAIL_DETAIL_SIMD_ISA sve
#elif defined(EIGEN_VECTORIZE_NEON)
#define LONGTAIL_DETAIL_SIMD_ISA neon
#elif defined(EIGEN_VECTORIZE)
#define LONGTAIL_DETAIL_SIMD_ISA other
#else
#define LONGTAIL_DETAIL_SIMD_ISA scalar
#endif

// Fused multiply-add changes the rounding of mul_add, not the layout; kept apart all the same, so
// one program's results do not depend on which copy the linker kept.
#if defined(EIGEN_VECTORIZE_FMA)
#define LONGTAIL_DETAIL_SIMD_FMA _fma
#else
#define LONGTAIL_DETAIL_SIMD_FMA
#endif

#define LONGTAIL_DETAIL_CAT3(a, b, c) a##b##c
#define LONGTAIL_DETAIL_ABI_NAME(isa, fma) LONGTAIL_DETAIL_CAT3(simd_, isa, fma)
/// The inline namespace of this translation unit's CPU code, e.g. simd_avx512_fma, simd_sse2,
/// simd_scalar (nvcc).
#define LONGTAIL_CPU_ABI LONGTAIL_DETAIL_ABI_NAME(LONGTAIL_DETAIL_SIMD_ISA, LONGTAIL_DETAIL_SIMD_FMA)

#define LONGTAIL_CPU_NAMESPACE_BEGIN \
  namespace longtail::cpu {          \
  inline namespace LONGTAIL_CPU_ABI {
#define LONGTAIL_CPU_NAMESPACE_END \
  }                                \
  }
