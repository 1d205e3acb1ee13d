// SPDX-License-Identifier: Apache-2.0
#pragma once
// Small generated data sets for the trainer's tests: a flat label set (no hierarchy, so no label
// is present in most rows) and the embedded generator scaled down, with compressed matrices as
// train_model expects them.

#include <string>

#include "data/generator.hpp"

namespace longtail_train::test_data {

/// `labels` roots named "<prefix><r><suffix>".
inline LabelSet flat_labels(int labels, const std::string& prefix = "Topic", const std::string& suffix = "") {
  LabelSet s;
  for (int r = 0; r < labels; ++r) {
    s.names.push_back(prefix + std::to_string(r) + suffix);
    s.parent.push_back(-1);
    s.tier.push_back(1);
  }
  return s;
}

/// The generator's corpus for `labels` with the small vocabulary and documents of `config`
/// (head / tail topic counts and sizes set by the caller), matrices compressed.
inline Splits small_corpus(const LabelSet& labels, const GeneratorConfig& config) {
  Splits s = generate_corpus(labels, config);
  for (Dataset* d : {&s.train, &s.validation, &s.test}) {
    d->features.makeCompressed();
    d->labels.makeCompressed();
  }
  return s;
}

/// The trainer tests' tiny corpus: 16 flat topics (no hierarchy, so no label is present in most
/// rows and chance stays low) over a 300-word vocabulary; generated once per test binary.
inline const Splits& tiny_flat_corpus() {
  static const Splits data = [] {
    GeneratorConfig g;
    g.head_topic_count = 120;
    g.tail_topic_count = 15;
    g.vocabulary_size = 300;
    g.words_per_topic = 10;
    g.noise_rate = 0.3;
    g.words_per_doc = 30;
    return small_corpus(flat_labels(16), g);
  }();
  return data;
}

}  // namespace longtail_train::test_data
