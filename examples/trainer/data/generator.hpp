// SPDX-License-Identifier: Apache-2.0
#pragma once
// The embedded, deterministic IAB-like corpus: long-tailed multi-label documents with text-like
// sparse bag-of-words features. See generator.cpp's header comment and CALIBRATION.md for the
// model of a document and for how the difficulty was calibrated.

#include <array>
#include <cstdint>

#include "dataset.hpp"

namespace longtail_train {

/// Every knob of the generator. The defaults are the calibrated, frozen embedded data set:
/// change them only through the calibration procedure in CALIBRATION.md.
struct GeneratorConfig {
  std::uint64_t seed = 20240611;  ///< everything (word lists, documents) derives from this

  // ---- label frequencies (the long tail) ----
  // Each taxonomy node is a possible document topic. Nodes get a random popularity rank r
  // (1..K, K = number of labels); node r is the direct topic of
  //   c(r) = round(head_topic_count * r^(-s)),  s = ln(head/tail) / ln(K)
  // training documents (a Zipf law through (1, head) and (K, tail)). A label is present in a
  // document when it or one of its descendants is a topic, so a label's training frequency is
  // c(r) plus what its subtree contributes: leaves have exactly c(r), tier-1 labels >= 1000.
  int head_topic_count = 1000;  ///< training documents of the most popular topic
  int tail_topic_count = 5;     ///< training documents of the least popular topic (the floor)
  /// Validation and test each get round(eval_fraction * c(r)) documents per topic, at least
  /// eval_min_topic_count (so every label has positives to tune thresholds on and to score).
  double eval_fraction = 0.25;
  int eval_min_topic_count = 3;

  // ---- topics per document ----
  /// P(1), P(2), P(3), P(4) topics per document (normalised; the mean sets the corpus size).
  std::array<double, 4> topics_per_doc_weights = {0.40, 0.30, 0.20, 0.10};
  /// Probability that a document's 2nd..4th topic is taken from the same tier-1 subtree as its
  /// first (co-occurring related topics; siblings share words, so this adds confusion).
  double related_topic_prob = 0.30;

  // ---- words ----
  int vocabulary_size = 5000;  ///< number of features (pseudo-words)
  int words_per_topic = 24;    ///< own words of each taxonomy node (Zipf-weighted, exponent 1)
  /// Fraction of a node's own words borrowed from a sibling's (or a random node's) list instead
  /// of fresh random vocabulary words: topics that share words are harder to tell apart.
  double topic_word_overlap = 0.30;
  /// Probability that a topic token is drawn from the parent's distribution instead (applied
  /// recursively): children share words with their parents and ancestors.
  double parent_word_share = 0.35;
  /// Mean tokens per document; lengths are uniform in [mean/2, 3*mean/2].
  int words_per_doc = 40;
  /// Fraction of tokens that are background noise (Zipf over the whole vocabulary) rather than
  /// topic words: the main difficulty knob.
  double noise_rate = 0.35;
  double background_zipf_exponent = 1.0;
  /// true: TF-IDF weights (1 + ln count) * idf, idf fitted on the training split (smooth idf
  /// ln((1+N)/(1+df)) + 1); false: raw term counts (for inspection; row_norm is then ignored).
  bool tfidf = true;
  /// L2 norm of every TF-IDF row; 0 keeps the unnormalised weights. Unit rows with ~30 non-zeros
  /// have entries ~0.18, which an MLP initialised like PyTorch's (weights U(+-1/sqrt(fan_in)),
  /// fan_in = 5000) turns into hidden activations ~0.01: with Adam at lr 1e-3 the output layer
  /// then needs far more steps than the trainer's default budget to move any label but the most
  /// frequent ones. The scale is part of the calibration (CALIBRATION.md).
  double row_norm = 7.0;

  /// Throws std::invalid_argument naming the field when a value is out of range.
  void validate() const;
};

/// Generates train / validation / test over `taxonomy` (the generated IAB-like tree, the IAB's
/// own, or any LabelSet with valid parents). Deterministic: the same taxonomy and config give
/// bit-identical data on every platform (own RNG and distributions, no libm in the sampling).
/// Names are "embedded-iab/train" etc.; feature_names are the pseudo-words.
Splits generate_corpus(const LabelSet& taxonomy, const GeneratorConfig& config);

}  // namespace longtail_train
