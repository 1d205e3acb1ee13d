// SPDX-License-Identifier: Apache-2.0
#include "data/text_featurizer.hpp"

#include <algorithm>
#include <stdexcept>

#include "data/detail/csr_builder.hpp"
#include "data/tfidf.hpp"

namespace longtail_train {
namespace {

constexpr std::uint64_t kFnvOffset = 14695981039346656037ull;
constexpr std::uint64_t kFnvPrime = 1099511628211ull;

std::uint64_t fnv1a(std::string_view bytes, std::uint64_t h = kFnvOffset) {
  for (unsigned char c : bytes) {
    h ^= c;
    h *= kFnvPrime;
  }
  return h;
}

bool token_byte(unsigned char c) {
  return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') || c >= 0x80;
}

}  // namespace

void TextFeaturizerConfig::validate() const {
  if (num_buckets < 1 || num_buckets > (1 << 26))
    throw std::invalid_argument("TextFeaturizerConfig.num_buckets must be in [1, 2^26] (got " +
                                std::to_string(num_buckets) + ")");
  if (min_token_length < 1 || min_token_length > 1000)
    throw std::invalid_argument("TextFeaturizerConfig.min_token_length must be in [1, 1000] (got " +
                                std::to_string(min_token_length) + ")");
}

TextFeaturizer::TextFeaturizer(TextFeaturizerConfig config) : config_(config) { config_.validate(); }

std::vector<std::string> TextFeaturizer::tokenize(std::string_view text) {
  std::vector<std::string> tokens;
  std::string current;
  for (unsigned char c : text) {
    if (token_byte(c)) {
      current += (c >= 'A' && c <= 'Z') ? static_cast<char>(c - 'A' + 'a') : static_cast<char>(c);
    } else if (!current.empty()) {
      tokens.push_back(std::move(current));
      current.clear();
    }
  }
  if (!current.empty()) tokens.push_back(std::move(current));
  return tokens;
}

std::int32_t TextFeaturizer::bucket(std::string_view token) const {
  return static_cast<std::int32_t>(fnv1a(token) % static_cast<std::uint64_t>(config_.num_buckets));
}

std::vector<std::pair<std::int32_t, float>> TextFeaturizer::bucket_counts(std::string_view text) const {
  std::vector<std::string> tokens = tokenize(text);
  tokens.erase(std::remove_if(
                   tokens.begin(), tokens.end(),
                   [&](const std::string& t) { return t.size() < static_cast<std::size_t>(config_.min_token_length); }),
               tokens.end());
  std::vector<std::int32_t> buckets;
  buckets.reserve(tokens.size() * (config_.bigrams ? 2 : 1));
  for (const auto& t : tokens) buckets.push_back(bucket(t));
  if (config_.bigrams) {
    // A bigram hashes "first \x1f second" (unit separator: cannot occur inside a token).
    for (std::size_t i = 1; i < tokens.size(); ++i) {
      const std::uint64_t h = fnv1a(tokens[i], fnv1a("\x1f", fnv1a(tokens[i - 1])));
      buckets.push_back(static_cast<std::int32_t>(h % static_cast<std::uint64_t>(config_.num_buckets)));
    }
  }
  std::sort(buckets.begin(), buckets.end());
  std::vector<std::pair<std::int32_t, float>> counts;
  for (std::size_t a = 0; a < buckets.size();) {
    std::size_t b = a;
    while (b < buckets.size() && buckets[b] == buckets[a]) ++b;
    counts.emplace_back(buckets[a], static_cast<float>(b - a));
    a = b;
  }
  return counts;
}

void TextFeaturizer::fit(const std::vector<std::string>& texts) {
  detail::CsrBuilder counts;
  for (const auto& text : texts) {
    for (const auto& [b, c] : bucket_counts(text)) counts.add(b, c);
    counts.end_row();
  }
  idf_ = smooth_idf(counts.build(config_.num_buckets));
  fitted_ = true;
}

SparseRowMatrix TextFeaturizer::transform(const std::vector<std::string>& texts) const {
  if (config_.use_idf && !fitted_) throw std::logic_error("TextFeaturizer::transform: call fit() (or set_idf()) first");
  detail::CsrBuilder counts;
  for (const auto& text : texts) {
    for (const auto& [b, c] : bucket_counts(text)) counts.add(b, c);
    counts.end_row();
  }
  SparseRowMatrix m = counts.build(config_.num_buckets);
  apply_tfidf(m, config_.use_idf ? &idf_ : nullptr, config_.sublinear_tf);
  return m;
}

SparseRowMatrix TextFeaturizer::fit_transform(const std::vector<std::string>& texts) {
  fit(texts);
  return transform(texts);
}

void TextFeaturizer::set_idf(std::vector<float> idf) {
  if (idf.size() != static_cast<std::size_t>(config_.num_buckets))
    throw std::invalid_argument("TextFeaturizer::set_idf: " + std::to_string(idf.size()) + " values for " +
                                std::to_string(config_.num_buckets) + " buckets");
  idf_ = std::move(idf);
  fitted_ = true;
}

}  // namespace longtail_train
