// SPDX-License-Identifier: Apache-2.0
// Instantiates the stage-1 kernels that bench/cuda/inspect_sass.sh disassembles: the headline
// focal loss (gamma 2; float logits, uint8 targets), the same with half logits and bit-packed
// targets, the generic integer-gamma focal kernel and weighted BCE with bf16 logits. Not built by
// CMake; compiled with -cubin by the script.
#include "longtail/cuda.cuh"

namespace lc = longtail::cuda;
namespace lm = longtail::math;

#define LONGTAIL_PROBE(Math, T, Target)                                                                   \
  template cudaError_t lc::detail::launch_elementwise<Math, T, Target>(                                   \
      const Math&, const lc::detail::LossSetup&, const lc::ClassWeights&, const lc::Batch<T, Target>&,    \
      const lc::Outputs<T>&, const lc::Workspace&, cudaStream_t) noexcept;

using FocalInt = lm::FocalBCEMath<float, true, true, false>;
LONGTAIL_PROBE(lc::detail::FocalGamma2Math, float, std::uint8_t)
LONGTAIL_PROBE(lc::detail::FocalGamma2Math, __half, lc::packed_bits)
LONGTAIL_PROBE(FocalInt, float, std::uint8_t)
LONGTAIL_PROBE(lm::WeightedBCEMath, __nv_bfloat16, std::uint8_t)
