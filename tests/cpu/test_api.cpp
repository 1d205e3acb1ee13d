// SPDX-License-Identifier: Apache-2.0
// The C++ API as a new user meets it: per-class vectors of any real type, writable temporaries as
// outputs, the optional-argument tags, Reduction::none with forward(), asymmetric() with alpha,
// and arguments of the wrong shape that must be named, not trip an Eigen assertion (run in the
// Debug sanitizer build too, where Eigen's assertions are on). The outputs' refusal of const
// objects is a compile-time check: tests/cpu/compile_fail.

#include <limits>

#include "test_support.hpp"

using namespace lt_test;
using longtail::Reduction;
using longtail::cpu::FocalBCE;
using longtail::cpu::WeightedBCE;
using Index = Eigen::Index;

namespace {

/// The loss and gradient of `loss` on a fixed problem.
template <class Loss>
std::pair<float, Mat<float>> evaluate(const Loss& loss, Index rows, Index cols) {
  const Mat<float> x = uniform(rows, cols, -5, 5, 401).cast<float>(), y = bernoulli(rows, cols, 0.4, 402).cast<float>();
  Mat<float> g(rows, cols);
  const float l = loss.forward_backward(x, y, g);
  return {l, g};
}

}  // namespace

TEST_CASE("per-class vectors: any real vector, converted to the functor's Scalar", "[api][weights]") {
  const Index rows = 7, cols = 5;
  const Eigen::ArrayXd counts = (Eigen::ArrayXd(cols) << 3, 1, 0, 6, 2).finished();
  longtail::ClassWeightOptions wopt;
  wopt.cap = 7;
  const Eigen::ArrayXd pw_double = longtail::class_weights<double>(counts, rows, wopt);
  const Eigen::ArrayXf pw_float = pw_double.cast<float>();
  const auto o = longtail::FocalBCEOptions::focal(2.0);
  const auto want = evaluate(FocalBCE<float>(o, {}, pw_float), rows, cols);

  // class_weights<double>() straight into a float functor (was Eigen's mixed-type static assertion).
  const auto from_double = evaluate(FocalBCE<float>(o, {}, pw_double), rows, cols);
  require_bit_identical(from_double.first, want.first, "loss, pos_weight from ArrayXd");
  require_bit_identical(from_double.second, want.second, "grad, pos_weight from ArrayXd");
  // A std::vector, a row vector, an integer array, an initializer list.
  const std::vector<double> as_std(pw_double.data(), pw_double.data() + cols);
  require_bit_identical(evaluate(FocalBCE<float>(o, {}, as_std), rows, cols).second, want.second, "std::vector");
  const Eigen::RowVectorXd as_row = pw_double.matrix().transpose();
  require_bit_identical(evaluate(FocalBCE<float>(o, {}, as_row), rows, cols).second, want.second, "row vector");
  const Eigen::ArrayXi ints = (Eigen::ArrayXi(cols) << 1, 2, 3, 4, 5).finished();
  const auto from_ints = evaluate(WeightedBCE<float>({}, ints), rows, cols);
  const auto from_list = evaluate(WeightedBCE<float>({}, {1.0, 2.0, 3.0, 4.0, 5.0}), rows, cols);
  const auto from_floats = evaluate(WeightedBCE<float>({}, Eigen::ArrayXf::LinSpaced(cols, 1, 5)), rows, cols);
  require_bit_identical(from_ints.second, from_floats.second, "integer weights");
  require_bit_identical(from_list.second, from_floats.second, "initializer-list weights");
  CHECK((FocalBCE<double>(o, {}, pw_float).pos_weight() == pw_float.cast<double>()).all());

  // Wrong shapes and values name the argument.
  CHECK_THROWS_WITH(WeightedBCE<float>({}, Eigen::MatrixXd::Ones(2, 3)),
                    "longtail: WeightedBCE: weight has shape 2x3 but must be a vector (one entry per class)");
  CHECK_THROWS_WITH(FocalBCE<float>(o, {}, std::vector<double>{1.0, 1e300}),
                    "longtail: FocalBCE: pos_weight[1] = 1.0000000000000001e+300 overflows the functor's float");
  CHECK_THROWS_WITH(FocalBCE<double>(o, {}, {1.0, -2.0}),
                    "longtail: FocalBCE: pos_weight[1] must be finite and >= 0 (got -2)");
  CHECK_THROWS_WITH(FocalBCE<double>(o, {}, {1.0, std::numeric_limits<double>::quiet_NaN()}),
                    "longtail: FocalBCE: pos_weight[1] must be finite and >= 0 (got nan)");
}

TEST_CASE("sample weights of the wrong shape are named before any conversion", "[api][sample_weight][errors]") {
  // A 3x2 matrix has 6 entries, as many as the rows: converting it into a vector (double weights
  // for a float functor) was an Eigen assertion, an abort without NDEBUG, before the shape check.
  const Mat<float> x = uniform(6, 4, -3, 3, 411).cast<float>(), y = bernoulli(6, 4, 0.5, 412).cast<float>();
  Mat<float> g(6, 4);
  const std::string message =
      "longtail: sample_weight has shape 3x2 but must be a vector of length 6 (one weight per "
      "row of logits)";
  const FocalBCE<float> focal;
  CHECK_THROWS_WITH(focal.forward(x, y, longtail::no_mask, Eigen::MatrixXd::Ones(3, 2)), message);
  CHECK_THROWS_WITH(focal.forward_backward(x, y, g, longtail::no_mask, Eigen::MatrixXd::Ones(3, 2)), message);
  CHECK_THROWS_WITH(focal.forward(x, y, longtail::no_mask, Eigen::MatrixXf::Ones(3, 2)), message);
  CHECK_THROWS_WITH(focal.forward(x, y, longtail::no_mask, (2 * Eigen::MatrixXf::Ones(3, 2)).eval().array() + 1),
                    message);
  // Masks and targets of the wrong shape, as expressions that would be evaluated first.
  CHECK_THROWS_WITH(focal.forward(x, y, (Eigen::MatrixXd::Ones(3, 8).array() > 0)),
                    "longtail: mask has shape 3x8 but logits are 6x4");
  CHECK_THROWS_WITH(focal.forward(x, Eigen::MatrixXd::Zero(4, 6).cast<float>()),
                    "longtail: targets has shape 4x6 but logits are 6x4");
  // A row vector of another scalar type is a vector: converted, and equal to the column.
  const Eigen::RowVectorXd sw_row = Eigen::RowVectorXd::LinSpaced(6, 0.5, 2.0);
  const Eigen::VectorXf sw_col = sw_row.transpose().cast<float>();
  require_bit_identical(focal.forward(x, y, longtail::no_mask, sw_row), focal.forward(x, y, longtail::no_mask, sw_col),
                        "row-vector sample weights");
}

TEST_CASE("outputs: writable temporaries (blocks, Maps) receive the result", "[api][outputs]") {
  const Mat<float> x = uniform(5, 3, -4, 4, 421).cast<float>(), y = bernoulli(5, 3, 0.5, 422).cast<float>();
  const WeightedBCE<float> loss;
  Mat<float> g(5, 3), wide = Mat<float>::Zero(5, 7), e(5, 3);
  const float l = loss.forward_backward(x, y, g);
  require_bit_identical(loss.forward_backward(x, y, wide.middleCols(2, 3)), l, "loss into a block");
  require_bit_identical(Mat<float>(wide.middleCols(2, 3)), g, "grad into a block");
  CHECK((wide.leftCols(2).array() == 0).all());
  std::vector<float> buffer(15);
  loss.backward(x, y, Eigen::Map<Mat<float>>(buffer.data(), 5, 3));
  require_bit_identical(Eigen::Map<Mat<float>>(buffer.data(), 5, 3), g, "grad into a Map temporary");
  loss.forward_elements(x, y, e);
  std::fill(buffer.begin(), buffer.end(), 0.0f);
  loss.forward_elements(x, y, Eigen::Map<Mat<float>>(buffer.data(), 5, 3));
  require_bit_identical(Eigen::Map<Mat<float>>(buffer.data(), 5, 3), e, "losses into a Map temporary");
}

TEST_CASE("no_mask / no_sample_weight, and the deprecated longtail::none", "[api][tags]") {
  const Mat<double> x = uniform(4, 6, -4, 4, 431), y = bernoulli(4, 6, 0.5, 432);
  const Vec<double> sw = uniform(4, 1, 0.5, 2, 433).col(0);
  const FocalBCE<double> loss(longtail::FocalBCEOptions::focal(2.0));
  const double with_tags = loss.forward(x, y, longtail::no_mask, sw);
  require_bit_identical(loss.forward(x, y, longtail::none, sw), with_tags, "longtail::none (deprecated alias)");
  require_bit_identical(loss.forward(x, y, MaskMat::Ones(4, 6), sw), with_tags, "an all-valid mask");
  require_bit_identical(loss.forward(x, y, longtail::no_mask, longtail::no_sample_weight), loss.forward(x, y),
                        "both tags");
}

TEST_CASE("Reduction::none: forward() refuses and names forward_elements()", "[api][reduction]") {
  const Mat<float> x = uniform(3, 4, -4, 4, 441).cast<float>(), y = bernoulli(3, 4, 0.5, 442).cast<float>();
  longtail::WeightedBCEOptions o;
  o.reduction = Reduction::none;
  const WeightedBCE<float> loss(o);
  const std::string message =
      "longtail: WeightedBCE: forward() needs Reduction::sum or mean; with Reduction::none call "
      "forward_elements(logits, targets, loss, ...), which writes each element's loss";
  CHECK_THROWS_WITH(loss.forward(x, y), message);
  CHECK_THROWS_WITH(loss(x, y), message);
  // forward_elements writes the elements and returns their sum; the gradient is per element.
  Mat<float> e(3, 4), g(3, 4);
  const float total = loss.forward_elements(x, y, e);
  require_close(double(total), e.cast<double>().sum(), 1e-6, 0, "sum of the elements");
  require_bit_identical(loss.forward_backward(x, y, g), total, "forward_backward returns the same sum");
}

TEST_CASE("asymmetric() takes alpha like focal()", "[api][options]") {
  const auto o = longtail::FocalBCEOptions::asymmetric(1.0, 4.0, 0.05, 0.25);
  CHECK(o.gamma_pos == 1.0);
  CHECK(o.gamma_neg == 4.0);
  CHECK(o.margin == 0.05);
  REQUIRE(o.alpha.has_value());
  CHECK(*o.alpha == 0.25);
  CHECK_FALSE(longtail::FocalBCEOptions::asymmetric(0.0, 4.0, 0.05).alpha.has_value());
}
