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

#define LONGTAIL_VERSION_MAJOR 0
#define LONGTAIL_VERSION_MINOR 1
#define LONGTAIL_VERSION_PATCH 0
