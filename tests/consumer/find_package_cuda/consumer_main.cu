// SPDX-License-Identifier: Apache-2.0
// Compiles against the installed CUDA headers and runs without a GPU: the launchers check their
// arguments on the host before touching the device.
#include <cstdint>
#include <cstdio>

#include <longtail/cuda.cuh>

int main() {
  namespace lc = longtail::cuda;
  const std::size_t bytes = lc::workspace_size(4096, 698);
  std::size_t queried = 0;
  lc::Batch<float, std::uint8_t> batch{nullptr, nullptr, 4096, 698};
  // d_workspace == nullptr: a size query, nothing launched.
  if (lc::focal_bce(nullptr, queried, longtail::FocalBCEOptions{}, {}, batch, lc::Outputs<float>{}) != cudaSuccess ||
      queried != bytes) {
    std::printf("size query failed: %zu vs %zu\n", queried, bytes);
    return 1;
  }
  // Null logits: rejected before any launch.
  char fake_workspace[16];
  const cudaError_t e =
      lc::focal_bce(fake_workspace, queried, longtail::FocalBCEOptions{}, {}, batch, lc::Outputs<float>{});
  if (e != cudaErrorInvalidValue) {
    std::printf("expected cudaErrorInvalidValue, got %d\n", int(e));
    return 1;
  }
  std::printf("longtail::cuda consumer: workspace %zu bytes for 4096 x 698, bad input rejected\n", bytes);
  return 0;
}
