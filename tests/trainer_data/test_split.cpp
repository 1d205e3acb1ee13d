// SPDX-License-Identifier: Apache-2.0
#include <algorithm>
#include <cmath>
#include <set>
#include <stdexcept>

#include "data/arff_reader.hpp"
#include "data/split.hpp"
#include "test_support.hpp"

using namespace longtail_train;

namespace {

// 100 rows whose single feature value is the row number, so rows can be traced after splitting.
Dataset numbered(int n) {
  Dataset d;
  d.name = "numbered";
  d.features.resize(n, 1);
  d.labels.resize(n, 2);
  for (int r = 0; r < n; ++r) {
    d.features.insert(r, 0) = static_cast<float>(r + 1);
    d.labels.insert(r, r % 2) = 1;
  }
  d.features.makeCompressed();
  d.labels.makeCompressed();
  d.label_set = {{"even", "odd"}, {-1, -1}, {0, 0}};
  return d;
}

std::vector<int> ids(const Dataset& d) {
  std::vector<int> out;
  for (Eigen::Index r = 0; r < d.rows(); ++r) out.push_back(static_cast<int>(d.features.coeff(r, 0)) - 1);
  return out;
}

}  // namespace

TEST_CASE("split_dataset: disjoint, complete, seeded", "[split]") {
  const Dataset d = numbered(100);
  const Splits s = split_dataset(d, 0.0, 0.2, 9);
  CHECK(s.train.rows() == 80);
  CHECK(s.validation.rows() == 20);
  CHECK(s.test.rows() == 0);
  CHECK(s.test.num_labels() == 2);
  CHECK(s.train.name == "numbered/train");
  std::set<int> all;
  for (int id : ids(s.train)) all.insert(id);
  for (int id : ids(s.validation)) all.insert(id);
  CHECK(all.size() == 100);
  // Rows keep their labels and their original order.
  for (Eigen::Index r = 0; r < s.validation.rows(); ++r) {
    const int id = ids(s.validation)[static_cast<std::size_t>(r)];
    CHECK(s.validation.labels.coeff(r, id % 2) == 1);
    if (r > 0) CHECK(id > ids(s.validation)[static_cast<std::size_t>(r - 1)]);
  }
  CHECK(ids(split_dataset(d, 0.0, 0.2, 9).validation) == ids(s.validation));
  CHECK(ids(split_dataset(d, 0.0, 0.2, 10).validation) != ids(s.validation));
  CHECK(split_dataset(d, 0.0, 0.0, 1).train.rows() == 100);
  CHECK_THROWS_AS(split_dataset(d, 0.0, 1.0, 1), std::invalid_argument);
  CHECK_THROWS_AS(split_dataset(d, 0.0, -0.1, 1), std::invalid_argument);
  CHECK_THROWS_AS(select_rows(d, {100}, "x"), std::invalid_argument);
}

TEST_CASE("partition_rows: test first, then validation of the rest, one rule for every source", "[split]") {
  const RowPartition p = partition_rows(1000, 0.2, 0.1, 5);
  CHECK(p.test.size() == 200);
  CHECK(p.validation.size() == 80);  // round(0.1 * 800)
  CHECK(p.train.size() == 720);
  std::set<Eigen::Index> all(p.train.begin(), p.train.end());
  all.insert(p.validation.begin(), p.validation.end());
  all.insert(p.test.begin(), p.test.end());
  CHECK(all.size() == 1000);
  CHECK(std::is_sorted(p.train.begin(), p.train.end()));
  CHECK(std::is_sorted(p.test.begin(), p.test.end()));
  // Without a test share the validation rows are the first ones of the same permutation: what
  // split_dataset gives for an official training file (Delicious) does not depend on the caller.
  const RowPartition q = partition_rows(1000, 0.0, 0.1, 5);
  CHECK(q.test.empty());
  CHECK(q.validation.size() == 100);
  const Dataset d = numbered(1000);
  const Splits s = split_dataset(d, 0.2, 0.1, 5);
  CHECK(s.test.rows() == 200);
  CHECK(s.test.name == "numbered/test");
  CHECK(ids(s.test) == std::vector<int>(p.test.begin(), p.test.end()));
  CHECK_THROWS_AS(partition_rows(10, 1.0, 0.0, 1), std::invalid_argument);
  CHECK_THROWS_AS(partition_rows(10, 0.0, std::nan(""), 1), std::invalid_argument);
}

TEST_CASE("split_dataset: Delicious validation carved out of the official train split", "[split][shared]") {
  const std::string train_path = test_support::shared_file("delicious/delicious-train.arff");
  if (train_path.empty()) {
    WARN("skipped: ../shared/data/delicious not found");
    return;
  }
  const Dataset train = read_mulan_arff(train_path, 983, "");
  const Splits s = split_dataset(train, 0.0, 0.1, 1);
  CHECK(s.validation.rows() == 1292);
  CHECK(s.train.rows() == 12920 - 1292);
  CHECK(s.train.features.nonZeros() + s.validation.features.nonZeros() == train.features.nonZeros());
  CHECK(s.train.labels.nonZeros() + s.validation.labels.nonZeros() == train.labels.nonZeros());
  CHECK(s.train.feature_names == train.feature_names);
}

TEST_CASE("concatenate_rows: the first data set's rows, then the second's, columns agreeing", "[split]") {
  const Splits s = split_dataset(numbered(20), 0.25, 0.2, 3);
  const Dataset both = concatenate_rows(s.train, s.validation, "both");
  CHECK(both.name == "both");
  REQUIRE(both.rows() == s.train.rows() + s.validation.rows());
  CHECK(both.features.isCompressed());
  std::vector<int> expected = ids(s.train);
  const std::vector<int> validation = ids(s.validation);
  expected.insert(expected.end(), validation.begin(), validation.end());
  CHECK(ids(both) == expected);
  for (Eigen::Index r = 0; r < both.rows(); ++r) {  // each row keeps its label (row number parity)
    INFO(r);
    CHECK(both.labels.row(r).nonZeros() == 1);
    CHECK(both.labels.coeff(r, expected[std::size_t(r)] % 2) == 1.0f);
  }
  CHECK(both.label_set.names == s.train.label_set.names);
  // An empty second part, and an empty first part.
  const Dataset none = select_rows(s.validation, {}, "none");
  CHECK(ids(concatenate_rows(s.train, none, "t")) == ids(s.train));
  CHECK(ids(concatenate_rows(none, s.validation, "v")) == validation);
  // Different columns: both names and shapes in the message.
  Dataset wide = s.validation;
  wide.features.conservativeResize(wide.rows(), 3);
  CHECK_THROWS_WITH(concatenate_rows(s.train, wide, "x"), Catch::Contains("'numbered/validation' has 3 features") &&
                                                              Catch::Contains("'numbered/train' has 1"));
}
