// SPDX-License-Identifier: Apache-2.0
#include <chrono>
#include <stdexcept>

#include "data/arff_reader.hpp"
#include "data/statistics.hpp"
#include "test_support.hpp"

using namespace longtail_train;
using test_support::require_data_error;

namespace {
Eigen::MatrixXf dense(const SparseRowMatrix& m) { return Eigen::MatrixXf(m); }
}  // namespace

TEST_CASE("ARFF: sparse Mulan file with quoted and escaped names", "[arff][reader]") {
  const std::string path = test_support::sample("sample_sparse.arff");
  const Dataset d = read_mulan_arff(path, 3, "");
  REQUIRE(d.rows() == 4);
  REQUIRE(d.num_features() == 4);
  REQUIRE(d.num_labels() == 3);
  CHECK(d.name == "sample_sparse.arff");
  CHECK(d.feature_names == std::vector<std::string>{"word_a", "word b", "word\"c", "word_d"});
  CHECK(d.label_set.names == std::vector<std::string>{"TAG_one", "TAG_m'usica", "TAG_three"});
  CHECK(d.label_set.parent == std::vector<int>{-1, -1, -1});
  Eigen::MatrixXf x(4, 4), y(4, 3);
  x << 1, 0.5f, 0, 0,   //
      0, 0, -0.25f, 0,  //
      0, 0, 0, 0,       //
      0, 0, 0, 7;
  y << 1, 0, 0,  //
      0, 1, 1,   //
      0, 0, 0,   //
      0, 0, 1;
  CHECK(dense(d.features) == x);
  CHECK(dense(d.labels) == y);
  CHECK(d.labels.nonZeros() == 4);  // explicit 1.0 entries only
  // The label count may come from the Mulan XML instead.
  const Dataset e = read_mulan_arff(path, 0, test_support::sample("sample_labels.xml"));
  CHECK(dense(e.labels) == y);
  CHECK(count_mulan_xml_labels(test_support::sample("sample_labels.xml")) == 3);
}

TEST_CASE("ARFF: dense rows, upper-case keywords, CRLF", "[arff][reader]") {
  const Dataset d = read_mulan_arff(test_support::sample("sample_dense.arff"), 2, "");
  Eigen::MatrixXf x(3, 2), y(3, 2);
  x << 1.5f, 0, 0, 1, -3, 1;
  y << 1, 0, 0, 1, 1, 1;
  CHECK(dense(d.features) == x);
  CHECK(dense(d.labels) == y);
  CHECK(d.feature_names == std::vector<std::string>{"f1", "f2"});
}

TEST_CASE("ARFF: every malformed input names file, line and the problem", "[arff][reader][errors]") {
  test_support::TempDir dir;
  const std::string head =
      "@relation r\n@attribute a numeric\n@attribute b {0,1}\n@attribute l1 {0,1}\n@attribute l2 numeric\n@data\n";
  // head occupies lines 1-6; the first data row is line 7.
  struct Case {
    const char* what;
    std::string content;
    std::size_t line;
    const char* needle;
  };
  const Case cases[] = {
      {"unknown header keyword", "@relation r\n@atribute a numeric\n", 2, "expected @relation, @attribute or @data"},
      {"attribute without name", "@relation r\n@attribute\n", 2, "the name is missing"},
      {"attribute without type", "@attribute a\n", 1, "expected a type after the attribute name \"a\""},
      {"unknown attribute type", "@attribute a numbers\n", 1, "unknown type \"numbers\""},
      {"string attribute", "@attribute a string\n", 1, "unsupported type \"string\""},
      {"date attribute", "%c\n@attribute d date \"yyyy\"\n", 2, "unsupported type \"date\""},
      {"non-numeric nominal", "@attribute a {yes,no}\n", 1, "nominal value \"yes\" is not a number"},
      {"unterminated nominal", "@attribute a {0,1\n", 1, "expected '}'"},
      {"unterminated quoted name", "@attribute 'a numeric\n", 1, "unterminated quoted attribute name"},
      {"@data first", "@relation r\n@data\n", 2, "@data before any @attribute"},
      {"missing @data", "@relation r\n@attribute a numeric\n@attribute l {0,1}\n", 3, "missing @data"},
      {"dense: too few values", head + "1,0,1\n", 7, "expected 4 comma-separated values"},
      {"dense: too many values", head + "1,0,1,0\n1,0,1,0,1\n", 8, "values (one per @attribute), got 5"},
      {"dense: bad number", head + "x,0,1,0\n", 7, "expected a number for attribute 0 \"a\", got \"x\""},
      {"dense: value not in the nominal list", head + "1,2,1,0\n", 7, "\"2\" is not one of the nominal values"},
      {"dense: label not 0/1", head + "1,0,1,0.5\n", 7, "label attribute 3 \"l2\" must be 0 or 1"},
      {"dense: missing value", head + "?,0,1,0\n", 7, "missing value '?'"},
      {"dense: non-finite", head + "nan,0,1,0\n", 7, "expected a number"},
      {"sparse: no closing brace", head + "{0 1, 2 1\n", 7, "expected '}'"},
      {"sparse: entry without value", head + "{0 1,2}\n", 7, "expected '<index> <value>'"},
      {"sparse: bad index", head + "{x 1}\n", 7, "expected an attribute index"},
      {"sparse: index out of range", head + "{0 1}\n{4 1}\n", 8, "attribute index 4 out of range"},
      {"sparse: negative index", head + "{-1 1}\n", 7, "attribute index -1 out of range"},
      {"sparse: decreasing index", head + "{2 1,0 1}\n", 7, "strictly increasing"},
      {"sparse: repeated index", head + "{2 1,2 1}\n", 7, "strictly increasing"},
      {"sparse: bad value", head + "{0 abc}\n", 7, "expected a number for attribute 0"},
      {"sparse: label out of {0,1}", head + "{3 2}\n", 7, "must be 0 or 1"},
      {"sparse: instance weight", head + "{0 1}, {3}\n", 7, "instance weights"},
      {"sparse: trailing text", head + "{0 1} x\n", 7, "unexpected text after '}'"},
  };
  for (const auto& c : cases) {
    INFO(c.what);
    const auto path = dir.write("bad.arff", c.content);
    require_data_error([&] { read_mulan_arff(path, 2, ""); }, path, c.line, c.needle);
  }

  const auto ok = dir.write("ok.arff", head + "{0 1,3 1}\n");
  SECTION("too many labels for the attributes") {
    require_data_error([&] { read_mulan_arff(ok, 4, ""); }, ok, 0, "too few for 4 labels");
  }
  SECTION("label attribute with a nominal value other than 0/1") {
    const auto p = dir.write("lab.arff", "@attribute a numeric\n@attribute l {0,2}\n@data\n0,0\n");
    require_data_error([&] { read_mulan_arff(p, 1, ""); }, p, 2, "must be {0,1} or numeric");
  }
  SECTION("XML without labels, and XML disagreeing with the label count") {
    const auto xml = dir.write("none.xml", "<labels xmlns=\"x\"></labels>\n");
    require_data_error([&] { read_mulan_arff(ok, 0, xml); }, xml, 0, "no <label> elements");
    const auto two = dir.write("two.xml", "<labels><label name=\"l1\"/><label name=\"l2\"></label></labels>");
    CHECK(read_mulan_arff(ok, 0, two).num_labels() == 2);
    require_data_error([&] { read_mulan_arff(ok, 1, two); }, two, 0,
                       "has 2 <label> elements but 1 labels were requested");
  }
  SECTION("missing files and missing label count") {
    require_data_error([&] { read_mulan_arff(dir.path("nope.arff"), 2, ""); }, dir.path("nope.arff"), 0, "cannot open");
    CHECK_THROWS_AS(read_mulan_arff(ok, 0, ""), std::invalid_argument);
    CHECK_THROWS_AS(read_mulan_arff(ok, -1, ""), std::invalid_argument);
  }
}

TEST_CASE("ARFF: the real Delicious split loads with the right shapes", "[arff][reader][shared]") {
  const std::string train_path = test_support::shared_file("delicious/delicious-train.arff");
  const std::string test_path = test_support::shared_file("delicious/delicious-test.arff");
  const std::string xml = test_support::shared_file("delicious/delicious.xml");
  if (train_path.empty() || test_path.empty() || xml.empty()) {
    WARN("skipped: ../shared/data/delicious not found (set LONGTAIL_SHARED_DATA to its data/ directory)");
    return;
  }
  const auto t0 = std::chrono::steady_clock::now();
  const Dataset train = read_mulan_arff(train_path, 0, xml);
  const double seconds = std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count();
  WARN("delicious-train.arff loaded in " << seconds << " s: " << format_stats(train.name, compute_stats(train)));
  CHECK(train.rows() == 12920);
  CHECK(train.num_features() == 500);
  CHECK(train.num_labels() == 983);
  CHECK(train.label_set.names.front() == "TAG_.imported");
  CHECK(train.label_set.names.back().rfind("TAG_", 0) == 0);
  const DatasetStats st = compute_stats(train);
  CHECK(st.min_label_count >= 18);  // NOTE.md: every label has >= 18 training positives
  CHECK(st.mean_labels_per_row > 18);
  CHECK(st.mean_labels_per_row < 21);
  const Dataset test = read_mulan_arff(test_path, 983, xml);
  CHECK(test.rows() == 3185);
  CHECK(test.num_features() == 500);
  CHECK(test.feature_names == train.feature_names);
  CHECK(test.label_set.names == train.label_set.names);
}

TEST_CASE("ARFF: the Mulan XML must name the label attributes of the ARFF", "[arff][reader][errors]") {
  test_support::TempDir dir;
  // Attributes 0 "a", 1 "b" (a 0/1 feature), 2 "l1", 3 "l2" (lines 2-5).
  const auto arff = dir.write("ok.arff",
                              "@relation r\n@attribute a numeric\n@attribute b {0,1}\n@attribute l1 {0,1}\n"
                              "@attribute l2 numeric\n@data\n{0 1,3 1}\n1,1,1,0\n");
  auto xml = [&](const std::string& labels) {
    return dir.write("labels.xml",
                     "<?xml version=\"1.0\" encoding=\"utf-8\"?>\n<labels xmlns=\"x\">\n" + labels + "</labels>\n");
  };
  SECTION("matching names, in another order or with XML escapes, are accepted") {
    const Dataset d = read_mulan_arff(arff, 0, xml("<label name=\"l2\"/>\n<label name='l1'></label>\n"));
    CHECK(d.label_set.names == std::vector<std::string>{"l1", "l2"});
    CHECK(d.labels.coeff(1, 0) == 1);
    const auto quoted =
        dir.write("q.arff", "@attribute 'a&b<c' numeric\n@attribute 'TAG_m\\'usica' {0,1}\n@data\n1,1\n");
    const auto q = dir.write("q.xml", "<labels><label name=\"TAG_m\\'usica\"/></labels>");
    CHECK(read_mulan_arff(quoted, 0, q).label_set.names == std::vector<std::string>{"TAG_m'usica"});
    const auto amp = dir.write("amp.xml", "<labels><label name=\"a&amp;b&lt;c\"/></labels>");
    const auto swapped = dir.write("s.arff", "@attribute f numeric\n@attribute 'a&b<c' {0,1}\n@data\n1,1\n");
    CHECK(read_mulan_arff(swapped, 0, amp).label_set.names == std::vector<std::string>{"a&b<c"});
  }
  SECTION("fewer labels in the XML than the ARFF has: a label would become a feature") {
    const auto x = xml("<label name=\"l1\"/>\n");
    require_data_error([&] { read_mulan_arff(arff, 0, x); }, x, 3, "label \"l1\" is attribute 2 of");
  }
  SECTION("a feature named as a label") {
    const auto x = xml("<label name=\"a\"/>\n<label name=\"l2\"/>\n");
    require_data_error([&] { read_mulan_arff(arff, 0, x); }, x, 3, "label \"a\" is attribute 0 of");
  }
  SECTION("a label name that is no attribute of the ARFF") {
    const auto x = xml("<label name=\"l1\"/>\n<label name=\"L2\"/>\n");
    require_data_error([&] { read_mulan_arff(arff, 0, x); }, x, 4, "label \"L2\" is not an attribute of");
  }
  SECTION("the same label twice") {
    const auto x = xml("<label name=\"l2\"/>\n<label name=\"l2\"/>\n");
    require_data_error([&] { read_mulan_arff(arff, 0, x); }, x, 4, "label \"l2\" is listed twice");
  }
  SECTION("a label element without a name") {
    const auto x = xml("<label name=\"l1\"/>\n<label/>\n");
    require_data_error([&] { read_mulan_arff(arff, 0, x); }, x, 4, "without a name attribute");
  }
}

TEST_CASE("ARFF: byte-order marks are skipped, unreadable paths say why", "[arff][reader][errors]") {
  test_support::TempDir dir;
  const auto arff =
      dir.write("bom.arff", "\xEF\xBB\xBF@relation r\n@attribute f numeric\n@attribute l {0,1}\n@data\n2,1\n");
  const auto xml = dir.write("bom.xml", "\xEF\xBB\xBF<labels><label name=\"l\"/></labels>\n");
  const Dataset d = read_mulan_arff(arff, 0, xml);
  CHECK(d.features.coeff(0, 0) == 2);
  CHECK(d.labels.coeff(0, 0) == 1);
  std::filesystem::create_directory(dir.path("sub"));
  require_data_error([&] { read_mulan_arff(dir.path("sub"), 1, ""); }, dir.path("sub"), 0, "Is a directory");
  require_data_error([&] { read_mulan_arff(arff, 0, dir.path("none.xml")); }, dir.path("none.xml"), 0,
                     "No such file or directory");
  const auto bad = dir.write("bad.arff",
                             "@attribute f numeric\n@attribute l {0,1}\n@data\n\xEF\xBB\xBF"
                             "2,1\n");
  test_support::data_error_message([&] { read_mulan_arff(bad, 1, ""); }, "got \"\\xEF\\xBB\\xBF2\"");
}

TEST_CASE("ARFF: the real bibtex split loads with its Mulan XML (names checked)", "[arff][reader][shared]") {
  const std::string train_path = test_support::shared_file("bibtex/bibtex-train.arff");
  const std::string test_path = test_support::shared_file("bibtex/bibtex-test.arff");
  const std::string xml = test_support::shared_file("bibtex/bibtex.xml");
  if (train_path.empty() || test_path.empty() || xml.empty()) {
    WARN("skipped: ../shared/data/bibtex not found (set LONGTAIL_SHARED_DATA to its data/ directory)");
    return;
  }
  const Dataset train = read_mulan_arff(train_path, 0, xml);
  CHECK(train.rows() == 4880);
  CHECK(train.num_features() == 1836);
  CHECK(train.num_labels() == 159);
  CHECK(train.label_set.names.front() == "TAG_2005");
  const Dataset test = read_mulan_arff(test_path, 0, xml);
  CHECK(test.rows() == 2515);
  CHECK(test.label_set.names == train.label_set.names);
}
