// SPDX-License-Identifier: Apache-2.0
// The Distribution-Balanced loss (cpu::DistributionBalanced) and the logit adjustment of every
// loss (the functors' logit_offset; class_priors.hpp):
//  - an independent long-double reference written from the formulas (no library code: its own
//    priors, row sums, sigmoid, softplus and chain-rule derivatives), float and double;
//  - central finite differences in double for every option (gamma integer / real / 0, lambda
//    1 / not, kappa, weight, logit offset, smoothing, mask, sample weights, soft targets);
//  - identities: offset 0 == no offset (bitwise), offset == logits shifted by hand (bitwise),
//    DB with r^ = 1, lambda = 1, kappa = 0 == FocalBCE (bitwise) and == weighted BCE;
//  - rows without positive labels (r^ = alpha + 1), beta = 0 (r^ = alpha + 1/2), unseen labels;
//  - layouts and threads change no bit; extreme logits stay finite at their limits;
//  - bad arguments name the argument.

#include <limits>

#include "test_support.hpp"

using namespace lt_test;
using longtail::DistributionBalancedOptions;
using longtail::Reduction;
using longtail::cpu::DistributionBalanced;
using longtail::cpu::FocalBCE;
using longtail::cpu::WeightedBCE;

namespace {

using LD = long double;

// ---- the independent reference --------------------------------------------------------------

LD ref_softplus(LD t) { return t > 0 ? t + std::log1p(std::exp(-t)) : std::log1p(std::exp(t)); }
LD ref_sigmoid(LD t) { return 1.0L / (1.0L + std::exp(-t)); }
LD ref_pow(LD base, LD g) { return g == 0 ? 1.0L : std::pow(base, g); }

struct RefOut {
  Mat<double> loss, grad;  // per element, and d(sum) / dx
  Mat<double> scale;       // |a L+| + |b L-| per element and the same for the slope (max of both)
};

struct RefSetup {
  DistributionBalancedOptions o;
  Eigen::ArrayXd counts;
  double rows = 0;
  Eigen::ArrayXd weight, offset;  // empty: none
};

/// Per-element DB loss and slope from the definitions, in long double.
RefOut reference_db(const RefSetup& s, const Mat<double>& x, const Mat<double>& y, const MaskMat* mask,
                    const Vec<double>* sw) {
  const Eigen::Index R = x.rows(), C = x.cols();
  const DistributionBalancedOptions& o = s.o;
  std::vector<LD> inv(C), bias(C);
  for (Eigen::Index c = 0; c < C; ++c) {
    const LD n = std::max<LD>(s.counts[c], 0.5L), neg = std::max<LD>(LD(s.rows) - s.counts[c], 0.5L);
    inv[c] = 1.0L / n;
    const LD prior = n / LD(s.rows);
    // logit(p) with both counts floored: log(n / (N - n)).
    (void)prior;
    bias[c] = LD(o.kappa) / LD(o.lambda) * std::log(n / neg);
  }
  RefOut out{Mat<double>(R, C), Mat<double>(R, C), Mat<double>(R, C)};
  for (Eigen::Index i = 0; i < R; ++i) {
    LD row_sum = 0;
    for (Eigen::Index j = 0; j < C; ++j)
      if (!mask || (*mask)(i, j)) row_sum += LD(y(i, j)) * inv[j];
    for (Eigen::Index j = 0; j < C; ++j) {
      LD rhat;
      if (o.beta == 0)
        rhat = LD(o.alpha) + 0.5L;
      else if (row_sum == 0)
        rhat = LD(o.alpha) + 1.0L;
      else
        rhat = LD(o.alpha) + ref_sigmoid(LD(o.beta) * (inv[j] / row_sum - LD(o.mu)));
      const LD z = LD(x(i, j)) + bias[j] + (s.offset.size() ? LD(s.offset[j]) : 0.0L);
      const LD g = o.gamma, lam = o.lambda;
      const LD p = ref_sigmoid(z), q = ref_sigmoid(-z);
      const LD pl = ref_sigmoid(lam * z), ql = ref_sigmoid(-lam * z);
      // L+ = q^g sp(-z); dq/dz = -p q.
      const LD lp = ref_pow(q, g) * ref_softplus(-z);
      const LD dlp = (g == 0 ? 0.0L : g * ref_pow(q, g - 1) * (-p * q) * ref_softplus(-z)) + ref_pow(q, g) * (-q);
      // L- = pl^g sp(lam z) / lam; d pl/dz = lam pl ql; d sp(lam z)/dz = lam pl.
      const LD ln = ref_pow(pl, g) * ref_softplus(lam * z) / lam;
      const LD dln = (g == 0 ? 0.0L : g * ref_pow(pl, g - 1) * (lam * pl * ql) * ref_softplus(lam * z) / lam) +
                     ref_pow(pl, g) * (lam * pl) / lam;
      const LD ys = LD(y(i, j)) * (1.0L - LD(o.label_smoothing)) + LD(o.label_smoothing) / 2.0L;
      const LD w = (sw ? LD((*sw)(i)) : 1.0L) * rhat * (s.weight.size() ? LD(s.weight[j]) : 1.0L);
      const LD a = w * ys, b = w * (1.0L - ys);
      const bool valid = !mask || (*mask)(i, j);
      out.loss(i, j) = valid ? double(a * lp + b * ln) : 0.0;
      out.grad(i, j) = valid ? double(a * dlp + b * dln) : 0.0;
      out.scale(i, j) = double(std::max(std::abs(a * lp) + std::abs(b * ln), std::abs(a * dlp) + std::abs(b * dln)));
    }
  }
  return out;
}

template <class S>
DistributionBalanced<S> make_db(const RefSetup& s, Reduction r = Reduction::sum, int threads = 1) {
  DistributionBalancedOptions o = s.o;
  o.reduction = r;
  o.execution.threads = threads;
  return DistributionBalanced<S>(o, s.counts, Eigen::Index(s.rows), s.weight, s.offset);
}

/// A setup with head, tail and unseen labels.
RefSetup setup_with(Eigen::Index cols, std::uint64_t seed) {
  RefSetup s;
  s.rows = 400;
  s.counts = (uniform(cols, 1, 0.0, 1.0, seed).col(0).array().square() * 300.0).floor();
  s.counts[0] = 0;    // an unseen label
  s.counts[1] = 400;  // positive in every row
  if (cols > 2) s.counts[2] = 1;
  return s;
}

std::vector<DistributionBalancedOptions> option_grid() {
  std::vector<DistributionBalancedOptions> out;
  for (double gamma : {0.0, 2.0, 1.5})
    for (double lambda : {1.0, 2.0, 0.5})
      for (double kappa : {0.0, 0.05}) {
        DistributionBalancedOptions o;
        o.gamma = gamma;
        o.lambda = lambda;
        o.kappa = kappa;
        out.push_back(o);
      }
  DistributionBalancedOptions o;
  o.alpha = 0.3;
  o.beta = 0.0;  // r^ = alpha + 1/2
  out.push_back(o);
  o.beta = 3.0;
  o.mu = -0.5;
  o.gamma = 0.5;
  o.lambda = 5.0;
  o.kappa = 1.0;
  out.push_back(o);
  return out;
}

std::string describe(const DistributionBalancedOptions& o) {
  std::ostringstream os;
  os << "alpha=" << o.alpha << " beta=" << o.beta << " mu=" << o.mu << " lambda=" << o.lambda << " kappa=" << o.kappa
     << " gamma=" << o.gamma << " smoothing=" << o.label_smoothing;
  return os.str();
}

template <class Loss, class M, class W>
Mat<double> finite_difference(const Loss& loss, const Mat<double>& x, const Mat<double>& y, const M* mask,
                              const W* sw) {
  const Mat<double> h = (1e-4 * x.array().abs().max(1.0)).matrix();
  auto elements_at = [&](double k) {
    const Mat<double> xk = x + k * h;
    Mat<double> out(x.rows(), x.cols());
    with_optional(mask, sw, [&](const auto& m, const auto& w) { return loss.forward_elements(xk, y, out, m, w); });
    return out;
  };
  const Mat<double> p1 = elements_at(1), m1 = elements_at(-1), p2 = elements_at(2), m2 = elements_at(-2);
  return ((8.0 * (p1 - m1) - (p2 - m2)).array() / (12.0 * h.array())).matrix();
}

/// got within rel * scale + floor of want, element by element.
template <class A>
void require_close_scaled(const Eigen::DenseBase<A>& got, const Mat<double>& want, const Mat<double>& scale, double rel,
                          double floor, const std::string& what) {
  for (Eigen::Index i = 0; i < got.rows(); ++i)
    for (Eigen::Index j = 0; j < got.cols(); ++j) {
      const double g = double(got(i, j)), w = want(i, j);
      if (!(std::abs(g - w) <= rel * scale(i, j) + floor))
        FAIL(what << "(" << i << ", " << j << "): got " << fmt(g) << ", want " << fmt(w) << " (scale "
                  << fmt(scale(i, j)) << ")");
    }
}

}  // namespace

// ---- class_priors.hpp ---------------------------------------------------------------------------

TEST_CASE("class_priors, logit_adjustment, prior_logits: values and the zero-count floor", "[db][priors]") {
  Eigen::ArrayXd n(5);
  n << 0, 1, 10, 99.5, 100;  // real counts are accepted
  const Eigen::ArrayXd p = longtail::class_priors<double>(n, 100);
  CHECK(p[0] == 0.005);  // an unseen label counts half a positive
  CHECK(p[1] == 0.01);
  CHECK(p[2] == 0.1);
  CHECK(p[4] == 1.0);
  CHECK(p[0] < p[1]);  // and stays rarer than a label seen once
  const Eigen::ArrayXd s = longtail::logit_adjustment<double>(n, 100, 1.5);
  for (Eigen::Index c = 0; c < n.size(); ++c) CHECK(s[c] == 1.5 * std::log(p[c]));
  CHECK(s.allFinite());
  CHECK(s[4] == 0.0);
  const Eigen::ArrayXd zero = longtail::logit_adjustment<double>(n, 100, 0.0);
  CHECK((zero == 0.0).all());
  const Eigen::ArrayXd l = longtail::prior_logits<double>(n, 100);
  require_close(l[0], std::log(0.5 / 100.0), 1e-15, 0.0, "unseen");
  require_close(l[2], std::log(10.0 / 90.0), 1e-15, 0.0, "n = 10");
  require_close(l[3], std::log(99.5 / 0.5), 1e-15, 0.0, "n = 99.5");
  require_close(l[4], std::log(100.0 / 0.5), 1e-15, 0.0, "positive in every row: N - n floored at 1/2");
  CHECK(l.allFinite());
  // Float results, integer counts, a row vector.
  Eigen::RowVectorXi ni(3);
  ni << 0, 5, 20;
  const Eigen::ArrayXf pf = longtail::class_priors<float>(ni, 20);
  CHECK(pf[1] == 0.25f);
  CHECK(longtail::logit_adjustment<float>(ni, 20, 1.0).allFinite());
  // Empty counts give empty vectors.
  CHECK(longtail::class_priors<double>(Eigen::ArrayXd(), 3).size() == 0);
}

TEST_CASE("class_priors and logit_adjustment: bad arguments are named", "[db][priors][errors]") {
  auto require_message = [](auto f, const std::string& message) {
    try {
      f();
      FAIL("did not throw: " << message);
    } catch (const longtail::invalid_argument& e) {
      CHECK(std::string(e.what()) == message);
    }
  };
  Eigen::ArrayXd n(3);
  n << 1, -2, 3;
  require_message([&] { longtail::class_priors<double>(n, 10); },
                  "longtail: label_counts[1] must be a finite count in [0, num_samples = 10] (got -2)");
  n << 1, 11, 3;
  require_message([&] { longtail::logit_adjustment<double>(n, 10, 1.0); },
                  "longtail: label_counts[1] must be a finite count in [0, num_samples = 10] (got 11)");
  n << 1, std::numeric_limits<double>::quiet_NaN(), 3;
  require_message([&] { longtail::prior_logits<double>(n, 10); },
                  "longtail: label_counts[1] must be a finite count in [0, num_samples = 10] (got nan)");
  n << 1, 2, 3;
  require_message([&] { longtail::class_priors<double>(n, 0); },
                  "longtail: num_samples must be finite and > 0 (got 0)");
  require_message([&] { longtail::logit_adjustment<double>(n, 10, -1.0); },
                  "longtail: tau must be a finite number >= 0 (got -1)");
  require_message([&] { longtail::logit_adjustment<double>(n, 10, std::numeric_limits<double>::infinity()); },
                  "longtail: tau must be a finite number >= 0 (got inf)");
  require_message([&] { longtail::class_priors<double>(Eigen::MatrixXd::Ones(2, 2), 10); },
                  "longtail: label_counts must be a vector (got shape 2x2)");
}

// ---- DB against the reference -------------------------------------------------------------------

TEMPLATE_TEST_CASE("DistributionBalanced == long-double reference", "[db][reference]", float, double) {
  using S = TestType;
  const Eigen::Index rows = 7, cols = 13;
  const auto grid = option_grid();
  const std::size_t gi = GENERATE_COPY(range(std::size_t(0), option_grid().size()));
  const bool extras = GENERATE(false, true);  // weight, logit offset, mask, sample weights, smoothing
  const bool soft = GENERATE(false, true);
  RefSetup s = setup_with(cols, 7 + gi);
  s.o = grid[gi];
  if (extras) {
    s.o.label_smoothing = 0.1;
    s.weight = class_vector(cols, 0.2, 3.0, 31);
    s.offset = class_vector(cols, -3.0, 1.0, 32);
  }
  INFO(describe(s.o) << " extras=" << extras << " soft=" << soft);
  const Mat<double> x = uniform(rows, cols, -9.0, 9.0, 40 + gi);
  Mat<double> y = soft ? uniform(rows, cols, 0.0, 1.0, 41) : bernoulli(rows, cols, 0.3, 41);
  y.row(3).setZero();  // a row without positive labels
  const MaskMat mask = random_mask(rows, cols, 0.8, 42);
  Vec<double> sw = uniform(rows, 1, 0.0, 2.0, 43).col(0);
  const MaskMat* mask_p = extras ? &mask : nullptr;
  const auto loss = make_db<S>(s);
  const Mat<S> xs = x.cast<S>(), ys = y.cast<S>();
  const Vec<S> sws = sw.cast<S>();
  const Vec<S>* sws_p = extras ? &sws : nullptr;
  // The reference sees the inputs as the functor does (rounded to S).
  const Vec<double> sw_rounded = sws.template cast<double>();
  const RefOut want =
      reference_db(s, xs.template cast<double>(), ys.template cast<double>(), mask_p, extras ? &sw_rounded : nullptr);

  Mat<S> l(rows, cols), g(rows, cols);
  with_optional(mask_p, sws_p, [&](const auto& m, const auto& w) {
    loss.forward_elements(xs, ys, l, m, w);
    loss.backward(xs, ys, g, m, w);
  });
  // float: the error is the kernels' (a few ulp of each term) plus the float class rates,
  // biases and weights; double: ~1e-15.
  const double rel = std::is_same_v<S, float> ? 2e-5 : 1e-12;
  require_close_scaled(l, want.loss, want.scale, rel, 0.0, "loss");
  require_close_scaled(g, want.grad, want.scale, rel, 0.0, "grad");
}

TEST_CASE("DistributionBalanced: gradient == central finite differences", "[db][gradcheck]") {
  const Eigen::Index rows = 8, cols = 11;
  const auto grid = option_grid();
  const std::size_t gi = GENERATE_COPY(range(std::size_t(0), option_grid().size()));
  const int extras = GENERATE(0, 1, 2, 3);  // bit 0: weight + offset + smoothing, bit 1: mask + sample weights
  const bool soft = GENERATE(false, true);
  RefSetup s = setup_with(cols, 3 + gi);
  s.o = grid[gi];
  if (extras & 1) {
    s.o.label_smoothing = 0.15;
    s.weight = class_vector(cols, 0.2, 3.0, 51);
    s.offset = class_vector(cols, -4.0, 1.0, 52);
  }
  INFO(describe(s.o) << " extras=" << extras << " soft=" << soft);
  Mat<double> x = uniform(rows, cols, -7.0, 7.0, 60 + gi);
  x(0, 0) = 0.0;
  Mat<double> y = soft ? uniform(rows, cols, 0.0, 1.0, 61) : bernoulli(rows, cols, 0.35, 61);
  y.row(2).setZero();
  const MaskMat mask = random_mask(rows, cols, 0.7, 62);
  Vec<double> sw = uniform(rows, 1, 0.0, 2.0, 63).col(0);
  const MaskMat* mask_p = (extras & 2) ? &mask : nullptr;
  const Vec<double>* sw_p = (extras & 2) ? &sw : nullptr;
  const double valid = mask_p ? double(mask.cast<int>().sum()) : double(rows * cols);

  const Mat<double> fd = finite_difference(make_db<double>(s), x, y, mask_p, sw_p);
  REQUIRE(fd.allFinite());
  REQUIRE(fd.cwiseAbs().maxCoeff() > 1e-3);
  for (Reduction r : {Reduction::sum, Reduction::mean}) {
    const double scale = r == Reduction::mean ? 1.0 / valid : 1.0;
    const auto loss = make_db<double>(s, r);
    Mat<double> g(rows, cols);
    with_optional(mask_p, sw_p, [&](const auto& m, const auto& w) { loss.backward(x, y, g, m, w); });
    require_close(g, (fd * scale).eval(), 1e-6, 1e-9 * scale, "grad");
  }
}

TEST_CASE("logit offset: gradient == central finite differences for FocalBCE and WeightedBCE",
          "[db][logit_offset][gradcheck]") {
  const Eigen::Index rows = 6, cols = 9;
  const Mat<double> x = uniform(rows, cols, -6.0, 6.0, 70);
  const Mat<double> y = uniform(rows, cols, 0.0, 1.0, 71);
  const Eigen::ArrayXd offset = class_vector(cols, -5.0, 2.0, 72);
  for (const LossConfig& c : all_configs()) {
    INFO(c.label);
    Mat<double> xc = x;
    avoid_kink(xc, c.margin, 0.5);
    // The kink is at x + s = logit(margin): move x + s, not x, away from it.
    if (c.margin > 0) {
      Mat<double> shifted = xc.rowwise() + offset.matrix().transpose();
      avoid_kink(shifted, c.margin, 0.5);
      xc = shifted.rowwise() - offset.matrix().transpose();
    }
    auto check = [&](const auto& loss) {
      const Mat<double> fd = finite_difference(loss, xc, y, (const MaskMat*)nullptr, (const Vec<double>*)nullptr);
      Mat<double> g(rows, cols);
      loss.backward(xc, y, g);
      require_close(g, fd, 1e-6, 1e-9, "grad");
    };
    if (c.kind == LossConfig::wbce) {
      longtail::WeightedBCEOptions o;
      o.reduction = Reduction::sum;
      check(WeightedBCE<double>(o, class_vector(cols, 0.5, 2.0, 73), class_vector(cols, 1.0, 4.0, 74), offset));
    } else {
      auto o = c.focal_options();
      o.reduction = Reduction::sum;
      check(FocalBCE<double>(o, {}, class_vector(cols, 1.0, 4.0, 74), offset));
    }
  }
}

// ---- identities -----------------------------------------------------------------------------------

TEMPLATE_TEST_CASE("logit offset 0 == no offset, and offset == logits shifted by hand, bit for bit",
                   "[db][logit_offset]", float, double) {
  using S = TestType;
  const Eigen::Index rows = 37, cols = 23;  // lines that are not a multiple of any packet size
  const Mat<S> x = uniform(rows, cols, -8.0, 8.0, 80).cast<S>();
  const Mat<S> y = bernoulli(rows, cols, 0.3, 81).cast<S>();
  const Eigen::Array<S, -1, 1> zero = Eigen::Array<S, -1, 1>::Zero(cols);
  const Eigen::Array<S, -1, 1> offset = class_vector<S>(cols, -4.0, 1.5, 82);
  const Mat<S> shifted = x.rowwise() + offset.matrix().transpose();
  Eigen::ArrayXd counts = (uniform(cols, 1, 0.0, 50.0, 83).col(0).array()).floor();

  auto compare = [&](const auto& plain, const auto& with_zero, const auto& with_offset, const std::string& what) {
    INFO(what);
    Mat<S> g0(rows, cols), g1(rows, cols), g2(rows, cols), g3(rows, cols);
    Mat<S> l0(rows, cols), l1(rows, cols), l2(rows, cols), l3(rows, cols);
    const S v0 = plain.forward_backward(x, y, g0), v1 = with_zero.forward_backward(x, y, g1);
    plain.forward_elements(x, y, l0);
    with_zero.forward_elements(x, y, l1);
    require_bit_identical(v1, v0, "offset 0: loss");
    require_bit_identical(g1, g0, "offset 0: grad");
    require_bit_identical(l1, l0, "offset 0: elements");
    // Row-major and column-major logits: the offset is added per lane or per line.
    const RowMat<S> xr = x;
    const S v2 = with_offset.forward_backward(xr, y, g2), v3 = plain.forward_backward(shifted, y, g3);
    with_offset.forward_elements(x, y, l2);
    plain.forward_elements(shifted, y, l3);
    require_bit_identical(g2, g3, "offset: grad");
    require_bit_identical(l2, l3, "offset: elements");
    require_close(double(v2), double(v3), 1e-6, 0.0, "offset: loss");  // block sums differ with the layout
    Mat<S> g4(rows, cols);
    require_bit_identical(with_offset.forward_backward(x, y, g4), v3, "offset: loss (same layout)");
  };
  longtail::WeightedBCEOptions wo;
  compare(WeightedBCE<S>(wo), WeightedBCE<S>(wo, {}, {}, zero), WeightedBCE<S>(wo, {}, {}, offset), "WeightedBCE");
  for (const LossConfig& c : all_configs()) {
    if (c.kind != LossConfig::focal) continue;
    const auto o = c.focal_options();
    const Eigen::Array<S, -1, 1> w = class_vector<S>(cols, 0.5, 2.0, 84);
    compare(FocalBCE<S>(o, w), FocalBCE<S>(o, w, {}, zero), FocalBCE<S>(o, w, {}, offset), c.label);
  }
  DistributionBalancedOptions d;
  d.kappa = 0.0;  // no class bias: the offset is the caller's alone
  compare(DistributionBalanced<S>(d, counts, 60), DistributionBalanced<S>(d, counts, 60, {}, zero),
          DistributionBalanced<S>(d, counts, 60, {}, offset), "DistributionBalanced");
}

TEMPLATE_TEST_CASE("DB with r^ = 1, lambda = 1, kappa = 0 is FocalBCE (bitwise) and weighted BCE", "[db][identity]",
                   float, double) {
  using S = TestType;
  const Eigen::Index rows = 19, cols = 31;
  const Mat<S> x = uniform(rows, cols, -12.0, 12.0, 90).cast<S>();
  const Mat<S> y = uniform(rows, cols, 0.0, 1.0, 91).cast<S>();
  const Eigen::Array<S, -1, 1> w = class_vector<S>(cols, 0.3, 3.0, 92);
  const Eigen::ArrayXd counts = uniform(cols, 1, 0.0, 100.0, 93).col(0).array().floor();
  for (double gamma : {0.0, 2.0, 2.5}) {
    INFO("gamma " << gamma);
    DistributionBalancedOptions d;
    d.alpha = 0.5;
    d.beta = 0.0;  // r^ = 0.5 + sigmoid(0) = 1 exactly
    d.lambda = 1.0;
    d.kappa = 0.0;
    d.gamma = gamma;
    d.label_smoothing = 0.05;
    const DistributionBalanced<S> db(d, counts, 100, w);
    longtail::FocalBCEOptions f = longtail::FocalBCEOptions::focal(gamma);
    f.label_smoothing = 0.05;
    const FocalBCE<S> focal(f, w);
    Mat<S> g1(rows, cols), g2(rows, cols);
    require_bit_identical(db.forward_backward(x, y, g1), focal.forward_backward(x, y, g2), "loss");
    require_bit_identical(g1, g2, "grad");
    if (gamma == 0) {
      longtail::WeightedBCEOptions wo;
      wo.label_smoothing = 0.05;
      const WeightedBCE<S> bce(wo, w);
      Mat<S> g3(rows, cols);
      const double eps = std::numeric_limits<S>::epsilon();
      require_close(double(db.forward_backward(x, y, g1)), double(bce.forward_backward(x, y, g3)), 8 * eps, 0.0,
                    "loss vs WeightedBCE");
      require_close(g1, g3, 8 * eps, 8 * eps * g3.cwiseAbs().maxCoeff(), "grad vs WeightedBCE");
    }
  }
}

TEST_CASE("DB: rows without positive labels get r^ = alpha + 1, beta = 0 gives alpha + 1/2", "[db][rows]") {
  const Eigen::Index cols = 5;
  Eigen::ArrayXd counts(cols);
  counts << 0, 2, 10, 30, 50;
  Mat<double> x = uniform(3, cols, -3.0, 3.0, 100);
  Mat<double> y(3, cols);
  y << 0, 0, 0, 0, 0,  //
      0, 1, 0, 0, 1,   //
      0, 0, 0, 0, 0;
  MaskMat mask = MaskMat::Ones(3, cols);
  mask(2, 1) = 0;  // row 2's only positive is masked: the row counts as empty
  y(2, 1) = 1;
  for (double beta : {0.0, 10.0}) {
    DistributionBalancedOptions o;
    o.alpha = 0.25;
    o.beta = beta;
    o.reduction = Reduction::sum;
    const DistributionBalanced<double> db(o, counts, 50);
    // The same loss with r^ = 1 (alpha 0.5, beta 0) on the same elements.
    DistributionBalancedOptions one = o;
    one.alpha = 0.5;
    one.beta = 0.0;
    const DistributionBalanced<double> unit(one, counts, 50);
    Mat<double> l(3, cols), u(3, cols);
    db.forward_elements(x, y, l, mask);
    unit.forward_elements(x, y, u, mask);
    const double empty = beta == 0 ? 0.75 : 1.25;
    for (Eigen::Index i : {0, 2})
      for (Eigen::Index j = 0; j < cols; ++j)
        if (mask(i, j)) require_close(l(i, j), empty * u(i, j), 1e-15, 0.0, "empty row");
    // Row 1: r = (1/n_c) / (1/2 + 1/50).
    for (Eigen::Index j = 0; j < cols; ++j) {
      const double r = (1.0 / std::max(counts[j], 0.5)) / (0.5 + 1.0 / 50.0);
      const double rhat = 0.25 + 1.0 / (1.0 + std::exp(-beta * (r - 0.2)));
      require_close(l(1, j), rhat * u(1, j), 1e-14, 0.0, "row 1");
    }
  }
}

TEMPLATE_TEST_CASE("DB: layouts and thread counts change no bit", "[db][layout][threads]", float, double) {
  using S = TestType;
  const Eigen::Index rows = 301, cols = 67;  // > one 16K block of elements
  RefSetup s = setup_with(cols, 110);
  s.o.gamma = 2.5;
  s.weight = class_vector(cols, 0.5, 2.0, 111);
  s.offset = class_vector(cols, -2.0, 0.5, 112);
  const Mat<S> x = uniform(rows, cols, -6.0, 6.0, 113).cast<S>();
  const Mat<S> y = bernoulli(rows, cols, 0.1, 114).cast<S>();
  const MaskMat mask = random_mask(rows, cols, 0.9, 115);
  const Vec<S> sw = uniform(rows, 1, 0.0, 2.0, 116).col(0).cast<S>();
  const auto one = make_db<S>(s, Reduction::mean, 1), four = make_db<S>(s, Reduction::mean, 4);
  Mat<S> g1(rows, cols), g4(rows, cols);
  require_bit_identical(one.forward_backward(x, y, g1, mask, sw), four.forward_backward(x, y, g4, mask, sw), "threads");
  require_bit_identical(g1, g4, "threads: grad");
  const RowMat<S> xr = x;
  const Eigen::Matrix<std::uint8_t, -1, -1, Eigen::RowMajor> yr = y.template cast<std::uint8_t>();
  RowMat<S> gr(rows, cols);
  one.forward_backward(xr, yr, gr, mask, sw);
  require_bit_identical(Mat<S>(gr), g1, "row-major logits, uint8 targets: grad");
}

TEMPLATE_TEST_CASE("DB: extreme logits stay finite at their limits", "[db][extreme]", float, double) {
  using S = TestType;
  const S big = std::is_same_v<S, float> ? S(3e38) : S(1e307);
  Mat<S> x(2, 6);
  x << big, -big, S(1e4), S(-1e4), S(40), S(-40),  //
      big, -big, S(1e4), S(-1e4), S(40), S(-40);
  Mat<S> y(2, 6);
  y.row(0).setOnes();
  y.row(1).setZero();
  Eigen::ArrayXd counts(6);
  counts << 1, 5, 20, 50, 80, 99;
  for (double lambda : {1.0, 2.0, 0.25})
    for (double gamma : {0.0, 2.0, 0.5}) {
      INFO("lambda " << lambda << " gamma " << gamma);
      DistributionBalancedOptions o;
      o.lambda = lambda;
      o.gamma = gamma;
      o.reduction = Reduction::none;
      const DistributionBalanced<S> db(o, counts, 100);
      Mat<S> l(2, 6), g(2, 6);
      db.forward_elements(x, y, l);
      db.backward(x, y, g);
      REQUIRE(l.allFinite());
      REQUIRE(g.allFinite());
      // Positive at x -> +inf and negative at x -> -inf: nothing to learn (the negative term at
      // -40 is not yet saturated for lambda < 1: lambda z = -10 there).
      for (Eigen::Index j : {0, 2, 4}) {
        CHECK(std::abs(double(l(0, j))) < 1e-12);
        CHECK(std::abs(double(g(0, j))) < 1e-12);
      }
      for (Eigen::Index j : {1, 3}) {
        CHECK(std::abs(double(l(1, j))) < 1e-12);
        CHECK(std::abs(double(g(1, j))) < 1e-12);
      }
      // Positive at x -> -inf: loss ~ r^ |z|, slope -r^; negative at x -> +inf: loss ~ r^ z,
      // slope r^ (the focal factors are 1 there). r^ in [alpha, alpha + 1].
      for (Eigen::Index j : {1, 3}) {
        CHECK(double(l(0, j)) >= 0.1 * 0.99 * std::abs(double(x(0, j))));
        CHECK(double(g(0, j)) <= -0.1 * 0.99);
        CHECK(double(g(0, j)) >= -1.1 * 1.01);
      }
      for (Eigen::Index j : {0, 2}) {
        CHECK(double(l(1, j)) >= 0.1 * 0.99 * double(x(1, j)));
        CHECK(double(g(1, j)) >= 0.1 * 0.99);
        CHECK(double(g(1, j)) <= 1.1 * 1.01);
      }
    }
}

TEST_CASE("DB: float agrees with double", "[db][float]") {
  const Eigen::Index rows = 64, cols = 50;
  RefSetup s = setup_with(cols, 120);
  s.offset = class_vector(cols, -3.0, 0.0, 121);
  const Mat<double> x = uniform(rows, cols, -10.0, 10.0, 122);
  const Mat<double> y = bernoulli(rows, cols, 0.2, 123);
  const auto d = make_db<double>(s, Reduction::mean);
  const auto f = make_db<float>(s, Reduction::mean);
  Mat<double> gd(rows, cols);
  Mat<float> gf(rows, cols);
  const double ld = d.forward_backward(x, y, gd);
  const double lf = f.forward_backward(x.cast<float>().eval(), y.cast<float>().eval(), gf);
  require_close(lf, ld, 1e-5, 0.0, "loss");
  require_close(gf, gd, 1e-4, 1e-6 * gd.cwiseAbs().maxCoeff(), "grad");
}

// ---- errors ---------------------------------------------------------------------------------------

TEST_CASE("DB and logit offset: bad arguments are named", "[db][errors]") {
  auto require_message = [](auto f, const std::string& message) {
    INFO("expected: " << message);
    try {
      f();
      FAIL("did not throw");
    } catch (const longtail::invalid_argument& e) {
      CHECK(std::string(e.what()) == message);
    }
  };
  const double nan = std::numeric_limits<double>::quiet_NaN(), inf = std::numeric_limits<double>::infinity();
  using O = DistributionBalancedOptions;
  Eigen::ArrayXd counts(3);
  counts << 1, 2, 3;
  auto db = [&](auto edit) {
    return [edit, &counts] {
      O o;
      edit(o);
      DistributionBalanced<double> d(o, counts, 10);
    };
  };
  require_message(db([](O& o) { o.alpha = -1; }),
                  "longtail: DistributionBalancedOptions.alpha must be a finite number in [0, 1e6] (got -1)");
  require_message(db([&](O& o) { o.beta = nan; }),
                  "longtail: DistributionBalancedOptions.beta must be a finite number in [0, 1e6] (got nan)");
  require_message(db([](O& o) { o.beta = 2e6; }),
                  "longtail: DistributionBalancedOptions.beta must be a finite number in [0, 1e6] (got 2000000)");
  require_message(db([&](O& o) { o.mu = inf; }),
                  "longtail: DistributionBalancedOptions.mu must be a finite number in [-1e6, 1e6] (got inf)");
  require_message(db([](O& o) { o.lambda = 0; }),
                  "longtail: DistributionBalancedOptions.lambda must be a finite number in [1e-6, 1e6] (got 0)");
  require_message(db([&](O& o) { o.lambda = inf; }),
                  "longtail: DistributionBalancedOptions.lambda must be a finite number in [1e-6, 1e6] (got inf)");
  require_message(db([](O& o) { o.kappa = -0.5; }),
                  "longtail: DistributionBalancedOptions.kappa must be a finite number in [0, 1e6] (got -0.5)");
  require_message(db([&](O& o) { o.gamma = nan; }),
                  "longtail: DistributionBalancedOptions.gamma must be a finite number in [0, 1e6] (got nan)");
  require_message(db([](O& o) { o.label_smoothing = 1; }),
                  "longtail: DistributionBalancedOptions.label_smoothing must be in [0, 1) (got 1)");
  require_message(db([](O& o) {
                    o.reduction = Reduction::sum;
                    o.mean_divisor = 4.0;
                  }),
                  "longtail: DistributionBalancedOptions.mean_divisor is set (4) but reduction is sum; it applies to "
                  "Reduction::mean only");
  require_message(db([](O& o) { o.execution.threads = -1; }),
                  "longtail: DistributionBalancedOptions.execution.threads must be >= 0 (0 = OpenMP default; got -1)");

  // Counts, rows and per-class vectors.
  Eigen::ArrayXd bad = counts;
  bad[1] = -1;
  require_message([&] { DistributionBalanced<float> d({}, bad, 10); },
                  "longtail: label_counts[1] must be a finite count in [0, num_samples = 10] (got -1)");
  bad[1] = 11;
  require_message([&] { DistributionBalanced<float> d({}, bad, 10); },
                  "longtail: label_counts[1] must be a finite count in [0, num_samples = 10] (got 11)");
  bad[1] = inf;
  require_message([&] { DistributionBalanced<float> d({}, bad, 10); },
                  "longtail: label_counts[1] must be a finite count in [0, num_samples = 10] (got inf)");
  require_message([&] { DistributionBalanced<float> d({}, counts, 0); },
                  "longtail: DistributionBalanced: train_rows must be > 0 (got 0)");
  require_message([&] { DistributionBalanced<float> d({}, Eigen::ArrayXd(), 10); },
                  "longtail: DistributionBalanced: label_counts is empty (one count per class)");
  require_message([&] { DistributionBalanced<float> d({}, Eigen::MatrixXd::Ones(2, 3), 10); },
                  "longtail: DistributionBalanced: label_counts has shape 2x3 but must be a vector (one count per "
                  "class)");
  require_message([&] { DistributionBalanced<float> d({}, counts, 10, Eigen::ArrayXd::Ones(4)); },
                  "longtail: DistributionBalanced: weight has 4 classes but label_counts has 3");
  require_message([&] { DistributionBalanced<float> d({}, counts, 10, {}, Eigen::ArrayXd::Ones(2)); },
                  "longtail: DistributionBalanced: logit_offset has 2 classes but label_counts has 3");
  require_message(
      [&] {
        DistributionBalanced<float> d({}, counts, 10, {}, {0.0, nan, 1.0});
      },
      "longtail: DistributionBalanced: logit_offset[1] must be finite (got nan)");
  require_message(
      [&] {
        DistributionBalanced<float> d({}, counts, 10, {1.0, -2.0, 1.0});
      },
      "longtail: DistributionBalanced: weight[1] must be finite and >= 0 (got -2)");
  require_message(
      [&] {
        DistributionBalanced<float> d({}, counts, 10, {}, {0.0, 1e300, 1.0});
      },
      "longtail: DistributionBalanced: logit_offset[1] = 1.0000000000000001e+300 overflows the functor's float");
  const DistributionBalanced<double> d3({}, counts, 10);
  const Mat<double> x = Mat<double>::Zero(2, 4), y = Mat<double>::Zero(2, 4);
  Mat<double> g(2, 4);
  require_message([&] { d3.forward(x, y); },
                  "longtail: DistributionBalanced: label_counts has 3 classes but logits have 4 columns");
  require_message([&] { d3.backward(x, y, g); },
                  "longtail: DistributionBalanced: label_counts has 3 classes but logits have 4 columns");

  // The logit offset of FocalBCE / WeightedBCE.
  require_message(
      [&] {
        FocalBCE<double> f({}, {}, {}, {1.0, inf});
      },
      "longtail: FocalBCE: logit_offset[1] must be finite (got inf)");
  require_message(
      [&] {
        WeightedBCE<double> f({}, {1.0, 1.0, 1.0}, {}, {1.0, -1.0});
      },
      "longtail: WeightedBCE: logit_offset has 2 classes but weight has 3");
  require_message([&] { FocalBCE<double> f({}, {}, {}, Eigen::MatrixXd::Zero(2, 2)); },
                  "longtail: FocalBCE: logit_offset has shape 2x2 but must be a vector (one entry per class)");
  const WeightedBCE<double> w({}, {}, {}, {0.5, -0.5, 1.0});
  require_message([&] { w.forward(x, y); },
                  "longtail: WeightedBCE: logit_offset has 3 classes but logits have 4 columns");
}
