// SPDX-License-Identifier: Apache-2.0
#include <stdexcept>

#include "data/dataset_io.hpp"
#include "data/generator.hpp"
#include "data/label_set_io.hpp"
#include "data/taxonomy.hpp"
#include "data/xmc_text.hpp"
#include "test_support.hpp"

using namespace longtail_train;
using test_support::require_data_error;

TEST_CASE("dataset I/O: generated splits round-trip exactly through files", "[io]") {
  test_support::TempDir dir;
  GeneratorConfig config;
  config.head_topic_count = 40;
  config.vocabulary_size = 700;
  const Splits s = generate_corpus(generate_iab_like_taxonomy(2), config);
  write_splits(s, dir.path("corpus"));
  // Written as one unit: every file in place, the RUNNING marker gone, no temporary left.
  CHECK_FALSE(std::filesystem::exists(dir.path("corpus/RUNNING")));
  for (const auto& entry : std::filesystem::directory_iterator(dir.path("corpus")))
    CHECK(entry.path().filename().string().find(".tmp-") == std::string::npos);
  const Splits r = read_splits(dir.path("corpus"));
  const Dataset* a[3] = {&s.train, &s.validation, &s.test};
  const Dataset* b[3] = {&r.train, &r.validation, &r.test};
  for (int i = 0; i < 3; ++i) {
    INFO(a[i]->name);
    CHECK(test_support::identical(a[i]->features, b[i]->features));
    CHECK(test_support::identical(a[i]->labels, b[i]->labels));
    CHECK(b[i]->label_set.names == a[i]->label_set.names);
    CHECK(b[i]->label_set.parent == a[i]->label_set.parent);
    CHECK(b[i]->label_set.tier == a[i]->label_set.tier);
    CHECK(b[i]->feature_names == a[i]->feature_names);
  }
  CHECK(r.train.name == "train.txt");
}

TEST_CASE("dataset I/O: label-set file errors name file and line", "[io][errors]") {
  test_support::TempDir dir;
  const std::string header = "index\tparent\ttier\tname\n";
  struct Case {
    const char* what;
    std::string content;
    std::size_t line;
    const char* needle;
  };
  const Case cases[] = {
      {"bad header", "id\tparent\n", 1, "expected the header"},
      {"too few columns", header + "0\t-1\t1\n", 2, "expected 4 tab-separated columns"},
      {"index not consecutive", header + "0\t-1\t1\ta\n2\t0\t2\tb\n", 3, "expected index 1 in column 1"},
      {"bad parent", header + "0\tx\t1\ta\n", 2, "expected a parent index >= -1"},
      {"bad tier", header + "0\t-1\t-3\ta\n", 2, "expected a tier >= 0"},
      {"empty name", header + "0\t-1\t1\t\n", 2, "empty label name"},
      {"parent out of range", header + "0\t-1\t1\ta\n1\t7\t2\tb\n", 3, "parent 7 out of range"},
      {"cycle", header + "0\t1\t0\ta\n1\t0\t0\tb\n", 0, "cycle"},
  };
  for (const auto& c : cases) {
    INFO(c.what);
    const auto path = dir.write("labels.tsv", c.content);
    require_data_error([&] { read_label_set_tsv(path); }, path, c.line, c.needle);
  }
  LabelSet tabbed{{"a\tb"}, {-1}, {0}};
  require_data_error([&] { write_label_set_tsv(tabbed, dir.path("w.tsv")); }, dir.path("w.tsv"), 0, "contains a tab");
}

TEST_CASE("dataset I/O: label file and data file must agree", "[io][errors]") {
  test_support::TempDir dir;
  const auto data = dir.write("d.txt", "1 2 3\n0 1:1\n");
  const auto labels = dir.write("l.tsv", "index\tparent\ttier\tname\n0\t-1\t0\ta\n1\t-1\t0\tb\n");
  require_data_error([&] { read_dataset(data, labels); }, labels, 0, "has 2 labels but");
  const Dataset d = read_dataset(data, "");
  CHECK(d.num_labels() == 3);
  Dataset bad = d;
  bad.label_set.names.pop_back();
  CHECK_THROWS_AS(write_dataset(bad, dir.path("x.txt"), dir.path("x.tsv")), std::invalid_argument);
}

TEST_CASE("dataset I/O: label-set numbers are range-checked before narrowing to int", "[io][errors]") {
  test_support::TempDir dir;
  const std::string header = "index\tparent\ttier\tname\n";
  // 2^32 narrowed to int is 0, a valid parent: it must be an error, not label 0.
  const auto p = dir.write("labels.tsv", header + "0\t-1\t1\ta\n1\t4294967296\t2\tb\n");
  require_data_error([&] { read_label_set_tsv(p); }, p, 3, "parent 4294967296 out of range");
  const auto q = dir.write("labels2.tsv", header + "0\t-1\t1\ta\n1\t-4294967297\t2\tb\n");
  require_data_error([&] { read_label_set_tsv(q); }, q, 3, "expected a parent index >= -1");
}

TEST_CASE("dataset I/O: label-set BOM, empty label set, invisible bytes", "[io][errors]") {
  test_support::TempDir dir;
  const auto bom = dir.write("bom.tsv", "\xEF\xBB\xBFindex\tparent\ttier\tname\n0\t-1\t1\ta\n1\t0\t2\tb\n");
  const LabelSet s = read_label_set_tsv(bom);
  CHECK(s.names == std::vector<std::string>{"a", "b"});
  CHECK(s.parent == std::vector<int>{-1, 0});
  const auto empty = dir.write("empty.tsv", "index\tparent\ttier\tname\n\n");
  require_data_error([&] { read_label_set_tsv(empty); }, empty, 0, "no labels");
  const auto bad = dir.write("bad.tsv",
                             "index\tparent\ttier\tname\n0\t-1\t1\ta\n\xEF\xBB\xBF"
                             "1\t0\t2\tb\n");
  test_support::data_error_message([&] { read_label_set_tsv(bad); }, "got \"\\xEF\\xBB\\xBF1\"");
  std::filesystem::create_directory(dir.path("sub"));
  require_data_error([&] { read_label_set_tsv(dir.path("sub")); }, dir.path("sub"), 0, "Is a directory");
}

TEST_CASE("dataset I/O: write errors say why (a directory in the way, a missing folder)", "[io][errors]") {
  test_support::TempDir dir;
  Dataset d;
  d.features.resize(1, 2);
  d.labels.resize(1, 1);
  std::filesystem::create_directory(dir.path("sub"));
  require_data_error([&] { write_xmc_text(d, dir.path("sub")); }, dir.path("sub"), 0, "Is a directory");
  require_data_error([&] { write_xmc_text(d, dir.path("no/such/x.txt")); }, dir.path("no/such/x.txt"), 0,
                     "No such file or directory");
}
