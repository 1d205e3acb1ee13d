// SPDX-License-Identifier: Apache-2.0
#pragma once
// Shared by the CUDA tests: random problems in a given storage precision, host arrays in the
// storage types, and tolerance checks. The CPU reference is reference.hpp.
//
// Tolerances (documented in tests/cuda/README.md):
//   float storage:  |got - ref| <= 1e-5 |ref| + 1e-6 max|ref|
//   __half storage: |got - ref| <= 2^-10 |ref| + 2^-24 + 1e-6 max|ref|
//   bf16 storage:   |got - ref| <= 2^-7 |ref| + 1e-6 max|ref|
// for gradients and per-element losses (the GPU computes in float and rounds once to the storage
// type: half an ulp of the storage type, 2^-11 / 2^-8 relative, plus the float bound; 2^-24 is
// the spacing of half subnormals). The reference sees the same rounded inputs. The 1e-6 max|ref|
// term covers elements whose gradient is a difference of two near-equal terms (soft targets),
// where the 1-2 ulp differences between CUDA's expf/logf and Eigen's pexp/plog are not small
// relative to the result. The reduced loss is accumulated in float on both sides of the same
// inputs: 1e-5 relative for every storage type.

#include <catch2/catch.hpp>

#include <cmath>
#include <cstdint>
#include <cstring>
#include <random>
#include <sstream>
#include <string>
#include <type_traits>
#include <vector>

#include "longtail/cuda.cuh"
#include "reference.hpp"

namespace longtail_test {

using longtail::cuda::packed_bits;
using longtail::cuda::detail::from_float;
using longtail::cuda::detail::to_float;

/// What to generate.
struct ProblemSpec {
  std::int64_t rows = 3, cols = 5;
  bool soft_targets = false;  // only for float / half target storage
  bool mask = false;
  bool sample_weight = false;
  bool weight = false;
  bool pos_weight = false;
  bool logit_offset = false;    // a per-class logit offset in [-3, 1]
  bool label_counts = false;    // training label counts for the Distribution-Balanced loss
  bool nan_under_mask = false;  // masked logits are NaN (float storage only): must not leak
  float logit_scale = 6.0f;
  std::uint64_t seed = 1;
};

template <class S>
float round_to(float v) {
  if constexpr (std::is_same_v<S, float> || std::is_same_v<S, std::uint8_t> || std::is_same_v<S, packed_bits>)
    return v;
  else
    return to_float(from_float<S>(v));
}

template <class T, class Target>
Problem make_problem(const ProblemSpec& s) {
  Problem p;
  p.rows = s.rows;
  p.cols = s.cols;
  std::mt19937_64 rng(s.seed);
  std::uniform_real_distribution<float> unit(0.0f, 1.0f), logit(-s.logit_scale, s.logit_scale);
  const std::int64_t n = p.n();
  const bool soft = s.soft_targets && (std::is_same_v<Target, float> || std::is_same_v<Target, __half>);
  p.x.resize(n);
  p.y.resize(n);
  for (std::int64_t e = 0; e < n; ++e) {
    p.x[e] = round_to<T>(logit(rng));
    const float u = unit(rng);
    // Soft targets include exact 0 and 1 (a third each) so both terms are exercised alone too.
    p.y[e] = soft ? round_to<Target>(u < 0.33f ? 0.0f : u > 0.66f ? 1.0f : unit(rng)) : (u < 0.3f ? 1.0f : 0.0f);
  }
  if (s.mask) {
    p.mask.resize(n);
    for (std::int64_t e = 0; e < n; ++e) {
      p.mask[e] = unit(rng) < 0.8f ? std::uint8_t(1 + (e % 3)) : std::uint8_t(0);  // any nonzero is valid
      if (s.nan_under_mask && !p.mask[e]) p.x[e] = std::nanf("");
    }
  }
  if (s.sample_weight) {
    p.sample_weight.resize(s.rows);
    for (auto& w : p.sample_weight) w = unit(rng) < 0.1f ? 0.0f : 2.0f * unit(rng);
  }
  if (s.weight) {
    p.weight.resize(s.cols);
    for (auto& w : p.weight) w = unit(rng) < 0.1f ? 0.0f : 3.0f * unit(rng);
  }
  if (s.pos_weight) {
    p.pos_weight.resize(s.cols);
    for (auto& w : p.pos_weight) w = 0.5f + 3.5f * unit(rng);
  }
  // Drawn last: the problems without them keep their random numbers.
  if (s.logit_offset) {
    p.logit_offset.resize(s.cols);
    for (auto& o : p.logit_offset) o = -3.0f + 4.0f * unit(rng);
  }
  if (s.label_counts) {
    p.train_rows = 200;
    p.label_counts.resize(s.cols);
    for (auto& c : p.label_counts) c = unit(rng) < 0.1f ? 0.0 : std::floor(200.0 * unit(rng) * unit(rng));
  }
  return p;
}

// ---- storage arrays --------------------------------------------------------------------------------
/// The problem's arrays in storage types, each starting `offset` elements into its buffer (offset
/// 1 makes every pointer unaligned for vector access and exercises the scalar path).
template <class T, class Target>
struct StorageArrays {
  using TargetWord = longtail::cuda::target_storage_t<Target>;
  std::vector<T> x, grad, elements;
  std::vector<TargetWord> y;
  std::vector<std::uint8_t> mask;
  std::int64_t offset = 0;

  StorageArrays(const Problem& p, std::int64_t off) : offset(off) {
    const std::int64_t n = p.n();
    x.assign(n + off, from_float<T>(0.0f));
    for (std::int64_t e = 0; e < n; ++e) x[off + e] = from_float<T>(p.x[e]);
    grad.assign(n + off, from_float<T>(0.0f));
    elements.assign(n + off, from_float<T>(0.0f));
    if constexpr (std::is_same_v<Target, packed_bits>) {
      std::vector<std::uint8_t> dense(n);
      for (std::int64_t e = 0; e < n; ++e) dense[e] = p.y[e] != 0.0f;
      const auto words = longtail::cuda::pack_bits(dense.data(), p.rows, p.cols);
      y.assign(words.size() + off, 0u);
      std::copy(words.begin(), words.end(), y.begin() + off);
    } else if constexpr (std::is_same_v<Target, std::uint8_t>) {
      y.assign(n + off, 0);
      for (std::int64_t e = 0; e < n; ++e) y[off + e] = static_cast<std::uint8_t>(p.y[e]);
    } else {
      y.assign(n + off, from_float<Target>(0.0f));
      for (std::int64_t e = 0; e < n; ++e) y[off + e] = from_float<Target>(p.y[e]);
    }
    if (!p.mask.empty()) {
      mask.assign(n + off, 0);
      std::copy(p.mask.begin(), p.mask.end(), mask.begin() + off);
    }
  }
};

template <class T>
std::vector<float> to_floats(const T* v, std::int64_t n) {
  std::vector<float> out(n);
  for (std::int64_t e = 0; e < n; ++e) out[e] = to_float(v[e]);
  return out;
}

// ---- comparisons -----------------------------------------------------------------------------------
struct Tolerance {
  double rel = 1e-5;
  double abs = 0.0;
  double rel_of_max = 1e-6;
};

template <class T>
Tolerance storage_tolerance() {
  if constexpr (std::is_same_v<T, __half>)
    return {std::ldexp(1.0, -10), std::ldexp(1.0, -24), 1e-6};
  else if constexpr (std::is_same_v<T, __nv_bfloat16>)
    return {std::ldexp(1.0, -7), 0.0, 1e-6};
  else
    return {1e-5, 0.0, 1e-6};
}

/// Counts elements outside the tolerance (NaN / inf mismatches included) and reports the first.
inline void check_close(const std::string& what, const std::vector<float>& got, const std::vector<float>& ref,
                        const Tolerance& tol) {
  REQUIRE(got.size() == ref.size());
  double max_ref = 0.0;
  for (float r : ref)
    if (std::isfinite(r)) max_ref = std::max(max_ref, std::abs(double(r)));
  std::size_t bad = 0, first = 0;
  for (std::size_t k = 0; k < got.size(); ++k) {
    const double g = got[k], r = ref[k];
    const double bound = tol.rel * std::abs(r) + tol.abs + tol.rel_of_max * max_ref;
    const bool ok = std::isfinite(r) ? (std::isfinite(g) && std::abs(g - r) <= bound)
                                     : (std::isnan(r) == std::isnan(g) && (std::isnan(r) || g == r));
    if (!ok && bad++ == 0) first = k;
  }
  if (bad) {
    std::ostringstream os;
    os.precision(9);
    os << what << ": " << bad << " of " << got.size() << " elements differ; first at " << first << ": got "
       << got[first] << ", reference " << ref[first];
    FAIL_CHECK(os.str());
  }
}

inline void check_loss(const std::string& what, float got, float ref, double rel = 1e-5) {
  INFO(what << ": got " << got << ", reference " << ref);
  CHECK(std::isfinite(got));
  CHECK(std::abs(double(got) - double(ref)) <= rel * std::abs(double(ref)) + 1e-30);
}

inline std::uint32_t bits_of(float v) {
  std::uint32_t u;
  std::memcpy(&u, &v, 4);
  return u;
}

}  // namespace longtail_test
