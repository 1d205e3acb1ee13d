// SPDX-License-Identifier: Apache-2.0
#include <unistd.h>

#include <filesystem>

#include "data/xmc_text.hpp"
#include "test_support.hpp"

using namespace longtail_train;
using test_support::require_data_error;

TEST_CASE("XMC text: rows with and without labels or features", "[xmc][reader]") {
  const Dataset d = read_xmc_text(test_support::sample("sample.xmc.txt"));
  REQUIRE(d.rows() == 4);
  REQUIRE(d.num_features() == 6);
  REQUIRE(d.num_labels() == 3);
  Eigen::MatrixXf x = Eigen::MatrixXf::Zero(4, 6), y = Eigen::MatrixXf::Zero(4, 3);
  x(0, 0) = 1;
  x(0, 3) = 0.25f;
  x(1, 5) = 2;
  y(0, 0) = y(0, 2) = 1;
  y(2, 1) = 1;
  CHECK(Eigen::MatrixXf(d.features) == x);
  CHECK(Eigen::MatrixXf(d.labels) == y);
  CHECK(d.label_set.names == std::vector<std::string>{"0", "1", "2"});
  CHECK(d.feature_names.empty());
}

TEST_CASE("XMC text: unsorted features, CRLF, trailing blank lines", "[xmc][reader]") {
  test_support::TempDir dir;
  const auto p = dir.write("ok.txt", "2 10 4\r\n3 9:1.5 2:-1e-2 \r\n1,0 \r\n\r\n\r\n");
  const Dataset d = read_xmc_text(p);
  REQUIRE(d.features.nonZeros() == 2);
  CHECK(d.features.coeff(0, 2) == -0.01f);
  CHECK(d.features.coeff(0, 9) == 1.5f);
  CHECK(d.labels.coeff(0, 3) == 1);
  CHECK(d.labels.coeff(1, 0) == 1);
  CHECK(d.labels.coeff(1, 1) == 1);
}

TEST_CASE("XMC text: every malformed input names file, line and the problem", "[xmc][reader][errors]") {
  test_support::TempDir dir;
  struct Case {
    const char* what;
    std::string content;
    std::size_t line;
    const char* needle;
  };
  const Case cases[] = {
      {"empty file", "", 1, "empty file"},
      {"header with two numbers", "3 4\n", 1, "expected the header 'N F L'"},
      {"header with four numbers", "3 4 5 6\n", 1, "expected the header 'N F L'"},
      {"header not a number", "3 x 5\n", 1, "got \"x\""},
      {"negative header", "3 4 -5\n", 1, "got \"-5\""},
      {"bad label", "2 4 3\n0 1:1\na,1 0:1\n", 3, "expected a comma-separated list of label indices"},
      {"empty label between commas", "1 4 3\n0,,1 0:1\n", 2, "expected a comma-separated list of label indices"},
      {"label out of range", "1 4 3\n3 0:1\n", 2, "label index 3 out of range [0, 3)"},
      {"negative label", "1 4 3\n-1 0:1\n", 2, "label index -1 out of range"},
      {"duplicate label", "1 4 3\n1,1 0:1\n", 2, "label index 1 appears twice"},
      {"feature without colon", "1 4 3\n0 2\n", 2, "expected 'feature:value'"},
      {"bad feature index", "1 4 3\n0 a:1\n", 2, "expected a feature index before ':'"},
      {"feature out of range", "1 4 3\n0 4:1\n", 2, "feature index 4 out of range [0, 4)"},
      {"bad value", "1 4 3\n0 1:abc\n", 2, "expected a finite number after ':'"},
      {"infinite value", "1 4 3\n0 1:inf\n", 2, "expected a finite number after ':'"},
      {"missing value", "1 4 3\n0 1:\n", 2, "expected a finite number after ':'"},
      {"duplicate feature", "1 4 3\n0 1:1 1:2\n", 2, "feature index 1 appears twice"},
      {"too few rows", "3 4 3\n0 1:1\n1 2:1\n", 3, "announces 3 rows but the file ends after 2"},
      {"too many rows", "1 4 3\n0 1:1\n1 2:1\n", 3, "more rows than the header's N = 1"},
  };
  for (const auto& c : cases) {
    INFO(c.what);
    const auto path = dir.write("bad.txt", c.content);
    require_data_error([&] { read_xmc_text(path); }, path, c.line, c.needle);
  }
  require_data_error([&] { read_xmc_text(dir.path("missing.txt")); }, dir.path("missing.txt"), 0, "cannot open");
}

TEST_CASE("XMC text: write then read gives identical matrices", "[xmc][writer]") {
  test_support::TempDir dir;
  Dataset d;
  d.features.resize(3, 5);
  d.features.insert(0, 1) = 0.1f;
  d.features.insert(0, 4) = 1.0f / 3.0f;
  d.features.insert(2, 0) = -123456.789f;
  d.features.makeCompressed();
  d.labels.resize(3, 2);
  d.labels.insert(1, 1) = 1;
  d.labels.insert(2, 0) = 1;
  d.labels.insert(2, 1) = 1;
  d.labels.makeCompressed();
  const auto p = dir.path("rt.txt");
  write_xmc_text(d, p);
  const Dataset r = read_xmc_text(p);
  CHECK(test_support::identical(r.features, d.features));
  CHECK(test_support::identical(r.labels, d.labels));
}

TEST_CASE("XMC text: a UTF-8 byte-order mark before the header is skipped", "[xmc][reader]") {
  test_support::TempDir dir;
  const Dataset d = read_xmc_text(dir.write("bom.txt",
                                            "\xEF\xBB\xBF"
                                            "2 3 2\n1 0:1\n0,1 2:0.5\n"));
  REQUIRE(d.rows() == 2);
  CHECK(d.labels.coeff(0, 1) == 1);
  CHECK(d.labels.row(1).nonZeros() == 2);
  CHECK(d.features.coeff(1, 2) == 0.5f);
}

TEST_CASE("XMC text: loud on sizes the matrices cannot hold, no labels, unreadable paths", "[xmc][reader][errors]") {
  test_support::TempDir dir;
  SECTION("no label columns") {
    const auto p = dir.write("nolabels.txt", "1 3 0\n 0:1\n");
    require_data_error([&] { read_xmc_text(p); }, p, 1, "no labels: the header declares L = 0");
  }
  SECTION("a header size beyond the int32 indices of the sparse matrices") {
    const auto p = dir.write("big.txt", "3000000000 4 3\n");
    require_data_error([&] { read_xmc_text(p); }, p, 1, "N = 3000000000 is larger than 2147483647");
  }
  SECTION("a label count whose names do not fit in memory is refused before allocating") {
    // 2^31 - 1 label names "0".."2147483646" take about 80 GiB; the reader must say so instead of
    // throwing std::bad_alloc (or being killed by the kernel) half-way through.
    const double needed = 2147483647.0 * 40;
    const double memory = double(sysconf(_SC_PHYS_PAGES)) * double(sysconf(_SC_PAGE_SIZE));
    if (memory >= needed) {
      WARN("skipped: this machine has " << memory / (1 << 30) << " GiB, the check needs less than 80 GiB");
      return;
    }
    const auto p = dir.write("huge_l.txt", "0 4 2147483647\n");
    require_data_error([&] { read_xmc_text(p); }, p, 1, "L = 2147483647 labels would need 80.0 GiB");
  }
  SECTION("a directory, a missing file: the reason is in the message") {
    std::filesystem::create_directory(dir.path("sub"));
    require_data_error([&] { read_xmc_text(dir.path("sub")); }, dir.path("sub"), 0, "Is a directory");
    require_data_error([&] { read_xmc_text(dir.path("missing.txt")); }, dir.path("missing.txt"), 0,
                       "No such file or directory");
  }
  SECTION("invisible bytes in a bad token are shown escaped") {
    const auto p = dir.write("bom_inside.txt",
                             "1 4 3\n1,\xEF\xBB\xBF"
                             "2 0:1\n");
    const std::string msg = test_support::data_error_message([&] { read_xmc_text(p); }, "\\xEF\\xBB\\xBF2");
    CHECK(msg.find(":2: ") != std::string::npos);
  }
}

TEST_CASE("XMC text: a file larger than the memory is refused before it is read", "[xmc][reader][errors]") {
  // A sparse file of 2 TiB (no disk blocks): reading it whole would end in std::bad_alloc after
  // filling the memory; the reader must compare its size with the memory first.
  const double memory = double(sysconf(_SC_PHYS_PAGES)) * double(sysconf(_SC_PAGE_SIZE));
  if (memory >= double(std::uintmax_t(1) << 41)) {
    WARN("skipped: this machine has 2 TiB of memory or more");
    return;
  }
  test_support::TempDir dir;
  const std::string p = dir.write("huge.txt", "1 2 1\n");
  std::error_code ec;
  std::filesystem::resize_file(p, std::uintmax_t(1) << 41, ec);
  if (ec) {
    WARN("skipped: cannot make a sparse 2 TiB file here: " << ec.message());
    return;
  }
  require_data_error([&] { read_xmc_text(p); }, p, 0, "reading the XMC text file whole would need 2048.0 GiB");
}
