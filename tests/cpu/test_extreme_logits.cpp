// SPDX-License-Identifier: Apache-2.0
// Values and gradients against the independent long-double reference (reference_loss.hpp), on a
// dense grid of logits and at extreme logits |x| up to 1e4, where every loss must stay finite and
// equal its analytic limit:
//   positive target, x = +1e4:  loss 0, grad 0            (p = 1: nothing to learn)
//   positive target, x = -1e4:  loss 1e4 * a, grad -a     (a = sw w_c alpha+ pw_c y_s)
//   negative target, x = -1e4:  loss 0, grad 0
//   negative target, x = +1e4:  loss 1e4 * b, grad b      (b = sw w_c alpha- (1 - y_s); margin 0)
//                               loss (1-m)^g- (-log m) b, grad 0   (margin m > 0: CE is bounded)
// for every gamma, including 0 < gamma < 1 where (1-p)^(gamma-1) overflows in autograd-style
// formulas (optax #1267, kornia #918). The same limits hold for huge finite logits (1e307 in
// double, 3e38 in float), where "0" may be a denormal.

#include <limits>

#include "reference_loss.hpp"
#include "test_support.hpp"

using namespace lt_test;
using longtail::Reduction;

namespace {

/// Per-element loss (forward_elements) and gradient of the sum (backward) of one loss.
template <class S>
struct Outputs {
  Mat<S> loss, grad;
};

/// got == want within rel * scale + floor, element by element, where scale(i, j) is the size of the
/// terms that make up the value (RefValueGrad::value_scale / grad_scale).
template <class A>
void require_close_scaled(const Eigen::DenseBase<A>& got, const Mat<double>& want, const Mat<double>& scale, double rel,
                          double floor, const std::string& what) {
  for (Eigen::Index i = 0; i < got.rows(); ++i)
    for (Eigen::Index j = 0; j < got.cols(); ++j) {
      const double g = double(got(i, j)), w = want(i, j);
      if (!(std::abs(g - w) <= rel * scale(i, j) + floor))
        FAIL(what << "(" << i << ", " << j << "): got " << fmt(g) << ", want " << fmt(w) << " (|diff| "
                  << fmt(std::abs(g - w)) << " > " << rel << " * " << fmt(scale(i, j)) << " + " << floor << ")");
    }
}

template <class S>
Outputs<S> run_sum(const LossConfig& c, double smoothing, const Eigen::Array<S, -1, 1>& w,
                   const Eigen::Array<S, -1, 1>& pw, const Mat<S>& x, const Mat<S>& y, const Vec<S>* sw) {
  Outputs<S> out{Mat<S>(x.rows(), x.cols()), Mat<S>(x.rows(), x.cols())};
  with_loss<S>(c, Reduction::sum, smoothing, w, pw, [&](const auto& loss) {
    with_optional((const MaskMat*)nullptr, sw, [&](const auto& m, const auto& s) {
      loss.forward_elements(x, y, out.loss, m, s);
      loss.backward(x, y, out.grad, m, s);
    });
  });
  return out;
}

}  // namespace

TEST_CASE("values and gradients == long-double reference on a grid of logits", "[reference]") {
  // Logits -40..40 in steps of 0.37 (hits neither 0 nor the ASL kinks exactly), hard and soft
  // targets, per-class weights, pos_weight, sample weights and smoothing all on.
  const Eigen::Index cols = 217;
  Mat<double> x(4, cols);
  for (Eigen::Index j = 0; j < cols; ++j) x.col(j).setConstant(-40.0 + 0.37 * double(j));
  Mat<double> y(4, cols);
  y.row(0).setOnes();
  y.row(1).setZero();
  y.row(2).setConstant(0.3);
  y.row(3).setConstant(0.85);
  const Eigen::ArrayXd w = class_vector(cols, 0.2, 3.0, 11), pw = class_vector(cols, 0.5, 8.0, 12);
  Vec<double> sw(4);
  sw << 1.0, 0.5, 2.0, 0.75;
  const double smoothing = GENERATE(0.0, 0.1);

  for (const LossConfig& c : all_configs()) {
    INFO(c.label << " smoothing=" << smoothing);
    const auto got = run_sum<double>(c, smoothing, w, pw, x, y, &sw);
    Mat<double> want_loss(4, cols), want_grad(4, cols), loss_scale(4, cols), grad_scale(4, cols);
    for (Eigen::Index i = 0; i < 4; ++i)
      for (Eigen::Index j = 0; j < cols; ++j) {
        const auto r = reference_element(c, {x(i, j), y(i, j), w[j], pw[j], sw[i], smoothing});
        want_loss(i, j) = double(r.value);
        want_grad(i, j) = double(r.grad);
        loss_scale(i, j) = double(r.value_scale);
        grad_scale(i, j) = double(r.grad_scale);
      }
    // Double: exp(-g * softplus(x)) carries the rounding of its argument (g * |x| up to 360 here:
    // ~4e-14 relative), hence 1e-12 of the terms' size; the floor covers values that underflow.
    require_close_scaled(got.loss, want_loss, loss_scale, 1e-12, 1e-290, "loss");
    require_close_scaled(got.grad, want_grad, grad_scale, 1e-12, 1e-290, "grad");

    // Float: the same inputs rounded to float and a float reference target: the same argument
    // rounding is ~2e-5 relative at g * |x| ~ 360 (float eps 6e-8), plus the smoothed target's
    // 1 - y_s (cancellation, ~2e-7). The floor is float's denormal range.
    const Vec<float> swf = sw.cast<float>();
    const auto gotf =
        run_sum<float>(c, smoothing, w.cast<float>(), pw.cast<float>(), x.cast<float>(), y.cast<float>(), &swf);
    require_close_scaled(gotf.loss, want_loss, loss_scale, 5e-5, 1e-37, "float loss");
    require_close_scaled(gotf.grad, want_grad, grad_scale, 5e-5, 1e-37, "float grad");
  }
}

TEMPLATE_TEST_CASE("extreme logits |x| up to 1e4: finite and equal to the analytic limit", "[extreme]", float, double) {
  using S = TestType;
  const std::vector<double> xs{1e4, -1e4, 1e3, -1e3, 100, -100, 50, -50, 30, -30};
  const Eigen::Index cols = Eigen::Index(xs.size());
  Mat<S> x(2, cols), y(2, cols);
  for (Eigen::Index j = 0; j < cols; ++j) x.col(j).setConstant(S(xs[std::size_t(j)]));
  y.row(0).setOnes();
  y.row(1).setZero();
  const Eigen::Array<S, -1, 1> w = class_vector<S>(cols, 0.5, 3.0, 21), pw = class_vector<S>(cols, 0.5, 4.0, 22);
  const double smoothing = GENERATE(0.0, 0.2);
  const bool use_vectors = GENERATE(false, true);
  const Eigen::Array<S, -1, 1> none_vec;

  for (const LossConfig& c : all_configs()) {
    INFO(c.label << " smoothing=" << smoothing << " weights=" << use_vectors);
    const auto& wv = use_vectors ? w : none_vec;
    const auto& pwv = use_vectors ? pw : none_vec;
    const auto got = run_sum<S>(c, smoothing, wv, pwv, x, y, (const Vec<S>*)nullptr);
    REQUIRE(got.loss.allFinite());
    REQUIRE(got.grad.allFinite());

    // Argument rounding of exp(-g * softplus(x)) at g * |x| up to 9 * 100 (values below the floor
    // beyond that): ~1e-13 relative in double, ~5e-5 in float; 1 - y_s adds ~2e-7 in float.
    const double rel = std::is_same_v<S, float> ? 1e-4 : 1e-12;
    const double floor = std::is_same_v<S, float> ? 1e-35 : 1e-300;
    for (Eigen::Index j = 0; j < cols; ++j) {
      const double wj = use_vectors ? double(w[j]) : 1.0, pwj = use_vectors ? double(pw[j]) : 1.0;
      for (Eigen::Index i = 0; i < 2; ++i) {
        INFO("x = " << xs[std::size_t(j)] << ", y = " << double(y(i, j)));
        // Same element, reference in long double on the exactly representable inputs.
        RefElementInputs in{x(i, j), y(i, j)};
        in.weight = wv.size() ? wv[j] : S(1);
        in.pos_weight = pwv.size() ? pwv[j] : S(1);
        in.label_smoothing = S(smoothing);  // the functor rounds eps to S too
        const auto r = reference_element(c, in);
        const Mat<double> one_loss = Mat<double>::Constant(1, 1, double(r.value_scale));
        const Mat<double> one_grad = Mat<double>::Constant(1, 1, double(r.grad_scale));
        require_close_scaled(got.loss.block(i, j, 1, 1), Mat<double>::Constant(1, 1, double(r.value)), one_loss, rel,
                             floor, "loss");
        require_close_scaled(got.grad.block(i, j, 1, 1), Mat<double>::Constant(1, 1, double(r.grad)), one_grad, rel,
                             floor, "grad");
      }
      // The analytic limits at |x| = 1e4, written out (no smoothing: hard targets).
      if (std::abs(xs[std::size_t(j)]) == 1e4 && smoothing == 0.0) {
        const bool focal = c.kind == LossConfig::focal;
        const double lim_rel = std::is_same_v<S, float> ? 1e-6 : 1e-14;  // a few ulp of the weights' product
        const double a = wj * pwj * (focal && c.alpha ? *c.alpha : 1.0);
        const double b = wj * (focal && c.alpha ? 1.0 - *c.alpha : 1.0);
        const double m = focal ? c.margin : 0.0, gn = focal ? c.gamma_neg : 0.0;
        if (xs[std::size_t(j)] > 0) {
          CHECK(std::abs(double(got.loss(0, j))) <= floor);  // positive target, confident and right
          CHECK(std::abs(double(got.grad(0, j))) <= floor);
          if (m == 0) {  // negative target, confident and wrong: loss 1e4 * b, slope b
            require_close(double(got.loss(1, j)), 1e4 * b, lim_rel, 0, "loss(y=0, x=+1e4)");
            require_close(double(got.grad(1, j)), b, lim_rel, 0, "grad(y=0, x=+1e4)");
          } else {  // p_m = 1 - m, CE = -log(m): bounded loss, flat
            require_close(double(got.loss(1, j)), std::pow(1 - m, gn) * -std::log(m) * b, 10 * lim_rel, 0,
                          "loss(y=0, x=+1e4)");
            CHECK(std::abs(double(got.grad(1, j))) <= floor);
          }
        } else {
          require_close(double(got.loss(0, j)), 1e4 * a, lim_rel, 0, "loss(y=1, x=-1e4)");
          require_close(double(got.grad(0, j)), -a, lim_rel, 0, "grad(y=1, x=-1e4)");
          CHECK(std::abs(double(got.loss(1, j))) <= floor);
          CHECK(std::abs(double(got.grad(1, j))) <= floor);
        }
      }
    }
  }
}

TEMPLATE_TEST_CASE("huge finite logits (up to 1e307 / 1e37): the gradient keeps its limit", "[extreme]", float,
                   double) {
  // Beyond the brief's 1e4: any finite logit must give the limits above. Products such as
  // p * softplus(-x) (the focal gradient) turn a floor on exp(-|x|) (instead of underflow to 0)
  // into an O(1) gradient error at |x| ~ 1e292 (double) / 1e31 (float). Unit weights keep the
  // loss itself (= |x| on the wrong side) finite.
  using S = TestType;
  const std::vector<double> xs = std::is_same_v<S, float>
                                     ? std::vector<double>{1e30, -1e30, 1e37, -1e37, 3e38, -3e38}
                                     : std::vector<double>{1e292, -1e292, 1e300, -1e300, 1e307, -1e307};
  const Eigen::Index cols = Eigen::Index(xs.size());
  Mat<S> x(2, cols), y(2, cols);
  for (Eigen::Index j = 0; j < cols; ++j) x.col(j).setConstant(S(xs[std::size_t(j)]));
  y.row(0).setOnes();
  y.row(1).setZero();
  const Eigen::Array<S, -1, 1> none_vec;
  const double rel = std::is_same_v<S, float> ? 1e-6 : 1e-14;
  const double tiny = double(std::numeric_limits<S>::min());  // "0": at most a denormal
  for (const LossConfig& c : all_configs()) {
    INFO(c.label);
    const auto got = run_sum<S>(c, 0.0, none_vec, none_vec, x, y, (const Vec<S>*)nullptr);
    const bool focal = c.kind == LossConfig::focal;
    const double a = focal && c.alpha ? *c.alpha : 1.0, b = focal && c.alpha ? 1.0 - *c.alpha : 1.0;
    const double m = focal ? c.margin : 0.0, gn = focal ? c.gamma_neg : 0.0;
    for (Eigen::Index j = 0; j < cols; ++j) {
      const double X = double(x(0, j));
      INFO("x = " << X);
      if (X > 0) {
        CHECK(std::abs(double(got.loss(0, j))) <= tiny);
        CHECK(std::abs(double(got.grad(0, j))) <= tiny);
        if (m == 0) {
          require_close(double(got.loss(1, j)), X * b, rel, 0, "loss(y=0)");
          require_close(double(got.grad(1, j)), b, rel, 0, "grad(y=0)");
        } else {
          require_close(double(got.loss(1, j)), std::pow(1 - m, gn) * -std::log(m) * b, 1e-5, 0, "loss(y=0)");
          CHECK(std::abs(double(got.grad(1, j))) <= tiny);
        }
      } else {
        require_close(double(got.loss(0, j)), -X * a, rel, 0, "loss(y=1)");
        require_close(double(got.grad(0, j)), -a, rel, 0, "grad(y=1)");
        CHECK(std::abs(double(got.loss(1, j))) <= tiny);
        CHECK(std::abs(double(got.grad(1, j))) <= tiny);
      }
    }
  }
}
