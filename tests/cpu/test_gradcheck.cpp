// SPDX-License-Identifier: Apache-2.0
// Central finite-difference checks of the gradient, in double, for every loss and every option
// combination: focal gamma in {0, 0.5, 1, 2, 2.5, 3} (+ 5 and 9) with and without alpha, ASL
// (gamma_pos != gamma_neg, margin), per-class weight, pos_weight, label smoothing, mask, sample
// weights, hard and soft targets, and each reduction.
//
// Step and tolerance: the five-point central stencil
//   f'(x) ~ [8 (f(x+h) - f(x-h)) - (f(x+2h) - f(x-2h))] / (12 h),  h = 1e-4 * max(1, |x|)
// has truncation error h^4 f^(5) / 30 (~1e-16 relative here) and rounding error ~ eps |f| / h
// (~1e-12 * |f|), far below the tolerance 1e-6 relative + 1e-9 absolute. The only non-smooth
// point of any loss is the ASL kink p == margin; logits are kept 0.5 away from it (where p_m is
// still >= ~0.01, so the fifth derivative stays moderate even for gamma_neg = 0.5).
//
// The losses are separable (element (i, j) depends only on x(i, j)), so shifting the whole matrix
// by +-h and reading forward_elements() differentiates every element at once; a second check
// perturbs single elements of the reduced forward() to tie the reduction to backward() too.

#include "test_support.hpp"

using namespace lt_test;
using longtail::Reduction;

namespace {

constexpr double kRel = 1e-6;
constexpr double kAbs = 1e-9;

Mat<double> step_sizes(const Mat<double>& x) { return (1e-4 * x.array().abs().max(1.0)).matrix(); }

template <class Loss, class M, class W>
Mat<double> finite_difference(const Loss& loss, const Mat<double>& x, const Mat<double>& y, const M* mask,
                              const W* sw) {
  const Mat<double> h = step_sizes(x);
  auto elements_at = [&](double k) {
    const Mat<double> xk = x + k * h;
    Mat<double> out(x.rows(), x.cols());
    with_optional(mask, sw, [&](const auto& m, const auto& w) { return loss.forward_elements(xk, y, out, m, w); });
    return out;
  };
  const Mat<double> p1 = elements_at(1), m1 = elements_at(-1), p2 = elements_at(2), m2 = elements_at(-2);
  return ((8.0 * (p1 - m1) - (p2 - m2)).array() / (12.0 * h.array())).matrix();
}

}  // namespace

TEST_CASE("gradient == central finite differences for every loss and option", "[gradcheck]") {
  static const std::vector<LossConfig> configs = all_configs();
  const std::size_t ci = GENERATE(range(std::size_t(0), all_configs().size()));
  const int vectors = GENERATE(0, 1, 2, 3);  // bit 0: per-class weight, bit 1: pos_weight
  const double smoothing = GENERATE(0.0, 0.15);
  const bool use_mask = GENERATE(false, true);
  const bool use_sw = GENERATE(false, true);
  const bool soft = GENERATE(false, true);
  const LossConfig& c = configs[ci];
  INFO(c.label << " weight=" << (vectors & 1) << " pos_weight=" << (vectors >> 1) << " smoothing=" << smoothing
               << " mask=" << use_mask << " sample_weight=" << use_sw << " soft_targets=" << soft);

  const Eigen::Index rows = 9, cols = 11;
  const std::uint64_t seed = 100 + ci;
  Mat<double> x = uniform(rows, cols, -7.0, 7.0, seed);
  x(0, 0) = 0.0;
  x(1, 1) = 1e-7;
  avoid_kink(x, c.margin, 0.5);
  const Mat<double> y = soft ? uniform(rows, cols, 0.0, 1.0, seed + 1) : bernoulli(rows, cols, 0.4, seed + 1);
  const auto weight = (vectors & 1) ? class_vector(cols, 0.2, 3.0, seed + 2) : Eigen::ArrayXd();
  const auto pos_weight = (vectors & 2) ? class_vector(cols, 0.5, 8.0, seed + 3) : Eigen::ArrayXd();
  const MaskMat mask = random_mask(rows, cols, 0.7, seed + 4);
  Vec<double> sw = uniform(rows, 1, 0.0, 2.0, seed + 5).col(0);
  sw(2) = 0.0;
  const MaskMat* mask_p = use_mask ? &mask : nullptr;
  const Vec<double>* sw_p = use_sw ? &sw : nullptr;
  const double valid = use_mask ? double(mask.cast<int>().sum()) : double(rows * cols);

  // Per-element derivative (the gradient of the sum), from the loss values alone.
  const Mat<double> fd = with_loss<double>(c, Reduction::sum, smoothing, weight, pos_weight, [&](const auto& loss) {
    return finite_difference(loss, x, y, mask_p, sw_p);
  });
  REQUIRE(fd.allFinite());
  REQUIRE(fd.cwiseAbs().maxCoeff() > 1e-3);  // the check is not vacuous

  for (Reduction r : {Reduction::none, Reduction::sum, Reduction::mean}) {
    INFO("reduction " << longtail::to_string(r));
    const double scale = r == Reduction::mean ? 1.0 / valid : 1.0;
    with_loss<double>(c, r, smoothing, weight, pos_weight, [&](const auto& loss) {
      Mat<double> grad(rows, cols);
      with_optional(mask_p, sw_p, [&](const auto& m, const auto& w) { loss.backward(x, y, grad, m, w); });
      require_close(grad, (fd * scale).eval(), kRel, kAbs * scale, "grad");
      if (use_mask)
        for (Eigen::Index k = 0; k < x.size(); ++k)
          if (!mask.data()[k]) REQUIRE(grad.data()[k] == 0.0);

      // Single-element perturbations of the reduced loss itself (forward(), not forward_elements):
      // ties the reduction (sum, or mean's divisor) to backward(). Two elements, one masked
      // when a mask is on, keep the cost low.
      for (auto [i, j] : {std::pair<Eigen::Index, Eigen::Index>{0, 0}, {5, 7}}) {
        const double h = 1e-4 * std::max(1.0, std::abs(x(i, j)));
        auto f_at = [&](double k) {
          Mat<double> xk = x;
          xk(i, j) += k * h;
          return with_optional(mask_p, sw_p, [&](const auto& m, const auto& w) {
            // forward() refuses Reduction::none; forward_backward gives the sum.
            Mat<double> unused(rows, cols);
            return double(r == Reduction::none ? loss.forward_backward(xk, y, unused, m, w)
                                               : loss.forward(xk, y, m, w));
          });
        };
        const double d = (8.0 * (f_at(1) - f_at(-1)) - (f_at(2) - f_at(-2))) / (12.0 * h);
        // The reduced loss sums ~100 terms, so its rounding error is ~100x one element's.
        INFO("element (" << i << ", " << j << ")");
        require_close(grad(i, j), d, kRel, 1e-7 * scale, "grad of the reduced loss");
      }
    });
  }
}

TEST_CASE("gradient == finite differences at large but finite logits", "[gradcheck][extreme]") {
  // Saturated regions: the loss is ~linear (or ~0) and the gradient ~ -a, b or 0. A relative step
  // keeps the stencil meaningful; the tolerance is absolute relative to the slope's scale.
  for (const LossConfig& c : all_configs()) {
    INFO(c.label);
    Mat<double> x(2, 8);
    x << 15, 20, 30, 45, -15, -20, -30, -45,  //
        15, 20, 30, 45, -15, -20, -30, -45;
    Mat<double> y(2, 8);
    y.row(0).setOnes();
    y.row(1).setZero();
    with_loss<double>(c, Reduction::sum, 0.0, Eigen::ArrayXd(), Eigen::ArrayXd(), [&](const auto& loss) {
      const Mat<double> fd = finite_difference(loss, x, y, (const MaskMat*)nullptr, (const Vec<double>*)nullptr);
      Mat<double> grad(2, 8);
      loss.backward(x, y, grad);
      require_close(grad, fd, 1e-6, 1e-9, "grad");
    });
  }
}
