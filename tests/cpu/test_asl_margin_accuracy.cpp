// SPDX-License-Identifier: Apache-2.0
// The ASL negative term just above its margin, p_m = p - m in [1e-7, 1e-3]: the accuracy of
// CE = -log(1 - p_m) against long double, on scalars (the CUDA kernels' instantiation) and on
// the CPU's SIMD packets.
//
// Numerics: p_m = p - m cancels, so any relative error of p is amplified by p / p_m; the best a
// formula can do from a rounded p is a few eps * p / p_m. Forming 1 - p_m as q + m and taking its
// log (the former formula) added log's absolute error near 1, ~eps, i.e. a relative eps / p_m:
// 6 to 150 times the bound below (measured: 6x at m = 0.2 up to 147x at m = 0.01), up to 0.7 in
// float at p_m = 1e-7. log1p(-p_m) from the p_m already formed keeps only the cancellation.

#include <limits>

#include "test_support.hpp"

using namespace lt_test;
namespace math = longtail::math;

namespace {

/// The negative term of one element (a = 0, b = 1) with the margin instantiation the functor
/// picks for an integer or real gamma_neg, on a scalar or a packet V.
template <class V, class S>
math::ValueGrad<V> negative_term(V x, S margin, S gamma_neg) {
  const longtail::GammaSpec gs = longtail::GammaSpec::from(double(gamma_neg));
  auto run = [&](auto m) {
    m.gamma_pos = V(S(0));
    m.gamma_neg = V(gamma_neg);
    m.margin = V(margin);
    m.int_pos = 0;
    m.int_neg = gs.integer;
    return m(x, V(S(0)), V(S(1)));
  };
  if (gs.is_integer) return run(math::FocalBCEMath<V, true, true, true>{});
  return run(math::FocalBCEMath<V, false, false, true>{});
}

/// Logits whose p_m = sigmoid(x) - m spans [1e-7, 1e-3] log-uniformly (x rounded to S).
template <class S>
std::vector<S> logits_above_margin(double margin, int count) {
  std::vector<S> xs;
  for (int k = 0; k < count; ++k) {
    const long double pm = std::pow(10.0L, -7.0L + 4.0L * k / (count - 1));
    const long double p = (long double)S(margin) + pm;
    xs.push_back(S(std::log(p / (1 - p))));
  }
  return xs;
}

struct Worst {
  double value = 0;  // largest |got - ref| / |ref| in units of eps * p / p_m
  double at_x = 0;
};

/// Checks the values of the negative term at `xs` against long double; returns the worst ratio.
template <class S>
Worst check_values(const std::vector<S>& xs, const std::vector<S>& values, S margin, S gamma, double bound) {
  Worst worst;
  const double eps = std::numeric_limits<S>::epsilon();
  for (std::size_t k = 0; k < xs.size(); ++k) {
    const long double x = xs[k];
    const long double p = 1.0L / (1.0L + std::exp(-x));
    const long double pm = p - (long double)margin;
    if (!(pm > 0)) continue;  // rounding of x landed at or below the margin
    const long double ref = std::pow(pm, (long double)gamma) * -std::log1p(-pm);
    const double err = double(std::abs(((long double)values[k] - ref) / ref)) / (eps * double(p / pm));
    if (err > worst.value) worst = {err, double(x)};
    if (!(err <= bound)) {
      FAIL_CHECK("x = " << fmt(double(x)) << " (p_m = " << fmt(double(pm)) << "): got " << fmt(double(values[k]))
                        << ", want " << fmt(double(ref)) << ": " << err << " eps * p / p_m > " << bound);
      return worst;
    }
  }
  return worst;
}

}  // namespace

TEMPLATE_TEST_CASE("ASL just above the margin (p_m in [1e-7, 1e-3]): CE within a few eps * p / p_m of long double",
                   "[math][asl]", float, double) {
  using S = TestType;
  using P = longtail::cpu::detail::Packet<S>;
  constexpr int L = P::size;
  for (const double margin : {0.01, 0.05, 0.1, 0.2}) {
    // gamma 0: CE alone; gamma 1 and 2.5: p_m^g CE, whose p_m^g adds g times the error of p_m.
    for (const double gamma : {0.0, 1.0, 2.5}) {
      INFO("margin " << margin << ", gamma_neg " << gamma);
      const std::vector<S> xs = logits_above_margin<S>(margin, 4001);
      const double bound = 2.5 * (1.0 + gamma);
      // Scalars: what the CUDA kernels evaluate (there with CUDA's log1pf).
      std::vector<S> scalar(xs.size()), packet(xs.size());
      for (std::size_t k = 0; k < xs.size(); ++k) scalar[k] = negative_term(xs[k], S(margin), S(gamma)).value;
      // Packets: what the CPU functors evaluate.
      for (std::size_t k0 = 0; k0 < xs.size(); k0 += L) {
        alignas(64) S in[L], out[L];
        for (int l = 0; l < L; ++l) in[l] = xs[std::min(xs.size() - 1, k0 + std::size_t(l))];
        negative_term(P::load(in), S(margin), S(gamma)).value.store(out);
        for (int l = 0; l < L && k0 + std::size_t(l) < xs.size(); ++l) packet[k0 + std::size_t(l)] = out[l];
      }
      const Worst ws = check_values<S>(xs, scalar, S(margin), S(gamma), bound);
      const Worst wp = check_values<S>(xs, packet, S(margin), S(gamma), bound);
      INFO("worst: scalar " << ws.value << " at x = " << ws.at_x << ", packet " << wp.value << " at x = " << wp.at_x);
      CHECK(ws.value <= bound);
      CHECK(wp.value <= bound);
    }
  }
}

TEMPLATE_TEST_CASE("ASL at and below the margin: the negative term and its slope are exactly 0", "[math][asl]", float,
                   double) {
  using S = TestType;
  for (const double margin : {0.05, 0.2})
    for (const double x : {-30.0, -5.0, -3.0, -2.0}) {
      if (1 / (1 + std::exp(-x)) >= margin) continue;
      const auto vg = negative_term(S(x), S(margin), S(2));
      INFO("margin " << margin << ", x " << x);
      CHECK(vg.value == S(0));
      CHECK(vg.grad == S(0));
    }
}
