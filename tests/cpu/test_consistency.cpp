// SPDX-License-Identifier: Apache-2.0
// The entry points agree with each other: fused forward_backward == forward + backward
// (bit-identical), operator() == forward, forward_elements sums to the sum reduction, the
// reductions relate as documented (none returns the sum and the per-element gradient, mean =
// sum / valid count), float agrees with double, and the thread count changes no bit.

#include "test_support.hpp"

using namespace lt_test;
using longtail::Reduction;

namespace {

/// Inputs with every option on: per-class weight and pos_weight, a mask, sample weights.
template <class S>
struct Problem {
  Mat<S> x, y;
  MaskMat mask;
  Vec<S> sw;
  Eigen::Array<S, -1, 1> w, pw;
};

template <class S>
Problem<S> make_problem(Eigen::Index rows, Eigen::Index cols, std::uint64_t seed, double margin = 0) {
  Mat<double> x = uniform(rows, cols, -9.0, 9.0, seed);
  avoid_kink(x, margin, 0.05);
  Problem<S> p;
  p.x = x.cast<S>();
  p.y = bernoulli(rows, cols, 0.3, seed + 1).cast<S>();
  p.mask = random_mask(rows, cols, 0.8, seed + 2);
  p.sw = uniform(rows, 1, 0.0, 2.0, seed + 3).col(0).cast<S>();
  p.w = class_vector<S>(cols, 0.2, 3.0, seed + 4);
  p.pw = class_vector<S>(cols, 0.5, 8.0, seed + 5);
  return p;
}

}  // namespace

TEMPLATE_TEST_CASE("fused forward_backward == forward + backward, bit for bit", "[consistency]", float, double) {
  using S = TestType;
  const auto p = make_problem<S>(11, 13, 7);
  const bool use_mask = GENERATE(false, true);
  const bool use_sw = GENERATE(false, true);
  const MaskMat* mask_p = use_mask ? &p.mask : nullptr;
  const Vec<S>* sw_p = use_sw ? &p.sw : nullptr;
  for (const LossConfig& c : all_configs())
    for (Reduction r : {Reduction::none, Reduction::sum, Reduction::mean}) {
      INFO(c.label << " reduction " << longtail::to_string(r) << " mask " << use_mask << " sample_weight " << use_sw);
      with_loss<S>(c, r, 0.1, p.w, p.pw, [&](const auto& loss) {
        Mat<S> g_sep(p.x.rows(), p.x.cols()), g_fused(p.x.rows(), p.x.cols()), elements(p.x.rows(), p.x.cols());
        with_optional(mask_p, sw_p, [&](const auto& m, const auto& w) {
          loss.backward(p.x, p.y, g_sep, m, w);
          const S l_fused = loss.forward_backward(p.x, p.y, g_fused, m, w);
          // Reduction::none: no single loss for forward() to return (forward_elements instead).
          const bool none = r == Reduction::none;
          if (none) {
            CHECK_THROWS_WITH(loss.forward(p.x, p.y, m, w),
                              Catch::Contains("with Reduction::none call forward_elements"));
            CHECK_THROWS_WITH(loss(p.x, p.y, m, w), Catch::Contains("with Reduction::none call forward_elements"));
          }
          const S l_forward = none ? l_fused : loss.forward(p.x, p.y, m, w);
          const S l_call = none ? l_fused : loss(p.x, p.y, m, w);
          const S l_elements = loss.forward_elements(p.x, p.y, elements, m, w);
          require_bit_identical(l_fused, l_forward, "forward_backward vs forward");
          require_bit_identical(l_call, l_forward, "operator() vs forward");
          require_bit_identical(l_elements, l_forward, "forward_elements' return vs forward");
          require_bit_identical(g_fused, g_sep, "forward_backward grad vs backward");
          REQUIRE(std::isfinite(double(l_forward)));
          // forward_elements is the per-element loss: summed in double it gives the sum.
          const double n = use_mask ? double(p.mask.template cast<int>().sum()) : double(p.x.size());
          const double total = elements.template cast<double>().sum();
          const double want = r == Reduction::mean ? total / n : total;
          require_close(double(l_forward), want, std::is_same_v<S, float> ? 1e-5 : 1e-13, 0,
                        "reduced vs sum of elements");
        });
      });
    }
}

TEMPLATE_TEST_CASE("reductions: none gives the sum and its gradient, mean = sum / unmasked count",
                   "[consistency][reduction]", float, double) {
  using S = TestType;
  const auto p = make_problem<S>(19, 13, 17);
  const double n = double(p.mask.template cast<int>().sum());
  REQUIRE(n < double(p.x.size()));  // the mask does drop elements
  for (const LossConfig& c : all_configs()) {
    INFO(c.label);
    auto run = [&](Reduction r, Mat<S>& grad) {
      return with_loss<S>(c, r, 0.0, p.w, p.pw,
                          [&](const auto& loss) { return loss.forward_backward(p.x, p.y, grad, p.mask, p.sw); });
    };
    Mat<S> g_none(p.x.rows(), p.x.cols()), g_sum(p.x.rows(), p.x.cols()), g_mean(p.x.rows(), p.x.cols());
    const S l_none = run(Reduction::none, g_none), l_sum = run(Reduction::sum, g_sum),
            l_mean = run(Reduction::mean, g_mean);
    require_bit_identical(l_none, l_sum, "none vs sum (loss)");
    require_bit_identical(g_none, g_sum, "none vs sum (grad)");
    // mean = sum / n: the library divides the double sum, so both sides round once.
    const double tol = std::is_same_v<S, float> ? 2.5e-7 : 5e-16;  // two roundings, 1 ulp
    require_close(double(l_mean), double(l_sum) / n, tol, 0, "mean vs sum / n");
    require_close(g_mean.template cast<double>().eval(), (g_sum.template cast<double>() / n).eval(), 4 * tol,
                  std::is_same_v<S, float> ? 1e-37 : 1e-300,  // float denormals carry fewer digits
                  "grad mean vs grad sum / n");
  }
}

TEST_CASE("float agrees with double", "[consistency][float]") {
  // Documented tolerance: per element 2e-5 relative to the element's largest possible size
  // (float eps 6e-8 times the exponent arguments g * softplus(x) <= ~30 here, and the smoothed
  // target's 1 - y_s) or 1e-6 of the array's largest magnitude; reduced loss 1e-5 relative (the
  // float packet accumulators sum a line in float before the double reduction).
  const auto pd = make_problem<double>(31, 29, 27, 0.2);
  const auto pf = make_problem<float>(31, 29, 27, 0.2);
  for (const LossConfig& c : all_configs()) {
    INFO(c.label);
    for (Reduction r : {Reduction::sum, Reduction::mean}) {
      Mat<double> gd(31, 29), ed(31, 29);
      Mat<float> gf(31, 29), ef(31, 29);
      const double ld = with_loss<double>(c, r, 0.1, pd.w, pd.pw, [&](const auto& loss) {
        loss.forward_elements(pd.x, pd.y, ed, pd.mask, pd.sw);
        return double(loss.forward_backward(pd.x, pd.y, gd, pd.mask, pd.sw));
      });
      const double lf = with_loss<float>(c, r, 0.1, pf.w, pf.pw, [&](const auto& loss) {
        loss.forward_elements(pf.x, pf.y, ef, pf.mask, pf.sw);
        return double(loss.forward_backward(pf.x, pf.y, gf, pf.mask, pf.sw));
      });
      require_close(lf, ld, 1e-5, 0, "float loss vs double loss");
      require_close(ef, ed, 2e-5, 1e-6 * ed.cwiseAbs().maxCoeff(), "float elements vs double");
      require_close(gf, gd, 2e-5, 1e-6 * gd.cwiseAbs().maxCoeff(), "float grad vs double");
    }
  }
}

TEMPLATE_TEST_CASE("thread count changes no bit of the loss or the gradient", "[consistency][threads]", float, double) {
  using S = TestType;
  // Just big enough for three blocks (16384 elements a block) in both orientations:
  // row-major 900 x 37 -> 442 rows a block, 3 blocks; column-major -> 37 lines of 900, 18 a block,
  // 3 blocks. Odd sizes leave a partial last block and partial packets.
  const Eigen::Index rows = 900, cols = 37;
  const auto p = make_problem<S>(rows, cols, 37);
  const RowMat<S> xr = p.x, yr = p.y;
  // Each configuration costs ~33K element evaluations a call (slow under sanitizers): plain BCE
  // without a mask (padding-lane path) and the most involved focal path (real exponents, margin,
  // alpha) with a mask.
  for (const auto& [c, use_mask] : {std::pair{wbce_config(), false}, std::pair{asl_config(0.5, 2.5, 0.2, 0.25), true}})
    for (Reduction r : {Reduction::mean}) {
      const MaskMat* mask_p = use_mask ? &p.mask : nullptr;
      INFO(c.label << " reduction " << longtail::to_string(r) << " mask " << use_mask);
      auto run = [&](int threads, const auto& x, const auto& y, auto& grad) {
        return with_loss<S>(
            c, r, 0.05, p.w, p.pw,
            [&](const auto& loss) {
              return with_optional(
                  mask_p, &p.sw, [&](const auto& m, const auto& w) { return loss.forward_backward(x, y, grad, m, w); });
            },
            threads);
      };
      Mat<S> g1(rows, cols);
      RowMat<S> gr1(rows, cols);
      const S l1 = run(1, p.x, p.y, g1);
      const S lr1 = run(1, xr, yr, gr1);
      // 7 asks for more threads than there are blocks (the kernel then uses one per block);
      // 0 is OpenMP's default.
      for (int threads : {2, 3, 7, 0}) {
        INFO("threads " << threads);
        Mat<S> g(rows, cols);
        RowMat<S> gr(rows, cols);
        require_bit_identical(run(threads, p.x, p.y, g), l1, "column-major loss");
        require_bit_identical(g, g1, "column-major grad");
        require_bit_identical(run(threads, xr, yr, gr), lr1, "row-major loss");
        require_bit_identical(gr, gr1, "row-major grad");
      }
    }
}

TEST_CASE("threads are actually used when OpenMP is on", "[consistency][threads]") {
#if defined(_OPENMP)
  int seen = 0;
#pragma omp parallel num_threads(3)
  {
#pragma omp atomic
    ++seen;
  }
  CHECK(seen == 3);  // the runtime grants the threads the invariance test asks for
#else
  WARN("built without OpenMP: thread-count invariance holds trivially (one thread)");
#endif
}
