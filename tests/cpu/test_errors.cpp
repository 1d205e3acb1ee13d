// SPDX-License-Identifier: Apache-2.0
// Every bad argument throws longtail::invalid_argument (a std::invalid_argument) whose message
// starts with "longtail: " and names the argument and the offending value or shapes. The full
// message text is asserted. A rejected call writes nothing (no partial gradient).

#include <limits>

#include "test_support.hpp"

using namespace lt_test;
using longtail::Reduction;
using longtail::cpu::FocalBCE;
using longtail::cpu::WeightedBCE;

namespace {

const double kNaN = std::numeric_limits<double>::quiet_NaN();
const double kInf = std::numeric_limits<double>::infinity();

/// Runs f, which must throw longtail::invalid_argument with exactly `message`.
template <class F>
void require_error(F&& f, const std::string& message) {
  INFO("expected: " << message);
  try {
    f();
  } catch (const longtail::invalid_argument& e) {
    const std::string got = e.what();
    CHECK(got == message);
    const std::invalid_argument* as_std = &e;  // catchable as the standard type
    CHECK(as_std != nullptr);
    return;
  } catch (const std::exception& e) {
    FAIL("threw another exception type: " << e.what());
  }
  FAIL("did not throw");
}

longtail::FocalBCEOptions focal_with(void (*edit)(longtail::FocalBCEOptions&)) {
  longtail::FocalBCEOptions o;
  edit(o);
  return o;
}

}  // namespace

TEST_CASE("option errors name the field and the value", "[errors][options]") {
  using O = longtail::FocalBCEOptions;
  auto focal = [](auto edit) {
    return [edit] {
      O o;
      edit(o);
      FocalBCE<double> f(o);
    };
  };
  require_error(focal([](O& o) { o.gamma_pos = -1; }),
                "longtail: FocalBCEOptions.gamma_pos must be a finite number >= 0 (got -1)");
  require_error(focal([](O& o) { o.gamma_neg = -0.5; }),
                "longtail: FocalBCEOptions.gamma_neg must be a finite number >= 0 (got -0.5)");
  require_error(focal([](O& o) { o.gamma_pos = kNaN; }),
                "longtail: FocalBCEOptions.gamma_pos must be a finite number >= 0 (got nan)");
  require_error(focal([](O& o) { o.gamma_neg = kInf; }),
                "longtail: FocalBCEOptions.gamma_neg must be a finite number >= 0 (got inf)");
  require_error(focal([](O& o) { o.alpha = 1.5; }), "longtail: FocalBCEOptions.alpha must be in [0, 1] (got 1.5)");
  require_error(focal([](O& o) { o.alpha = -0.25; }), "longtail: FocalBCEOptions.alpha must be in [0, 1] (got -0.25)");
  require_error(focal([](O& o) { o.alpha = kNaN; }), "longtail: FocalBCEOptions.alpha must be in [0, 1] (got nan)");
  require_error(focal([](O& o) { o.margin = 1.0; }), "longtail: FocalBCEOptions.margin must be in [0, 1) (got 1)");
  require_error(focal([](O& o) { o.margin = -0.01; }),
                "longtail: FocalBCEOptions.margin must be in [0, 1) (got -0.01)");
  require_error(focal([](O& o) { o.label_smoothing = 1.0; }),
                "longtail: FocalBCEOptions.label_smoothing must be in [0, 1) (got 1)");
  require_error(focal([](O& o) { o.label_smoothing = -0.1; }),
                "longtail: FocalBCEOptions.label_smoothing must be in [0, 1) (got -0.10000000000000001)");
  require_error(focal([](O& o) { o.execution.threads = -2; }),
                "longtail: FocalBCEOptions.execution.threads must be >= 0 (0 = OpenMP default; got -2)");

  using WO = longtail::WeightedBCEOptions;
  auto wbce = [](auto edit) {
    return [edit] {
      WO o;
      edit(o);
      WeightedBCE<float> f(o);
    };
  };
  require_error(wbce([](WO& o) { o.label_smoothing = 1.5; }),
                "longtail: WeightedBCEOptions.label_smoothing must be in [0, 1) (got 1.5)");
  require_error(wbce([](WO& o) { o.label_smoothing = kNaN; }),
                "longtail: WeightedBCEOptions.label_smoothing must be in [0, 1) (got nan)");
  require_error(wbce([](WO& o) { o.execution.threads = -1; }),
                "longtail: WeightedBCEOptions.execution.threads must be >= 0 (0 = OpenMP default; got -1)");

  // validate() itself throws the same, without a functor.
  require_error([] { focal_with([](O& o) { o.gamma_pos = -3; }).validate(); },
                "longtail: FocalBCEOptions.gamma_pos must be a finite number >= 0 (got -3)");

  // The boundaries that are allowed.
  CHECK_NOTHROW(FocalBCE<double>(focal_with([](O& o) {
    o.gamma_pos = o.gamma_neg = 0;
    o.alpha = 0.0;
    o.margin = 0;
    o.label_smoothing = 0;
  })));
  CHECK_NOTHROW(FocalBCE<double>(focal_with([](O& o) {
    o.alpha = 1.0;
    o.margin = 0.999;
    o.label_smoothing = 0.999;
    o.gamma_pos = 100;
  })));
}

TEST_CASE("per-class vector errors name the vector, the index and the value", "[errors][weights]") {
  Eigen::ArrayXd bad = Eigen::ArrayXd::Ones(4);
  bad[2] = -1;
  require_error([&] { FocalBCE<double> f({}, bad); }, "longtail: FocalBCE: weight[2] must be finite and >= 0 (got -1)");
  require_error([&] { WeightedBCE<double> f({}, Eigen::ArrayXd(), bad); },
                "longtail: WeightedBCE: pos_weight[2] must be finite and >= 0 (got -1)");
  bad[2] = kNaN;
  require_error([&] { WeightedBCE<double> f({}, bad); },
                "longtail: WeightedBCE: weight[2] must be finite and >= 0 (got nan)");
  Eigen::ArrayXf badf = Eigen::ArrayXf::Ones(3);
  badf[0] = std::numeric_limits<float>::infinity();
  require_error([&] { FocalBCE<float> f({}, Eigen::ArrayXf(), badf); },
                "longtail: FocalBCE: pos_weight[0] must be finite and >= 0 (got inf)");
  require_error([&] { FocalBCE<double> f({}, Eigen::ArrayXd::Ones(3), Eigen::ArrayXd::Ones(4)); },
                "longtail: FocalBCE: weight has 3 classes but pos_weight has 4");
  require_error([&] { WeightedBCE<float> f({}, Eigen::ArrayXf::Ones(5), Eigen::ArrayXf::Ones(2)); },
                "longtail: WeightedBCE: weight has 5 classes but pos_weight has 2");

  // Per-class length vs the logits' columns: checked on every call.
  const Mat<double> x = Mat<double>::Zero(3, 5), y = Mat<double>::Zero(3, 5);
  Mat<double> g(3, 5);
  FocalBCE<double> f4({}, Eigen::ArrayXd::Ones(4));
  WeightedBCE<double> w6({}, Eigen::ArrayXd(), Eigen::ArrayXd::Ones(6));
  const std::string f4_msg = "longtail: FocalBCE: per-class vectors have 4 classes but logits have 5 columns";
  require_error([&] { f4.forward(x, y); }, f4_msg);
  require_error([&] { f4.backward(x, y, g); }, f4_msg);
  require_error([&] { f4.forward_backward(x, y, g); }, f4_msg);
  require_error([&] { f4.forward_elements(x, y, g); }, f4_msg);
  require_error([&] { w6(x, y); }, "longtail: WeightedBCE: per-class vectors have 6 classes but logits have 5 columns");
}

TEST_CASE("shape errors name the argument and both shapes", "[errors][shapes]") {
  const Mat<double> x = Mat<double>::Zero(3, 5), y = Mat<double>::Zero(3, 5);
  Mat<double> g(3, 5);
  const Mat<double> y_bad = Mat<double>::Zero(3, 4);
  Mat<double> g_bad(5, 3);
  const MaskMat m_bad = MaskMat::Ones(2, 5);
  FocalBCE<double> f;
  WeightedBCE<double> w;
  require_error([&] { f.forward(x, y_bad); }, "longtail: targets has shape 3x4 but logits are 3x5");
  require_error([&] { w.backward(x, y_bad, g); }, "longtail: targets has shape 3x4 but logits are 3x5");
  require_error([&] { f.backward(x, y, g_bad); }, "longtail: grad has shape 5x3 but logits are 3x5");
  require_error([&] { w.forward_backward(x, y, g_bad); }, "longtail: grad has shape 5x3 but logits are 3x5");
  require_error([&] { f.forward_elements(x, y, g_bad); }, "longtail: loss has shape 5x3 but logits are 3x5");
  require_error([&] { f.forward(x, y, m_bad); }, "longtail: mask has shape 2x5 but logits are 3x5");
  require_error([&] { w.forward_backward(x, y, g, m_bad); }, "longtail: mask has shape 2x5 but logits are 3x5");
  // The transpose of the right shape is still the wrong shape.
  require_error([&] { f.forward(x, y.transpose()); }, "longtail: targets has shape 5x3 but logits are 3x5");

  const Vec<double> sw4 = Vec<double>::Ones(4);
  const Mat<double> sw_mat = Mat<double>::Ones(3, 2);
  require_error(
      [&] { f.forward(x, y, longtail::none, sw4); },
      "longtail: sample_weight has shape 4x1 but must be a vector of length 3 (one weight per row of logits)");
  require_error(
      [&] { w.backward(x, y, g, longtail::none, sw4.transpose()); },
      "longtail: sample_weight has shape 1x4 but must be a vector of length 3 (one weight per row of logits)");
  require_error(
      [&] { f.forward(x, y, longtail::none, sw_mat); },
      "longtail: sample_weight has shape 3x2 but must be a vector of length 3 (one weight per row of logits)");
  // One weight per column instead of per row.
  require_error(
      [&] { f.forward(x, y, longtail::none, Vec<double>::Ones(5)); },
      "longtail: sample_weight has shape 5x1 but must be a vector of length 3 (one weight per row of logits)");
}

TEST_CASE("sample weight values: finite and >= 0", "[errors][sample_weight]") {
  const Mat<double> x = Mat<double>::Zero(3, 5), y = Mat<double>::Zero(3, 5);
  FocalBCE<double> f;
  Vec<double> sw = Vec<double>::Ones(3);
  sw[1] = -0.5;
  require_error([&] { f.forward(x, y, longtail::none, sw); },
                "longtail: sample_weight[1] must be finite and >= 0 (got -0.5)");
  sw[1] = 1;
  sw[2] = kNaN;
  require_error([&] { f.forward(x, y, MaskMat::Ones(3, 5), sw); },
                "longtail: sample_weight[2] must be finite and >= 0 (got nan)");
  Vec<float> swf = Vec<float>::Ones(3);
  swf[0] = -std::numeric_limits<float>::infinity();
  WeightedBCE<float> wf;
  require_error([&] { wf.forward(x.cast<float>(), y.cast<float>(), longtail::none, swf); },
                "longtail: sample_weight[0] must be finite and >= 0 (got -inf)");
  // A zero weight is fine.
  sw[2] = 0;
  CHECK_NOTHROW(f.forward(x, y, longtail::none, sw));
}

TEST_CASE("targets outside [0, 1]: rejected with check_inputs, computed linearly without", "[errors][targets]") {
  Mat<double> x = uniform(3, 5, -2, 2, 5), y = bernoulli(3, 5, 0.5, 6);
  longtail::FocalBCEOptions o;
  o.execution.check_inputs = true;
  FocalBCE<double> checked(o);
  longtail::WeightedBCEOptions wo;
  wo.execution.check_inputs = true;
  WeightedBCE<double> wchecked(wo);
  CHECK_NOTHROW(checked.forward(x, y));

  Mat<double> yb = y;
  yb(1, 2) = 1.5;
  require_error([&] { checked.forward(x, yb); }, "longtail: targets(1, 2) must be in [0, 1] (got 1.5)");
  yb(1, 2) = -0.25;
  require_error([&] { wchecked.forward(x, yb); }, "longtail: targets(1, 2) must be in [0, 1] (got -0.25)");
  yb(1, 2) = kNaN;
  Mat<double> g = Mat<double>::Constant(3, 5, 7.0);
  require_error([&] { checked.backward(x, yb, g); }, "longtail: targets(1, 2) must be in [0, 1] (got nan)");
  CHECK((g.array() == 7.0).all());  // nothing written by the rejected call
  // Row-major targets: the index is still (row, column).
  RowMat<double> ybr = y;
  ybr(2, 0) = 2;
  require_error([&] { wchecked.forward(x, ybr); }, "longtail: targets(2, 0) must be in [0, 1] (got 2)");
  // uint8 targets must be 0 or 1.
  Eigen::Matrix<std::uint8_t, -1, -1> yu = y.cast<std::uint8_t>();
  yu(0, 4) = 2;
  require_error([&] { checked.forward(x, yu); }, "longtail: targets(0, 4) must be in [0, 1] (got 2)");
  // Float functor and float targets.
  longtail::WeightedBCEOptions wfo;
  wfo.execution.check_inputs = true;
  Mat<float> yf = y.cast<float>();
  yf(0, 0) = 1.25f;
  require_error([&] { WeightedBCE<float>(wfo).forward(x.cast<float>(), yf); },
                "longtail: targets(0, 0) must be in [0, 1] (got 1.25)");

  // Without check_inputs (the default) values are not inspected: the loss is the linear formula
  // l = a L+ + b L- with y as given (b < 0 for y > 1), never an error.
  FocalBCE<double> unchecked(longtail::FocalBCEOptions::focal(0.0));
  yb(1, 2) = 1.5;
  const double x12 = x(1, 2);
  const double sp_neg = std::log1p(std::exp(-x12)), sp_pos = std::log1p(std::exp(x12));
  Mat<double> e(3, 5);
  CHECK_NOTHROW(unchecked.forward_elements(x, yb, e));
  require_close(e(1, 2), 1.5 * sp_neg - 0.5 * sp_pos, 0, 1e-14,
                "linear extension of the loss");  // a difference: absolute
}

TEST_CASE("a rejected call writes nothing", "[errors]") {
  const Mat<double> x = Mat<double>::Zero(3, 5), y = Mat<double>::Zero(3, 5);
  Mat<double> g = Mat<double>::Constant(3, 5, 7.0);
  Vec<double> sw = Vec<double>::Ones(3);
  sw[2] = -1;
  FocalBCE<double> f;
  CHECK_THROWS_AS(f.forward_backward(x, y, g, longtail::none, sw), longtail::invalid_argument);
  CHECK_THROWS_AS(f.forward_backward(x, y, g, MaskMat::Ones(3, 4)), longtail::invalid_argument);
  CHECK_THROWS_AS(f.forward_elements(x, y, g, longtail::none, sw), longtail::invalid_argument);
  CHECK((g.array() == 7.0).all());
}
