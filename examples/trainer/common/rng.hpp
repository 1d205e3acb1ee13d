// SPDX-License-Identifier: Apache-2.0
#pragma once
// The trainer's one random number generator: xoshiro256** (Blackman & Vigna 2018) seeded through
// SplitMix64, with the few draws the trainer needs. Every random choice of a run comes from it:
// the embedded data set, the train / validation / test splits, the initial weights, each epoch's
// shuffle, each batch's dropout masks and the folds that score the decision rules.
//
// Bit for bit the same on every platform: integer arithmetic only for the integer draws (unlike
// std::uniform_int_distribution & co., whose output differs between standard libraries), and
// exact conversions for the real ones.
//
// Streams, never shared state: a generator is made from (seed, stream), and each purpose has its
// own stream, so changing one stage does not shift the random numbers of any other, and a resumed
// run needs no generator state to continue exactly where it stopped (the shuffle of epoch e is
// Rng(seed, stream_id(RngStream::shuffle, e))).

#include <cstdint>
#include <numeric>
#include <utility>
#include <vector>

namespace longtail_train {

/// SplitMix64 step (Steele, Lea, Flood 2014): expands seeds and mixes stream ids.
inline std::uint64_t splitmix64(std::uint64_t& state) {
  std::uint64_t z = (state += 0x9E3779B97F4A7C15ull);
  z = (z ^ (z >> 30)) * 0xBF58476D1CE4E5B9ull;
  z = (z ^ (z >> 27)) * 0x94D049BB133111EBull;
  return z ^ (z >> 31);
}

/// The trainer's purposes (the data generator numbers its own stages in generator.cpp).
enum class RngStream : std::uint64_t { init = 1, shuffle = 2, dropout = 3, split = 4, rule_folds = 5, search = 6 };

/// A stream id for a purpose and up to three indices (epoch, batch, layer): the parts hashed
/// together, so that ids of different (purpose, indices) do not collide in practice.
inline std::uint64_t stream_id(RngStream purpose, std::uint64_t a = 0, std::uint64_t b = 0, std::uint64_t c = 0) {
  std::uint64_t s = static_cast<std::uint64_t>(purpose);
  std::uint64_t h = splitmix64(s);
  for (std::uint64_t part : {a, b, c}) {
    s = h ^ part;
    h = splitmix64(s);
  }
  return h;
}

class Rng {
 public:
  /// The generator of stream `stream` of `seed`: distinct streams of one seed are independent
  /// sequences. The state is four SplitMix64 outputs from seed ^ (odd constant * (stream + 1)).
  explicit Rng(std::uint64_t seed, std::uint64_t stream = 0) {
    std::uint64_t state = seed ^ (0xD1B54A32D192ED03ull * (stream + 1));
    for (auto& word : s_) word = splitmix64(state);
  }

  /// The next 64 random bits (xoshiro256**).
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

  /// Uniform in [0, 1) with 53 random bits (exact conversion, no rounding).
  double uniform() { return static_cast<double>(next() >> 11) * 0x1.0p-53; }
  /// Uniform in [0, 1) with 24 random bits (exactly representable in float).
  float uniform_float() { return static_cast<float>(next() >> 40) * 0x1.0p-24f; }

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

 private:
  static std::uint64_t rotl(std::uint64_t x, int k) { return (x << k) | (x >> (64 - k)); }
  std::uint64_t s_[4];
};

/// 0, 1, ..., n-1 in a random order.
template <class Index = std::int64_t>
std::vector<Index> shuffled_indices(Index n, Rng& rng) {
  std::vector<Index> idx(static_cast<std::size_t>(n));
  std::iota(idx.begin(), idx.end(), Index{0});
  rng.shuffle(idx);
  return idx;
}

}  // namespace longtail_train
