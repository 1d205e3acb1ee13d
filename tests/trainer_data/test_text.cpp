// SPDX-License-Identifier: Apache-2.0
#include <cmath>
#include <stdexcept>

#include "data/text_featurizer.hpp"
#include "data/text_tsv_reader.hpp"
#include "test_support.hpp"

using namespace longtail_train;
using test_support::require_data_error;

TEST_CASE("text featurizer: tokenisation", "[text]") {
  CHECK(TextFeaturizer::tokenize("The match ended 2-1; FOOTBALL fans!") ==
        std::vector<std::string>{"the", "match", "ended", "2", "1", "football", "fans"});
  CHECK(TextFeaturizer::tokenize("  Caf\xC3\xA9 na\xC3\xAFve\t") ==
        std::vector<std::string>{"caf\xC3\xA9", "na\xC3\xAFve"});  // UTF-8 letters stay in the token
  CHECK(TextFeaturizer::tokenize("...").empty());
}

TEST_CASE("text featurizer: hashed TF-IDF, L2 rows, fit on train reused on test", "[text]") {
  TextFeaturizerConfig config;
  config.num_buckets = 1 << 12;
  TextFeaturizer f(config);
  CHECK_THROWS_AS(f.transform({"x"}), std::logic_error);
  const std::vector<std::string> train = {"apple banana apple", "banana cherry", "cherry cherry date"};
  const SparseRowMatrix x = f.fit_transform(train);
  REQUIRE(x.rows() == 3);
  REQUIRE(x.cols() == 4096);
  // apple appears in 1 of 3 documents, banana and cherry in 2: smooth idf ln(4/2)+1 and ln(4/3)+1.
  const auto a = f.bucket("apple"), b = f.bucket("banana"), c = f.bucket("cherry");
  CHECK(f.idf()[static_cast<std::size_t>(a)] == Approx(std::log(4.0 / 2) + 1));
  CHECK(f.idf()[static_cast<std::size_t>(b)] == Approx(std::log(4.0 / 3) + 1));
  // Row 0: tf(apple) = 1 + ln 2, tf(banana) = 1, times idf, L2-normalised.
  const double wa = (1 + std::log(2.0)) * (std::log(2.0) + 1), wb = std::log(4.0 / 3) + 1;
  CHECK(x.coeff(0, a) == Approx(wa / std::hypot(wa, wb)));
  CHECK(x.coeff(0, b) == Approx(wb / std::hypot(wa, wb)));
  CHECK(x.coeff(0, c) == 0);
  // A test text: unseen words get the largest idf (ln 4 + 1); features use the TRAIN idf.
  const SparseRowMatrix t = f.transform({"apple kiwi", ""});
  const auto k = f.bucket("kiwi");
  const double wk = std::log(4.0) + 1, wa2 = std::log(2.0) + 1;
  CHECK(t.coeff(0, k) == Approx(wk / std::hypot(wk, wa2)));
  CHECK(t.row(1).nonZeros() == 0);  // an empty text stays an empty row
  // Restoring the idf (e.g. from a checkpoint) gives the same features.
  TextFeaturizer g(config);
  g.set_idf(f.idf());
  CHECK(test_support::identical(g.transform(train), x));
  CHECK_THROWS_AS(g.set_idf({1.0f}), std::invalid_argument);
}

TEST_CASE("text featurizer: bigrams, min length, no idf", "[text]") {
  TextFeaturizerConfig config;
  config.num_buckets = 1 << 16;
  config.min_token_length = 3;
  TextFeaturizer unigram(config);
  config.bigrams = true;
  TextFeaturizer bigram(config);
  config.bigrams = false;
  config.use_idf = false;
  TextFeaturizer tf_only(config);
  const std::vector<std::string> texts = {"new york is big", "a new idea"};
  unigram.fit(texts);
  bigram.fit(texts);
  CHECK(unigram.transform(texts).row(0).nonZeros() == 3);  // "is" is shorter than 3
  CHECK(bigram.transform(texts).row(0).nonZeros() == 5);   // + "new york", "york big"
  const SparseRowMatrix plain = tf_only.transform(texts);  // no fit needed without idf
  CHECK(plain.coeff(0, tf_only.bucket("new")) == Approx(1 / std::sqrt(3.0)));
  CHECK_THROWS_AS(TextFeaturizer(TextFeaturizerConfig{0}), std::invalid_argument);
}

TEST_CASE("labelled text TSV: one file", "[text][reader]") {
  const std::string path = test_support::sample("sample_texts.tsv");
  TextFeaturizerConfig config;
  config.num_buckets = 1024;
  const Dataset d = read_labelled_text_tsv(path, config);
  REQUIRE(d.rows() == 5);
  CHECK(d.num_features() == 1024);
  CHECK(d.label_set.names == std::vector<std::string>{"sports", "football", "politics", "economy"});
  Eigen::MatrixXf y(5, 4);
  y << 1, 1, 0, 0,  //
      0, 0, 1, 0,   //
      1, 0, 0, 0,   //
      0, 0, 0, 0,   //
      0, 0, 1, 1;
  CHECK(Eigen::MatrixXf(d.labels) == y);
  for (Eigen::Index r = 0; r < d.rows(); ++r) CHECK(d.features.row(r).norm() == Approx(1.0f));
}

TEST_CASE("labelled text TSV: train / validation / test share labels and the train featurizer", "[text][reader]") {
  test_support::TempDir dir;
  const auto train = dir.write("train.tsv", "a\tred apple\nb\tgreen pear\na,b\tred pear\n");
  const auto val = dir.write("val.tsv", "b\tpear\n");
  const auto test = dir.write("test.tsv", "c\tred kiwi\n");
  TextFeaturizerConfig config;
  config.num_buckets = 512;
  TextFeaturizer fitted;
  const Splits s = read_labelled_text_splits(train, val, test, config, &fitted);
  CHECK(s.train.label_set.names == std::vector<std::string>{"a", "b", "c"});
  CHECK(s.test.labels.coeff(0, 2) == 1);  // a label seen only in test still has a column
  CHECK(s.validation.rows() == 1);
  // The featurizer was fitted on train only: "kiwi" never appeared there.
  CHECK(fitted.idf()[static_cast<std::size_t>(fitted.bucket("kiwi"))] == Approx(std::log(4.0) + 1));
  CHECK(test_support::identical(fitted.transform({"red kiwi"}), s.test.features));
  const Splits no_eval = read_labelled_text_splits(train, "", "", config);
  CHECK(no_eval.validation.rows() == 0);
  CHECK(no_eval.test.num_labels() == 2);
}

TEST_CASE("labelled text TSV: malformed lines name file and line", "[text][reader][errors]") {
  test_support::TempDir dir;
  struct Case {
    const char* what;
    std::string content;
    std::size_t line;
    const char* needle;
  };
  const Case cases[] = {
      {"no tab", "a\tok\n\nb no tab here\n", 3, "expected 'label1,label2<TAB>text' (no tab found)"},
      {"empty label between commas", "a,,b\ttext\n", 1, "empty label name"},
      {"trailing comma", "a\tx\nb,\ttext\n", 2, "empty label name"},
      {"only blank lines", "\n \n", 0, "no rows"},
  };
  for (const auto& c : cases) {
    INFO(c.what);
    const auto path = dir.write("bad.tsv", c.content);
    require_data_error([&] { read_labelled_texts(path); }, path, c.line, c.needle);
  }
  // A label unknown to the label set (e.g. a test label when only train's are used).
  const auto train = dir.write("train.tsv", "a\tx\n");
  const auto test = dir.write("test.tsv", "a\tx\n\nzzz\ty\n");
  TextFeaturizer f;
  f.fit({"x"});
  const LabelledTexts tr = read_labelled_texts(train), te = read_labelled_texts(test);
  const LabelSet labels = collect_label_names({&tr});
  require_data_error([&] { make_text_dataset(te, f, labels); }, test, 3, "unknown label \"zzz\"");
  require_data_error([&] { read_labelled_texts(dir.path("none.tsv")); }, dir.path("none.tsv"), 0, "cannot open");
}

TEST_CASE("labelled text TSV: a UTF-8 byte-order mark is not part of the first label", "[text][reader]") {
  test_support::TempDir dir;
  const auto p = dir.write("bom.tsv",
                           "\xEF\xBB\xBF"
                           "sports,news\tthe match\r\nnews\tthe vote\r\n");
  const LabelledTexts t = read_labelled_texts(p);
  REQUIRE(t.labels.size() == 2);
  CHECK(t.labels[0] == std::vector<std::string>{"sports", "news"});
  CHECK(collect_label_names({&t}).names == std::vector<std::string>{"sports", "news"});
}

TEST_CASE("labelled text TSV: a row with 100k labels keeps first occurrences in order", "[text][reader]") {
  // Duplicate removal within a row used to compare each name with all earlier ones: this test
  // took 28 s (now 0.3 s). The row below repeats every 1000th name at the end.
  constexpr int kLabels = 100000;
  std::string row;
  for (int i = 0; i < kLabels; ++i) row += (i ? "," : "") + std::string("L") + std::to_string(i);
  for (int i = 0; i < kLabels; i += 1000) row += ",L" + std::to_string(i);
  test_support::TempDir dir;
  const auto p = dir.write("long.tsv", row + "\tsome text\nL7,L7 , L3\tmore\n");
  const LabelledTexts t = read_labelled_texts(p);
  REQUIRE(t.labels.size() == 2);
  REQUIRE(t.labels[0].size() == std::size_t(kLabels));
  bool in_order = true;
  for (int i = 0; i < kLabels; ++i) in_order = in_order && t.labels[0][std::size_t(i)] == "L" + std::to_string(i);
  CHECK(in_order);
  CHECK(t.labels[1] == std::vector<std::string>{"L7", "L3"});
}

TEST_CASE("labelled text TSV: loud on no labels, unreadable paths, invisible bytes", "[text][reader][errors]") {
  test_support::TempDir dir;
  TextFeaturizerConfig config;
  config.num_buckets = 64;
  SECTION("no row has a label: no label columns") {
    const auto p = dir.write("nolabels.tsv", "\tjust text\n\tmore text\n");
    require_data_error([&] { read_labelled_text_tsv(p, config); }, p, 0, "no labels");
    const auto q = dir.write("nolabels2.tsv", "\tstill no labels\n");
    require_data_error([&] { read_labelled_text_splits(p, q, "", config); }, p, 0, "no labels");
  }
  SECTION("a directory, a missing file: the reason is in the message") {
    std::filesystem::create_directory(dir.path("sub"));
    require_data_error([&] { read_labelled_texts(dir.path("sub")); }, dir.path("sub"), 0, "Is a directory");
    require_data_error([&] { read_labelled_texts(dir.path("none.tsv")); }, dir.path("none.tsv"), 0,
                       "No such file or directory");
  }
  SECTION("control characters and a byte-order mark inside a bad label list are shown escaped") {
    const auto p = dir.write("ctl.tsv",
                             "a\tx\n\xEF\xBB\xBF"
                             "a,,\x01"
                             "b\ttext\n");
    test_support::data_error_message([&] { read_labelled_texts(p); }, "\"\\xEF\\xBB\\xBFa,,\\x01b\"");
  }
}
