// SPDX-License-Identifier: Apache-2.0
// The Distribution-Balanced loss on the GPU (distribution_balanced.cuh) against the CPU functor
// longtail::cpu::DistributionBalanced<float> (reference.cpp): a host replay of the pre-pass and
// the elementwise launch for every DB kernel (integer / real gamma, lambda 1 / not), option set,
// storage combination, shape and alignment (no GPU needed); GPU parity through the functor and
// the raw launcher when a GPU is present; and the host-side errors. The logit offset of the other
// losses is covered by the option case "sum+weights+logit offset" of the existing matrices.

#include <catch2/catch.hpp>

#include <cstring>
#include <limits>

#include "cases.cuh"
#include "emulate.cuh"
#include "gpu.cuh"

using namespace longtail_test;
namespace lc = longtail::cuda;

namespace {

/// The problem again in storage types T / Target (its values already rounded to them).
template <class T, class Target>
Problem db_problem_in(std::int64_t rows, std::int64_t cols, const OptionCase& oc, std::uint64_t seed) {
  ProblemSpec spec;
  spec.rows = rows;
  spec.cols = cols;
  spec.soft_targets = true;
  spec.mask = oc.mask;
  spec.sample_weight = oc.sample_weight;
  spec.weight = oc.weight;
  spec.logit_offset = oc.logit_offset;
  spec.label_counts = true;
  spec.seed = seed;
  Problem p = make_problem<T, Target>(spec);
  // A row without positive labels, whatever the draw: r^ = alpha + 1 there.
  if (rows > 2)
    for (std::int64_t j = 0; j < cols; ++j) p.y[2 * cols + j] = 0.0f;
  return p;
}

/// The option sets for DB: the loss takes no pos_weight.
std::vector<OptionCase> db_option_cases() {
  std::vector<OptionCase> out;
  for (OptionCase c : option_cases()) {
    if (c.pos_weight) continue;
    out.push_back(c);
  }
  OptionCase all = {"everything+logit offset", longtail::Reduction::mean, 0.2, true, true, true, false};
  all.logit_offset = true;
  out.push_back(all);
  return out;
}

template <class T, class Target>
Result emulate_db_run(const longtail::DistributionBalancedOptions& o, const Problem& p, std::int64_t offset) {
  StorageArrays<T, Target> a(p, offset);
  const DbClassTerms terms = db_class_terms(o, p);
  lc::Batch<T, Target> batch{a.x.data() + offset, a.y.data() + offset, p.rows, p.cols};
  if (!p.mask.empty()) batch.d_mask = a.mask.data() + offset;
  if (!p.sample_weight.empty()) batch.d_sample_weight = p.sample_weight.data();
  const lc::DistributionBalancedClasses classes{terms.class_rate.data(), terms.logit_offset.data(),
                                                p.weight.empty() ? nullptr : p.weight.data(), p.cols};
  std::vector<float> row_rate;
  Result r;
  lc::Outputs<T> el;
  el.d_loss_elements = a.elements.data() + offset;
  float el_loss = 0.0f;
  el.d_loss = &el_loss;
  emulate_distribution_balanced(o, classes, batch, el, row_rate);
  lc::Outputs<T> out;
  out.d_loss = &r.loss;
  out.d_grad = a.grad.data() + offset;
  emulate_distribution_balanced(o, classes, batch, out, row_rate);
  CHECK(bits_of(el_loss) == bits_of(r.loss));
  r.grad = to_floats(out.d_grad, p.n());
  r.elements = to_floats(a.elements.data() + offset, p.n());
  return r;
}

template <class T, class Target>
void db_emulation_matrix() {
  const Tolerance tol = storage_tolerance<T>();
  std::uint64_t seed = 500;
  for (const auto& shape : std::vector<std::pair<std::int64_t, std::int64_t>>{{1, 1}, {5, 7}, {29, 698}, {600, 3}})
    for (const auto& oc : db_option_cases())
      for (const auto& dc : db_cases()) {
        const Problem p = db_problem_in<T, Target>(shape.first, shape.second, oc, ++seed);
        const std::int64_t offset = seed % 3 == 0 ? 1 : 0;
        const auto o = with(dc.options, oc);
        const std::string what = dc.name + " / " + oc.name + " / " + std::to_string(p.rows) + "x" +
                                 std::to_string(p.cols) + (offset ? " unaligned" : "");
        const Result got = emulate_db_run<T, Target>(o, p, offset);
        const Result ref = cpu_reference(o, p, true);
        check_loss(what + " loss", got.loss, ref.loss);
        check_close(what + " grad", got.grad, ref.grad, tol);
        check_close(what + " elements", got.elements, ref.elements, tol);
      }
}

template <class T, class Target>
Result gpu_db_run(const longtail::DistributionBalancedOptions& o, const Problem& p, const RunOptions& r = {}) {
  const DbClassTerms terms = db_class_terms(o, p);
  DeviceBuffer<float> rate(terms.class_rate), offset(terms.logit_offset);
  return gpu_evaluate<T, Target>(
      p, r,
      [&](const lc::Batch<T, Target>& batch, const lc::ClassWeights& classes, const lc::Outputs<T>& out,
          const lc::Workspace& ws) {
        const lc::DistributionBalancedClasses c{rate.get(), offset.get(), classes.d_weight, p.cols};
        return lc::DistributionBalanced<T>(o, c).evaluate(batch, out, ws);
      });
}

float* fake_device_ptr(std::uintptr_t k) { return reinterpret_cast<float*>((k + 1) << 32); }

}  // namespace

TEMPLATE_TEST_CASE("cuda host replay: DistributionBalanced matches the CPU functor (float logits)",
                   "[cuda][host][replay][db]", float, std::uint8_t, packed_bits) {
  db_emulation_matrix<float, TestType>();
}

TEMPLATE_TEST_CASE("cuda host replay: DistributionBalanced matches the CPU functor (half and bf16 logits)",
                   "[cuda][host][replay][db]", __half, __nv_bfloat16) {
  db_emulation_matrix<TestType, __half>();
}

TEST_CASE("cuda host replay: DB row rates (empty rows inf, beta 0 gives 0)", "[cuda][host][db]") {
  // 3 rows x 4 labels, class rates 1, 1/2, 1/4, 2.
  const std::vector<float> rate = {1.0f, 0.5f, 0.25f, 2.0f};
  const std::vector<float> y = {1, 0, 1, 0,   //
                                0, 0, 0, 0,   //
                                0, 1, 0, 1};  // masked below: row 2 keeps label 1 only
  const std::vector<std::uint8_t> mask = {1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 0};
  for (bool beta_positive : {true, false}) {
    std::vector<float> got(3);
    for (std::int64_t i = 0; i < 3; ++i) {
      std::array<float, 32> lanes{};
      for (int lane = 0; lane < 32; ++lane)
        lanes[lane] = lc::detail::row_rate_lane_sum<float>(y.data(), mask.data(), rate.data(), i, 4, 1, lane);
      got[i] = lc::detail::row_rate_from_sum(emulated_warp_sum(lanes), beta_positive);
    }
    if (beta_positive) {
      CHECK(got[0] == 1.0f / 1.25f);
      CHECK(got[1] == std::numeric_limits<float>::infinity());
      CHECK(got[2] == 2.0f);
    } else {
      CHECK((got[0] == 0.0f && got[1] == 0.0f && got[2] == 0.0f));
    }
  }
}

TEMPLATE_TEST_CASE("cuda: DistributionBalanced GPU matches the CPU functor", "[cuda][gpu][parity][db]", float,
                   std::uint8_t) {
  LONGTAIL_REQUIRE_GPU();
  const Tolerance tol = storage_tolerance<float>();
  std::uint64_t seed = 900;
  for (const auto& shape :
       std::vector<std::pair<std::int64_t, std::int64_t>>{{1, 1}, {3, 5}, {7, 33}, {64, 698}, {1000, 1}, {4096, 698}})
    for (const auto& oc : db_option_cases())
      for (const auto& dc : db_cases()) {
        const Problem p = db_problem_in<float, TestType>(shape.first, shape.second, oc, ++seed);
        RunOptions run;
        run.offset = seed % 3 == 0 ? 1 : 0;
        run.in_place = seed % 2 == 0;
        run.separate_calls = seed % 4 == 1;
        const auto o = with(dc.options, oc);
        const std::string what = dc.name + " / " + oc.name + " / " + std::to_string(p.rows) + "x" +
                                 std::to_string(p.cols) + (run.offset ? " unaligned" : "");
        const Result got = gpu_db_run<float, TestType>(o, p, run);
        const Result ref = cpu_reference(o, p, true);
        check_loss(what + " loss", got.loss, ref.loss);
        check_close(what + " grad", got.grad, ref.grad, tol);
        check_close(what + " elements", got.elements, ref.elements, tol);
      }
}

TEST_CASE("cuda: DistributionBalanced in half / bit targets and the raw launcher", "[cuda][gpu][db]") {
  LONGTAIL_REQUIRE_GPU();
  const OptionCase oc = db_option_cases().back();  // everything + logit offset
  for (const auto& dc : db_cases()) {
    const Problem ph = db_problem_in<__half, packed_bits>(37, 698, oc, 77);
    const auto o = with(dc.options, oc);
    const Result got = gpu_db_run<__half, packed_bits>(o, ph);
    const Result ref = cpu_reference(o, ph, true);
    check_loss(dc.name + " half/bits loss", got.loss, ref.loss);
    check_close(dc.name + " half/bits grad", got.grad, ref.grad, storage_tolerance<__half>());

    // The raw launcher gives the functor's bits.
    const Problem p = db_problem_in<float, float>(64, 698, oc, 78);
    const DbClassTerms terms = db_class_terms(o, p);
    DeviceBuffer<float> rate(terms.class_rate), offset(terms.logit_offset);
    const Result via_functor = gpu_db_run<float, float>(o, p);
    const Result via_raw = gpu_evaluate<float, float>(
        p, RunOptions{}, [&](const auto& batch, const auto& classes, const auto& out, const auto& ws) {
          std::size_t bytes = 0;
          const lc::DistributionBalancedClasses c{rate.get(), offset.get(), classes.d_weight, p.cols};
          if (lc::distribution_balanced(nullptr, bytes, o, c, batch, out) != cudaSuccess) return cudaErrorUnknown;
          if (bytes != lc::distribution_balanced_workspace_size(p.rows, p.cols) || bytes > ws.bytes)
            return cudaErrorUnknown;
          return lc::distribution_balanced(ws.d_ptr, bytes, o, c, batch, out);
        });
    CHECK(bits_of(via_raw.loss) == bits_of(via_functor.loss));
    CHECK(std::memcmp(via_raw.grad.data(), via_functor.grad.data(), via_raw.grad.size() * sizeof(float)) == 0);
  }
}

TEST_CASE("cuda errors: DistributionBalanced checks its arguments on the host", "[cuda][host][errors][db]") {
  using Catch::Contains;
  const std::int64_t rows = 10, cols = 20;
  const std::size_t bytes = lc::distribution_balanced_workspace_size(rows, cols);
  CHECK(bytes >= lc::workspace_size(rows, cols) + rows * sizeof(float));
  CHECK(lc::distribution_balanced_workspace_size(-1, 3) == 0);
  const lc::Workspace ws{fake_device_ptr(50), bytes};
  lc::Batch<float, float> batch{fake_device_ptr(1), fake_device_ptr(2), rows, cols};
  float* d_loss = fake_device_ptr(3);
  const lc::DistributionBalancedClasses good{fake_device_ptr(4), nullptr, nullptr, cols};
  CHECK_NOTHROW(lc::detail::DistributionBalancedSpec::check(good, batch, lc::Outputs<float>{d_loss}, ws));

  longtail::DistributionBalancedOptions bad;
  bad.lambda = 0.0;
  CHECK_THROWS_WITH(lc::DistributionBalanced<float>(bad, good), Contains("DistributionBalancedOptions.lambda"));
  CHECK_THROWS_WITH(
      lc::DistributionBalanced<float>({}, lc::DistributionBalancedClasses{nullptr, nullptr, nullptr, cols}),
      Contains("classes.d_class_rate is null"));
  CHECK_THROWS_WITH(
      lc::DistributionBalanced<float>({}, lc::DistributionBalancedClasses{fake_device_ptr(4), nullptr, nullptr, 0}),
      Contains("classes.num_classes must be > 0"));
  const lc::DistributionBalanced<float> loss(
      {}, lc::DistributionBalancedClasses{fake_device_ptr(4), nullptr, nullptr, cols + 1});
  CHECK_THROWS_WITH(loss.forward(batch, d_loss, ws), Contains("classes.num_classes is 21 but logits have 20 columns"));
  const lc::DistributionBalanced<float> ok({}, good);
  CHECK_THROWS_WITH(ok.forward(batch, d_loss, {ws.d_ptr, lc::workspace_size(rows, cols)}), Contains("workspace has"));
  CHECK_THROWS_WITH(ok.forward(batch, nullptr, ws), Contains("nothing to compute"));
  const lc::DistributionBalanced<float> offset_wrong(
      {}, lc::DistributionBalancedClasses{fake_device_ptr(4), fake_device_ptr(5), nullptr, cols - 1});
  CHECK_THROWS_WITH(offset_wrong.forward(batch, d_loss, ws), Contains("per-class vectors have 19 classes"));

  // The raw launcher: cudaErrorInvalidValue for each, a size query for a null workspace.
  std::size_t query = 0;
  CHECK(lc::distribution_balanced(nullptr, query, longtail::DistributionBalancedOptions{}, good, batch,
                                  lc::Outputs<float>{}) == cudaSuccess);
  CHECK(query == bytes);
  std::size_t b = bytes;
  CHECK(lc::distribution_balanced(ws.d_ptr, b, bad, good, batch, lc::Outputs<float>{d_loss}) == cudaErrorInvalidValue);
  CHECK(lc::distribution_balanced(ws.d_ptr, b, longtail::DistributionBalancedOptions{},
                                  lc::DistributionBalancedClasses{nullptr, nullptr, nullptr, cols}, batch,
                                  lc::Outputs<float>{d_loss}) == cudaErrorInvalidValue);
  std::size_t small = lc::workspace_size(rows, cols);
  CHECK(lc::distribution_balanced(ws.d_ptr, small, longtail::DistributionBalancedOptions{}, good, batch,
                                  lc::Outputs<float>{d_loss}) == cudaErrorInvalidValue);
}
