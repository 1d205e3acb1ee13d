// SPDX-License-Identifier: Apache-2.0
// GPU benchmarks: fused forward+backward of focal BCE (gamma 2, alpha 0.25) and weighted BCE per
// storage type at 4096x698, 65536x698 and (16-bit logits) 1,048,576x698, each beside a copy
// kernel that moves the same bytes (reads the logits and the targets, writes the gradient) in the
// same binary. Times are cudaEvent times per call of back-to-back calls that rotate through
// enough copies of the inputs to keep each call's data out of L2 (manual time; counters: a lone
// call's latency one_call_us, and l2_hot_us for back-to-back calls on one set of buffers);
// "bytes_per_second" is the memory traffic the call needs at minimum divided by that time, so
// the ratio of a loss to its copy row is the fraction of the card's achievable memory bandwidth
// the loss reaches.
//
// The headline combination (float logits, uint8 targets) runs through the public functors, and
// adds focal_g3_class_weights_fwd_bwd: gamma 3 with per-class weights, the trainer's best
// configuration (the compile-time gamma-3 kernel, weighted path); focal_bwd: the gradient alone (stage 1,
// the same bytes, no finalize kernel); focal_fwd_bwd_no_dependent_finalize: the focal row with
// the finalize kernel launched the ordinary way (cuda/longtail/detail/launch.cuh), to price the programmatic
// dependent launch; and at 65536x698
// focal_fwd_bwd_unaligned: the logits one element off 16-byte alignment (the scalar path). The
// other combinations call detail::launch_elementwise with the math functors the public API
// dispatches to for these options (FocalGamma2Math, WeightedBCEMath), which keeps the compile
// time down.
//
// Usage: longtail_cuda_bench [--benchmark_filter=...] [--benchmark_format=json]. Without a GPU
// every benchmark reports "no CUDA device" and the binary exits 0.

#include <benchmark/benchmark.h>

#include <cuda_runtime.h>

#include <algorithm>
#include <cmath>
#include <cstdint>
#include <cstdio>
#include <functional>
#include <string>
#include <type_traits>
#include <utility>
#include <vector>

#include "longtail/cuda.cuh"

namespace lc = longtail::cuda;

namespace {

const char* storage_name(float*) { return "float"; }
const char* storage_name(__half*) { return "half"; }
const char* storage_name(__nv_bfloat16*) { return "bf16"; }
const char* storage_name(std::uint8_t*) { return "uint8"; }
const char* storage_name(lc::packed_bits*) { return "bits"; }
template <class S>
const char* name_of() {
  return storage_name(static_cast<S*>(nullptr));
}

bool gpu_present() {
  int count = 0;
  return cudaGetDeviceCount(&count) == cudaSuccess && count > 0;
}

#define BENCH_CUDA(expr)                                                                         \
  do {                                                                                           \
    const cudaError_t bench_err_ = (expr);                                                       \
    if (bench_err_ != cudaSuccess) {                                                             \
      state.SkipWithError((std::string(#expr) + ": " + cudaGetErrorString(bench_err_)).c_str()); \
      return;                                                                                    \
    }                                                                                            \
  } while (0)

__device__ __forceinline__ std::uint64_t hash(std::uint64_t v) {
  v ^= v >> 33;
  v *= 0xff51afd7ed558ccdull;
  v ^= v >> 33;
  v *= 0xc4ceb9fe1a85ec53ull;
  return v ^ (v >> 33);
}

/// Logits uniform in [-6, 6); targets 1 with probability ~0.3 (bits: ~0.5).
template <class T, class Word>
__global__ void fill(T* x, Word* y, std::uint64_t n, std::uint64_t target_words) {
  const std::uint64_t stride = std::uint64_t(gridDim.x) * blockDim.x;
  for (std::uint64_t e = blockIdx.x * std::uint64_t(blockDim.x) + threadIdx.x; e < n; e += stride)
    x[e] = lc::detail::from_float<T>(static_cast<float>(hash(e) % 12000) / 1000.0f - 6.0f);
  for (std::uint64_t k = blockIdx.x * std::uint64_t(blockDim.x) + threadIdx.x; k < target_words; k += stride) {
    const std::uint64_t h = hash(k + 0x9e3779b97f4a7c15ull);
    if constexpr (std::is_same_v<Word, std::uint32_t>)
      y[k] = static_cast<std::uint32_t>(h);
    else
      y[k] = static_cast<Word>(h % 10 < 3 ? 1 : 0);
  }
}

/// The copy reference: reads x_bytes and y_bytes, writes x_bytes (16-byte accesses, grid sized
/// like the loss kernel). The XOR of the targets is kept live through an impossible store.
__global__ void copy_same_bytes(const uint4* x, uint4* g, std::uint64_t x16, const uint4* y, std::uint64_t y16,
                                unsigned* sink) {
  const std::uint64_t stride = std::uint64_t(gridDim.x) * blockDim.x;
  for (std::uint64_t k = blockIdx.x * std::uint64_t(blockDim.x) + threadIdx.x; k < x16; k += stride) g[k] = x[k];
  unsigned acc = 0;
  for (std::uint64_t k = blockIdx.x * std::uint64_t(blockDim.x) + threadIdx.x; k < y16; k += stride) {
    const uint4 v = y[k];
    acc ^= v.x ^ v.y ^ v.z ^ v.w;
  }
  if (acc == 0x9e3779b9u) *sink = acc;
}

/// How many input sets a benchmark rotates through so that no call finds its inputs in L2 (for
/// 4096x698 all of them fit in an H100's 50 MB): between two uses of a set the other sets move at
/// least twice the L2's size. Repeated calls over one buffer measure the cache, not the memory;
/// the loss and its copy row rotate alike. One set where a single call already moves > 2 x L2.
int input_sets(double bytes_per_call) {
  int device = 0, l2 = 0;
  if (cudaGetDevice(&device) != cudaSuccess ||
      cudaDeviceGetAttribute(&l2, cudaDevAttrL2CacheSize, device) != cudaSuccess)
    l2 = 64 << 20;
  if (bytes_per_call >= 2.0 * l2) return 1;
  return static_cast<int>(std::min(std::ceil(2.0 * l2 / bytes_per_call) + 1.0, 64.0));
}

/// Device buffers of one benchmark: `sets` copies of the logits, targets and gradient (the same
/// values in each), one loss, one workspace.
template <class T, class Target>
struct Buffers {
  using Word = lc::target_storage_t<Target>;
  struct Set {
    T* x = nullptr;
    T* grad = nullptr;
    Word* y = nullptr;
  };
  std::vector<Set> sets;
  float* loss = nullptr;
  float* class_weight = nullptr;  // focal_g3_class_weights only
  void* ws = nullptr;
  unsigned* sink = nullptr;
  std::size_t ws_bytes = 0, x_bytes = 0, y_bytes = 0;
  std::int64_t rows, cols;

  Buffers(std::int64_t r, std::int64_t c) : rows(r), cols(c) {
    x_bytes = n() * sizeof(T);
    y_bytes = target_words() * sizeof(Word);
  }
  // Owns device memory: a copy would free it twice (a lambda that captured a Buffers by value
  // freed the buffers while the benchmark still used them: illegal memory access on the GPU).
  Buffers(const Buffers&) = delete;
  Buffers& operator=(const Buffers&) = delete;
  std::uint64_t n() const { return static_cast<std::uint64_t>(rows * cols); }
  std::uint64_t target_words() const {
    return std::is_same_v<Target, lc::packed_bits> ? static_cast<std::uint64_t>(rows * lc::words_per_row(cols)) : n();
  }
  cudaError_t allocate() {
    ws_bytes = lc::workspace_size(rows, cols);
    cudaError_t err;
    if ((err = cudaMalloc(&loss, sizeof(float))) || (err = cudaMalloc(&ws, ws_bytes)) ||
        (err = cudaMalloc(&sink, sizeof(unsigned))))
      return err;
    sets.resize(static_cast<std::size_t>(input_sets(bytes())));
    for (Set& s : sets) {
      // One element of slack: the unaligned rows read the logits from x + 1.
      if ((err = cudaMalloc(&s.x, x_bytes + sizeof(T))) || (err = cudaMalloc(&s.grad, x_bytes)) ||
          (err = cudaMalloc(&s.y, y_bytes)))
        return err;
      fill<<<1024, 256>>>(s.x, s.y, n() + 1, target_words());
    }
    return cudaDeviceSynchronize();
  }
  ~Buffers() {
    for (Set& s : sets) {
      cudaFree(s.x);
      cudaFree(s.grad);
      cudaFree(s.y);
    }
    cudaFree(loss);
    cudaFree(class_weight);
    cudaFree(ws);
    cudaFree(sink);
  }
  /// Minimum traffic of a fused call: logits and targets read, gradient written.
  double bytes() const { return static_cast<double>(2 * x_bytes + y_bytes); }
};

/// GPU time of `calls` back-to-back calls, in seconds, into `seconds`; call k uses input set
/// (first + k) % sets (sets = 1: always the same buffers).
template <class Call>
cudaError_t timed_calls(cudaEvent_t start, cudaEvent_t stop, int calls, int first, int sets, Call&& call,
                        double& seconds) {
  cudaError_t err = cudaEventRecord(start);
  for (int k = 0; k < calls && err == cudaSuccess; ++k) err = call((first + k) % sets);
  if (err == cudaSuccess) err = cudaEventRecord(stop);
  if (err == cudaSuccess) err = cudaEventSynchronize(stop);
  float ms = 0.0f;
  if (err == cudaSuccess) err = cudaEventElapsedTime(&ms, start, stop);
  seconds = ms / 1e3;
  return err;
}

double median(std::vector<double> v) {
  std::nth_element(v.begin(), v.begin() + v.size() / 2, v.end());
  return v[v.size() / 2];
}

/// Times `call(set)` with cudaEvents after a warm-up call on every input set. The iteration time
/// is that of one call within a stream of back-to-back calls (`calls_per_timing` of them between
/// two events, enough for ~0.5 ms of GPU work), rotating through `input_sets` copies of the
/// inputs so that each call reads from memory, not from L2: the throughput of a training loop,
/// where the host enqueues ahead of the GPU. Counters:
///   one_call_us  a lone call, host launch latency included (median of 15);
///   l2_hot_us    back-to-back calls on one input set (median of 7): where a call's working set
///                fits in L2 (4096x698), this is the cache's speed, not the memory's.
template <class Call>
void time_calls(benchmark::State& state, double bytes, int sets, Call&& call) {
  cudaEvent_t start, stop;
  BENCH_CUDA(cudaEventCreate(&start));
  BENCH_CUDA(cudaEventCreate(&stop));
  for (int k = 0; k < sets; ++k) BENCH_CUDA(call(k));
  BENCH_CUDA(cudaDeviceSynchronize());
  int next = 0;  // the input set the next call uses
  std::vector<double> lone(15);
  for (double& t : lone) {
    BENCH_CUDA(timed_calls(start, stop, 1, next, sets, call, t));
    next = (next + 1) % sets;
  }
  const double one_call = median(lone);
  const int calls = static_cast<int>(std::clamp(std::ceil(0.5e-3 / one_call), 2.0, 200.0));
  for (auto _ : state) {
    double t = 0;
    BENCH_CUDA(timed_calls(start, stop, calls, next, sets, call, t));
    next = (next + calls) % sets;
    state.SetIterationTime(t / calls);
  }
  std::vector<double> hot(7);
  for (double& t : hot) {
    BENCH_CUDA(timed_calls(start, stop, calls, 0, 1, call, t));
    t /= calls;
  }
  state.counters["bytes_per_second"] = benchmark::Counter(bytes, benchmark::Counter::kIsIterationInvariantRate);
  state.counters["bytes"] = bytes;
  state.counters["one_call_us"] = one_call * 1e6;
  state.counters["l2_hot_us"] = median(hot) * 1e6;
  state.counters["calls_per_timing"] = calls;
  state.counters["input_sets"] = sets;
  cudaEventDestroy(start);
  cudaEventDestroy(stop);
}

/// focal: gamma 2, alpha 0.25 (torchvision's defaults); weighted: plain BCE through the
/// weighted-BCE kernel; focal_g3_class_weights: gamma 3 with per-class weights (the trainer's
/// best configuration, cap 7 + gamma 3: the gamma-3 kernel with the weighted path).
enum class Loss { focal, weighted, focal_g3_class_weights };

/// Variants of the headline row: logits one element off 16-byte alignment; the finalize kernel
/// as an ordinary launch (cuda/longtail/detail/launch.cuh, dependent_finalize_enabled); the gradient alone (backward:
/// stage 1 only, the same bytes, no finalize kernel). Priced in the same run.
enum class Variant { standard, unaligned, no_dependent_finalize, gradient_only };

template <class T, class Target>
void bench_loss(benchmark::State& state, Loss loss, std::int64_t rows, std::int64_t cols, bool via_functor,
                Variant variant = Variant::standard) {
  const bool unaligned = variant == Variant::unaligned;
  if (!gpu_present()) {
    state.SkipWithError("no CUDA device");
    return;
  }
  Buffers<T, Target> b(rows, cols);
  BENCH_CUDA(b.allocate());
  std::vector<lc::Batch<T, Target>> batches;
  std::vector<lc::Outputs<T>> outs;
  for (const auto& set : b.sets) {
    batches.push_back({unaligned ? set.x + 1 : set.x, set.y, rows, cols});
    outs.push_back({b.loss, set.grad});
  }
  const lc::Workspace ws{b.ws, b.ws_bytes};
  const auto focal_options = longtail::FocalBCEOptions::focal(2.0, 0.25);
  const longtail::WeightedBCEOptions weighted_options;
  std::function<cudaError_t(int)> call;
  if (loss == Loss::focal_g3_class_weights) {
    // Per-class weights between 1 and 7 (what capped inverse-frequency weights look like).
    std::vector<float> w(static_cast<std::size_t>(cols));
    for (std::size_t j = 0; j < w.size(); ++j) w[j] = 1.0f + static_cast<float>((j * 37) % 61) / 10.0f;
    BENCH_CUDA(cudaMalloc(&b.class_weight, w.size() * sizeof(float)));
    BENCH_CUDA(cudaMemcpy(b.class_weight, w.data(), w.size() * sizeof(float), cudaMemcpyHostToDevice));
    lc::FocalBCE<T> f(longtail::FocalBCEOptions::focal(3.0), lc::ClassWeights{b.class_weight, nullptr, cols});
    call = [=](int k) { return f.forward_backward(batches[k], outs[k].d_loss, outs[k].d_grad, ws); };
  } else if (via_functor) {
    if (loss == Loss::focal && variant == Variant::gradient_only) {
      lc::FocalBCE<T> f(focal_options);
      call = [=](int k) { return f.backward(batches[k], outs[k].d_grad, ws); };
    } else if (loss == Loss::focal) {
      lc::FocalBCE<T> f(focal_options);
      call = [=](int k) { return f.forward_backward(batches[k], outs[k].d_loss, outs[k].d_grad, ws); };
    } else {
      lc::WeightedBCE<T> f(weighted_options);
      call = [=](int k) { return f.forward_backward(batches[k], outs[k].d_loss, outs[k].d_grad, ws); };
    }
  } else {
    if (loss == Loss::focal) {
      lc::detail::FocalGamma2Math m;
      m.core.gamma_pos = m.core.gamma_neg = 2.0f;
      m.core.margin = 0.0f;
      m.core.int_pos = m.core.int_neg = 2;
      const auto setup = lc::detail::FocalBCESpec::setup(focal_options);
      call = [=](int k) {
        return lc::detail::launch_elementwise(m, setup, lc::ClassWeights{}, batches[k], outs[k], ws, cudaStream_t{});
      };
    } else {
      const auto setup = lc::detail::WeightedBCESpec::setup(weighted_options);
      call = [=](int k) {
        return lc::detail::launch_elementwise(longtail::math::WeightedBCEMath{}, setup, lc::ClassWeights{}, batches[k],
                                              outs[k], ws, cudaStream_t{});
      };
    }
  }
  lc::detail::dependent_finalize_enabled() = variant != Variant::no_dependent_finalize;
  time_calls(state, b.bytes(), static_cast<int>(b.sets.size()), call);
  lc::detail::dependent_finalize_enabled() = true;
}

template <class T, class Target>
void bench_copy(benchmark::State& state, std::int64_t rows, std::int64_t cols) {
  if (!gpu_present()) {
    state.SkipWithError("no CUDA device");
    return;
  }
  Buffers<T, Target> b(rows, cols);
  BENCH_CUDA(b.allocate());
  int device = 0, sms = 0;
  BENCH_CUDA(cudaGetDevice(&device));
  BENCH_CUDA(cudaDeviceGetAttribute(&sms, cudaDevAttrMultiProcessorCount, device));
  const int blocks = sms * 8;
  // Sizes here are multiples of 16 bytes (cols = 698, rows multiples of 8; bits: 88-byte rows x
  // rows that are multiples of 4); a tail would only be left out.
  time_calls(state, b.bytes(), static_cast<int>(b.sets.size()), [&](int k) {
    const auto& set = b.sets[static_cast<std::size_t>(k)];
    copy_same_bytes<<<blocks, 256>>>(reinterpret_cast<const uint4*>(set.x), reinterpret_cast<uint4*>(set.grad),
                                     b.x_bytes / 16, reinterpret_cast<const uint4*>(set.y), b.y_bytes / 16, b.sink);
    return cudaGetLastError();
  });
}

template <class T, class Target>
void register_combo(std::int64_t rows, std::int64_t cols, bool via_functor) {
  const std::string shape = std::to_string(rows) + "x" + std::to_string(cols);
  const std::string types = std::string(name_of<T>()) + "/" + name_of<Target>() + "/" + shape;
  std::vector<Loss> losses = {Loss::focal, Loss::weighted};
  if (via_functor) losses.push_back(Loss::focal_g3_class_weights);
  for (Loss loss : losses) {
    const char* prefix = loss == Loss::focal      ? "focal_fwd_bwd/"
                         : loss == Loss::weighted ? "weighted_fwd_bwd/"
                                                  : "focal_g3_class_weights_fwd_bwd/";
    const std::string name = prefix + types;
    benchmark::RegisterBenchmark(name.c_str(),
                                 [=](benchmark::State& s) { bench_loss<T, Target>(s, loss, rows, cols, via_functor); })
        ->UseManualTime()
        ->Unit(benchmark::kMicrosecond);
  }
  if (via_functor) {
    const std::pair<const char*, Variant> variants[] = {
        {"focal_bwd/", Variant::gradient_only},
        {"focal_fwd_bwd_no_dependent_finalize/", Variant::no_dependent_finalize},
        {"focal_fwd_bwd_unaligned/", Variant::unaligned}};
    for (const auto& entry : variants) {
      const Variant variant = entry.second;
      // Logits one element off 16-byte alignment (a row-offset view): the scalar path; at 65536 rows only.
      if (variant == Variant::unaligned && rows != 65536) continue;
      benchmark::RegisterBenchmark(
          (entry.first + types).c_str(),
          [=](benchmark::State& s) { bench_loss<T, Target>(s, Loss::focal, rows, cols, true, variant); })
          ->UseManualTime()
          ->Unit(benchmark::kMicrosecond);
    }
  }
  benchmark::RegisterBenchmark(("copy_same_bytes/" + types).c_str(),
                               [=](benchmark::State& s) { bench_copy<T, Target>(s, rows, cols); })
      ->UseManualTime()
      ->Unit(benchmark::kMicrosecond);
}

}  // namespace

int main(int argc, char** argv) {
  if (gpu_present()) {
    cudaDeviceProp prop{};
    if (cudaGetDeviceProperties(&prop, 0) == cudaSuccess) {
      benchmark::AddCustomContext("cuda_device", prop.name);
      benchmark::AddCustomContext("cuda_sms", std::to_string(prop.multiProcessorCount));
    }
  } else {
    benchmark::AddCustomContext("cuda_device", "none");
  }
  for (std::int64_t rows : {std::int64_t(4096), std::int64_t(65536)}) {
    register_combo<float, std::uint8_t>(rows, 698, true);
    register_combo<float, float>(rows, 698, false);
    register_combo<__half, std::uint8_t>(rows, 698, false);
    register_combo<__half, lc::packed_bits>(rows, 698, false);
    register_combo<__nv_bfloat16, std::uint8_t>(rows, 698, false);
  }
  register_combo<__half, std::uint8_t>(1048576, 698, false);
  register_combo<__half, lc::packed_bits>(1048576, 698, false);
  benchmark::Initialize(&argc, argv);
  if (benchmark::ReportUnrecognizedArguments(argc, argv)) return 1;
  benchmark::RunSpecifiedBenchmarks();
  benchmark::Shutdown();
  return 0;
}
