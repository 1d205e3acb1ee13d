// SPDX-License-Identifier: Apache-2.0
// Host-side tests of the CUDA path that need no GPU (they always run): the fast 64-bit division,
// the mask byte count, the work decomposition, and a host replay of every launch (emulate.cuh)
// against the CPU functors for every loss, option set, storage type, shape and alignment.

#include <catch2/catch.hpp>

#include <limits>
#include <random>

#include "cases.cuh"
#include "emulate.cuh"
#include "harness.cuh"

using namespace longtail_test;
namespace lc = longtail::cuda;

TEST_CASE("cuda host: FastDivmod is exact for 64-bit dividends", "[cuda][host]") {
  std::vector<std::uint64_t> divisors;
  for (std::uint64_t d = 1; d <= 1100; ++d) divisors.push_back(d);
  for (int k = 11; k < 64; ++k) {
    const std::uint64_t p = std::uint64_t(1) << k;
    divisors.insert(divisors.end(), {p - 1, p, p + 1, p / 3 * 2 + 1});
  }
  divisors.push_back(std::numeric_limits<std::uint64_t>::max());
  std::mt19937_64 rng(7);
  std::size_t checked = 0;
  for (std::uint64_t d : divisors) {
    const auto f = lc::detail::FastDivmod::make(d);
    std::vector<std::uint64_t> ns = {0,
                                     1,
                                     d - 1,
                                     d,
                                     d + 1,
                                     2 * d - 1,
                                     2 * d,
                                     (std::uint64_t(1) << 31) - 1,
                                     std::uint64_t(1) << 31,
                                     (std::uint64_t(1) << 32) - 1,
                                     std::uint64_t(1) << 32,
                                     (std::uint64_t(1) << 32) + 1,
                                     std::numeric_limits<std::uint64_t>::max(),
                                     std::numeric_limits<std::uint64_t>::max() - 1};
    for (int r = 0; r < 40; ++r) ns.push_back(rng() >> (r % 40));
    for (std::uint64_t n : ns) {
      std::uint64_t q, rem;
      f.divmod(n, q, rem);
      if (q != n / d || rem != n % d) {
        INFO("d = " << d << ", n = " << n << ": got " << q << " r " << rem);
        FAIL();
      }
      ++checked;
    }
  }
  CHECK(checked > 50000);
}

TEST_CASE("cuda host: 64-bit high multiply", "[cuda][host]") {
  CHECK(lc::detail::mulhi64(~std::uint64_t(0), ~std::uint64_t(0)) == ~std::uint64_t(0) - 1);
  CHECK(lc::detail::mulhi64(std::uint64_t(1) << 63, 4) == 2);
  CHECK(lc::detail::mulhi64(0x123456789abcdefull, 0xfedcba9876543210ull) == 0x121fa00ad77d742ull);
}

TEST_CASE("cuda host: nonzero byte count of a word", "[cuda][host]") {
  std::mt19937 rng(3);
  for (int k = 0; k < 100000; ++k) {
    std::uint32_t w = rng();
    // Clear random bytes so that zero bytes are common.
    for (int b = 0; b < 4; ++b)
      if (rng() % 2) w &= ~(0xffu << (8 * b));
    int expected = 0;
    for (int b = 0; b < 4; ++b) expected += ((w >> (8 * b)) & 0xffu) != 0;
    REQUIRE(lc::detail::nonzero_bytes(w) == expected);
  }
}

TEST_CASE("cuda host: the work decomposition depends on n only and covers it", "[cuda][host]") {
  using lc::detail::Decomposition;
  using lc::detail::kMaxUnits;
  using lc::detail::kTileElems;
  for (std::int64_t n : {std::int64_t(0), std::int64_t(1), std::int64_t(511), std::int64_t(512), std::int64_t(513),
                         std::int64_t(4096) * 698, std::int64_t(100000) * 698, std::int64_t(1048576) * 698,
                         std::int64_t(6153500) * 698, std::int64_t(1) << 40}) {
    const auto d = Decomposition::of(n);
    INFO("n = " << n);
    CHECK(d.tiles * kTileElems >= n);
    CHECK((d.tiles - 1) * kTileElems < std::max<std::int64_t>(n, 1));
    CHECK(d.units <= kMaxUnits);
    CHECK(d.units * d.tiles_per_unit >= d.tiles);
    CHECK((d.units - 1) * d.tiles_per_unit < std::max<std::int64_t>(d.tiles, 1));
  }
  CHECK(Decomposition::of(std::int64_t(4096) * 698).tiles_per_unit == 1);
  CHECK(Decomposition::of(std::int64_t(100000) * 698).tiles_per_unit == 2);
  CHECK(lc::workspace_size(4096, 698) <= 128 * 1024);
  CHECK(lc::workspace_size(std::int64_t(1) << 40, 1) <= 2 * 1024 * 1024);
  CHECK(lc::workspace_size(-1, 3) == 0);
}

namespace {

template <class Spec, class T, class Target>
Result emulate_run(const typename Spec::Options& options, const Problem& p, std::int64_t offset, bool in_place) {
  StorageArrays<T, Target> a(p, offset);
  lc::Batch<T, Target> batch{a.x.data() + offset, a.y.data() + offset, p.rows, p.cols};
  if (!p.mask.empty()) batch.d_mask = a.mask.data() + offset;
  if (!p.sample_weight.empty()) batch.d_sample_weight = p.sample_weight.data();
  lc::ClassWeights classes{p.weight.empty() ? nullptr : p.weight.data(),
                           p.pos_weight.empty() ? nullptr : p.pos_weight.data(), p.cols,
                           p.logit_offset.empty() ? nullptr : p.logit_offset.data()};
  Result r;
  // Per-element losses first (the in-place gradient overwrites the logits).
  lc::Outputs<T> el;
  el.d_loss_elements = a.elements.data() + offset;
  float el_loss = 0.0f;
  el.d_loss = &el_loss;
  emulate<Spec>(options, classes, batch, el);
  lc::Outputs<T> out;
  out.d_loss = &r.loss;
  out.d_grad = in_place ? a.x.data() + offset : a.grad.data() + offset;
  emulate<Spec>(options, classes, batch, out);
  CHECK(bits_of(el_loss) == bits_of(r.loss));  // forward_elements and forward_backward agree bitwise
  r.grad = to_floats(out.d_grad, p.n());
  r.elements = to_floats(a.elements.data() + offset, p.n());
  return r;
}

template <class T, class Target>
void emulation_matrix(const std::vector<std::pair<std::int64_t, std::int64_t>>& shapes) {
  const Tolerance tol = storage_tolerance<T>();
  std::uint64_t seed = 11;
  for (const auto& shape : shapes) {
    for (const auto& oc : option_cases()) {
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
      const std::int64_t offset = seed % 3 == 0 ? 1 : 0;  // a third of the runs unaligned
      const bool in_place = seed % 2 == 0;
      auto check = [&](const std::string& name, const Result& got, const Result& ref) {
        const std::string what = name + " / " + oc.name + " / " + std::to_string(p.rows) + "x" +
                                 std::to_string(p.cols) + (offset ? " unaligned" : "") + (in_place ? " in place" : "");
        check_loss(what + " loss", got.loss, ref.loss);
        check_close(what + " grad", got.grad, ref.grad, tol);
        check_close(what + " elements", got.elements, ref.elements, tol);
      };
      {
        const auto o = with(longtail::WeightedBCEOptions{}, oc);
        check("weighted", emulate_run<lc::detail::WeightedBCESpec, T, Target>(o, p, offset, in_place),
              cpu_reference(o, p, true));
      }
      for (const auto& fc : focal_cases()) {
        const auto o = with(fc.options, oc);
        check(fc.name, emulate_run<lc::detail::FocalBCESpec, T, Target>(o, p, offset, in_place),
              cpu_reference(o, p, true));
      }
    }
  }
}

// 600x3: full tiles (vector path) whose runs of V elements span several rows (cols < V).
const std::vector<std::pair<std::int64_t, std::int64_t>> kShapes = {{1, 1}, {3, 5}, {7, 33}, {29, 698}, {600, 3}};

}  // namespace

TEMPLATE_TEST_CASE("cuda host replay matches the CPU functors (float logits)", "[cuda][host][replay]", float, __half,
                   std::uint8_t, packed_bits) {
  emulation_matrix<float, TestType>(kShapes);
}

TEMPLATE_TEST_CASE("cuda host replay matches the CPU functors (half logits)", "[cuda][host][replay]", float, __half,
                   std::uint8_t, packed_bits) {
  emulation_matrix<__half, TestType>(kShapes);
}

TEMPLATE_TEST_CASE("cuda host replay matches the CPU functors (bf16 logits)", "[cuda][host][replay]", float, __half,
                   std::uint8_t, packed_bits) {
  emulation_matrix<__nv_bfloat16, TestType>(kShapes);
}

TEST_CASE("cuda host replay: masked NaN logits never reach the loss", "[cuda][host][replay]") {
  ProblemSpec spec;
  spec.rows = 17;
  spec.cols = 45;
  spec.mask = true;
  spec.nan_under_mask = true;
  const Problem p = make_problem<float, float>(spec);
  const auto o = longtail::FocalBCEOptions::focal(2.0, 0.25);
  const Result got = emulate_run<lc::detail::FocalBCESpec, float, float>(o, p, 0, false);
  const Result ref = cpu_reference(o, p, true);
  CHECK(std::isfinite(got.loss));
  check_loss("masked NaN loss", got.loss, ref.loss);
  check_close("masked NaN grad", got.grad, ref.grad, storage_tolerance<float>());
}

TEST_CASE("cuda host replay: an empty batch gives 0", "[cuda][host][replay]") {
  float loss = -1.0f;
  lc::Batch<float, float> batch{nullptr, nullptr, 0, 698};
  lc::Outputs<float> out;
  out.d_loss = &loss;
  emulate<lc::detail::FocalBCESpec>(longtail::FocalBCEOptions{}, lc::ClassWeights{}, batch, out);
  CHECK(loss == 0.0f);
}
