// SPDX-License-Identifier: Apache-2.0
// CUDA tensors: the longtail::cuda functors on PyTorch's current stream, with the workspace taken
// from PyTorch's caching allocator (an at::empty byte tensor: no cudaMalloc in steady state, and
// the memory is tied to the stream the way every other PyTorch temporary is, so the call can be
// captured in a CUDA graph like any PyTorch op). Compiled only when nvcc and a CUDA-enabled
// libtorch are both found (torch/CMakeLists.txt).
//
// Storage the kernels read (cuda.cuh): dense row-major logits / gradients of float, __half or
// __nv_bfloat16; targets float, __half or uint8 (bool tensors are read as their bytes, float64
// targets are converted to float); uint8 masks; float per-class and per-row vectors. A
// non-contiguous tensor is copied once (.contiguous()).

#include <cstdint>

#include <ATen/ATen.h>
#include <ATen/cuda/CUDAContext.h>
#include <c10/cuda/CUDAGuard.h>
#include <cuda_bf16.h>
#include <cuda_fp16.h>

#include <longtail/cuda.cuh>

#include "longtail/torch/losses.hpp"
#include "prepared.hpp"

namespace longtail::torch::detail {
namespace {

namespace lc = longtail::cuda;

template <class Options>
struct DeviceLoss;
template <>
struct DeviceLoss<WeightedBCEOptions> {
  template <class T>
  using type = lc::WeightedBCE<T>;
};
template <>
struct DeviceLoss<FocalBCEOptions> {
  template <class T>
  using type = lc::FocalBCE<T>;
};

void check(cudaError_t err, const char* what) {
  if (err != cudaSuccess)
    longtail::detail::fail(what, " failed: ", cudaGetErrorName(err), " (", cudaGetErrorString(err), ")");
}

const float* float_ptr(const at::Tensor& t) { return t.defined() ? t.data_ptr<float>() : nullptr; }

template <class Options, class T, class Target>
void launch(const Options& options, const Prepared& p, const at::Tensor& targets, Outputs& out) {
  using Loss = typename DeviceLoss<Options>::template type<T>;
  const at::Tensor weight = p.weight.defined() ? p.weight.to(at::kFloat).contiguous() : at::Tensor();
  const at::Tensor pos_weight = p.pos_weight.defined() ? p.pos_weight.to(at::kFloat).contiguous() : at::Tensor();
  const at::Tensor mask = p.mask.defined() ? p.mask.contiguous() : at::Tensor();
  const at::Tensor sample_weight =
      p.sample_weight.defined() ? p.sample_weight.to(at::kFloat).contiguous() : at::Tensor();
  const at::Tensor logits = p.logits.contiguous();

  lc::ClassWeights classes{float_ptr(weight), float_ptr(pos_weight),
                           (weight.defined() || pos_weight.defined()) ? p.cols : 0};
  const Loss loss(options, classes);
  lc::Batch<T, Target> batch;
  batch.d_logits = reinterpret_cast<const T*>(logits.data_ptr());
  batch.d_targets = reinterpret_cast<const Target*>(targets.data_ptr());
  batch.rows = p.rows;
  batch.cols = p.cols;
  batch.d_mask = mask.defined() ? mask.data_ptr<std::uint8_t>() : nullptr;
  batch.d_sample_weight = float_ptr(sample_weight);

  lc::Outputs<T> o;
  o.d_loss = out.loss.defined() ? out.loss.data_ptr<float>() : nullptr;
  o.d_grad = out.grad.defined() ? reinterpret_cast<T*>(out.grad.data_ptr()) : nullptr;
  o.d_loss_elements = out.elements.defined() ? reinterpret_cast<T*>(out.elements.data_ptr()) : nullptr;

  const std::size_t bytes = lc::workspace_size(p.rows, p.cols);
  // At least one byte: a null workspace is an argument error even when nothing needs it.
  const at::Tensor workspace =
      at::empty({static_cast<std::int64_t>(bytes ? bytes : 1)}, logits.options().dtype(at::kByte));
  const cudaStream_t stream = at::cuda::getCurrentCUDAStream(logits.device().index()).stream();
  check(
      loss.evaluate(batch, o, lc::Workspace{workspace.data_ptr(), static_cast<std::size_t>(workspace.numel())}, stream),
      "longtail::cuda loss launch");
}

template <class Options, class T>
void with_targets(const Options& options, const Prepared& p, Outputs& out) {
  const auto y = p.targets.scalar_type();
  if (y == at::kByte || y == at::kBool) {
    launch<Options, T, std::uint8_t>(options, p, p.targets.view(at::kByte).contiguous(), out);
  } else if (y == at::kHalf) {
    launch<Options, T, __half>(options, p, p.targets.contiguous(), out);
  } else {
    launch<Options, T, float>(options, p, p.targets.to(at::kFloat).contiguous(), out);
  }
}

template <class Options>
void evaluate(const Options& options, const Prepared& in, Outputs& out) {
  const c10::cuda::CUDAGuard guard(in.logits.device());
  Prepared p = in;
  if (p.mask.defined() && p.mask.scalar_type() != at::kByte)
    p.mask = p.mask.scalar_type() == at::kBool ? p.mask.view(at::kByte) : p.mask.ne(0).view(at::kByte);
  switch (p.logits.scalar_type()) {
    case at::kFloat:
      return with_targets<Options, float>(options, p, out);
    case at::kHalf:
      return with_targets<Options, __half>(options, p, out);
    case at::kBFloat16:
      return with_targets<Options, __nv_bfloat16>(options, p, out);
    default:
      // float64: the kernels compute in float (cuda.cuh); a silent downcast would break the
      // float64 accuracy a caller asking for it expects.
      throw type_error("logits on CUDA must be float32, float16 or bfloat16 (float64 logits run on the CPU)");
  }
}

}  // namespace

void cuda_evaluate(const WeightedBCEOptions& options, const Prepared& p, Outputs& outputs) {
  evaluate(options, p, outputs);
}
void cuda_evaluate(const FocalBCEOptions& options, const Prepared& p, Outputs& outputs) {
  evaluate(options, p, outputs);
}

}  // namespace longtail::torch::detail
