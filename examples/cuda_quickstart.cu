// SPDX-License-Identifier: Apache-2.0
// The CUDA loss API in one page: quickstart.cpp's batch on the GPU. Device buffers, a workspace
// sized once, focal loss (gamma 3) with capped pos_weight as a device array, one fused
// forward_backward on a stream; then the same batch stored compactly: half logits and gradients,
// bit-packed targets (2 bytes + 1 bit per label instead of 4 + 1).
//
//   build/examples/longtail_cuda_quickstart   (without a GPU it says so and exits 0)
//
// The CPU functor (quickstart.cpp) gives the same loss for the float batch; tests/cuda check that
// agreement to 1e-5 for every loss, option and storage type.

#include <cuda_fp16.h>
#include <cuda_runtime.h>

#include <algorithm>
#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <exception>
#include <vector>

#include "longtail/cuda.cuh"

namespace lc = longtail::cuda;

namespace {

// Every call returns a cudaError_t; a trainer would propagate it, the example stops.
void check(cudaError_t err, const char* what) {
  if (err != cudaSuccess) {
    std::fprintf(stderr, "%s: %s\n", what, cudaGetErrorString(err));
    std::exit(1);
  }
}

template <class T>
T* to_device(const std::vector<T>& host) {
  T* d = nullptr;
  check(cudaMalloc(&d, host.size() * sizeof(T)), "cudaMalloc");
  check(cudaMemcpy(d, host.data(), host.size() * sizeof(T), cudaMemcpyHostToDevice), "cudaMemcpy to device");
  return d;
}

template <class T>
std::vector<T> to_host(const T* d, std::size_t count, cudaStream_t stream) {
  std::vector<T> host(count);
  check(cudaMemcpyAsync(host.data(), d, count * sizeof(T), cudaMemcpyDeviceToHost, stream), "cudaMemcpyAsync");
  check(cudaStreamSynchronize(stream), "cudaStreamSynchronize");
  return host;
}

int run() {
  // A batch of 4 samples x 3 labels (row-major): logits from some model and 0/1 targets.
  constexpr std::int64_t rows = 4, cols = 3;
  const std::vector<float> logits = {2.0f,  -1.0f, -3.0f,  //
                                     0.5f,  1.5f,  -2.0f,  //
                                     -1.0f, -0.5f, -0.3f,  // the rare label is missed here
                                     3.0f,  -2.0f, -4.0f};
  const std::vector<std::uint8_t> targets = {1, 0, 0,  //
                                             1, 1, 0,  //
                                             0, 0, 1,  //
                                             1, 0, 0};

  // pos_weight = min((N - n) / n, 7) from training label counts n out of N samples: the
  // write-up's capped weights (longtail::class_weights computes them on the CPU side; written out
  // here so that this file needs no Eigen).
  const double counts[cols] = {900, 300, 12}, samples = 1000;
  std::vector<float> pos_weight(cols);
  for (std::int64_t j = 0; j < cols; ++j)
    pos_weight[j] = static_cast<float>(std::min((samples - counts[j]) / counts[j], 7.0));

  cudaStream_t stream;
  check(cudaStreamCreate(&stream), "cudaStreamCreate");
  float* d_logits = to_device(logits);
  std::uint8_t* d_targets = to_device(targets);
  float* d_pos_weight = to_device(pos_weight);
  float *d_loss = nullptr, *d_grad = nullptr;
  check(cudaMalloc(&d_loss, sizeof(float)), "cudaMalloc");
  check(cudaMalloc(&d_grad, logits.size() * sizeof(float)), "cudaMalloc");
  // The workspace depends on the shape only (any loss, options and storage): allocate it once
  // for the largest batch and reuse it; nothing is allocated inside a call.
  const std::size_t workspace_bytes = lc::workspace_size(rows, cols);
  void* d_workspace = nullptr;
  check(cudaMalloc(&d_workspace, workspace_bytes), "cudaMalloc");
  const lc::Workspace workspace{d_workspace, workspace_bytes};

  // Focal loss, gamma 3, with those pos_weights; mean over the 12 elements.
  const lc::ClassWeights classes{/*d_weight=*/nullptr, d_pos_weight, cols};
  const lc::FocalBCE<float> loss(longtail::FocalBCEOptions::focal(3.0), classes);
  const lc::Batch<float, std::uint8_t> batch{d_logits, d_targets, rows, cols};
  check(loss.forward_backward(batch, d_loss, d_grad, workspace, stream), "FocalBCE<float>::forward_backward");
  const float value = to_host(d_loss, 1, stream)[0];
  const std::vector<float> grad = to_host(d_grad, logits.size(), stream);
  std::printf("pos_weight = [%.3f %.3f %.3f]\n", pos_weight[0], pos_weight[1], pos_weight[2]);
  std::printf("focal loss (gamma 3, capped pos_weight), float logits + uint8 targets = %.6f\n", value);
  std::printf("d loss / d logits, first row = [%.6f %.6f %.6f]\n", grad[0], grad[1], grad[2]);

  // The same batch stored compactly. Math and accumulation stay in float; the logits are rounded
  // to half on the way in, which moves the loss slightly.
  std::vector<__half> half_logits(logits.size());
  std::transform(logits.begin(), logits.end(), half_logits.begin(), [](float v) { return __float2half(v); });
  const std::vector<std::uint32_t> bits = lc::pack_bits(targets.data(), rows, cols);  // rows padded to 32 bits
  __half* d_half_logits = to_device(half_logits);
  std::uint32_t* d_bits = to_device(bits);
  __half* d_half_grad = nullptr;
  check(cudaMalloc(&d_half_grad, half_logits.size() * sizeof(__half)), "cudaMalloc");
  const lc::FocalBCE<__half> half_loss(longtail::FocalBCEOptions::focal(3.0), classes);
  const lc::Batch<__half, lc::packed_bits> compact{d_half_logits, d_bits, rows, cols};
  check(half_loss.forward_backward(compact, d_loss, d_half_grad, workspace, stream),
        "FocalBCE<__half>::forward_backward");
  const std::vector<__half> half_grad = to_host(d_half_grad, half_logits.size(), stream);
  std::printf("focal loss, half logits + bit-packed targets = %.6f\n", to_host(d_loss, 1, stream)[0]);
  std::printf("d loss / d logits (half), first row = [%.6f %.6f %.6f]\n", __half2float(half_grad[0]),
              __half2float(half_grad[1]), __half2float(half_grad[2]));

  for (void* p : {static_cast<void*>(d_logits), static_cast<void*>(d_targets), static_cast<void*>(d_pos_weight),
                  static_cast<void*>(d_loss), static_cast<void*>(d_grad), d_workspace,
                  static_cast<void*>(d_half_logits), static_cast<void*>(d_bits), static_cast<void*>(d_half_grad)})
    cudaFree(p);
  cudaStreamDestroy(stream);
  return 0;
}

}  // namespace

int main() {
  int devices = 0;
  if (cudaGetDeviceCount(&devices) != cudaSuccess || devices == 0) {
    std::printf("no CUDA device: nothing to run (this example needs a GPU)\n");
    return 0;
  }
  try {
    return run();
  } catch (const std::exception& e) {  // the functors report bad arguments as longtail::invalid_argument
    std::fprintf(stderr, "error: %s\n", e.what());
    return 1;
  }
}
