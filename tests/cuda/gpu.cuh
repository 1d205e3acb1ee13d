// SPDX-License-Identifier: Apache-2.0
#pragma once
// GPU test helpers: device detection (tests skip with a message when there is no GPU), device
// buffers, and a runner that uploads a problem in storage types, launches and reads back.

#include <catch2/catch.hpp>

#include <cuda_runtime.h>

#include <string>
#include <vector>

#include "harness.cuh"

namespace longtail_test {

/// Empty when a CUDA device can be used; otherwise why not (checked once).
inline const std::string& gpu_unavailable_reason() {
  static const std::string reason = [] {
    int count = 0;
    const cudaError_t err = cudaGetDeviceCount(&count);
    if (err != cudaSuccess) {
      cudaGetLastError();  // clear it
      return std::string("cudaGetDeviceCount failed: ") + cudaGetErrorString(err);
    }
    if (count == 0) return std::string("no CUDA device present");
    return std::string();
  }();
  return reason;
}

inline bool gpu_available() { return gpu_unavailable_reason().empty(); }

/// First statement of every GPU test.
#define LONGTAIL_REQUIRE_GPU()                                                 \
  do {                                                                         \
    if (!::longtail_test::gpu_available()) {                                   \
      WARN("GPU test skipped: " << ::longtail_test::gpu_unavailable_reason()); \
      return;                                                                  \
    }                                                                          \
  } while (0)

#define CUDA_REQUIRE(expr)                                      \
  do {                                                          \
    const cudaError_t longtail_err_ = (expr);                   \
    INFO(#expr << " -> " << cudaGetErrorString(longtail_err_)); \
    REQUIRE(longtail_err_ == cudaSuccess);                      \
  } while (0)

/// Owning device array of `count` elements of S (at least one byte allocated).
template <class S>
class DeviceBuffer {
 public:
  explicit DeviceBuffer(std::size_t count) : count_(count) {
    CUDA_REQUIRE(cudaMalloc(reinterpret_cast<void**>(&ptr_), count ? count * sizeof(S) : 1));
  }
  explicit DeviceBuffer(const std::vector<S>& host) : DeviceBuffer(host.size()) { upload(host); }
  DeviceBuffer(const DeviceBuffer&) = delete;
  DeviceBuffer& operator=(const DeviceBuffer&) = delete;
  ~DeviceBuffer() { cudaFree(ptr_); }

  S* get() const { return ptr_; }
  std::size_t size() const { return count_; }
  void upload(const std::vector<S>& host) {
    REQUIRE(host.size() <= count_);
    if (!host.empty()) CUDA_REQUIRE(cudaMemcpy(ptr_, host.data(), host.size() * sizeof(S), cudaMemcpyHostToDevice));
  }
  std::vector<S> download() const {
    std::vector<S> host(count_);
    if (count_) CUDA_REQUIRE(cudaMemcpy(host.data(), ptr_, count_ * sizeof(S), cudaMemcpyDeviceToHost));
    return host;
  }

 private:
  S* ptr_ = nullptr;
  std::size_t count_ = 0;
};

inline float download_scalar(const float* d) {
  float h = 0.0f;
  CUDA_REQUIRE(cudaMemcpy(&h, d, sizeof(float), cudaMemcpyDeviceToHost));
  return h;
}

struct RunOptions {
  std::int64_t offset = 0;  // elements: 1 makes every pointer unaligned
  bool in_place = false;    // gradient written over the logits
  bool elements = true;     // also compute per-element losses (in a separate call, first)
  /// Also call forward() and backward() separately and require bitwise agreement with the
  /// fused call.
  bool separate_calls = false;
};

/// Uploads the problem in storage types <T, Target>, then calls
///   launch(const Batch<T, Target>&, const ClassWeights&, const Outputs<T>&, const Workspace&)
/// for the requested outputs and reads everything back.
template <class T, class Target, class Launch>
Result gpu_evaluate(const Problem& p, const RunOptions& r, Launch&& launch) {
  namespace lc = longtail::cuda;
  StorageArrays<T, Target> a(p, r.offset);
  DeviceBuffer<T> x(a.x), grad(a.grad), elements(a.elements);
  DeviceBuffer<typename StorageArrays<T, Target>::TargetWord> y(a.y);
  DeviceBuffer<std::uint8_t> mask(a.mask);
  DeviceBuffer<float> sw(p.sample_weight), w(p.weight), pw(p.pos_weight), offset(p.logit_offset), losses(4);
  // The Distribution-Balanced loss's workspace (one float per row more) serves every loss.
  DeviceBuffer<unsigned char> workspace(lc::distribution_balanced_workspace_size(p.rows, p.cols));
  const lc::Workspace ws{workspace.get(), workspace.size()};

  lc::Batch<T, Target> batch{x.get() + r.offset, y.get() + r.offset, p.rows, p.cols};
  if (!p.mask.empty()) batch.d_mask = mask.get() + r.offset;
  if (!p.sample_weight.empty()) batch.d_sample_weight = sw.get();
  const lc::ClassWeights classes{p.weight.empty() ? nullptr : w.get(), p.pos_weight.empty() ? nullptr : pw.get(),
                                 p.cols, p.logit_offset.empty() ? nullptr : offset.get()};
  Result res;
  if (r.elements) {
    lc::Outputs<T> out;
    out.d_loss_elements = elements.get() + r.offset;
    out.d_loss = losses.get() + 1;
    CUDA_REQUIRE(launch(batch, classes, out, ws));
  }
  if (r.separate_calls) {
    lc::Outputs<T> fwd;
    fwd.d_loss = losses.get() + 2;
    CUDA_REQUIRE(launch(batch, classes, fwd, ws));
    lc::Outputs<T> bwd;
    bwd.d_grad = grad.get() + r.offset;
    CUDA_REQUIRE(launch(batch, classes, bwd, ws));
  }
  const auto separate_grad = r.separate_calls ? grad.download() : std::vector<T>();
  lc::Outputs<T> out;
  out.d_loss = losses.get();
  out.d_grad = r.in_place ? x.get() + r.offset : grad.get() + r.offset;
  if (r.separate_calls && !r.in_place) CUDA_REQUIRE(cudaMemset(grad.get(), 0xff, grad.size() * sizeof(T)));
  CUDA_REQUIRE(launch(batch, classes, out, ws));
  CUDA_REQUIRE(cudaDeviceSynchronize());

  const auto l = losses.download();
  res.loss = l[0];
  const auto g = r.in_place ? x.download() : grad.download();
  res.grad = to_floats(g.data() + r.offset, p.n());
  if (r.elements) {
    const auto el = elements.download();
    res.elements = to_floats(el.data() + r.offset, p.n());
    CHECK(bits_of(l[1]) == bits_of(l[0]));  // forward_elements' loss == fused loss, bitwise
  }
  if (r.separate_calls) {
    CHECK(bits_of(l[2]) == bits_of(l[0]));  // forward() == fused, bitwise
    const std::vector<float> sep = to_floats(separate_grad.data() + r.offset, p.n());
    CHECK(std::memcmp(sep.data(), res.grad.data(), sep.size() * sizeof(float)) == 0);  // backward() == fused
  }
  return res;
}

/// gpu_evaluate through a drop-in functor Loss<T> (longtail::cuda::FocalBCE / WeightedBCE).
template <template <class> class Loss, class T, class Target>
Result gpu_run(const typename Loss<T>::Options& options, const Problem& p, const RunOptions& r = {}) {
  namespace lc = longtail::cuda;
  return gpu_evaluate<T, Target>(
      p, r,
      [&](const lc::Batch<T, Target>& batch, const lc::ClassWeights& classes, const lc::Outputs<T>& out,
          const lc::Workspace& ws) { return Loss<T>(options, classes).evaluate(batch, out, ws); });
}

}  // namespace longtail_test
