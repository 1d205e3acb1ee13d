// SPDX-License-Identifier: Apache-2.0
#pragma once
// A small, platform-independent random number generator and the few distributions the data
// layer needs. std::uniform_int_distribution & co. give different sequences on different
// standard libraries, and libm's exp/log/pow may differ in the last bit between platforms, so the
// generator uses only these: integer arithmetic, IEEE-exact operations (+ - * / sqrt, frexp,
// ldexp, floor) and the series below. With -ffp-contract=off (set on longtail_trainer_data) the
// same seed gives bit-identical data everywhere.

#include <cmath>
#include <cstdint>
#include <limits>
#include <stdexcept>
#include <utility>
#include <vector>

namespace longtail_train {

/// SplitMix64 step (Steele, Lea, Flood 2014): used to expand seeds.
inline std::uint64_t splitmix64(std::uint64_t& state) {
  std::uint64_t z = (state += 0x9E3779B97F4A7C15ull);
  z = (z ^ (z >> 30)) * 0xBF58476D1CE4E5B9ull;
  z = (z ^ (z >> 27)) * 0x94D049BB133111EBull;
  return z ^ (z >> 31);
}

/// xoshiro256** (Blackman & Vigna 2018), its state four SplitMix64 outputs from a start value.
/// The one generator core of the data layer (Rng below) and of the trainer (../rng.hpp); they
/// differ only in how a seed becomes that start value.
class Xoshiro256 {
 public:
  explicit Xoshiro256(std::uint64_t splitmix_state) {
    for (auto& word : s_) word = splitmix64(splitmix_state);
  }

  std::uint64_t next() {
    const std::uint64_t result = rotl(s_[1] * 5, 7) * 9;
    const std::uint64_t t = s_[1] << 17;
    s_[2] ^= s_[0];
    s_[3] ^= s_[1];
    s_[1] ^= s_[2];
    s_[0] ^= s_[3];
    s_[2] ^= t;
    s_[3] = rotl(s_[3], 45);
    return result;
  }

 private:
  static std::uint64_t rotl(std::uint64_t x, int k) { return (x << k) | (x >> (64 - k)); }
  std::uint64_t s_[4];
};

/// The data layer's generator: xoshiro256** seeded from (seed, stream): distinct streams of one
/// seed are independent sequences, so each stage of the generator has its own and changing one
/// stage does not shift the random numbers of the others.
class Rng : public Xoshiro256 {
 public:
  explicit Rng(std::uint64_t seed, std::uint64_t stream = 0)
      : Xoshiro256(seed ^ (0xD1B54A32D192ED03ull * (stream + 1))) {}

  /// Uniform in [0, 1) with 53 random bits (exact conversion, no rounding).
  double uniform() { return static_cast<double>(next() >> 11) * 0x1.0p-53; }

  /// Uniform integer in [0, n), unbiased (rejection of the top partial block). n must be > 0.
  std::uint64_t below(std::uint64_t n) {
    const std::uint64_t threshold = (0 - n) % n;  // 2^64 mod n
    for (;;) {
      const std::uint64_t r = next();
      if (r >= threshold) return r % n;
    }
  }

  bool bernoulli(double p) { return uniform() < p; }

  /// Fisher-Yates shuffle.
  template <class T>
  void shuffle(std::vector<T>& v) {
    for (std::size_t i = v.size(); i > 1; --i) std::swap(v[i - 1], v[below(i)]);
  }
};

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
