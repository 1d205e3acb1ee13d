// SPDX-License-Identifier: Apache-2.0
#pragma once
// The trainer's own random numbers: splitmix64 to derive seeds, xoshiro256** to draw. Both are
// fully specified bit for bit (unlike std::uniform_*_distribution, whose output differs between
// standard libraries), so a seed gives the same model on every platform.
//
// Streams are derived, never shared: the initial weights, each epoch's shuffle and each batch's
// dropout masks get their own generator from (seed, purpose, epoch, batch). A resumed run
// therefore needs no generator state from the checkpoint to continue exactly where it stopped.
//
// The generator core (splitmix64, xoshiro256**) is the data layer's (data/rng.hpp); namespace
// prng holds what the trainer adds: its seeding, float draws and derived streams.

#include <cstdint>
#include <numeric>
#include <utility>
#include <vector>

#include "data/rng.hpp"

namespace longtail_train::prng {

using longtail_train::splitmix64;

/// A seed for one purpose of one run: mixes the run's seed with up to three stream ids.
inline std::uint64_t derive_seed(std::uint64_t seed, std::uint64_t a, std::uint64_t b = 0, std::uint64_t c = 0) {
  std::uint64_t s = seed;
  std::uint64_t h = splitmix64(s);
  for (std::uint64_t part : {a, b, c}) {
    s = h ^ part;
    h = splitmix64(s);
  }
  return h;
}

/// Stream ids for derive_seed.
enum class RngStream : std::uint64_t { init = 1, shuffle = 2, dropout = 3, split = 4 };

/// xoshiro256** seeded through splitmix64 from the seed itself (derive_seed has mixed it).
class Rng : public Xoshiro256 {
 public:
  explicit Rng(std::uint64_t seed) : Xoshiro256(seed) {}

  /// Uniform in [0, 1) with 24 random bits (exactly representable in float).
  float uniform_float() { return static_cast<float>(next() >> 40) * 0x1.0p-24f; }
  /// Uniform in [0, 1) with 53 random bits.
  double uniform_double() { return static_cast<double>(next() >> 11) * 0x1.0p-53; }

  /// Uniform integer in [0, n) (Lemire's multiply-shift; the bias is below 2^-32 for the n we use
  /// and, more to the point, identical on every platform).
  std::uint64_t below(std::uint64_t n) {
    __extension__ typedef unsigned __int128 u128;  // GCC/Clang; __extension__ keeps -Wpedantic quiet
    return static_cast<std::uint64_t>((static_cast<u128>(next()) * n) >> 64);
  }
};

/// Fisher-Yates shuffle with the trainer's generator.
template <class T>
void shuffle(std::vector<T>& v, Rng& rng) {
  for (std::size_t i = v.size(); i > 1; --i) std::swap(v[i - 1], v[rng.below(i)]);
}

/// 0, 1, ..., n-1 in the order of one epoch.
inline std::vector<std::int64_t> shuffled_indices(std::int64_t n, std::uint64_t seed) {
  std::vector<std::int64_t> idx(static_cast<std::size_t>(n));
  std::iota(idx.begin(), idx.end(), std::int64_t{0});
  Rng rng(seed);
  shuffle(idx, rng);
  return idx;
}

}  // namespace longtail_train::prng
