// SPDX-License-Identifier: Apache-2.0
// options.mean_divisor: Reduction::mean divided by a caller-given count (the global number of
// valid elements of a data-parallel step) instead of this call's valid count, for the loss and
// the gradient alike, in every call (forward, backward, forward_backward, forward_elements).

#include <limits>

#include "test_support.hpp"

using namespace lt_test;
using longtail::Reduction;
using Index = Eigen::Index;

namespace {

/// A few configurations: weighted BCE, integer and real focal, ASL with a margin.
std::vector<LossConfig> divisor_configs() {
  return {wbce_config(), focal_config(2.0, 0.25), focal_config(2.5), asl_config(0.0, 4.0, 0.05)};
}

/// The functor of `c` with the given reduction and mean_divisor.
template <class S, class F>
decltype(auto) with_divisor(const LossConfig& c, Reduction reduction, std::optional<double> divisor,
                            const Eigen::Array<S, Eigen::Dynamic, 1>& pos_weight, F&& f) {
  if (c.kind == LossConfig::wbce) {
    longtail::WeightedBCEOptions o;
    o.reduction = reduction;
    o.mean_divisor = divisor;
    return f(longtail::cpu::WeightedBCE<S>(o, {}, pos_weight));
  }
  auto o = c.focal_options();
  o.reduction = reduction;
  o.mean_divisor = divisor;
  return f(longtail::cpu::FocalBCE<S>(o, {}, pos_weight));
}

template <class S>
void check_divisor(const LossConfig& c, double rel) {
  const Index rows = 13, cols = 37;
  const Mat<S> x = uniform(rows, cols, -6, 6, 301).cast<S>(), y = bernoulli(rows, cols, 0.3, 302).cast<S>();
  const MaskMat mask = random_mask(rows, cols, 0.7, 303);
  const Vec<S> sw = uniform(rows, 1, 0.2, 2, 304).col(0).cast<S>();
  const Eigen::Array<S, Eigen::Dynamic, 1> pw = class_vector<S>(cols, 0.5, 6, 305);
  const Index valid = (mask.array() != 0).count();
  REQUIRE(valid > 0);
  REQUIRE(valid < rows * cols);

  // The sum and its gradient: what every rank would compute before dividing by the global count.
  Mat<S> g_sum(rows, cols);
  const double sum = with_divisor<S>(c, Reduction::sum, std::nullopt, pw, [&](const auto& loss) {
    return double(loss.forward_backward(x, y, g_sum, mask, sw));
  });

  for (const double d : {1.0, 3.5, double(valid), 4096.0 * 698.0 * 8.0}) {
    INFO(c.label << ", mean_divisor " << d << " (local count " << valid << ")");
    with_divisor<S>(c, Reduction::mean, d, pw, [&](const auto& loss) {
      Mat<S> g(rows, cols), g_only(rows, cols), elements(rows, cols);
      const double l = double(loss.forward_backward(x, y, g, mask, sw));
      require_close(l, sum / d, rel, 0, "forward_backward loss");
      require_close(g, (g_sum.template cast<double>() / d).eval(), rel, 0, "gradient");
      require_close(double(loss.forward(x, y, mask, sw)), sum / d, rel, 0, "forward");
      require_close(double(loss.forward_elements(x, y, elements, mask, sw)), sum / d, rel, 0,
                    "forward_elements' returned loss");
      loss.backward(x, y, g_only, mask, sw);
      require_bit_identical(g_only, g, "backward vs forward_backward");
      // Per-element losses are never divided.
      Mat<S> elements_sum(rows, cols);
      with_divisor<S>(c, Reduction::sum, std::nullopt, pw,
                      [&](const auto& s) { s.forward_elements(x, y, elements_sum, mask, sw); });
      require_bit_identical(elements, elements_sum, "per-element losses");
    });
  }

  // The local count as mean_divisor is the default mean, bit for bit.
  Mat<S> g_default(rows, cols), g_local(rows, cols);
  const S l_default = with_divisor<S>(c, Reduction::mean, std::nullopt, pw, [&](const auto& loss) {
    return loss.forward_backward(x, y, g_default, mask, sw);
  });
  const S l_local = with_divisor<S>(c, Reduction::mean, double(valid), pw,
                                    [&](const auto& loss) { return loss.forward_backward(x, y, g_local, mask, sw); });
  require_bit_identical(l_local, l_default, c.label + ": loss with mean_divisor = local count");
  require_bit_identical(g_local, g_default, c.label + ": gradient with mean_divisor = local count");
}

}  // namespace

TEMPLATE_TEST_CASE("mean_divisor D: loss = sum / D and gradient = gradient of the sum / D", "[mean_divisor]", float,
                   double) {
  // float: the loss is summed in double and rounded once (either way); the gradient gets 1/D
  // rounded to float and one more product: a few float ulp.
  const double rel = std::is_same_v<TestType, float> ? 4e-7 : 1e-15;
  for (const LossConfig& c : divisor_configs()) check_divisor<TestType>(c, rel);
}

TEMPLATE_TEST_CASE("mean_divisor with zero valid elements: loss 0, gradient 0", "[mean_divisor][mask]", float, double) {
  using S = TestType;
  const Mat<S> x = uniform(5, 9, -4, 4, 311).cast<S>(), y = bernoulli(5, 9, 0.5, 312).cast<S>();
  const MaskMat nothing_valid = MaskMat::Zero(5, 9);
  for (const LossConfig& c : divisor_configs())
    with_divisor<S>(c, Reduction::mean, 1000.0, Eigen::Array<S, Eigen::Dynamic, 1>(), [&](const auto& loss) {
      INFO(c.label);
      Mat<S> g = Mat<S>::Constant(5, 9, S(7));
      CHECK(loss.forward_backward(x, y, g, nothing_valid) == S(0));
      CHECK((g.array() == S(0)).all());
      CHECK(loss.forward(x, y, nothing_valid) == S(0));
      // An empty shard (no rows) of a data-parallel step: 0 as well.
      const Mat<S> empty(0, 9);
      Mat<S> g_empty(0, 9);
      CHECK(loss.forward_backward(empty, empty, g_empty) == S(0));
    });
}

TEST_CASE("mean_divisor: bad values and other reductions are refused, naming the field", "[mean_divisor][errors]") {
  const double nan = std::numeric_limits<double>::quiet_NaN(), inf = std::numeric_limits<double>::infinity();
  auto message = [](const char* field, const char* got) {
    return std::string("longtail: ") + field + ".mean_divisor must be finite and > 0 (got " + got + ")";
  };
  const std::vector<std::pair<double, const char*>> bad = {{0.0, "0"}, {-3.0, "-3"}, {nan, "nan"}, {inf, "inf"}};
  for (const auto& [value, text] : bad) {
    INFO("mean_divisor " << text);
    longtail::WeightedBCEOptions w;
    w.mean_divisor = value;
    CHECK_THROWS_WITH(longtail::cpu::WeightedBCE<float>(w), message("WeightedBCEOptions", text));
    longtail::FocalBCEOptions f;
    f.mean_divisor = value;
    CHECK_THROWS_WITH(longtail::cpu::FocalBCE<double>(f), message("FocalBCEOptions", text));
  }
  for (Reduction r : {Reduction::sum, Reduction::none}) {
    longtail::FocalBCEOptions f = longtail::FocalBCEOptions::focal(2.0);
    f.reduction = r;
    f.mean_divisor = 64.0;
    CHECK_THROWS_WITH(longtail::cpu::FocalBCE<float>(f),
                      std::string("longtail: FocalBCEOptions.mean_divisor is set (64) but reduction is ") +
                          longtail::to_string(r) + "; it applies to Reduction::mean only");
    longtail::WeightedBCEOptions w;
    w.reduction = r;
    w.mean_divisor = 64.0;
    CHECK_THROWS_WITH(longtail::cpu::WeightedBCE<float>(w),
                      std::string("longtail: WeightedBCEOptions.mean_divisor is set (64) but reduction is ") +
                          longtail::to_string(r) + "; it applies to Reduction::mean only");
  }
  longtail::WeightedBCEOptions ok;
  ok.mean_divisor = 1e-3;  // any positive count, also below 1 (a fraction of a global batch)
  CHECK_NOTHROW(longtail::cpu::WeightedBCE<float>(ok));
}
