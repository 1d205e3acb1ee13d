// SPDX-License-Identifier: Apache-2.0
#pragma once
// The data layer's random draws: the trainer's generator (common/rng.hpp) and the few
// distributions the embedded generator needs. libm's exp/log/pow may differ in the last bit
// between platforms, so these use only IEEE-exact operations (+ - * / sqrt, frexp, ldexp, floor)
// and the series below. With -ffp-contract=off (set on longtail_trainer_data) the same seed gives
// bit-identical data everywhere.

#include <cmath>
#include <cstdint>
#include <limits>
#include <stdexcept>
#include <utility>
#include <vector>

#include "common/rng.hpp"

namespace longtail_train {

/// Natural logarithm from IEEE-exact operations only: x = m * 2^e with m in [sqrt(1/2), sqrt(2)),
/// ln(m) = 2 atanh(z), z = (m-1)/(m+1), |z| < 0.172, summed to z^31 (truncation < 1e-25).
/// Accurate to a few ulp; what matters is that it is the same on every platform. x must be > 0.
inline double det_log(double x) {
  if (!(x > 0) || !std::isfinite(x)) throw std::domain_error("det_log: argument must be finite and > 0");
  int e = 0;
  double m = std::frexp(x, &e);  // x = m * 2^e, m in [0.5, 1)
  if (m < 0.70710678118654752440) {
    m *= 2;
    e -= 1;
  }
  const double z = (m - 1) / (m + 1);
  const double z2 = z * z;
  double term = z, sum = 0;
  for (int k = 1; k <= 31; k += 2) {
    sum += term / k;
    term *= z2;
  }
  return e * 0.69314718055994530942 + 2 * sum;
}

/// e^x from IEEE-exact operations: x = k ln2 + r, |r| <= ln2/2, Taylor series of e^r to r^22
/// (truncation < 1e-24), then ldexp. |x| must be < 700.
inline double det_exp(double x) {
  if (!(std::fabs(x) < 700)) throw std::domain_error("det_exp: |argument| must be < 700");
  const double k = std::floor(x * 1.44269504088896340736 + 0.5);
  const double r = x - k * 0.69314718055994530942;
  double term = 1, sum = 1;
  for (int n = 1; n <= 22; ++n) {
    term *= r / n;
    sum += term;
  }
  return std::ldexp(sum, static_cast<int>(k));
}

/// x^y = e^(y ln x) for x > 0.
inline double det_pow(double x, double y) { return det_exp(y * det_log(x)); }

/// Samples indices in proportion to non-negative weights: cumulative sums + binary search
/// (O(log n) per draw, deterministic). At least one weight must be > 0.
class DiscreteSampler {
 public:
  DiscreteSampler() = default;
  explicit DiscreteSampler(const std::vector<double>& weights) : cumulative_(weights.size()) {
    double total = 0;
    for (std::size_t i = 0; i < weights.size(); ++i) {
      if (!(weights[i] >= 0) || !std::isfinite(weights[i]))
        throw std::invalid_argument("DiscreteSampler: weights must be finite and >= 0");
      total += weights[i];
      cumulative_[i] = total;
    }
    if (!(total > 0)) throw std::invalid_argument("DiscreteSampler: all weights are zero");
  }

  std::size_t operator()(Rng& rng) const {
    const double u = rng.uniform() * cumulative_.back();
    // First index whose cumulative weight exceeds u (zero-weight entries are never chosen).
    std::size_t lo = 0, hi = cumulative_.size() - 1;
    while (lo < hi) {
      const std::size_t mid = lo + (hi - lo) / 2;
      if (cumulative_[mid] > u)
        hi = mid;
      else
        lo = mid + 1;
    }
    return lo;
  }

  std::size_t size() const { return cumulative_.size(); }

 private:
  std::vector<double> cumulative_;
};

}  // namespace longtail_train
