// SPDX-License-Identifier: Apache-2.0
// Instantiates the stage-1 kernels that bench/cuda/inspect_sass.sh disassembles: the headline
// focal loss (gamma 2; float logits, uint8 targets), the same with half logits and bit-packed
// targets, gamma 3 (the trainer's configuration), the generic integer-gamma focal kernel (gamma 1,
// 4+, asymmetric integers) and weighted BCE with bf16 logits. Not built by CMake; compiled with
// -cubin by the script.
#include "longtail/cuda.cuh"

namespace lc = longtail::cuda;
namespace lm = longtail::math;

#define LONGTAIL_PROBE(Math, T, Target)                                                                \
  template cudaError_t lc::detail::launch_elementwise<Math, T, Target>(                                \
      const Math&, const lc::detail::LossSetup&, const lc::ClassWeights&, const lc::Batch<T, Target>&, \
      const lc::Outputs<T>&, const lc::Workspace&, cudaStream_t) noexcept;

using FocalInt = lm::FocalBCEMath<float, true, true, false>;
LONGTAIL_PROBE(lc::detail::FocalGamma2Math, float, std::uint8_t)
LONGTAIL_PROBE(lc::detail::FocalGamma2Math, __half, lc::packed_bits)
LONGTAIL_PROBE(lc::detail::FocalGamma3Math, float, std::uint8_t)
LONGTAIL_PROBE(FocalInt, float, std::uint8_t)
LONGTAIL_PROBE(lm::WeightedBCEMath, __nv_bfloat16, std::uint8_t)

// The arithmetic of one tile of the unweighted vector path (16 elements per lane) in isolation:
// the tile comes from memory ready-made, the gradient goes to memory, no mask and no
// per-element losses (compile-time null, so the compiler keeps one copy of the code). Its
// straight-line SASS divided by 16 is the cost of one element: the script prints it.
template <class Math>
__global__ void tile_math_probe(Math math, const lc::detail::VectorTile<float, 4, 4>* tiles, float* grad, float keep,
                                float shift, float alpha_pos, float alpha_neg, float scale, float* lane_sums) {
  __builtin_assume(grad != nullptr);  // one copy of the code: with the gradient stores
  lc::detail::TileParams<float, std::uint8_t> p;
  p.grad = grad;
  p.keep = keep;
  p.shift = shift;
  p.alpha_pos = alpha_pos;
  p.alpha_neg = alpha_neg;
  const int lane = static_cast<int>(threadIdx.x % 32);
  lane_sums[threadIdx.x] = lc::detail::compute_vector_tile<false>(math, p, scale, 0, lane, tiles[threadIdx.x]);
}
template __global__ void tile_math_probe<lc::detail::FocalGamma2Math>(lc::detail::FocalGamma2Math,
                                                                      const lc::detail::VectorTile<float, 4, 4>*,
                                                                      float*, float, float, float, float, float,
                                                                      float*);
template __global__ void tile_math_probe<lc::detail::FocalGamma3Math>(lc::detail::FocalGamma3Math,
                                                                      const lc::detail::VectorTile<float, 4, 4>*,
                                                                      float*, float, float, float, float, float,
                                                                      float*);
template __global__ void tile_math_probe<lm::WeightedBCEMath>(lm::WeightedBCEMath,
                                                              const lc::detail::VectorTile<float, 4, 4>*, float*, float,
                                                              float, float, float, float, float*);
