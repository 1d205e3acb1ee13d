// SPDX-License-Identifier: Apache-2.0
#pragma once
// ExecutionOptions::check_inputs on the GPU: the O(elements) checks of input *values* that the
// CPU functors run (targets in [0, 1]) plus those the CPU always runs but that would need a
// device-to-host copy here (per-sample and per-class weights finite and >= 0). They copy the
// arrays to the host and synchronise `stream`: a debugging aid, off by default. Messages are the
// CPU's.

#include <cuda_runtime.h>

#include <cmath>
#include <cstdint>
#include <string>
#include <type_traits>
#include <vector>

#include "longtail/detail/arguments.cuh"
#include "longtail/error.hpp"

namespace longtail::cuda::detail {

template <class S>
cudaError_t copy_to_host(std::vector<S>& host, const S* device, std::int64_t count, cudaStream_t stream) {
  host.resize(static_cast<std::size_t>(count));
  if (count == 0) return cudaSuccess;
  cudaError_t err =
      cudaMemcpyAsync(host.data(), device, static_cast<std::size_t>(count) * sizeof(S), cudaMemcpyDeviceToHost, stream);
  if (err == cudaSuccess) err = cudaStreamSynchronize(stream);
  return err;
}

inline void check_weights(const char* what, const std::vector<float>& v) {
  for (std::size_t k = 0; k < v.size(); ++k)
    if (!std::isfinite(v[k]) || v[k] < 0)
      longtail::detail::fail(what, "[", k, "] must be finite and >= 0 (got ", double(v[k]), ")");
}

/// Throws longtail::invalid_argument for a bad value; returns a CUDA error from the copies.
template <class T, class Target>
cudaError_t check_input_values(const char* loss, const ClassWeights& classes, const Batch<T, Target>& batch,
                               cudaStream_t stream) {
  cudaError_t err = cudaSuccess;
  if constexpr (!std::is_same_v<Target, packed_bits>) {  // bits are 0/1 by construction
    std::vector<Target> y;
    if ((err = copy_to_host(y, batch.d_targets, batch.elements(), stream))) return err;
    for (std::int64_t e = 0; e < batch.elements(); ++e) {
      const double v = to_float(y[static_cast<std::size_t>(e)]);
      if (!(v >= 0.0 && v <= 1.0))  // also rejects NaN
        longtail::detail::fail("targets(", e / batch.cols, ", ", e % batch.cols, ") must be in [0, 1] (got ", v, ")");
    }
  }
  std::vector<float> w;
  if (batch.d_sample_weight) {
    if ((err = copy_to_host(w, batch.d_sample_weight, batch.rows, stream))) return err;
    check_weights("sample_weight", w);
  }
  const std::string prefix = std::string(loss) + ": ";
  if (classes.d_weight) {
    if ((err = copy_to_host(w, classes.d_weight, classes.num_classes, stream))) return err;
    check_weights((prefix + "weight").c_str(), w);
  }
  if (classes.d_pos_weight) {
    if ((err = copy_to_host(w, classes.d_pos_weight, classes.num_classes, stream))) return err;
    check_weights((prefix + "pos_weight").c_str(), w);
  }
  if (classes.d_logit_offset) {
    if ((err = copy_to_host(w, classes.d_logit_offset, classes.num_classes, stream))) return err;
    for (std::size_t k = 0; k < w.size(); ++k)
      if (!std::isfinite(w[k]))
        longtail::detail::fail(prefix, "logit_offset[", k, "] must be finite (got ", double(w[k]), ")");
  }
  return cudaSuccess;
}

}  // namespace longtail::cuda::detail
