// SPDX-License-Identifier: Apache-2.0
// The embedded IAB-like corpus.
//
// A document is generated in three steps (all randomness from longtail_train::Rng streams):
//  1. Topics. Every taxonomy node is a possible topic with a frequency fixed in advance: node of
//     popularity rank r (a random permutation) is the topic of exactly
//     c(r) = max(tail, round(head * r^-s)), s = ln(head/tail) / ln(K), documents of a split
//     (validation/test: max(eval_min, round(eval_fraction * c(r)))). The multiset of topic
//     occurrences is shuffled and packed into documents of 1-4 topics (weights
//     topics_per_doc_weights); a document's 2nd+ topic comes, with probability
//     related_topic_prob, from the same tier-1 subtree as its first. Topics of one document are
//     never equal nor ancestor/descendant of each other, so every leaf label has EXACTLY c(r)
//     positive documents, and the training frequencies run from `tail` (rarest leaves) to well
//     over 1000 (tier-1 labels collect their subtrees).
//  2. Labels: the topics plus all their ancestors.
//  3. Words. Length uniform in [mean/2, 3*mean/2]. Each token is background noise with
//     probability noise_rate (Zipf(background_zipf_exponent) over the vocabulary in a random
//     order); otherwise a topic of the document is chosen uniformly, climbs to its parent with
//     probability parent_word_share (repeatedly), and emits one of that node's own words
//     (Zipf(1) over its words_per_topic words; a fraction topic_word_overlap of them borrowed from
//     siblings). Counts -> 1 + ln(count) -> x idf (fitted on train) -> rows scaled to L2 norm
//     row_norm.

#include "data/generator.hpp"

#include <algorithm>
#include <cmath>
#include <numeric>
#include <stdexcept>
#include <string>

#include "data/detail/csr_builder.hpp"
#include "data/rng.hpp"
#include "data/taxonomy.hpp"
#include "data/tfidf.hpp"

namespace longtail_train {
namespace {

template <class T>
[[noreturn]] void bad_config(const char* field, const char* rule, T value) {
  throw std::invalid_argument(std::string("GeneratorConfig.") + field + " must be " + rule + " (got " +
                              std::to_string(value) + ")");
}

// Random-stream ids: one per stage, so that changing one stage leaves the others' numbers alone.
enum Stream : std::uint64_t {
  kRanks = 1,
  kVocabulary = 2,
  kTopicWords = 3,
  kBackground = 4,
  kSplitBase = 16,  // + split index: picks, packing, words of that split
};

struct Tree {
  explicit Tree(const LabelSet& labels)
      : parent(labels.parent), root(labels.size()), ancestors(labels.size()), children(labels.size()) {
    for (std::size_t i = 0; i < labels.size(); ++i) {
      int top = static_cast<int>(i);
      for (int p = parent[i]; p >= 0; p = parent[static_cast<std::size_t>(p)]) {
        ancestors[i].push_back(p);
        top = p;
      }
      root[i] = top;
      if (parent[i] >= 0) children[static_cast<std::size_t>(parent[i])].push_back(static_cast<int>(i));
    }
  }
  bool related(int a, int b) const {  // equal, or one is an ancestor of the other
    if (a == b) return true;
    const auto& aa = ancestors[static_cast<std::size_t>(a)];
    const auto& ab = ancestors[static_cast<std::size_t>(b)];
    return std::find(aa.begin(), aa.end(), b) != aa.end() || std::find(ab.begin(), ab.end(), a) != ab.end();
  }
  std::vector<int> parent, root;
  std::vector<std::vector<int>> ancestors, children;
};

// Pronounceable, unique pseudo-words: the number 70 + i written in base 70 with consonant-vowel
// syllables ("bo", "ka", ...), so each index maps to a distinct word of 2-3 syllables.
std::vector<std::string> make_vocabulary(int size, Rng& rng) {
  static const char kConsonants[] = "bdfgklmnprstvz";
  static const char kVowels[] = "aeiou";
  constexpr int kSyllables = 14 * 5;
  std::vector<int> code(static_cast<std::size_t>(size));
  std::iota(code.begin(), code.end(), kSyllables);
  rng.shuffle(code);  // the word of feature f is not alphabetical in f
  std::vector<std::string> words;
  words.reserve(code.size());
  for (int c : code) {
    std::string w;
    for (; c > 0; c /= kSyllables) {
      const int s = c % kSyllables;
      w.insert(w.begin(), kVowels[s % 5]);
      w.insert(w.begin(), kConsonants[s / 5]);
    }
    words.push_back(std::move(w));
  }
  return words;
}

// Zipf(exponent) weights over n items: (rank)^-exponent.
std::vector<double> zipf_weights(std::size_t n, double exponent) {
  std::vector<double> w(n);
  for (std::size_t i = 0; i < n; ++i)
    w[i] = exponent == 1.0 ? 1.0 / static_cast<double>(i + 1) : det_pow(static_cast<double>(i + 1), -exponent);
  return w;
}

struct TopicWords {
  std::vector<std::vector<int>> words;  // own words per node, most frequent first
  DiscreteSampler within;               // Zipf(1) over positions in a list
};

TopicWords make_topic_words(const Tree& tree, const GeneratorConfig& config, Rng& rng) {
  const std::size_t k = tree.parent.size();
  const auto per_topic = static_cast<std::size_t>(config.words_per_topic);
  TopicWords tw;
  tw.words.resize(k);
  tw.within = DiscreteSampler(zipf_weights(per_topic, 1.0));
  const auto vocab = static_cast<std::uint64_t>(config.vocabulary_size);
  for (std::size_t node = 0; node < k; ++node) {
    // Siblings whose lists exist already (lower index) are the ones words can be borrowed from.
    std::vector<int> donors;
    const int p = tree.parent[node];
    if (p >= 0) {
      for (int s : tree.children[static_cast<std::size_t>(p)])
        if (static_cast<std::size_t>(s) < node) donors.push_back(s);
    } else {
      for (std::size_t s = 0; s < node; ++s)
        if (tree.parent[s] < 0) donors.push_back(static_cast<int>(s));
    }
    auto& list = tw.words[node];
    int attempts = 0;
    while (list.size() < per_topic) {
      int word;
      if (!donors.empty() && rng.bernoulli(config.topic_word_overlap)) {
        const auto& donor = tw.words[static_cast<std::size_t>(donors[rng.below(donors.size())])];
        word = donor[rng.below(donor.size())];
      } else {
        word = static_cast<int>(rng.below(vocab));
      }
      // No repeats within one list (give up on uniqueness after many tries: tiny vocabularies).
      if (std::find(list.begin(), list.end(), word) != list.end() && ++attempts < 1000) continue;
      list.push_back(word);
    }
  }
  return tw;
}

// Packs a shuffled list of topic occurrences into documents (see the file comment).
std::vector<std::vector<int>> pack_documents(const std::vector<int>& picks, const Tree& tree,
                                             const GeneratorConfig& config, Rng& rng) {
  constexpr std::size_t kWindow = 512;  // how far ahead a 2nd+ topic is searched for
  const DiscreteSampler topics_per_doc(
      std::vector<double>(config.topics_per_doc_weights.begin(), config.topics_per_doc_weights.end()));
  std::vector<char> used(picks.size(), 0);
  std::vector<std::vector<int>> docs;
  std::size_t cursor = 0;
  for (;;) {
    while (cursor < picks.size() && used[cursor]) ++cursor;
    if (cursor == picks.size()) break;
    std::vector<int> topics{picks[cursor]};
    used[cursor] = 1;
    const std::size_t want = 1 + topics_per_doc(rng);
    while (topics.size() < want) {
      const bool related = rng.bernoulli(config.related_topic_prob);
      std::size_t chosen = picks.size(), fallback = picks.size(), scanned = 0;
      for (std::size_t i = cursor + 1; i < picks.size() && scanned < kWindow; ++i) {
        if (used[i]) continue;
        ++scanned;
        const int t = picks[i];
        if (std::any_of(topics.begin(), topics.end(), [&](int u) { return tree.related(t, u); })) continue;
        if (!related || tree.root[static_cast<std::size_t>(t)] == tree.root[static_cast<std::size_t>(topics[0])]) {
          chosen = i;
          break;
        }
        if (fallback == picks.size()) fallback = i;
      }
      if (chosen == picks.size()) chosen = fallback;
      if (chosen == picks.size()) break;  // nothing compatible left nearby: a shorter document
      used[chosen] = 1;
      topics.push_back(picks[chosen]);
    }
    docs.push_back(std::move(topics));
  }
  return docs;
}

}  // namespace

void GeneratorConfig::validate() const {
  if (tail_topic_count < 1) bad_config("tail_topic_count", ">= 1", tail_topic_count);
  if (head_topic_count < tail_topic_count) bad_config("head_topic_count", ">= tail_topic_count", head_topic_count);
  if (head_topic_count > 1000000) bad_config("head_topic_count", "<= 1e6", head_topic_count);
  if (!(eval_fraction >= 0 && eval_fraction <= 10)) bad_config("eval_fraction", "in [0, 10]", eval_fraction);
  if (eval_min_topic_count < 0) bad_config("eval_min_topic_count", ">= 0", eval_min_topic_count);
  double total = 0;
  for (double w : topics_per_doc_weights) {
    if (!(w >= 0 && std::isfinite(w))) bad_config("topics_per_doc_weights", "finite and >= 0", w);
    total += w;
  }
  if (!(total > 0)) bad_config("topics_per_doc_weights", "not all zero", total);
  if (!(related_topic_prob >= 0 && related_topic_prob <= 1))
    bad_config("related_topic_prob", "in [0, 1]", related_topic_prob);
  if (vocabulary_size < 2 || vocabulary_size > 10000000) bad_config("vocabulary_size", "in [2, 1e7]", vocabulary_size);
  if (words_per_topic < 1 || words_per_topic > vocabulary_size)
    bad_config("words_per_topic", "in [1, vocabulary_size]", words_per_topic);
  if (!(topic_word_overlap >= 0 && topic_word_overlap <= 1))
    bad_config("topic_word_overlap", "in [0, 1]", topic_word_overlap);
  if (!(parent_word_share >= 0 && parent_word_share < 1))
    bad_config("parent_word_share", "in [0, 1)", parent_word_share);
  if (words_per_doc < 1 || words_per_doc > 100000) bad_config("words_per_doc", "in [1, 1e5]", words_per_doc);
  if (!(noise_rate >= 0 && noise_rate < 1)) bad_config("noise_rate", "in [0, 1)", noise_rate);
  if (!(row_norm >= 0 && row_norm <= 1e6)) bad_config("row_norm", "in [0, 1e6]", row_norm);
  if (!(background_zipf_exponent >= 0 && background_zipf_exponent <= 4))
    bad_config("background_zipf_exponent", "in [0, 4]", background_zipf_exponent);
}

Splits generate_corpus(const LabelSet& taxonomy, const GeneratorConfig& config) {
  config.validate();
  validate_label_set(taxonomy, "generate_corpus(taxonomy)");
  if (taxonomy.size() == 0) throw std::invalid_argument("generate_corpus: the taxonomy has no labels");
  const Tree tree(taxonomy);
  const std::size_t k = taxonomy.size();

  // 1. Topic frequencies: Zipf through (1, head) and (K, tail) over random popularity ranks.
  std::vector<int> rank(k);
  {
    std::vector<int> order(k);
    std::iota(order.begin(), order.end(), 0);
    Rng rng(config.seed, kRanks);
    rng.shuffle(order);
    for (std::size_t r = 0; r < k; ++r) rank[static_cast<std::size_t>(order[r])] = static_cast<int>(r) + 1;
  }
  const double head = config.head_topic_count, tail = config.tail_topic_count;
  const double s = k > 1 ? det_log(head / tail) / det_log(static_cast<double>(k)) : 0.0;
  std::vector<int> train_count(k), eval_count(k);
  for (std::size_t i = 0; i < k; ++i) {
    const double c = head * det_pow(rank[i], -s);
    train_count[i] = std::max(config.tail_topic_count, static_cast<int>(std::floor(c + 0.5)));
    eval_count[i] = std::max(config.eval_min_topic_count,
                             static_cast<int>(std::floor(config.eval_fraction * train_count[i] + 0.5)));
  }

  // Vocabulary, topic word lists, background distribution.
  Rng vocab_rng(config.seed, kVocabulary);
  const std::vector<std::string> vocabulary = make_vocabulary(config.vocabulary_size, vocab_rng);
  Rng words_rng(config.seed, kTopicWords);
  const TopicWords topic_words = make_topic_words(tree, config, words_rng);
  std::vector<int> background_word(static_cast<std::size_t>(config.vocabulary_size));
  std::iota(background_word.begin(), background_word.end(), 0);
  Rng background_rng(config.seed, kBackground);
  background_rng.shuffle(background_word);
  const DiscreteSampler background(zipf_weights(background_word.size(), config.background_zipf_exponent));

  const int len_lo = std::max(1, config.words_per_doc / 2);
  const int len_hi = config.words_per_doc + config.words_per_doc / 2;

  Splits out;
  Dataset* split_out[3] = {&out.train, &out.validation, &out.test};
  const char* split_name[3] = {"train", "validation", "test"};
  std::vector<float> idf;
  for (int split = 0; split < 3; ++split) {
    Rng rng(config.seed, kSplitBase + static_cast<std::uint64_t>(split));
    const auto& count = split == 0 ? train_count : eval_count;
    std::vector<int> picks;
    for (std::size_t i = 0; i < k; ++i)
      picks.insert(picks.end(), static_cast<std::size_t>(count[i]), static_cast<int>(i));
    rng.shuffle(picks);
    const auto docs = pack_documents(picks, tree, config, rng);

    detail::CsrBuilder features, labels;
    std::vector<int> tokens;
    std::vector<int> doc_labels;
    for (const auto& topics : docs) {
      // 2. labels = topics + ancestors
      doc_labels.clear();
      for (int t : topics) {
        doc_labels.push_back(t);
        const auto& anc = tree.ancestors[static_cast<std::size_t>(t)];
        doc_labels.insert(doc_labels.end(), anc.begin(), anc.end());
      }
      std::sort(doc_labels.begin(), doc_labels.end());
      doc_labels.erase(std::unique(doc_labels.begin(), doc_labels.end()), doc_labels.end());
      for (int l : doc_labels) labels.add(l, 1.0f);
      labels.end_row();

      // 3. words
      const int length = len_lo + static_cast<int>(rng.below(static_cast<std::uint64_t>(len_hi - len_lo + 1)));
      tokens.clear();
      for (int n = 0; n < length; ++n) {
        if (rng.bernoulli(config.noise_rate)) {
          tokens.push_back(background_word[background(rng)]);
          continue;
        }
        int node = topics[rng.below(topics.size())];
        while (tree.parent[static_cast<std::size_t>(node)] >= 0 && rng.bernoulli(config.parent_word_share))
          node = tree.parent[static_cast<std::size_t>(node)];
        const auto& list = topic_words.words[static_cast<std::size_t>(node)];
        tokens.push_back(list[topic_words.within(rng)]);
      }
      std::sort(tokens.begin(), tokens.end());
      for (std::size_t a = 0; a < tokens.size();) {
        std::size_t b = a;
        while (b < tokens.size() && tokens[b] == tokens[a]) ++b;
        features.add(tokens[a], static_cast<float>(b - a));
        a = b;
      }
      features.end_row();
    }

    Dataset& d = *split_out[split];
    d.name = std::string("embedded-iab/") + split_name[split];
    d.features = features.build(config.vocabulary_size);
    d.labels = labels.build(static_cast<Eigen::Index>(k));
    d.label_set = taxonomy;
    d.feature_names = vocabulary;
    if (config.tfidf) {
      if (split == 0) idf = smooth_idf(d.features);
      if (config.row_norm > 0) {
        apply_tfidf(d.features, &idf, /*sublinear_tf=*/true);  // unit L2 rows
        if (config.row_norm != 1.0) d.features *= static_cast<float>(config.row_norm);
      } else {
        for (Eigen::Index r = 0; r < d.features.rows(); ++r)
          for (SparseRowMatrix::InnerIterator it(d.features, r); it; ++it)
            it.valueRef() = static_cast<float>((1 + det_log(it.value())) * idf[static_cast<std::size_t>(it.col())]);
      }
    }
  }
  return out;
}

}  // namespace longtail_train
