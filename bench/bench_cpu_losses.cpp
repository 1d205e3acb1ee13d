// SPDX-License-Identifier: Apache-2.0
// CPU benchmark of longtail's fused forward_backward, beside a roofline reference that moves the
// same bytes, in one binary.
//
// Benchmark names (bench/compare_pytorch.py parses them):
//   fused/<loss>/<f32|f64>/y:<f32|f64|u8>/<rows>x<cols>/threads:<t>
//   roofline/add/<f32|f64>/y:<f32|f64|u8>/<rows>x<cols>/threads:<t>
// <loss> is one of weighted_bce, focal_g2, focal_g2.5, asl_0_4_0.05 (see make_loss below).
//
// Accounting, identical for both kinds: items = rows * cols elements per iteration; bytes = the
// logits and targets read plus the gradient written, rows * cols * (2 sizeof(Scalar) +
// sizeof(Target)). Per-class vectors (cols entries) are not counted. Caches do not hold the
// 4096x698 and larger inputs, and the write of the gradient also costs a read of its cache lines
// (write-allocate) in both kinds alike, so the ratio fused / roofline is the honest figure.
//
// Times are wall-clock (UseRealTime): with threads > 1 the OpenMP workers' CPU time would not be
// seen by the main thread's CPU clock.

#include <benchmark/benchmark.h>

#include <cstddef>
#include <cstdint>
#include <memory>
#include <random>
#include <string>
#include <type_traits>

#include <Eigen/Core>

#include "longtail/longtail.hpp"

namespace {

using Index = Eigen::Index;
template <class T>
using RowMajor = Eigen::Matrix<T, Eigen::Dynamic, Eigen::Dynamic, Eigen::RowMajor>;
template <class T>
using Vector = Eigen::Array<T, Eigen::Dynamic, 1>;

constexpr Index kCols = 698;                   // labels (the seed data set's label count)
constexpr Index kRows[] = {256, 4096, 16384};  // batch sizes
constexpr int kThreads[] = {1, 2};
constexpr double kLogitStddev = 3.0;                        // logits ~ N(0, 3)
constexpr double kPositiveRate = 0.02;                      // ~2% positive labels: multi-label sparsity
constexpr std::uint64_t kDataSeed = 0x6c6f6e677461696cULL;  // "longtail"
constexpr std::uint64_t kClassSeed = 7;

template <class T>
const char* type_name() {
  if constexpr (std::is_same_v<T, float>)
    return "f32";
  else if constexpr (std::is_same_v<T, double>)
    return "f64";
  else
    return "u8";
}

// ---- inputs ---------------------------------------------------------------------------------------

/// Logits, targets and the gradient buffer of one shape. The values are drawn in double from the
/// same seed for every Scalar / Target type, so the float and double runs see the same data.
template <class Scalar, class Target>
struct Inputs {
  RowMajor<Scalar> logits;
  RowMajor<Target> targets;
  RowMajor<Scalar> grad;

  explicit Inputs(Index rows) : logits(rows, kCols), targets(rows, kCols), grad(rows, kCols) {
    std::mt19937_64 rng(kDataSeed);
    std::normal_distribution<double> logit(0.0, kLogitStddev);
    std::uniform_real_distribution<double> unit(0.0, 1.0);
    for (Index i = 0; i < rows; ++i)
      for (Index j = 0; j < kCols; ++j) {
        logits(i, j) = static_cast<Scalar>(logit(rng));
        targets(i, j) = static_cast<Target>(unit(rng) < kPositiveRate ? 1 : 0);
      }
    grad.setZero();  // touch the pages now, not inside the first timed iteration
  }
};

/// One live shape per type combination: benchmarks are registered shape by shape, so the inputs
/// are generated once per shape and the largest shape's buffers are not all held at once.
template <class Scalar, class Target>
Inputs<Scalar, Target>& inputs(Index rows) {
  static std::unique_ptr<Inputs<Scalar, Target>> slot;
  if (!slot || slot->logits.rows() != rows) {
    slot.reset();
    slot = std::make_unique<Inputs<Scalar, Target>>(rows);
  }
  return *slot;
}

/// Per-class vectors of a long-tailed label set: weights in [0.5, 5] (capped inverse-frequency
/// style), pos_weight in [1, 20]. Their values do not change the kernels' work.
template <class Scalar>
struct ClassVectors {
  Vector<Scalar> weight{kCols}, pos_weight{kCols};
  ClassVectors() {
    std::mt19937_64 rng(kClassSeed);
    std::uniform_real_distribution<double> w(0.5, 5.0), pw(1.0, 20.0);
    for (Index j = 0; j < kCols; ++j) {
      weight[j] = static_cast<Scalar>(w(rng));
      pos_weight[j] = static_cast<Scalar>(pw(rng));
    }
  }
};

// ---- the losses -----------------------------------------------------------------------------------

enum class Loss { weighted_bce, focal_g2, focal_g25, asl };
constexpr Loss kLosses[] = {Loss::weighted_bce, Loss::focal_g2, Loss::focal_g25, Loss::asl};

const char* loss_name(Loss loss) {
  switch (loss) {
    case Loss::weighted_bce:
      return "weighted_bce";
    case Loss::focal_g2:
      return "focal_g2";
    case Loss::focal_g25:
      return "focal_g2.5";
    case Loss::asl:
      return "asl_0_4_0.05";
  }
  return "?";
}

/// Calls f with the configured functor; all use Reduction::mean (PyTorch's default).
///  weighted_bce: WeightedBCE, per-class weight and pos_weight (BCEWithLogitsLoss(weight, pos_weight))
///  focal_g2:     FocalBCE gamma 2 (integer path), per-class weight, no alpha
///  focal_g2.5:   FocalBCE gamma 2.5 (real exponent: exp/log path), per-class weight, no alpha
///  asl_0_4_0.05: FocalBCE asymmetric (gamma+ 0, gamma- 4, margin 0.05), no class vectors
template <class Scalar, class F>
void with_loss(Loss loss, int threads, F&& f) {
  static const ClassVectors<Scalar> cv;
  auto execution = [threads](auto options) {
    options.reduction = longtail::Reduction::mean;
    options.execution.threads = threads;
    return options;
  };
  using longtail::FocalBCEOptions;
  switch (loss) {
    case Loss::weighted_bce:
      f(longtail::cpu::WeightedBCE<Scalar>(execution(longtail::WeightedBCEOptions{}), cv.weight, cv.pos_weight));
      return;
    case Loss::focal_g2:
      f(longtail::cpu::FocalBCE<Scalar>(execution(FocalBCEOptions::focal(2.0)), cv.weight));
      return;
    case Loss::focal_g25:
      f(longtail::cpu::FocalBCE<Scalar>(execution(FocalBCEOptions::focal(2.5)), cv.weight));
      return;
    case Loss::asl:
      f(longtail::cpu::FocalBCE<Scalar>(execution(FocalBCEOptions::asymmetric(0.0, 4.0, 0.05))));
      return;
  }
}

template <class Scalar, class Target>
void set_rates(benchmark::State& state, Index rows) {
  const auto elements = static_cast<std::int64_t>(rows * kCols);
  const auto bytes_per_element = static_cast<std::int64_t>(2 * sizeof(Scalar) + sizeof(Target));
  state.SetItemsProcessed(static_cast<std::int64_t>(state.iterations()) * elements);
  state.SetBytesProcessed(static_cast<std::int64_t>(state.iterations()) * elements * bytes_per_element);
}

template <class Scalar, class Target>
void bm_fused(benchmark::State& state, Loss loss, Index rows, int threads) {
  auto& in = inputs<Scalar, Target>(rows);
  Scalar value = 0;
  with_loss<Scalar>(loss, threads, [&](const auto& fn) {
    benchmark::DoNotOptimize(in.grad.data());  // the gradient buffer escapes: its stores are observable
    for (auto _ : state) {
      value = fn.forward_backward(in.logits, in.targets, in.grad);
      benchmark::DoNotOptimize(value);
      benchmark::ClobberMemory();
    }
  });
  set_rates<Scalar, Target>(state, rows);
  state.counters["loss"] = static_cast<double>(value);  // shows the work is real (and finite)
}

// ---- the roofline reference ------------------------------------------------------------------------

/// g = x + y over n contiguous elements: reads the logits and the targets, writes one array, as
/// the fused loss does, with no arithmetic to speak of. A plain loop that g++ -O3 -march=native
/// vectorises (checked with -fopt-info-vec); threads split it statically with OpenMP, as the
/// losses split their row blocks.
template <class Scalar, class Target>
__attribute__((noinline)) void add_arrays(const Scalar* __restrict x, const Target* __restrict y, Scalar* __restrict g,
                                          Index n, int threads) {
#if defined(_OPENMP)
  if (threads > 1) {
#pragma omp parallel for schedule(static) num_threads(threads)
    for (Index i = 0; i < n; ++i) g[i] = x[i] + static_cast<Scalar>(y[i]);
    return;
  }
#else
  (void)threads;
#endif
  for (Index i = 0; i < n; ++i) g[i] = x[i] + static_cast<Scalar>(y[i]);
}

template <class Scalar, class Target>
void bm_roofline(benchmark::State& state, Index rows, int threads) {
  auto& in = inputs<Scalar, Target>(rows);
  benchmark::DoNotOptimize(in.grad.data());
  for (auto _ : state) {
    add_arrays(in.logits.data(), in.targets.data(), in.grad.data(), in.logits.size(), threads);
    benchmark::ClobberMemory();
  }
  set_rates<Scalar, Target>(state, rows);
}

// ---- registration ----------------------------------------------------------------------------------

std::string shape_suffix(Index rows, int threads) {
  return "/" + std::to_string(rows) + "x" + std::to_string(kCols) + "/threads:" + std::to_string(threads);
}

template <class Scalar, class Target>
std::string types_part() {
  return std::string(type_name<Scalar>()) + "/y:" + type_name<Target>();
}

void configure(benchmark::internal::Benchmark* b) { b->UseRealTime()->Unit(benchmark::kMicrosecond); }

/// The roofline and the given losses for one type combination at one shape.
template <class Scalar, class Target>
void register_group(Index rows, std::initializer_list<Loss> losses) {
  for (int t : kThreads)
    configure(
        benchmark::RegisterBenchmark(("roofline/add/" + types_part<Scalar, Target>() + shape_suffix(rows, t)).c_str(),
                                     bm_roofline<Scalar, Target>, rows, t));
  for (Loss loss : losses)
    for (int t : kThreads)
      configure(benchmark::RegisterBenchmark(
          ("fused/" + std::string(loss_name(loss)) + "/" + types_part<Scalar, Target>() + shape_suffix(rows, t))
              .c_str(),
          bm_fused<Scalar, Target>, loss, rows, t));
}

void register_all() {
  // Shape by shape, so each type combination keeps only one shape's inputs alive (see inputs()).
  for (Index rows : kRows) {
    register_group<float, float>(rows, {kLosses[0], kLosses[1], kLosses[2], kLosses[3]});
    register_group<double, double>(rows, {kLosses[0], kLosses[1], kLosses[2], kLosses[3]});
    // Hard 0/1 labels stored as bytes: 9 bytes an element instead of 12 in float.
    register_group<float, std::uint8_t>(rows, {Loss::weighted_bce, Loss::focal_g2});
  }
}

}  // namespace

int main(int argc, char** argv) {
  register_all();
  benchmark::Initialize(&argc, argv);
  if (benchmark::ReportUnrecognizedArguments(argc, argv)) return 1;
  benchmark::AddCustomContext("longtail.cols", std::to_string(kCols));
  benchmark::AddCustomContext("longtail.data", "logits ~ N(0, 3), targets ~ Bernoulli(0.02), fixed seed");
  benchmark::AddCustomContext("longtail.bytes", "logits + targets read + grad written per element");
#if defined(_OPENMP)
  benchmark::AddCustomContext("longtail.openmp", "on");
#else
  benchmark::AddCustomContext("longtail.openmp", "off (threads:2 runs serially)");
#endif
  benchmark::RunSpecifiedBenchmarks();
  benchmark::Shutdown();
  return 0;
}
