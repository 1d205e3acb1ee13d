// SPDX-License-Identifier: Apache-2.0
// Storage types: __half and __nv_bfloat16 logits/gradients with float, __half, uint8 and
// bit-packed targets (and float logits with __half and bit-packed targets), GPU vs CPU, plus fp16 /
// bf16 saturation and loss scaling. The loss parameterisations are covered with float storage in
// test_float.cu; here two math-core instantiations (weighted BCE and integer-gamma focal) go
// straight to detail::launch_elementwise, so each storage combination costs 2 kernels to compile
// instead of the functors' 9.

#include <catch2/catch.hpp>

#include <cmath>
#include <limits>

#include "cases.cuh"
#include "gpu.cuh"

using namespace longtail_test;
namespace lc = longtail::cuda;

namespace {

/// Focal loss with gamma 2 (the integer path), as FocalBCESpec::visit_math builds it.
longtail::math::FocalBCEMath<float, true, true, false> focal_gamma2() {
  longtail::math::FocalBCEMath<float, true, true, false> m;
  m.gamma_pos = m.gamma_neg = 2.0f;
  m.margin = 0.0f;
  m.int_pos = m.int_neg = 2;
  return m;
}

template <class T, class Target, class Math>
Result run_math(const Math& math, const lc::detail::LossSetup& setup, const Problem& p, const RunOptions& r) {
  return gpu_evaluate<T, Target>(
      p, r,
      [&](const lc::Batch<T, Target>& batch, const lc::ClassWeights& classes, const lc::Outputs<T>& out,
          const lc::Workspace& ws) {
        lc::detail::check_arguments("test", classes, batch, out, ws, lc::workspace_size(batch.rows, batch.cols));
        return lc::detail::launch_elementwise(math, setup, classes, batch, out, ws, cudaStream_t{});
      });
}

template <class T, class Target>
void storage_parity() {
  REQUIRE(longtail::GammaSpec::from(2.0).is_integer);
  const Tolerance tol = storage_tolerance<T>();
  std::uint64_t seed = 300;
  const std::vector<std::pair<std::int64_t, std::int64_t>> shapes = {{1, 1}, {3, 5}, {7, 33}, {4096, 698}};
  for (const auto& shape : shapes) {
    for (const auto& oc : option_cases()) {
      if (shape.first > 1000 && oc.name != "everything" && oc.name != "mean") continue;
      ProblemSpec spec;
      spec.rows = shape.first;
      spec.cols = shape.second;
      spec.soft_targets = true;
      spec.mask = oc.mask;
      spec.sample_weight = oc.sample_weight;
      spec.weight = oc.weight;
      spec.pos_weight = oc.pos_weight;
      spec.logit_offset = oc.logit_offset;
      spec.seed = ++seed;
      const Problem p = make_problem<T, Target>(spec);
      RunOptions run;
      run.offset = seed % 3 == 0 ? 1 : 0;
      run.in_place = seed % 2 == 0;
      const std::string what = oc.name + " / " + std::to_string(p.rows) + "x" + std::to_string(p.cols) +
                               (run.offset ? " unaligned" : "") + (run.in_place ? " in place" : "");
      {
        const auto o = with(longtail::WeightedBCEOptions{}, oc);
        const Result got =
            run_math<T, Target>(longtail::math::WeightedBCEMath{}, lc::detail::WeightedBCESpec::setup(o), p, run);
        const Result ref = cpu_reference(o, p, true);
        check_loss("weighted " + what, got.loss, ref.loss);
        check_close("weighted grad " + what, got.grad, ref.grad, tol);
        check_close("weighted elements " + what, got.elements, ref.elements, tol);
      }
      {
        const auto o = with(longtail::FocalBCEOptions::focal(2.0, 0.25), oc);
        const Result got = run_math<T, Target>(focal_gamma2(), lc::detail::FocalBCESpec::setup(o), p, run);
        const Result ref = cpu_reference(o, p, true);
        check_loss("focal " + what, got.loss, ref.loss);
        check_close("focal grad " + what, got.grad, ref.grad, tol);
        check_close("focal elements " + what, got.elements, ref.elements, tol);
      }
    }
  }
}

}  // namespace

TEMPLATE_TEST_CASE("cuda storage: __half logits match the CPU functors", "[cuda][gpu][parity][storage]", float, __half,
                   std::uint8_t, packed_bits) {
  LONGTAIL_REQUIRE_GPU();
  storage_parity<__half, TestType>();
}

TEMPLATE_TEST_CASE("cuda storage: bf16 logits match the CPU functors", "[cuda][gpu][parity][storage]", float, __half,
                   std::uint8_t, packed_bits) {
  LONGTAIL_REQUIRE_GPU();
  storage_parity<__nv_bfloat16, TestType>();
}

TEMPLATE_TEST_CASE("cuda storage: float logits with __half and bit-packed targets", "[cuda][gpu][parity][storage]",
                   __half, packed_bits) {
  LONGTAIL_REQUIRE_GPU();
  storage_parity<float, TestType>();
}

TEST_CASE("cuda storage: bit-packed rows are padded to 32 bits and padding is ignored", "[cuda][gpu][storage]") {
  LONGTAIL_REQUIRE_GPU();
  // 3 x 40: two words per row; the second word's bits 8..31 are padding, set to 1 here.
  ProblemSpec spec;
  spec.rows = 3;
  spec.cols = 40;
  const Problem p = make_problem<float, packed_bits>(spec);
  std::vector<std::uint8_t> dense(p.n());
  for (std::int64_t e = 0; e < p.n(); ++e) dense[e] = p.y[e] != 0.0f;
  auto words = lc::pack_bits(dense.data(), p.rows, p.cols);
  REQUIRE(words.size() == 6);
  for (std::size_t r = 0; r < 3; ++r) words[2 * r + 1] |= 0xffffff00u;
  DeviceBuffer<float> x(p.x), grad(p.n()), loss(1);
  DeviceBuffer<std::uint32_t> y(words);
  DeviceBuffer<unsigned char> ws(lc::workspace_size(p.rows, p.cols));
  const auto o = longtail::FocalBCEOptions::focal(2.0, 0.25);
  lc::Batch<float, packed_bits> batch{x.get(), y.get(), p.rows, p.cols};
  CUDA_REQUIRE(lc::detail::launch_elementwise(focal_gamma2(), lc::detail::FocalBCESpec::setup(o), lc::ClassWeights{},
                                              batch, lc::Outputs<float>{loss.get(), grad.get()}, {ws.get(), ws.size()},
                                              cudaStream_t{}));
  const Result ref = cpu_reference(o, p, false);
  check_loss("padded bits loss", download_scalar(loss.get()), ref.loss);
  check_close("padded bits grad", grad.download(), ref.grad, storage_tolerance<float>());
}

namespace {

/// Logits at the edges of the storage range, every one with target 0 and 1.
template <class T>
Problem saturation_problem(const std::vector<float>& values) {
  Problem p;
  p.rows = 2;
  p.cols = static_cast<std::int64_t>(values.size());
  for (int target = 0; target < 2; ++target)
    for (float v : values) {
      p.x.push_back(round_to<T>(v));
      p.y.push_back(static_cast<float>(target));
    }
  return p;
}

template <class T>
void check_saturation(const std::vector<float>& values) {
  const Problem p = saturation_problem<T>(values);
  for (auto reduction : {longtail::Reduction::sum, longtail::Reduction::mean}) {
    longtail::WeightedBCEOptions wo;
    wo.reduction = reduction;
    auto fo = longtail::FocalBCEOptions::focal(2.0, 0.25);
    fo.reduction = reduction;
    const Result w = run_math<T, std::uint8_t>(longtail::math::WeightedBCEMath{},
                                               lc::detail::WeightedBCESpec::setup(wo), p, RunOptions{});
    const Result f = run_math<T, std::uint8_t>(focal_gamma2(), lc::detail::FocalBCESpec::setup(fo), p, RunOptions{});
    for (const Result* r : {&w, &f}) {
      CHECK(std::isfinite(r->loss));
      for (float g : r->grad) CHECK(std::isfinite(g));
      for (float l : r->elements) CHECK(std::isfinite(l));
    }
    const Result wr = cpu_reference(wo, p, true), fr = cpu_reference(fo, p, true);
    check_loss("weighted saturation", w.loss, wr.loss);
    check_close("weighted saturation grad", w.grad, wr.grad, storage_tolerance<T>());
    check_close("weighted saturation elements", w.elements, wr.elements, storage_tolerance<T>());
    check_loss("focal saturation", f.loss, fr.loss);
    check_close("focal saturation grad", f.grad, fr.grad, storage_tolerance<T>());
    check_close("focal saturation elements", f.elements, fr.elements, storage_tolerance<T>());
  }
}

}  // namespace

TEST_CASE("cuda storage: fp16 saturated logits stay finite and correct", "[cuda][gpu][storage][saturation]") {
  LONGTAIL_REQUIRE_GPU();
  // 60000 and 65504 (the largest half): the loss of a wrong confident prediction is |x|, which
  // still fits in half; the gradient is +-1 (sum) or +-1/n (mean). No clamp turns a probability
  // into 0 before a log: the math runs in float on logits (mmcv's FLT_MIN clamp becomes 0 in half).
  check_saturation<__half>({20.0f, -20.0f, 60000.0f, -60000.0f, 65504.0f, -65504.0f, 0.0f, 11.5f, -17.25f, 1e-3f});
}

TEST_CASE("cuda storage: bf16 saturated logits stay finite and correct", "[cuda][gpu][storage][saturation]") {
  LONGTAIL_REQUIRE_GPU();
  check_saturation<__nv_bfloat16>({20.0f, -20.0f, 60000.0f, -60000.0f, 1e30f, -1e30f, 0.0f, -88.0f, 104.0f});
}

TEST_CASE("cuda storage: a loss scale that overflows half gives inf gradients (dynamic loss scaling)",
          "[cuda][gpu][storage]") {
  LONGTAIL_REQUIRE_GPU();
  Problem p;
  p.rows = 1;
  p.cols = 2;
  p.x = {-20.0f, 0.0f};
  p.y = {1.0f, 1.0f};
  longtail::WeightedBCEOptions o;
  o.reduction = longtail::Reduction::sum;
  const Result r = gpu_evaluate<__half, std::uint8_t>(
      p, RunOptions{}, [&](const auto& batch, const auto& classes, auto out, const auto& ws) {
        out.grad_scale = 131072.0f;  // 2^17: -1 * 2^17 overflows half, -0.5 * 2^17 = -65536 rounds to -inf too
        return lc::detail::launch_elementwise(longtail::math::WeightedBCEMath{}, lc::detail::WeightedBCESpec::setup(o),
                                              classes, batch, out, ws, cudaStream_t{});
      });
  CHECK(std::isinf(r.grad[0]));
  CHECK(r.grad[0] < 0);
  CHECK(std::isfinite(r.loss));  // the loss is never scaled
  check_loss("unscaled loss", r.loss, cpu_reference(o, p, false).loss);
}
