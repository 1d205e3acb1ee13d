// SPDX-License-Identifier: Apache-2.0
// Predict on raw text (issue 11 s.3): the embedded generator's text form holds its bag of words;
// the text featurizer survives a checkpoint bit for bit and bad featurizer sections are refused;
// `predict --text` gives exactly the probabilities of the same rows read as a TSV data set; the
// input rules (empty lines, CRLF, no final newline, invalid UTF-8, byte-order mark, long lines);
// a checkpoint without a featurizer; standard input.
#include <catch2/catch.hpp>

#include <cmath>
#include <cstdio>
#include <cstring>
#include <filesystem>
#include <fstream>
#include <iostream>
#include <limits>
#include <map>
#include <sstream>

#include <unistd.h>

#include "checkpoint.hpp"
#include "cli.hpp"
#include "commands.hpp"
#include "data/generator.hpp"
#include "data/text_tsv_reader.hpp"
#include "data/text_writer.hpp"
#include "data_source.hpp"
#include "decision_rules.hpp"
#include "inference.hpp"
#include "text_predict.hpp"
#include "trainer.hpp"
#include "trainer_test_data.hpp"

using namespace longtail_train;

namespace {

/// CTest runs every case of this file as a process of its own, several at once: each process
/// works in a folder of its own (a shared one let one case read the checkpoint another was
/// still writing), removed when the process ends.
const std::string& work_folder() {
  struct Folder {
    std::string path =
        (std::filesystem::temp_directory_path() / ("longtail_trainer_text_predict_" + std::to_string(::getpid())))
            .string();
    Folder() {
      std::filesystem::remove_all(path);
      std::filesystem::create_directories(path);
    }
    ~Folder() {
      std::error_code ignored;
      std::filesystem::remove_all(path, ignored);
    }
  };
  static const Folder folder;
  return folder.path;
}

const std::string kDir = work_folder();

/// A small generated corpus as raw counts (the generator's tfidf off), as `generate --format
/// text` writes it.
const Splits& counts() {
  static const Splits data = [] {
    GeneratorConfig g;
    g.head_topic_count = 60;
    g.tail_topic_count = 12;
    g.vocabulary_size = 300;
    g.words_per_topic = 10;
    g.words_per_doc = 30;
    g.tfidf = false;
    return generate_corpus(test_data::flat_labels(12, "Topic ", " > Sub"), g);
  }();
  return data;
}

/// The text form written once, trained on once through --tsv with the featurizer kept.
struct Trained {
  Splits data;
  std::optional<TextFeaturizer> featurizer;
  std::string checkpoint = kDir + "/model.ltck";
  LabelledTexts test_texts;
};

const Trained& trained() {
  static const Trained trained_once = [] {
    Trained t;
    write_labelled_text_splits(counts(), kDir);
    DataOptions o;
    o.tsv = kDir + "/train.tsv";
    o.tsv_validation = kDir + "/validation.tsv";
    o.tsv_test = kDir + "/test.tsv";
    o.hash_buckets = 1024;
    t.data = load_splits(o, &t.featurizer);
    TrainConfig c;
    c.hidden = {16};
    c.batch_size = 32;
    c.epochs = 4;
    c.patience = 0;
    c.adam.lr = 0.01;
    c.checkpoint_path = t.checkpoint;
    Progress quiet(ProgressMode::quiet);
    train_model(t.data, c, quiet, t.featurizer ? &*t.featurizer : nullptr);
    t.test_texts = read_labelled_texts(o.tsv_test);
    return t;
  }();
  return trained_once;
}

Mlp<float> model_of(const Checkpoint& c) {
  Mlp<float> m(c.shape, c.dense_input);
  m.parameters() = c.state.best_params;
  return m;
}

bool same_bits(const SparseRowMatrix& a, const SparseRowMatrix& b) {
  return a.rows() == b.rows() && a.cols() == b.cols() && a.nonZeros() == b.nonZeros() &&
         std::memcmp(a.outerIndexPtr(), b.outerIndexPtr(), sizeof(std::int32_t) * std::size_t(a.rows() + 1)) == 0 &&
         std::memcmp(a.innerIndexPtr(), b.innerIndexPtr(), sizeof(std::int32_t) * std::size_t(a.nonZeros())) == 0 &&
         std::memcmp(a.valuePtr(), b.valuePtr(), sizeof(float) * std::size_t(a.nonZeros())) == 0;
}

bool same_bits(const RowMatrix<float>& a, const RowMatrix<float>& b) {
  return a.rows() == b.rows() && a.cols() == b.cols() &&
         std::memcmp(a.data(), b.data(), sizeof(float) * std::size_t(a.size())) == 0;
}

/// Runs a command line, returns what it printed on stdout; `input` becomes standard input.
std::string run_cli(std::vector<std::string> args, const std::string& input = "") {
  std::vector<const char*> argv{"longtail-train"};
  for (const auto& a : args) argv.push_back(a.c_str());
  const CliOptions o = parse_cli(int(argv.size()), argv.data());
  std::istringstream in(input);
  std::ostringstream out;
  std::streambuf* const old_in = std::cin.rdbuf(in.rdbuf());
  std::streambuf* const old_out = std::cout.rdbuf(out.rdbuf());
  try {
    run_predict(o);
  } catch (...) {
    std::cin.rdbuf(old_in);
    std::cout.rdbuf(old_out);
    throw;
  }
  std::cin.rdbuf(old_in);
  std::cout.rdbuf(old_out);
  return out.str();
}

std::string join_lines(const std::vector<std::string>& lines) {
  std::string s;
  for (const auto& l : lines) s += l + "\n";
  return s;
}

/// What predict --text must print for `texts` (one JSON line each).
std::string expected_output(const TextPredictor& p, const std::vector<std::string>& texts) {
  const RowMatrix<float> probs = p.probabilities(texts);
  std::string s;
  for (Eigen::Index i = 0; i < probs.rows(); ++i) s += p.json_line(std::size_t(i) + 1, probs.row(i).data()) + "\n";
  return s;
}

/// The text form of `d` read back: every row's words and counts, and its labels, are d's.
void check_text_form(const Dataset& d, const LabelledTexts& t) {
  REQUIRE(t.texts.size() == std::size_t(d.rows()));
  std::map<std::string, int> column;
  for (std::size_t f = 0; f < d.feature_names.size(); ++f) column[d.feature_names[f]] = int(f);
  for (Eigen::Index r = 0; r < d.rows(); ++r) {
    std::map<int, float> words;  // the written text's word counts, by feature
    for (const auto& token : TextFeaturizer::tokenize(t.texts[std::size_t(r)])) {
      REQUIRE(column.count(token) == 1);
      words[column[token]] += 1;
    }
    std::map<int, float> expected;
    for (SparseRowMatrix::InnerIterator it(d.features, r); it; ++it) expected[int(it.col())] = it.value();
    REQUIRE(words == expected);
    std::vector<std::string> labels;
    for (SparseRowMatrix::InnerIterator it(d.labels, r); it; ++it)
      labels.push_back(d.label_set.names[std::size_t(it.col())]);
    REQUIRE(t.labels[std::size_t(r)] == labels);
  }
}

}  // namespace

TEST_CASE("generate's text form holds the generator's bag of words and labels", "[trainer][text]") {
  const Splits& d = counts();
  const std::string path = kDir + "/written_test.tsv";
  std::filesystem::create_directories(kDir);
  write_labelled_text_tsv(d.test, path);
  const LabelledTexts t = read_labelled_texts(path);
  check_text_form(d.test, t);
  // Weighted features cannot be written as words; nor can a label name with a comma.
  Dataset weighted = d.test;
  weighted.features.coeffRef(0, weighted.features.innerIndexPtr()[0]) = 0.5f;
  CHECK_THROWS_WITH(write_labelled_text_tsv(weighted, path), Catch::Contains("not a word count"));
  Dataset comma = d.test;
  comma.label_set.names[0] = "Arts, Crafts";
  CHECK_THROWS_WITH(write_labelled_text_tsv(comma, path), Catch::Contains("Arts, Crafts"));
}

TEST_CASE("the text featurizer survives a checkpoint bit for bit", "[trainer][text][checkpoint]") {
  TextFeaturizerConfig fc;
  fc.num_buckets = 512;
  fc.bigrams = true;
  fc.min_token_length = 3;
  fc.sublinear_tf = false;
  TextFeaturizer f(fc);
  const std::vector<std::string> fit_texts = {"the quick brown fox", "jumps over the lazy dog", "caf\xC3\xA9 au lait",
                                              "the the the fox"};
  f.fit(fit_texts);
  Checkpoint c;
  c.data = "text";
  c.shape = MlpShape{512, {}, 3};
  const auto P = c.shape.parameter_count();
  c.state.params = c.state.best_params = c.state.adam_m = c.state.adam_v = Eigen::VectorXf::Zero(P);
  c.featurizer = f;
  const std::string path = kDir + "/featurizer.ltck";
  std::filesystem::create_directories(kDir);
  save_checkpoint(path, c);
  const Checkpoint loaded = load_checkpoint(path);
  REQUIRE(loaded.featurizer.has_value());
  const TextFeaturizerConfig& lc = loaded.featurizer->config();
  CHECK(lc.num_buckets == 512);
  CHECK(lc.bigrams);
  CHECK(lc.min_token_length == 3);
  CHECK_FALSE(lc.sublinear_tf);
  CHECK(lc.use_idf);
  CHECK(loaded.featurizer->idf() == f.idf());
  const std::vector<std::string> texts = {"The quick fox, unseen words and caf\xC3\xA9 \xFF\xFE bytes", "", "dog dog"};
  CHECK(same_bits(loaded.featurizer->transform(texts), f.transform(texts)));

  SECTION("a checkpoint without a featurizer loads without one") {
    c.featurizer.reset();
    save_checkpoint(path, c);
    CHECK_FALSE(load_checkpoint(path).featurizer.has_value());
  }
  SECTION("more or fewer buckets than model inputs are refused, naming the file") {
    c.shape = MlpShape{256, {}, 3};
    const auto P2 = c.shape.parameter_count();
    c.state.params = c.state.best_params = c.state.adam_m = c.state.adam_v = Eigen::VectorXf::Zero(P2);
    save_checkpoint(path, c);
    CHECK_THROWS_WITH(load_checkpoint(path),
                      Catch::Contains(path) && Catch::Contains("512 hash buckets") && Catch::Contains("256 inputs"));
  }
  SECTION("an idf that is not finite and positive is refused, naming the file") {
    for (const float bad :
         {std::numeric_limits<float>::quiet_NaN(), std::numeric_limits<float>::infinity(), 0.0f, -1.0f}) {
      std::vector<float> idf = f.idf();
      idf[7] = bad;
      TextFeaturizer damaged(fc);
      damaged.set_idf(idf);
      c.featurizer = damaged;
      save_checkpoint(path, c);
      CHECK_THROWS_WITH(load_checkpoint(path), Catch::Contains(path) && Catch::Contains("idf"));
    }
  }
  std::remove(path.c_str());
}

TEST_CASE("predict --text gives the probabilities of the same rows read as a TSV data set", "[trainer][text]") {
  const Trained& t = trained();
  REQUIRE(t.featurizer.has_value());
  const Checkpoint c = load_checkpoint(t.checkpoint);
  REQUIRE(c.featurizer.has_value());
  const Mlp<float> model = model_of(c);
  const TextPredictor predictor(model, *c.featurizer, c.thresholds, c.label_names);
  const RowMatrix<float> from_text = predictor.probabilities(t.test_texts.texts);
  const RowMatrix<float> from_tsv = predict_probabilities(model, t.data.test.features);
  CHECK(same_bits(from_text, from_tsv));

  // Through the command line, from a file of documents.
  const std::string docs = kDir + "/test_docs.txt";
  {
    std::ofstream out(docs, std::ios::binary);
    out << join_lines(t.test_texts.texts);
  }
  const std::string printed = run_cli({"predict", "--checkpoint", t.checkpoint, "--text", docs, "--top", "3"});
  TextPredictOptions top3;
  top3.top = 3;
  top3.at_least_one = c.at_least_one;  // the checkpoint's decision rule, as predict applies it
  const TextPredictor p3(model, *c.featurizer, c.thresholds, c.label_names, top3);
  CHECK(printed == expected_output(p3, t.test_texts.texts));

  // The first line, spelt out: top 3 names / indices / probabilities, and the labels above their
  // tuned thresholds (or the top label, when none is and the rule has at-least-one).
  REQUIRE(c.thresholds.size() == c.shape.outputs);
  const auto first = printed.substr(0, printed.find('\n'));
  std::vector<Eigen::Index> order(std::size_t(c.shape.outputs));
  for (std::size_t j = 0; j < order.size(); ++j) order[j] = Eigen::Index(j);
  std::stable_sort(order.begin(), order.end(),
                   [&](Eigen::Index a, Eigen::Index b) { return from_tsv(0, a) > from_tsv(0, b); });
  std::string expected = "{\"line\": 1, \"top\": [";
  for (int r = 0; r < 3; ++r) {
    const Eigen::Index j = order[std::size_t(r)];
    char p[32];
    std::snprintf(p, sizeof p, "%.4f", double(from_tsv(0, j)));
    expected += std::string(r ? ", " : "") + "{\"label\": \"" + c.label_names[std::size_t(j)] +
                "\", \"index\": " + std::to_string(j) + ", \"p\": " + p + "}";
  }
  expected += "], \"predicted\": [";
  bool any = false;
  for (const Eigen::Index j : order)
    if (double(from_tsv(0, j)) > c.thresholds[j]) {
      expected += std::string(any ? ", " : "") + "\"" + c.label_names[std::size_t(j)] + "\"";
      any = true;
    }
  if (!any && c.at_least_one) expected += "\"" + c.label_names[std::size_t(order[0])] + "\"";
  expected += "]}";
  CHECK(first == expected);
  std::remove(docs.c_str());
}

TEST_CASE("predict --text with at-least-one predicts the top label where no label clears its threshold",
          "[trainer][text][rules]") {
  const Trained& t = trained();
  const Checkpoint c = load_checkpoint(t.checkpoint);
  const Mlp<float> model = model_of(c);
  const Eigen::ArrayXd never = Eigen::ArrayXd::Ones(c.shape.outputs);  // p > 1 never holds
  TextPredictOptions plain, top1;
  plain.top = top1.top = 1;
  top1.at_least_one = true;
  const TextPredictor without(model, *c.featurizer, never, c.label_names, plain);
  const TextPredictor with(model, *c.featurizer, never, c.label_names, top1);
  auto first_line = [&](const TextPredictor& p) {
    std::istringstream in(t.test_texts.texts[0]);
    std::ostringstream out;
    p.run(in, "input.txt", out);
    return out.str();
  };
  const RowMatrix<float> probs = without.probabilities({t.test_texts.texts[0]});
  const std::string top = c.label_names[std::size_t(top_label(probs.row(0).data(), probs.cols()))];
  CHECK_THAT(first_line(without), Catch::EndsWith("\"predicted\": []}\n"));
  CHECK_THAT(first_line(with), Catch::EndsWith("\"predicted\": [\"" + top + "\"]}\n") &&
                                   Catch::Contains("\"top\": [{\"label\": \"" + top + "\""));
}

TEST_CASE("predict --text input rules: empty lines, CRLF, last line, UTF-8, BOM, long lines", "[trainer][text]") {
  const Trained& t = trained();
  const Checkpoint c = load_checkpoint(t.checkpoint);
  const Mlp<float> model = model_of(c);
  TextPredictOptions small_batches;
  small_batches.batch_rows = 2;  // the lines below span several batches
  const TextPredictor predictor(model, *c.featurizer, c.thresholds, c.label_names, small_batches);
  const std::string a = t.test_texts.texts[0], b = t.test_texts.texts[1];
  auto run = [&](const std::string& input) {
    std::istringstream in(input);
    std::ostringstream out;
    predictor.run(in, "input.txt", out);
    return out.str();
  };
  // Empty lines are empty documents (output line i answers input line i); CRLF = LF; the last
  // line needs no newline; a BOM at the start is not part of the first word; bytes that are not
  // UTF-8 are token bytes like in training.
  const std::string invalid_utf8 = a + " caf\xC3 \xFF\xFEword";
  const std::vector<std::string> docs = {a, "", b, "", invalid_utf8, a};
  const std::string expected = expected_output(predictor, docs);
  CHECK(run(a + "\n\n" + b + "\n\n" + invalid_utf8 + "\n" + a + "\n") == expected);
  CHECK(run(a + "\r\n\r\n" + b + "\r\n\r\n" + invalid_utf8 + "\r\n" + a) == expected);
  CHECK(run("\xEF\xBB\xBF" + a + "\n\n" + b + "\n\n" + invalid_utf8 + "\n" + a) == expected);
  CHECK(run("") == "");
  CHECK(run("\n").find("{\"line\": 1, ") == 0);
  // The empty document has an answer of its own (the biases alone), not a copy of another line.
  CHECK(expected_output(predictor, {""}) != expected_output(predictor, {a}));

  TextPredictOptions limited = small_batches;
  limited.max_line_bytes = 40;
  const TextPredictor strict(model, *c.featurizer, c.thresholds, c.label_names, limited);
  std::istringstream in("short line\n" + std::string(41, 'x') + "\nmore\n");
  std::ostringstream out;
  CHECK_THROWS_AS(strict.run(in, "big.txt", out), text_input_error);
  std::istringstream in2("short line\n" + std::string(1 << 20, 'x') + "\n");
  CHECK_THROWS_WITH(strict.run(in2, "big.txt", out), Catch::Contains("big.txt line 2") && Catch::Contains("40 bytes"));
  std::istringstream fits(std::string(40, 'x') + "\r\n");  // 40 bytes + CR: within the limit
  CHECK(strict.run(fits, "ok.txt", out) == 1);
}

TEST_CASE("predict --text reads standard input and refuses models not trained on text", "[trainer][text]") {
  const Trained& t = trained();
  const std::vector<std::string> docs(t.test_texts.texts.begin(), t.test_texts.texts.begin() + 5);
  const std::string from_stdin = run_cli({"predict", "--checkpoint", t.checkpoint, "--text", "-"}, join_lines(docs));
  const Checkpoint c = load_checkpoint(t.checkpoint);
  const Mlp<float> model = model_of(c);
  const TextPredictor predictor(model, *c.featurizer, c.thresholds, c.label_names);
  CHECK(from_stdin == expected_output(predictor, docs));

  Checkpoint no_text = c;
  no_text.featurizer.reset();
  const std::string path = kDir + "/no_text.ltck";
  save_checkpoint(path, no_text);
  CHECK_THROWS_WITH(run_cli({"predict", "--checkpoint", path, "--text", "-"}, "a document\n"),
                    Catch::Contains(path) && Catch::Contains("trained on non-text data") &&
                        Catch::Contains("--text needs a model trained with --tsv"));
  CHECK_THROWS_WITH(run_cli({"predict", "--checkpoint", t.checkpoint, "--text", kDir + "/missing.txt"}),
                    Catch::Contains("missing.txt"));
  CHECK_THROWS_WITH(run_cli({"predict", "--checkpoint", t.checkpoint, "--text", "-", "--tsv", "x.tsv"}),
                    Catch::Contains("do not apply"));
  std::remove(path.c_str());
}

TEST_CASE("generate --format text writes the embedded data's documents as labelled text", "[trainer][text]") {
  const std::string dir = kDir + "/generated";
  const std::vector<const char*> argv = {
      "longtail-train", "generate", "--out",       dir.c_str(),
      "--format",       "text",     "--generator", "head_topic_count=40,tail_topic_count=3"};
  const CliOptions o = parse_cli(int(argv.size()), argv.data());
  std::ostringstream printed;
  std::streambuf* const old_out = std::cout.rdbuf(printed.rdbuf());
  const int rc = run_generate(o);
  std::cout.rdbuf(old_out);
  REQUIRE(rc == 0);
  // The same documents as raw counts (the generator with tfidf off).
  DataOptions raw = o.data;
  raw.generator_overrides.emplace_back("tfidf", "0");
  const Splits counts_of_run = load_splits(raw);
  check_text_form(counts_of_run.train, read_labelled_texts(dir + "/train.tsv"));
  check_text_form(counts_of_run.validation, read_labelled_texts(dir + "/validation.tsv"));
  check_text_form(counts_of_run.test, read_labelled_texts(dir + "/test.tsv"));
  CHECK_THROWS_WITH(
      parse_cli(5, std::vector<const char*>{"longtail-train", "generate", "--out", "x", "--format"}.data()),
      Catch::Contains("--format"));
}
