// SPDX-License-Identifier: Apache-2.0
#pragma once
// Free text -> hashed TF-IDF features. Fit on the training texts, reuse on validation and test.

#include <cstdint>
#include <string>
#include <string_view>
#include <vector>

#include "dataset.hpp"

namespace longtail_train {

struct TextFeaturizerConfig {
  /// Number of hash buckets = number of features. Tokens that collide share a feature.
  int num_buckets = 1 << 14;
  /// Also hash adjacent token pairs ("new york") into the same buckets.
  bool bigrams = false;
  /// Tokens shorter than this (in bytes) are dropped.
  int min_token_length = 2;
  /// tf = 1 + ln(count) instead of the raw count.
  bool sublinear_tf = true;
  /// false: skip the idf factor (tf only, still L2-normalised).
  bool use_idf = true;
  /// Throws std::invalid_argument naming the field when out of range.
  void validate() const;
};

/// Tokenises (ASCII letters lowercased; a token is a maximal run of ASCII letters, digits or
/// non-ASCII UTF-8 bytes, so accented words stay whole), hashes tokens (FNV-1a 64, modulo
/// num_buckets) and optionally bigrams, weighs tf * idf with the smooth idf
/// ln((1+N)/(1+df)) + 1 of the fitted texts, and L2-normalises each row (an empty row stays
/// empty). Deterministic and platform-independent.
class TextFeaturizer {
 public:
  explicit TextFeaturizer(TextFeaturizerConfig config = {});

  /// Learns document frequencies (idf) from `texts`.
  void fit(const std::vector<std::string>& texts);
  /// Features of `texts` (rows = texts) with the fitted idf. Throws std::logic_error if not fitted
  /// and use_idf is on.
  SparseRowMatrix transform(const std::vector<std::string>& texts) const;
  SparseRowMatrix fit_transform(const std::vector<std::string>& texts);

  bool fitted() const { return fitted_; }
  const TextFeaturizerConfig& config() const { return config_; }
  /// idf per bucket (empty before fit).
  const std::vector<float>& idf() const { return idf_; }
  /// Restores a fitted featurizer (e.g. from a checkpoint): idf.size() must be num_buckets.
  void set_idf(std::vector<float> idf);

  /// The tokens of `text` after lowercasing and splitting (no length filter).
  static std::vector<std::string> tokenize(std::string_view text);
  /// The bucket of one token (FNV-1a 64 of its bytes, modulo num_buckets).
  std::int32_t bucket(std::string_view token) const;

 private:
  /// Per text: sorted (bucket, raw count) pairs after the length filter and bigrams.
  std::vector<std::pair<std::int32_t, float>> bucket_counts(std::string_view text) const;

  TextFeaturizerConfig config_;
  std::vector<float> idf_;
  bool fitted_ = false;
};

}  // namespace longtail_train
