// SPDX-License-Identifier: Apache-2.0
#pragma once
// Shared helpers of the CPU tests: deterministic random inputs, tolerant and bitwise comparisons
// that report the worst element, optional-argument dispatch (mask / sample weights may be absent)
// and the loss configurations the tests sweep over.

#include <algorithm>
#include <cmath>
#include <cstdint>
#include <cstring>
#include <functional>
#include <limits>
#include <optional>
#include <random>
#include <sstream>
#include <string>
#include <type_traits>
#include <vector>

#include <catch2/catch.hpp>

#include <Eigen/Core>

#include "longtail/longtail.hpp"

namespace lt_test {

template <class S>
using Mat = Eigen::Matrix<S, Eigen::Dynamic, Eigen::Dynamic>;  // column-major
template <class S>
using RowMat = Eigen::Matrix<S, Eigen::Dynamic, Eigen::Dynamic, Eigen::RowMajor>;
template <class S>
using Vec = Eigen::Matrix<S, Eigen::Dynamic, 1>;
using MaskMat = Eigen::Matrix<std::uint8_t, Eigen::Dynamic, Eigen::Dynamic>;

// ---- deterministic inputs -------------------------------------------------------------------

/// Uniform values in [lo, hi].
inline Mat<double> uniform(Eigen::Index rows, Eigen::Index cols, double lo, double hi, std::uint64_t seed) {
  std::mt19937_64 gen(seed);
  std::uniform_real_distribution<double> d(lo, hi);
  Mat<double> m(rows, cols);
  for (Eigen::Index j = 0; j < cols; ++j)
    for (Eigen::Index i = 0; i < rows; ++i) m(i, j) = d(gen);
  return m;
}

/// 0/1 values, 1 with probability p.
inline Mat<double> bernoulli(Eigen::Index rows, Eigen::Index cols, double p, std::uint64_t seed) {
  return (uniform(rows, cols, 0.0, 1.0, seed).array() < p).cast<double>().matrix();
}

inline MaskMat random_mask(Eigen::Index rows, Eigen::Index cols, double p_valid, std::uint64_t seed) {
  return (uniform(rows, cols, 0.0, 1.0, seed).array() < p_valid).cast<std::uint8_t>().matrix();
}

/// Per-class vector with values in [lo, hi] (owned by the functors as Eigen::Array).
template <class S = double>
Eigen::Array<S, Eigen::Dynamic, 1> class_vector(Eigen::Index n, double lo, double hi, std::uint64_t seed) {
  return uniform(n, 1, lo, hi, seed).col(0).array().cast<S>();
}

// ---- comparisons ----------------------------------------------------------------------------

/// |got - want| <= rel * |want| + abs_floor; NaN never compares close.
inline bool close(double got, double want, double rel, double abs_floor) {
  return std::abs(got - want) <= rel * std::abs(want) + abs_floor;
}

inline bool same_bits(double a, double b) { return std::memcmp(&a, &b, sizeof a) == 0; }
inline bool same_bits(float a, float b) { return std::memcmp(&a, &b, sizeof a) == 0; }

inline std::string fmt(double v) {
  std::ostringstream os;
  os.precision(17);
  os << v;
  return os.str();
}

/// Checks every element of `got` against `want` with close(); on failure reports the element,
/// the two values and the tolerance. Works for any two Eigen objects of the same shape.
template <class A, class B>
void require_close(const Eigen::DenseBase<A>& got, const Eigen::DenseBase<B>& want, double rel, double abs_floor,
                   const std::string& what) {
  REQUIRE(got.rows() == want.rows());
  REQUIRE(got.cols() == want.cols());
  for (Eigen::Index i = 0; i < got.rows(); ++i)
    for (Eigen::Index j = 0; j < got.cols(); ++j) {
      const double g = double(got(i, j)), w = double(want(i, j));
      if (!close(g, w, rel, abs_floor)) {
        FAIL(what << "(" << i << ", " << j << "): got " << fmt(g) << ", want " << fmt(w) << " (|diff| "
                  << fmt(std::abs(g - w)) << " > " << fmt(rel * std::abs(w) + abs_floor) << ")");
      }
    }
}

inline void require_close(double got, double want, double rel, double abs_floor, const std::string& what) {
  if (!close(got, want, rel, abs_floor))
    FAIL(what << ": got " << fmt(got) << ", want " << fmt(want) << " (|diff| " << fmt(std::abs(got - want)) << " > "
              << fmt(rel * std::abs(want) + abs_floor) << ")");
}

/// Bitwise equality of every element (NaN == NaN of the same payload, -0 != +0).
template <class A, class B>
void require_bit_identical(const Eigen::DenseBase<A>& got, const Eigen::DenseBase<B>& want, const std::string& what) {
  REQUIRE(got.rows() == want.rows());
  REQUIRE(got.cols() == want.cols());
  for (Eigen::Index i = 0; i < got.rows(); ++i)
    for (Eigen::Index j = 0; j < got.cols(); ++j)
      if (!same_bits(got(i, j), want(i, j)))
        FAIL(what << "(" << i << ", " << j << "): " << fmt(double(got(i, j))) << " vs " << fmt(double(want(i, j)))
                  << " are not bit-identical");
}

template <class S, class = std::enable_if_t<std::is_floating_point_v<S>>>
void require_bit_identical(S got, S want, const std::string& what) {
  if (!same_bits(got, want))
    FAIL(what << ": " << fmt(double(got)) << " vs " << fmt(double(want)) << " are not bit-identical");
}

// ---- optional arguments -----------------------------------------------------------------------

/// Calls f(mask, sample_weight) with longtail::no_mask / no_sample_weight in place of an absent
/// argument, so one test body covers the four call forms.
template <class M, class W, class F>
decltype(auto) with_optional(const M* mask, const W* sample_weight, F&& f) {
  if (mask && sample_weight) return f(*mask, *sample_weight);
  if (mask) return f(*mask, longtail::no_sample_weight);
  if (sample_weight) return f(longtail::no_mask, *sample_weight);
  return f(longtail::no_mask, longtail::no_sample_weight);
}

// ---- loss configurations ----------------------------------------------------------------------

/// One point of the option space the tests sweep. kind: weighted BCE or focal/ASL.
struct LossConfig {
  enum Kind { wbce, focal } kind = wbce;
  double gamma_pos = 0, gamma_neg = 0, margin = 0;
  std::optional<double> alpha{};
  std::string label;

  longtail::FocalBCEOptions focal_options() const {
    longtail::FocalBCEOptions o;
    o.gamma_pos = gamma_pos;
    o.gamma_neg = gamma_neg;
    o.margin = margin;
    o.alpha = alpha;
    return o;
  }
};

inline LossConfig wbce_config() {
  LossConfig c;
  c.label = "WeightedBCE";
  return c;
}

inline LossConfig focal_config(double gamma, std::optional<double> alpha = std::nullopt) {
  LossConfig c;
  c.kind = LossConfig::focal;
  c.gamma_pos = c.gamma_neg = gamma;
  c.alpha = alpha;
  std::ostringstream os;
  os << "Focal(gamma=" << gamma << ", alpha=" << (alpha ? std::to_string(*alpha) : std::string("off")) << ")";
  c.label = os.str();
  return c;
}

inline LossConfig asl_config(double gamma_pos, double gamma_neg, double margin,
                             std::optional<double> alpha = std::nullopt) {
  LossConfig c;
  c.kind = LossConfig::focal;
  c.gamma_pos = gamma_pos;
  c.gamma_neg = gamma_neg;
  c.margin = margin;
  c.alpha = alpha;
  std::ostringstream os;
  os << "ASL(g+=" << gamma_pos << ", g-=" << gamma_neg << ", m=" << margin
     << ", alpha=" << (alpha ? std::to_string(*alpha) : std::string("off")) << ")";
  c.label = os.str();
  return c;
}

/// Every loss configuration the brief asks for: weighted BCE; focal with gamma in
/// {0, 0.5, 1, 2, 2.5, 3} with and without alpha, plus 5 (largest common integer, multiplied) and
/// 9 (an integer above GammaSpec's limit: exp/log path); ASL with gamma_pos != gamma_neg, with and
/// without margin, integer and real exponents.
inline std::vector<LossConfig> all_configs() {
  std::vector<LossConfig> out{wbce_config()};
  for (double g : {0.0, 0.5, 1.0, 2.0, 2.5, 3.0}) {
    out.push_back(focal_config(g));
    out.push_back(focal_config(g, 0.25));
  }
  out.push_back(focal_config(5.0, 0.75));
  out.push_back(focal_config(9.0));
  out.push_back(asl_config(0.0, 4.0, 0.05));  // the paper's defaults
  out.push_back(asl_config(1.0, 2.0, 0.1, 0.6));
  out.push_back(asl_config(0.5, 2.5, 0.2));
  out.push_back(asl_config(2.0, 0.5, 0.3));        // 0 < gamma_neg < 1 next to a margin
  out.push_back(asl_config(2.5, 0.0, 0.1));        // gamma_neg = 0 with a margin
  out.push_back(asl_config(3.0, 1.0, 0.0, 0.25));  // asymmetric without margin
  return out;
}

/// Calls f(loss) with the functor a configuration describes, for scalar type S.
template <class S, class F>
decltype(auto) with_loss(const LossConfig& c, const longtail::Reduction reduction, double label_smoothing,
                         const Eigen::Array<S, Eigen::Dynamic, 1>& weight,
                         const Eigen::Array<S, Eigen::Dynamic, 1>& pos_weight, F&& f, int threads = 1) {
  if (c.kind == LossConfig::wbce) {
    longtail::WeightedBCEOptions o;
    o.reduction = reduction;
    o.label_smoothing = label_smoothing;
    o.execution.threads = threads;
    return f(longtail::cpu::WeightedBCE<S>(o, weight, pos_weight));
  }
  auto o = c.focal_options();
  o.reduction = reduction;
  o.label_smoothing = label_smoothing;
  o.execution.threads = threads;
  return f(longtail::cpu::FocalBCE<S>(o, weight, pos_weight));
}

/// Moves logits at least `gap` away from the ASL kink p == margin (x = logit(margin)), where the
/// loss has no derivative; no-op without a margin.
inline void avoid_kink(Mat<double>& x, double margin, double gap) {
  if (margin <= 0) return;
  const double kink = std::log(margin / (1 - margin));
  for (Eigen::Index k = 0; k < x.size(); ++k) {
    double& v = x.data()[k];
    if (std::abs(v - kink) < gap) v = v >= kink ? v + 2 * gap : v - 2 * gap;
  }
}

}  // namespace lt_test
