// SPDX-License-Identifier: Apache-2.0
#include "data_source.hpp"

#include <cmath>
#include <cstdlib>
#include <numeric>
#include <stdexcept>

#include "common/fnv1a.hpp"
#include "data/readers.hpp"
#include "data/split.hpp"

namespace longtail_train {
namespace {

double parse_double(const std::string& key, const std::string& v) {
  char* end = nullptr;
  const double d = std::strtod(v.c_str(), &end);
  if (v.empty() || *end != '\0' || !std::isfinite(d))
    throw std::invalid_argument("--generator " + key + "=" + v + ": expected a number");
  return d;
}

int parse_int(const std::string& key, const std::string& v) {
  const double d = parse_double(key, v);
  if (d != std::floor(d) || std::abs(d) > 1e9)
    throw std::invalid_argument("--generator " + key + "=" + v + ": expected an integer");
  return static_cast<int>(d);
}

/// train file (+ optional test file) -> train / validation / test (data/split.hpp's rule).
Splits from_files(const Dataset& train_file, const Dataset* test_file, const DataOptions& o) {
  Splits out = split_dataset(train_file, test_file ? 0.0 : o.test_fraction, o.validation_fraction, o.data_seed);
  if (test_file) out.test = *test_file;
  return out;
}

LabelledTexts take_texts(const LabelledTexts& all, const std::vector<std::size_t>& rows, const std::string& suffix) {
  LabelledTexts t;
  t.source = all.source + suffix;
  for (auto r : rows) {
    t.texts.push_back(all.texts[r]);
    t.labels.push_back(all.labels[r]);
    t.line_numbers.push_back(all.line_numbers[r]);
  }
  return t;
}

Splits from_tsv(const DataOptions& o, std::optional<TextFeaturizer>* featurizer_out) {
  TextFeaturizerConfig fc;
  fc.num_buckets = o.hash_buckets;
  fc.bigrams = o.bigrams;
  fc.validate();
  const LabelledTexts all = read_labelled_texts(o.tsv);
  // Carve test / validation out of the training file where no file is given, BEFORE fitting the
  // featurizer, so that idf is learnt from training rows only (data/split.hpp's rule).
  const RowPartition rows = partition_rows(Eigen::Index(all.texts.size()), o.tsv_test.empty() ? o.test_fraction : 0.0,
                                           o.tsv_validation.empty() ? o.validation_fraction : 0.0, o.data_seed);
  auto as_sizes = [](const std::vector<Eigen::Index>& v) { return std::vector<std::size_t>(v.begin(), v.end()); };
  const auto train_rows = as_sizes(rows.train), val_rows = as_sizes(rows.validation), test_rows = as_sizes(rows.test);
  const LabelledTexts train = take_texts(all, train_rows, "/train");
  const LabelledTexts val =
      o.tsv_validation.empty() ? take_texts(all, val_rows, "/validation") : read_labelled_texts(o.tsv_validation);
  const LabelledTexts test = o.tsv_test.empty() ? take_texts(all, test_rows, "/test") : read_labelled_texts(o.tsv_test);
  const LabelSet labels = collect_label_names({&train, &val, &test});
  TextFeaturizer featurizer(fc);
  featurizer.fit(train.texts);
  Splits s;
  s.train = make_text_dataset(train, featurizer, labels);
  s.validation = make_text_dataset(val, featurizer, labels);
  s.test = make_text_dataset(test, featurizer, labels);
  s.train.name = train.source;
  s.validation.name = val.source;
  s.test.name = test.source;
  if (featurizer_out) *featurizer_out = std::move(featurizer);
  return s;
}

}  // namespace

std::string DataOptions::source() const {
  if (!arff.empty()) return "arff";
  if (!xmc.empty()) return "xmc";
  if (!tsv.empty()) return "tsv";
  if (!data_dir.empty()) return "dir";
  return "embedded";
}

void DataOptions::validate() const {
  const int sources = int(!arff.empty()) + int(!xmc.empty()) + int(!tsv.empty()) + int(!data_dir.empty());
  if (sources > 1) throw std::invalid_argument("choose one data source: --arff, --xmc, --tsv or --data-dir");
  if (!arff_test.empty() && arff.empty()) throw std::invalid_argument("--arff-test needs --arff (the training file)");
  if ((labels > 0 || !xml.empty()) && arff.empty()) throw std::invalid_argument("--labels / --xml go with --arff");
  if (!arff.empty() && labels <= 0 && xml.empty())
    throw std::invalid_argument("--arff needs the label count: --labels L or --xml FILE (the Mulan labels XML)");
  if (!xmc_test.empty() && xmc.empty()) throw std::invalid_argument("--xmc-test needs --xmc (the training file)");
  if ((!tsv_validation.empty() || !tsv_test.empty()) && tsv.empty())
    throw std::invalid_argument("--tsv-validation / --tsv-test need --tsv (the training file)");
  if (!taxonomy.empty() && sources > 0) throw std::invalid_argument("--taxonomy is for the embedded generator only");
  if (!generator_overrides.empty() && sources > 0)
    throw std::invalid_argument("--generator is for the embedded generator only");
  if (!(validation_fraction >= 0 && validation_fraction < 1))
    throw std::invalid_argument("--validation-fraction must be in [0, 1) (got " + std::to_string(validation_fraction) +
                                ")");
  if (!(test_fraction >= 0 && test_fraction < 1))
    throw std::invalid_argument("--test-fraction must be in [0, 1) (got " + std::to_string(test_fraction) + ")");
}

GeneratorConfig generator_config(const DataOptions& o) {
  GeneratorConfig g;
  g.seed = o.data_seed;
  for (const auto& [key, value] : o.generator_overrides) {
    if (key == "seed")
      g.seed = static_cast<std::uint64_t>(parse_double(key, value));
    else if (key == "head_topic_count")
      g.head_topic_count = parse_int(key, value);
    else if (key == "tail_topic_count")
      g.tail_topic_count = parse_int(key, value);
    else if (key == "eval_fraction")
      g.eval_fraction = parse_double(key, value);
    else if (key == "eval_min_topic_count")
      g.eval_min_topic_count = parse_int(key, value);
    else if (key == "related_topic_prob")
      g.related_topic_prob = parse_double(key, value);
    else if (key == "vocabulary_size")
      g.vocabulary_size = parse_int(key, value);
    else if (key == "words_per_topic")
      g.words_per_topic = parse_int(key, value);
    else if (key == "topic_word_overlap")
      g.topic_word_overlap = parse_double(key, value);
    else if (key == "parent_word_share")
      g.parent_word_share = parse_double(key, value);
    else if (key == "words_per_doc")
      g.words_per_doc = parse_int(key, value);
    else if (key == "noise_rate")
      g.noise_rate = parse_double(key, value);
    else if (key == "background_zipf_exponent")
      g.background_zipf_exponent = parse_double(key, value);
    else if (key == "tfidf")
      g.tfidf = parse_int(key, value) != 0;
    else if (key == "row_norm")
      g.row_norm = parse_double(key, value);
    else if (key == "topics_per_doc_weights") {
      std::size_t i = 0, start = 0;
      for (; i < 4; ++i) {
        const auto end = value.find(':', start);
        g.topics_per_doc_weights[i] = parse_double(key, value.substr(start, end - start));
        if (end == std::string::npos) break;
        start = end + 1;
      }
      if (i != 3) throw std::invalid_argument("--generator topics_per_doc_weights=" + value + ": expected p1:p2:p3:p4");
    } else {
      throw std::invalid_argument("--generator: unknown knob '" + key +
                                  "' (knobs: seed, head_topic_count, tail_topic_count, eval_fraction, "
                                  "eval_min_topic_count, topics_per_doc_weights, related_topic_prob, vocabulary_size, "
                                  "words_per_topic, topic_word_overlap, parent_word_share, words_per_doc, noise_rate, "
                                  "background_zipf_exponent, tfidf, row_norm)");
    }
  }
  g.validate();
  return g;
}

std::uint64_t fingerprint(const Dataset& d) {
  std::uint64_t h = kFnv1aOffset;
  auto matrix = [&h](const SparseRowMatrix& given) {
    SparseRowMatrix compressed;
    const SparseRowMatrix* m = &given;
    if (!given.isCompressed()) {
      compressed = given;
      compressed.makeCompressed();
      m = &compressed;
    }
    const std::int64_t shape[3] = {m->rows(), m->cols(), m->nonZeros()};
    h = fnv1a64(shape, sizeof shape, h);
    h = fnv1a64(m->outerIndexPtr(), sizeof(std::int32_t) * std::size_t(m->outerSize() + 1), h);
    h = fnv1a64(m->innerIndexPtr(), sizeof(std::int32_t) * std::size_t(m->nonZeros()), h);
    h = fnv1a64(m->valuePtr(), sizeof(float) * std::size_t(m->nonZeros()), h);
  };
  matrix(d.features);
  matrix(d.labels);
  for (const auto& name : d.label_set.names) h = fnv1a64(name.data(), name.size() + 1, h);  // with the NUL
  return h;
}

Splits load_splits(const DataOptions& o, std::optional<TextFeaturizer>* featurizer) {
  o.validate();
  if (featurizer) featurizer->reset();
  const std::string src = o.source();
  Splits s;
  if (src == "embedded") {
    const GeneratorConfig g = generator_config(o);
    const LabelSet taxonomy =
        o.taxonomy.empty() ? generate_iab_like_taxonomy(g.seed) : read_iab_taxonomy_tsv(o.taxonomy);
    s = generate_corpus(taxonomy, g);
  } else if (src == "arff") {
    const Dataset train = read_mulan_arff(o.arff, o.labels, o.xml);
    if (o.arff_test.empty()) {
      s = from_files(train, nullptr, o);
    } else {
      const Dataset test = read_mulan_arff(o.arff_test, o.labels, o.xml);
      s = from_files(train, &test, o);
    }
  } else if (src == "xmc") {
    const Dataset train = read_xmc_text(o.xmc);
    if (o.xmc_test.empty()) {
      s = from_files(train, nullptr, o);
    } else {
      const Dataset test = read_xmc_text(o.xmc_test);
      s = from_files(train, &test, o);
    }
  } else if (src == "tsv") {
    s = from_tsv(o, featurizer);
  } else {
    s = read_splits(o.data_dir);
  }
  for (Dataset* d : {&s.train, &s.validation, &s.test}) {
    d->features.makeCompressed();
    d->labels.makeCompressed();
  }
  return s;
}

}  // namespace longtail_train
