// SPDX-License-Identifier: Apache-2.0
// The math core on its own (include/longtail/math/): the scalar instantiations that the CUDA
// kernels evaluate, checked on the host against the long-double reference; logit_terms() accuracy
// for scalars and for the CPU's SIMD packets; ipow, GammaSpec, term_weights, class_coefficients;
// the integer-exponent path against the exp/log path; and the documented option defaults.

#include <limits>

#include "reference_loss.hpp"
#include "test_support.hpp"

using namespace lt_test;
namespace math = longtail::math;

namespace {

/// Relative error in units of the type's epsilon.
template <class S>
double ulps(double got, long double want) {
  if (want == 0) return got == 0 ? 0 : std::numeric_limits<double>::infinity();
  return double(std::abs((long double)got - want) / std::abs(want)) / double(std::numeric_limits<S>::epsilon());
}

std::vector<double> logit_grid() {
  std::vector<double> xs;
  for (double v = -60; v <= 60; v += 0.173) xs.push_back(v);
  for (double v : {0.0, -0.0, 1e-300, -1e-300, 1e-20, -1e-20, 1e-8, -1e-8, 700.0, -700.0, 750.0, -750.0, 1e4, -1e4})
    xs.push_back(v);
  return xs;
}

struct LongDoubleTerms {
  long double p, q, sp_x, sp_neg_x;
};

LongDoubleTerms ld_terms(long double x) {
  return {1.0L / (1.0L + std::exp(-x)), 1.0L / (1.0L + std::exp(x)), ref_softplus(x), ref_softplus(-x)};
}

/// Checks one LogitTerms against long double: p, q, softplus(+-x) within `max_ulps`, or (for
/// results that underflow in S) within S's smallest normal.
template <class S>
void check_terms(double x, S p, S q, S spx, S spnx, double max_ulps) {
  const LongDoubleTerms r = ld_terms((long double)S(x));
  INFO("x = " << x);
  const long double tiny = std::numeric_limits<S>::min();
  auto ok = [&](S got, long double want) {
    return std::abs((long double)got - want) <= tiny || ulps<S>(double(got), want) <= max_ulps;
  };
  CHECK(ok(p, r.p));
  CHECK(ok(q, r.q));
  CHECK(ok(spx, r.sp_x));
  CHECK(ok(spnx, r.sp_neg_x));
}

}  // namespace

TEMPLATE_TEST_CASE("logit_terms (scalar) is accurate to a few ulp for every logit", "[math]", float, double) {
  using S = TestType;
  for (double x : logit_grid()) {
    const auto t = math::logit_terms<S>(S(x));
    check_terms<S>(x, t.p, t.q, t.softplus_x, t.softplus_neg_x, 4);
    CHECK(std::isfinite(double(t.p)));
    CHECK(t.p >= S(0));
    CHECK(t.q <= S(1));
  }
  const auto n = math::logit_terms<S>(std::numeric_limits<S>::quiet_NaN());
  CHECK(std::isnan(double(n.p)));
  CHECK(std::isnan(double(n.q)));
  CHECK(std::isnan(double(n.softplus_x)));
  CHECK(std::isnan(double(n.softplus_neg_x)));
}

TEMPLATE_TEST_CASE("logit_terms on SIMD packets is accurate to a few ulp", "[math][packet]", float, double) {
  // The CPU functors evaluate the core on Eigen packets (pexp, plog): documented ~1 ulp each.
  using S = TestType;
  using P = longtail::cpu::detail::Packet<S>;
  constexpr int L = P::size;
  const auto xs = logit_grid();
  for (std::size_t k0 = 0; k0 < xs.size(); k0 += L) {
    alignas(64) S in[L], p[L], q[L], spx[L], spnx[L];
    for (int l = 0; l < L; ++l) in[l] = S(xs[std::min(xs.size() - 1, k0 + std::size_t(l))]);
    const auto t = math::logit_terms(P::load(in));
    t.p.store(p);
    t.q.store(q);
    t.softplus_x.store(spx);
    t.softplus_neg_x.store(spnx);
    for (int l = 0; l < L; ++l) check_terms<S>(double(in[l]), p[l], q[l], spx[l], spnx[l], 8);
  }
}

namespace {

/// Applies a packet function to every value of `xs` and returns the results in the same order.
template <class S, class F>
std::vector<S> on_packets(const std::vector<S>& xs, F f) {
  using P = longtail::cpu::detail::Packet<S>;
  constexpr int L = P::size;
  std::vector<S> out(xs.size());
  for (std::size_t k0 = 0; k0 < xs.size(); k0 += L) {
    alignas(64) S in[L], res[L];
    for (int l = 0; l < L; ++l) in[l] = xs[std::min(xs.size() - 1, k0 + std::size_t(l))];
    f(P::load(in)).store(res);
    for (int l = 0; l < L && k0 + std::size_t(l) < xs.size(); ++l) out[k0 + std::size_t(l)] = res[l];
  }
  return out;
}

}  // namespace

TEMPLATE_TEST_CASE("SIMD exp and exp_nonpositive: within 1 ulp, 0 below the range, inf above, NaN kept",
                   "[math][packet]", float, double) {
  // The packet exp of this build (AVX-512: own polynomial + vscalef; otherwise Eigen's pexp or
  // the division-free double form) against long double, over the whole range and its ends.
  using S = TestType;
  using P = longtail::cpu::detail::Packet<S>;
  constexpr bool F = std::is_same_v<S, float>;
  const double lo = F ? -110 : -760, hi = F ? 89 : 711;
  std::vector<S> xs;
  for (int i = 0; i <= 200000; ++i) xs.push_back(S(lo + (hi - lo) * i / 200000.0));
  const S inf = std::numeric_limits<S>::infinity();
  for (S v : {S(0), S(-0.0), S(1e-30), S(-1e-30), S(-1e30), S(1e30), -inf, inf, std::numeric_limits<S>::quiet_NaN()})
    xs.push_back(v);
  const auto got = on_packets(xs, [](P v) { return exp(v); });
  const auto got_np = on_packets(xs, [](P v) { return exp_nonpositive(v); });
  double worst = 0;
  for (std::size_t i = 0; i < xs.size(); ++i) {
    const S x = xs[i];
    INFO("x = " << x << " exp = " << got[i]);
    if (x <= 0 || std::isnan(x)) REQUIRE(std::memcmp(&got[i], &got_np[i], sizeof(S)) == 0);  // same bits
    if (std::isnan(x)) {
      CHECK(std::isnan(got[i]));
      continue;
    }
    const long double want = std::exp((long double)x);
    if (want > (long double)std::numeric_limits<S>::max()) {
      CHECK(got[i] == inf);
    } else if (want < (long double)std::numeric_limits<S>::min()) {  // denormal or 0: absolute
      CHECK(std::abs((long double)got[i] - want) <= (long double)std::numeric_limits<S>::min());
      CHECK(got[i] >= S(0));
    } else {
      worst = std::max(worst, ulps<S>(double(got[i]), want));
    }
  }
  CHECK(worst <= 1.0);
}

namespace {

/// log1p_and_reciprocal over (0, 1] (every t the core can produce) against long double; `eval`
/// maps the sweep to {log1p, reciprocal} vectors.
template <class S, class Eval>
void check_log1p_and_reciprocal(Eval&& eval) {
  std::vector<S> ts;
  for (int i = 1; i <= 200000; ++i) ts.push_back(S(i / 200000.0));
  for (int e = 1; e <= (std::is_same_v<S, float> ? 126 : 1022); ++e) ts.push_back(S(std::ldexp(1.3, -e)));
  ts.push_back(std::numeric_limits<S>::min());
  ts.push_back(S(0));
  const auto [l, r] = eval(ts);
  double worst_log = 0, worst_recip = 0;
  for (std::size_t i = 0; i < ts.size(); ++i) {
    INFO("t = " << ts[i]);
    if (ts[i] == 0) {
      CHECK(l[i] == S(0));
      CHECK(r[i] == S(1));
      continue;
    }
    worst_log = std::max(worst_log, ulps<S>(double(l[i]), std::log1p((long double)ts[i])));
    worst_recip = std::max(worst_recip, ulps<S>(double(r[i]), 1.0L / (1.0L + ts[i])));
  }
  CHECK(worst_log <= 4.0);
  CHECK(worst_recip <= 2.0);
  // NaN in, NaN out (a NaN logit must reach the loss).
  const auto [ln, rn] = eval(std::vector<S>{std::numeric_limits<S>::quiet_NaN()});
  CHECK(std::isnan(ln[0]));
  CHECK(std::isnan(rn[0]));
}

}  // namespace

TEMPLATE_TEST_CASE("SIMD log1p_and_reciprocal on [0, 1]: a few ulp", "[math][packet]", float, double) {
  using S = TestType;
  using P = longtail::cpu::detail::Packet<S>;
  check_log1p_and_reciprocal<S>([](const std::vector<S>& ts) {
    return std::pair{on_packets(ts, [](P t) { return log1p_and_reciprocal(t).log1p; }),
                     on_packets(ts, [](P t) { return log1p_and_reciprocal(t).reciprocal; })};
  });
}

// The scalar instantiation is what the CUDA kernels run (math/log1p_unit.hpp; on the device the
// reciprocal is rcp.approx + one Newton step, checked on every input by tests/cuda).
TEMPLATE_TEST_CASE("scalar log1p_and_reciprocal on [0, 1]: a few ulp", "[math]", float, double) {
  using S = TestType;
  check_log1p_and_reciprocal<S>([](const std::vector<S>& ts) {
    std::vector<S> l(ts.size()), r(ts.size());
    for (std::size_t i = 0; i < ts.size(); ++i) {
      const auto lr = math::log1p_and_reciprocal(ts[i]);
      l[i] = lr.log1p;
      r[i] = lr.reciprocal;
    }
    return std::pair{l, r};
  });
}

TEMPLATE_TEST_CASE("SIMD neg_abs, lane masks and partial stores", "[math][packet]", float, double) {
  using S = TestType;
  using P = longtail::cpu::detail::Packet<S>;
  constexpr int L = P::size;
  const std::vector<S> xs = {S(2), S(-3), S(0), S(-0.0), std::numeric_limits<S>::infinity(), S(1e-30)};
  const auto na = on_packets(xs, [](P v) { return neg_abs(v); });
  for (std::size_t i = 0; i < xs.size(); ++i) {
    CHECK(na[i] == -std::abs(xs[i]));
    CHECK(std::signbit(na[i]));
  }
  CHECK(std::isnan(on_packets(std::vector<S>{std::numeric_limits<S>::quiet_NaN()}, [](P v) { return neg_abs(v); })[0]));
  alignas(64) S ones[L], out[L];
  for (int first = 0; first <= L; ++first)
    for (int count = first; count <= L; ++count) {
      std::fill(ones, ones + L, S(1));
      std::fill(out, out + L, S(-1));
      const P v = select(P::lanes(first, count), P::load(ones), P(S(0)));
      v.store_lanes(out, first, count);  // lanes outside [first, count) must stay -1
      for (int k = 0; k < L; ++k) {
        INFO("first " << first << " count " << count << " lane " << k);
        CHECK(out[k] == (k >= first && k < count ? S(1) : S(-1)));
      }
    }
}

TEST_CASE("ipow, GammaSpec, term_weights and class_coefficients", "[math]") {
  CHECK(math::ipow(0.0, 0) == 1.0);
  CHECK(math::ipow(3.0, 0) == 1.0);
  CHECK(math::ipow(0.5, 1) == 0.5);
  CHECK(math::ipow(0.5, 3) == 0.125);
  CHECK(math::ipow(-2.0f, 5) == -32.0f);

  const auto g2 = longtail::GammaSpec::from(2.0);
  CHECK((g2.is_integer && g2.integer == 2 && g2.value == 2.0));
  const auto g0 = longtail::GammaSpec::from(0.0);
  CHECK((g0.is_integer && g0.integer == 0));
  const auto g25 = longtail::GammaSpec::from(2.5);
  CHECK(!g25.is_integer);
  CHECK(g25.value == 2.5);
  const auto g8 = longtail::GammaSpec::from(8.0);
  CHECK((g8.is_integer && g8.integer == 8));
  CHECK(!longtail::GammaSpec::from(9.0).is_integer);  // large exponents go through exp/log
  CHECK(!longtail::GammaSpec::from(1e9).is_integer);

  // y_s = y (1 - eps) + eps / 2 with eps = 0.2: y = 1 -> 0.9, y = 0 -> 0.1.
  const auto tw1 = math::term_weights(1.0, 0.8, 0.1, 3.0, 2.0, 0.5);
  CHECK(tw1.a == Approx(0.5 * 3.0 * 0.9).epsilon(1e-15));
  CHECK(tw1.b == Approx(0.5 * 2.0 * 0.1).epsilon(1e-15));
  const auto tw0 = math::term_weights(0.0, 0.8, 0.1, 3.0, 2.0, 1.0);
  CHECK(tw0.a == Approx(0.3).epsilon(1e-15));
  CHECK(tw0.b == Approx(1.8).epsilon(1e-15));
  const auto tw_unweighted = math::term_weights(0.0, 0.8, 0.1, 3.0, 2.0);  // the CPU kernel's form
  CHECK(tw_unweighted.a == tw0.a);
  CHECK(tw_unweighted.b == tw0.b);
  for (int n = 0; n <= 8; ++n) {  // the straight-line cases == repeated multiplication
    float loop = 1.0f;
    for (int k = 0; k < n; ++k) loop *= 0.7f;
    CHECK(math::ipow(0.7f, n) == loop);
  }

  // coef_pos = w * alpha * pw, coef_neg = w * (1 - alpha).
  const auto cc = math::class_coefficients(2.0, 5.0, 0.25, 0.75);
  CHECK(cc.pos == 2.0 * 0.25 * 5.0);
  CHECK(cc.neg == 2.0 * 0.75);
}

TEMPLATE_TEST_CASE("scalar math core (the CUDA path) == long-double reference", "[math][scalar]", float, double) {
  using S = TestType;
  const double rel = std::is_same_v<S, float> ? 1e-4 : 1e-12;  // see test_extreme_logits.cpp
  for (const LossConfig& c : all_configs()) {
    INFO(c.label);
    const auto gp = longtail::GammaSpec::from(c.gamma_pos), gn = longtail::GammaSpec::from(c.gamma_neg);
    auto eval = [&](S x, S a, S b) -> math::ValueGrad<S> {
      if (c.kind == LossConfig::wbce) return math::WeightedBCEMath{}(x, a, b);
      auto run = [&](auto m) {
        m.gamma_pos = S(c.gamma_pos);
        m.gamma_neg = S(c.gamma_neg);
        m.margin = S(c.margin);
        m.int_pos = gp.integer;
        m.int_neg = gn.integer;
        return m(x, a, b);
      };
      // Same dispatch as the CPU functor: integer exponents multiply, margin > 0 takes the ASL branch.
      if (c.margin > 0) {
        if (gp.is_integer && gn.is_integer) return run(math::FocalBCEMath<S, true, true, true>{});
        if (gp.is_integer) return run(math::FocalBCEMath<S, true, false, true>{});
        if (gn.is_integer) return run(math::FocalBCEMath<S, false, true, true>{});
        return run(math::FocalBCEMath<S, false, false, true>{});
      }
      if (gp.is_integer && gn.is_integer) return run(math::FocalBCEMath<S, true, true, false>{});
      if (gp.is_integer) return run(math::FocalBCEMath<S, true, false, false>{});
      if (gn.is_integer) return run(math::FocalBCEMath<S, false, true, false>{});
      return run(math::FocalBCEMath<S, false, false, false>{});
    };
    for (double x : logit_grid()) {
      if (std::abs(x) > 100) continue;  // values below the floor beyond that (extreme test covers it)
      for (double y : {0.0, 1.0, 0.3}) {
        const double a_pos = c.kind == LossConfig::focal && c.alpha ? *c.alpha : 1.0;
        const double a_neg = c.kind == LossConfig::focal && c.alpha ? 1.0 - *c.alpha : 1.0;
        const S w = S(1.5), pw = S(2.5);
        const auto cc = math::class_coefficients<S>(w, pw, S(a_pos), S(a_neg));
        const auto tw = math::term_weights<S>(S(y), S(1), S(0), cc.pos, cc.neg, S(1));
        const auto got = eval(S(x), tw.a, tw.b);
        const auto want = reference_element(c, {(long double)S(x), y, (long double)w, (long double)pw, 1.0L, 0.0L});
        INFO("x = " << x << ", y = " << y);
        CHECK(std::abs(double(got.value) - double(want.value)) <= rel * double(want.value_scale) + 1e-37);
        CHECK(std::abs(double(got.grad) - double(want.grad)) <= rel * double(want.grad_scale) + 1e-37);
      }
    }
  }
}

TEST_CASE("integer exponents (multiplied) == the same exponents through exp/log", "[math]") {
  for (int g : {0, 1, 2, 3, 5, 8})
    for (double x = -30; x <= 30; x += 0.29) {
      INFO("gamma " << g << " x " << x);
      math::FocalBCEMath<double, true, true, false> mi;
      math::FocalBCEMath<double, false, false, false> mr;
      math::FocalBCEMath<double, true, true, true> mim;
      math::FocalBCEMath<double, false, false, true> mrm;
      for (auto* p : {&mi.gamma_pos, &mi.gamma_neg, &mr.gamma_pos, &mr.gamma_neg, &mim.gamma_pos, &mim.gamma_neg,
                      &mrm.gamma_pos, &mrm.gamma_neg})
        *p = g;
      mi.int_pos = mi.int_neg = mim.int_pos = mim.int_neg = g;
      mi.margin = mr.margin = 0;
      mim.margin = mrm.margin = 0.15;  // the ASL branch
      const auto a = mi(x, 0.7, 1.3), b = mr(x, 0.7, 1.3), am = mim(x, 0.7, 1.3), bm = mrm(x, 0.7, 1.3);
      // exp(g * log e) vs e * e * ...: ~g * |log e| ulp apart (|log e| <= 30 here).
      const double rel = 1e-13;
      CHECK(close(a.value, b.value, rel, 1e-300));
      CHECK(close(a.grad, b.grad, rel, 1e-300));
      CHECK(close(am.value, bm.value, rel, 1e-300));
      CHECK(close(am.grad, bm.grad, rel, 1e-300));
    }
}

namespace {
/// FocalIntegerGammaMath<V, N> (the CUDA kernels' gamma 2 / gamma 3 functors) against the generic
/// integer path with int_pos = int_neg = N: the same bits, value and gradient.
template <class V, int N>
void check_fixed_gamma_bitwise() {
  math::FocalIntegerGammaMath<V, N> fixed;
  math::FocalBCEMath<V, true, true, false> generic;
  fixed.core.gamma_pos = fixed.core.gamma_neg = generic.gamma_pos = generic.gamma_neg = V(N);
  fixed.core.margin = generic.margin = V(0);
  fixed.core.int_pos = fixed.core.int_neg = generic.int_pos = generic.int_neg = N;
  int differ = 0, checked = 0;
  for (double xd : logit_grid())
    for (double ad : {0.0, 0.25, 1.0, 7.0})
      for (double bd : {0.0, 0.75, 1.0, 3.5}) {
        const V x = V(xd), a = V(ad), b = V(bd);
        const auto f = fixed(x, a, b), g = generic(x, a, b);
        ++checked;
        if (!same_bits(f.value, g.value) || !same_bits(f.grad, g.grad)) {
          if (++differ <= 5)
            WARN("gamma " << N << " x " << xd << " a " << ad << " b " << bd << ": " << f.value << " / " << f.grad
                          << " vs " << g.value << " / " << g.grad);
        }
      }
  INFO(differ << " of " << checked << " differ");
  CHECK(differ == 0);
}
}  // namespace

TEMPLATE_TEST_CASE("compile-time integer gamma (gamma 1 to 4) is bit-identical to the run-time integer path", "[math]",
                   float, double) {
  check_fixed_gamma_bitwise<TestType, 1>();
  check_fixed_gamma_bitwise<TestType, 2>();
  check_fixed_gamma_bitwise<TestType, 3>();
  check_fixed_gamma_bitwise<TestType, 4>();
}

TEST_CASE("focal with gamma 0 and no alpha is weighted BCE, and asymmetric(g, g, 0) is focal(g)", "[math]") {
  const Mat<double> x = uniform(17, 9, -12, 12, 121), y = uniform(17, 9, 0, 1, 122);
  const Eigen::ArrayXd w = class_vector(9, 0.2, 3, 123), pw = class_vector(9, 0.5, 8, 124);
  const MaskMat mask = random_mask(17, 9, 0.8, 125);
  const Vec<double> sw = uniform(17, 1, 0, 2, 126).col(0);
  auto fo = longtail::FocalBCEOptions::focal(0.0);
  fo.label_smoothing = 0.1;
  longtail::WeightedBCEOptions wo;
  wo.label_smoothing = 0.1;
  Mat<double> gf(17, 9), gw(17, 9);
  const double lf = longtail::cpu::FocalBCE<double>(fo, w, pw).forward_backward(x, y, gf, mask, sw);
  const double lw = longtail::cpu::WeightedBCE<double>(wo, w, pw).forward_backward(x, y, gw, mask, sw);
  require_close(lf, lw, 1e-15, 0, "loss");
  // grad = b p - a q: where the two terms nearly cancel, which product an FMA-contracting build
  // (-march=native) fuses decides the last bits, so the floor is relative to the terms' size.
  require_close(gf, gw, 4e-16, 4e-16 * gw.cwiseAbs().maxCoeff(), "grad");

  for (double g : {0.5, 2.0, 3.0}) {
    Mat<double> ga(17, 9), gb(17, 9);
    const double la =
        longtail::cpu::FocalBCE<double>(longtail::FocalBCEOptions::asymmetric(g, g, 0.0)).forward_backward(x, y, ga);
    const double lb = longtail::cpu::FocalBCE<double>(longtail::FocalBCEOptions::focal(g)).forward_backward(x, y, gb);
    require_bit_identical(la, lb, "asymmetric(g, g, 0) vs focal(g) loss");
    require_bit_identical(ga, gb, "asymmetric(g, g, 0) vs focal(g) grad");
  }
}

TEST_CASE("documented option defaults", "[options]") {
  const longtail::FocalBCEOptions f;
  CHECK(f.gamma_pos == 2.0);
  CHECK(f.gamma_neg == 2.0);
  CHECK(!f.alpha.has_value());  // alpha off unless set
  CHECK(f.margin == 0.0);
  CHECK(f.label_smoothing == 0.0);
  CHECK(f.reduction == longtail::Reduction::mean);
  CHECK(f.execution.threads == 0);
  CHECK(!f.execution.check_inputs);
  const longtail::WeightedBCEOptions w;
  CHECK(w.reduction == longtail::Reduction::mean);
  CHECK(w.label_smoothing == 0.0);

  const auto fa = longtail::FocalBCEOptions::focal(2.5, 0.25);
  CHECK((fa.gamma_pos == 2.5 && fa.gamma_neg == 2.5 && fa.alpha == 0.25 && fa.margin == 0.0));
  const auto asl = longtail::FocalBCEOptions::asymmetric(0.0, 4.0, 0.05);
  CHECK((asl.gamma_pos == 0.0 && asl.gamma_neg == 4.0 && asl.margin == 0.05 && !asl.alpha));

  CHECK(std::string(longtail::to_string(longtail::Reduction::none)) == "none");
  CHECK(std::string(longtail::to_string(longtail::Reduction::sum)) == "sum");
  CHECK(std::string(longtail::to_string(longtail::Reduction::mean)) == "mean");

  // The functors keep their options and vectors.
  const Eigen::ArrayXd w3 = Eigen::ArrayXd::Constant(3, 2.0);
  const longtail::cpu::FocalBCE<double> loss(fa, w3);
  CHECK(loss.options().gamma_pos == 2.5);
  CHECK(loss.weight().size() == 3);
  CHECK(loss.pos_weight().size() == 0);
  CHECK(std::string(longtail::cpu::FocalBCE<double>::name) == "FocalBCE");
  CHECK(std::string(longtail::cpu::WeightedBCE<float>::name) == "WeightedBCE");
}
