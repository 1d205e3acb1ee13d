// SPDX-License-Identifier: Apache-2.0
#include <algorithm>
#include <set>

#include "data/taxonomy.hpp"
#include "test_support.hpp"

using namespace longtail_train;
using test_support::require_data_error;

namespace {

std::vector<int> tier_counts(const LabelSet& labels) {
  std::vector<int> counts(5, 0);
  for (int t : labels.tier) ++counts.at(static_cast<std::size_t>(t));
  return counts;
}

int parents_in_tier(const LabelSet& labels, int tier) {
  std::set<int> parents;
  for (std::size_t i = 0; i < labels.size(); ++i)
    if (labels.parent[i] >= 0 && labels.tier[static_cast<std::size_t>(labels.parent[i])] == tier)
      parents.insert(labels.parent[i]);
  return static_cast<int>(parents.size());
}

}  // namespace

TEST_CASE("generated taxonomy has the IAB 2.x topical shape", "[taxonomy]") {
  const LabelSet t = generate_iab_like_taxonomy(1);
  REQUIRE(t.size() == 698);
  REQUIRE(t.parent.size() == 698);
  REQUIRE(t.tier.size() == 698);
  CHECK(tier_counts(t) == std::vector<int>{0, 29, 341, 268, 60});
  CHECK_NOTHROW(validate_label_set(t, "generated"));
  // Same branching as the IAB tree: every tier-1 node, 41 tier-2 and 14 tier-3 nodes have children.
  CHECK(parents_in_tier(t, 1) == 29);
  CHECK(parents_in_tier(t, 2) == 41);
  CHECK(parents_in_tier(t, 3) == 14);
  CHECK(leaf_labels(t).size() == 698 - 29 - 41 - 14);
  for (std::size_t i = 0; i < t.size(); ++i) {
    CHECK(t.parent[i] < static_cast<int>(i));  // pre-order
    if (t.parent[i] >= 0) CHECK(t.names[i].rfind(t.names[static_cast<std::size_t>(t.parent[i])] + " > ", 0) == 0);
  }
  CHECK(std::set<std::string>(t.names.begin(), t.names.end()).size() == 698);
  CHECK(t.names[0] == "Topic01");
  CHECK(t.names[1] == "Topic01 > Sub01");
}

TEST_CASE("generated taxonomy is seeded", "[taxonomy]") {
  const LabelSet a = generate_iab_like_taxonomy(7), b = generate_iab_like_taxonomy(7),
                 c = generate_iab_like_taxonomy(8);
  CHECK(a.parent == b.parent);
  CHECK(a.names == b.names);
  CHECK(a.parent != c.parent);
  CHECK(tier_counts(c) == std::vector<int>{0, 29, 341, 268, 60});
}

TEST_CASE("IAB taxonomy TSV: committed sample", "[taxonomy][reader]") {
  const LabelSet t = read_iab_taxonomy_tsv(test_support::sample("iab_sample.tsv"));
  REQUIRE(t.size() == 10);  // stops at the blank line: IDs 1000+ are not topics
  CHECK(t.names == std::vector<std::string>{"Gardening", "Vegetable Gardens", "Tomatoes", "Heirloom Tomatoes",
                                            "Lawn Care", "Astronomy", "Telescopes", "Planets", "Gas Giants",
                                            "Caf\xC3\xA9 Culture"});
  CHECK(t.parent == std::vector<int>{-1, 0, 1, 2, 0, -1, 5, 5, 7, -1});
  CHECK(t.tier == std::vector<int>{1, 2, 3, 4, 2, 1, 2, 2, 3, 1});
}

TEST_CASE("IAB taxonomy TSV: the 6-column topical form and LF line ends", "[taxonomy][reader]") {
  test_support::TempDir dir;
  const auto path = dir.write("topical.tsv",
                              "id\tparent_id\tname\ttier\tpath\tflag\n"
                              "10\t\tMusic\t1\tMusic\t\n"
                              "11\t10\tJazz\t2\tMusic > Jazz\t\n"
                              "12\t11\tBebop\t3\tMusic > Jazz > Bebop\tSCD\n");
  const LabelSet t = read_iab_taxonomy_tsv(path);
  CHECK(t.names == std::vector<std::string>{"Music", "Jazz", "Bebop"});
  CHECK(t.parent == std::vector<int>{-1, 0, 1});
  CHECK(t.tier == std::vector<int>{1, 2, 3});
}

TEST_CASE("IAB taxonomy TSV: the Tier path wins over a contradicting Parent column", "[taxonomy][reader]") {
  test_support::TempDir dir;
  const auto path = dir.write("fix.tsv",
                              "Unique ID\tParent\tName\tTier 1\tTier 2\tTier 3\tTier 4\n"
                              "1\t\tSports\tSports\t\t\t\n"
                              "2\t1\tEquine Sports\tSports\tEquine Sports\t\t\n"
                              "3\t1\tHorse Racing\tSports\tEquine Sports\tHorse Racing\t\n"
                              "4\t3\tB\tB\t\t\t\n");
  const LabelSet t = read_iab_taxonomy_tsv(path);
  CHECK(t.parent == std::vector<int>{-1, 0, 1, -1});
  CHECK(t.tier == std::vector<int>{1, 2, 3, 1});
}

TEST_CASE("IAB taxonomy TSV: children listed before their parent", "[taxonomy][reader]") {
  test_support::TempDir dir;
  const auto path = dir.write("order.tsv", "Unique ID\tParent\tName\n5\t7\tChild\n7\t\tRoot\n");
  const LabelSet t = read_iab_taxonomy_tsv(path);
  CHECK(t.parent == std::vector<int>{1, -1});
  CHECK(t.tier == std::vector<int>{2, 1});
}

TEST_CASE("IAB taxonomy TSV: every malformed input names file and line", "[taxonomy][reader][errors]") {
  test_support::TempDir dir;
  const std::string two_headers =
      "Relational ID System\t\tx\nUnique ID\tParent\tName\tTier 1\tTier 2\tTier 3\tTier 4\t\n";
  struct Case {
    const char* what;
    std::string content;
    std::size_t line;
    const char* needle;
  };
  const Case cases[] = {
      {"empty file", "", 1, "empty file"},
      {"bad first header", "Name\tID\n1\t\tX\n", 1, "expected an IAB Content Taxonomy header"},
      {"bad second header", "Relational ID System\nID\tParent\tName\n", 2, "expected an IAB Content Taxonomy header"},
      {"too few columns", two_headers + "1\t\tA\tA\t\t\t\t\n2\t1\n", 4, "expected at least 3 tab-separated columns"},
      {"empty id", two_headers + "\t\tA\tA\t\t\t\t\n", 3, "empty Unique ID"},
      {"empty name", two_headers + "1\t\t \tA\t\t\t\t\n", 3, "empty Name"},
      {"duplicate id", two_headers + "1\t\tA\tA\t\t\t\t\n1\t\tB\tB\t\t\t\t\n", 4, "duplicate Unique ID \"1\""},
      {"unknown parent", two_headers + "1\t\tA\tA\t\t\t\t\n2\t9\tB\tA\tB\t\t\t\n", 4,
       "Parent \"9\" is not the Unique ID"},
      {"parent only after the blank line", two_headers + "2\t1000\tB\tX\tB\t\t\t\n\t\t\n1000\t\tX\tX\t\t\t\t\n", 3,
       "Parent \"1000\" is not the Unique ID"},
      {"cycle", two_headers + "1\t2\tA\tA\t\t\t\t\n2\t1\tB\tA\tB\t\t\t\n", 3, "has a cycle"},
      {"tier path that no row explains", two_headers + "1\t\tA\tA\t\t\t\t\n2\t1\tB\tA\tQ\tB\t\t\n", 4,
       "is declared tier 3 (path \"A > Q > B\") but its Parent chain makes it tier 2, and no row has the path \"A > "
       "Q\""},
      {"path length differs from the tier (topical form)", "id\tparent_id\tname\ttier\tpath\n1\t\tA\t2\tA\n", 2,
       "the path has 1 elements but the tier is 2"},
      {"bad tier (topical form)", "id\tparent_id\tname\ttier\n1\t\tA\tone\n", 2, "expected a tier number"},
      {"no topical rows", two_headers + "\t\t\n1000\t\tX\n", 3, "no topical rows"},
  };
  for (const auto& c : cases) {
    INFO(c.what);
    const auto path = dir.write("bad.tsv", c.content);
    require_data_error([&] { read_iab_taxonomy_tsv(path); }, path, c.line, c.needle);
  }
  require_data_error([&] { read_iab_taxonomy_tsv(dir.path("missing.tsv")); }, dir.path("missing.tsv"), 0,
                     "cannot open");
}

TEST_CASE("validate_label_set rejects inconsistent label sets", "[taxonomy][errors]") {
  LabelSet s{{"a", "b"}, {-1, 0}, {1, 2}};
  CHECK_NOTHROW(validate_label_set(s, "src"));
  s.parent = {1, 0};
  require_data_error([&] { validate_label_set(s, "src"); }, "src", 0, "cycle");
  s.parent = {-1, 5};
  require_data_error([&] { validate_label_set(s, "src"); }, "src", 0, "invalid parent index 5");
  s.parent = {-1, 0};
  s.tier = {1, 3};
  require_data_error([&] { validate_label_set(s, "src"); }, "src", 0, "has tier 3 but its parent makes it tier 2");
  s.tier = {1};
  require_data_error([&] { validate_label_set(s, "src"); }, "src", 0, "2 names but 2 parents and 1 tiers");
}

TEST_CASE("validate_label_set: a parent out of range further up a chain is an error, not a read out of bounds",
          "[taxonomy][errors]") {
  // Label 0's chain goes through label 1, whose parent 5 does not exist: checking label 0's chain
  // first used to read parent[5] (AddressSanitizer: heap-buffer-overflow).
  LabelSet s{{"a", "b"}, {1, 5}, {0, 0}};
  require_data_error([&] { validate_label_set(s, "src"); }, "src", 0, "label 1 (\"b\") has an invalid parent index 5");
}

TEST_CASE("label sets with a 100k-deep parent chain are checked in linear time", "[taxonomy][io]") {
  // Every label's chain used to be walked to its root: quadratic in the depth.
  constexpr int kDepth = 100000;
  LabelSet chain;
  for (int i = 0; i < kDepth; ++i) {
    chain.names.push_back("n" + std::to_string(i));
    chain.parent.push_back(i - 1);
    chain.tier.push_back(0);
  }
  CHECK_NOTHROW(validate_label_set(chain, "chain"));
  chain.parent[0] = kDepth - 1;  // closes the chain into one cycle
  require_data_error([&] { validate_label_set(chain, "chain"); }, "chain", 0,
                     "label 0 (\"n0\"): its parent chain has a cycle");
  // The IAB reader: a 100k-deep Parent chain in the 6-column form with tiers 1..100k is refused by
  // the tier limit; in the IAB form without Tier columns it is read, depths in linear time.
  std::string iab = "Unique ID\tParent\tName\n";
  for (int i = 0; i < kDepth; ++i)
    iab += std::to_string(i + 1) + "\t" + (i ? std::to_string(i) : std::string()) + "\tT" + std::to_string(i) + "\n";
  test_support::TempDir dir;
  const LabelSet t = read_iab_taxonomy_tsv(dir.write("deep.tsv", iab));
  REQUIRE(t.size() == std::size_t(kDepth));
  CHECK(t.tier.front() == 1);
  CHECK(t.tier.back() == kDepth);
  CHECK(t.parent.back() == kDepth - 2);
}

TEST_CASE("IAB taxonomy TSV: the real Content Taxonomy 2.1 file", "[taxonomy][reader][shared]") {
  const std::string path = test_support::shared_file("iab/Content Taxonomy 2.1.tsv");
  const std::string topical = test_support::shared_file("iab/iab_content_2.1_topical_698.tsv");
  if (path.empty() || topical.empty()) {
    WARN("skipped: ../shared/data/iab not found (set LONGTAIL_SHARED_DATA to its data/ directory)");
    return;
  }
  const LabelSet t = read_iab_taxonomy_tsv(path);
  REQUIRE(t.size() == 698);
  CHECK(tier_counts(t) == std::vector<int>{0, 29, 341, 268, 60});
  // 613 leaves: ID 497 "Horse Racing" hangs under "Equine Sports" as its Tier path says (the
  // Parent column's "Sports" would leave Equine Sports a leaf: 614, but a 342/267 tier split).
  CHECK(leaf_labels(t).size() == 613);
  CHECK(t.names[0] == "Automotive");
  const auto horse = std::find(t.names.begin(), t.names.end(), "Horse Racing") - t.names.begin();
  REQUIRE(horse < 698);
  CHECK(t.names[static_cast<std::size_t>(t.parent[static_cast<std::size_t>(horse)])] == "Equine Sports");
  CHECK(t.tier[static_cast<std::size_t>(horse)] == 3);
  const auto sedan = std::find(t.names.begin(), t.names.end(), "Sedan") - t.names.begin();
  REQUIRE(sedan < 698);
  CHECK(t.names[static_cast<std::size_t>(t.parent[static_cast<std::size_t>(sedan)])] == "Auto Body Styles");
  // The IAB's topical extract gives the same tree.
  const LabelSet u = read_iab_taxonomy_tsv(topical);
  CHECK(u.names == t.names);
  CHECK(u.parent == t.parent);
  CHECK(u.tier == t.tier);
}
