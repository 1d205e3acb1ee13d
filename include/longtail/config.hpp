// longtail: loss functions for long-tailed multi-label classification.
// SPDX-License-Identifier: Apache-2.0
#pragma once

/// LONGTAIL_HD marks the math core: host+device under nvcc, plain inline elsewhere, so the CPU
/// functors and the CUDA kernels evaluate the very same formulas. Nothing here includes a CUDA
/// header; `__CUDACC__` is only defined when nvcc compiles the translation unit.
#if defined(__CUDACC__)
#define LONGTAIL_HD __host__ __device__ __forceinline__
#else
#define LONGTAIL_HD inline
#endif

/// LONGTAIL_HD_TEMPLATE goes before every math-core template (and member of one): the CPU
/// functors instantiate them with SIMD packets, host-only types, and in a .cu file that includes
/// the CPU library nvcc checks the device side of those instantiations too and warns (#20011,
/// #20014) on every packet operation they call. No device code ever calls them: the kernels
/// instantiate the core with float only. The pragma (NVIDIA's, also used by CUB/Thrust) turns
/// that check off for the template it precedes; other compilers never see it.
#if defined(__NVCC__)
#define LONGTAIL_HD_TEMPLATE _Pragma("nv_exec_check_disable")
#else
#define LONGTAIL_HD_TEMPLATE
#endif

/// LONGTAIL_ALWAYS_INLINE: for the per-packet pieces of the CPU kernel loop. Left to its
/// heuristics, GCC 12 kept the element evaluation of one loss (and not of the others) out of
/// line, returning its result through memory: 10% slower for that loss alone.
#if defined(__GNUC__) || defined(__clang__)
#define LONGTAIL_ALWAYS_INLINE __attribute__((always_inline))
#else
#define LONGTAIL_ALWAYS_INLINE
#endif

#define LONGTAIL_VERSION_MAJOR 0
#define LONGTAIL_VERSION_MINOR 1
#define LONGTAIL_VERSION_PATCH 0
