// SPDX-License-Identifier: Apache-2.0
// Selection among candidates with noisy validation scores (selection.hpp): the rule of one model,
// the configuration of a sweep, the row of a search.
#include <cmath>
#include <limits>
#include <string>
#include <vector>

#include <catch2/catch.hpp>

#include "search.hpp"
#include "selection.hpp"
#include "sweep.hpp"

using namespace longtail_train;
using Catch::Matchers::Contains;

TEST_CASE("selection: the best score, or among those within T standard errors the best tie score",
          "[trainer][selection]") {
  // score, standard error, tie score; in order of preference.
  const std::vector<ScoredCandidate> c{
      {0.370, 0.004, 0.50}, {0.380, 0.010, 0.45}, {0.372, 0.002, 0.49}, {0.365, 0.010, 0.60}, {0.380, 0.020, 0.40}};
  // T = 0: the best score; equal best scores go to the earlier (1, not 4).
  CHECK(select_within_noise(c, 0, true) == 1);
  CHECK(select_within_noise(c, 0, false) == 1);
  // T = 1: the floor is 0.380 - 0.010 (the best's own standard error, not the others'): 0, 1, 2
  // and 4 are tied; the best tie score among them is 0's (3 has the highest but is below the floor).
  CHECK(select_within_noise(c, 1, true) == 0);
  // Without a tie score: the earliest tied candidate.
  CHECK(select_within_noise(c, 1, false) == 0);
  // T = 0.5: floor 0.375, only 1 and 4 are tied; 1 has the better tie score.
  CHECK(select_within_noise(c, 0.5, true) == 1);
  // T = 1.5: floor 0.365 admits 3, whose tie score is the highest.
  CHECK(select_within_noise(c, 1.5, true) == 3);
  // Equal tie scores go to the earlier candidate.
  const std::vector<ScoredCandidate> equal{{0.30, 0.05, 0.7}, {0.32, 0.05, 0.7}};
  CHECK(select_within_noise(equal, 1, true) == 0);
  // A best candidate without a standard error ties with nobody.
  const std::vector<ScoredCandidate> exact{{0.30, 0.05, 0.9}, {0.32, 0.0, 0.1}};
  CHECK(select_within_noise(exact, 1, true) == 1);
  // One candidate.
  CHECK(select_within_noise({{0.1, 0.0, 0.0}}, 1, true) == 0);
}

TEST_CASE("selection: bad input is refused with the reason", "[trainer][selection]") {
  CHECK_THROWS_WITH(select_within_noise({}, 1, true), Contains("no candidates"));
  const std::vector<ScoredCandidate> ok{{0.3, 0.01, 0.4}};
  CHECK_THROWS_WITH(select_within_noise(ok, -1, true), Contains("tolerance"));
  CHECK_THROWS_WITH(select_within_noise(ok, std::numeric_limits<double>::infinity(), true), Contains("tolerance"));
  const double nan = std::numeric_limits<double>::quiet_NaN();
  CHECK_THROWS_WITH(select_within_noise({{0.3, 0.01, 0.4}, {nan, 0.01, 0.4}}, 1, true), Contains("candidate 1"));
  CHECK_THROWS_WITH(select_within_noise({{0.3, -0.01, 0.4}}, 1, true), Contains("candidate 0"));
}

namespace {

/// A table row with a validation headline (macro-F1), its standard error and validation micro-F1.
SweepEntry row(const std::string& name, double macro, double se, double micro) {
  SweepEntry e;
  e.name = name;
  e.validation_headline = macro;
  e.validation.tuned.f1.macro.f1 = macro;
  e.validation.tuned.f1.micro.f1 = micro;
  RuleEvaluation rule;
  rule.validation_se = se;
  e.rules.rules.push_back(rule);
  e.rules.chosen = 0;
  return e;
}

std::vector<std::string> names(const std::vector<SweepEntry>& entries) {
  std::vector<std::string> out;
  for (const auto& e : entries) out.push_back(e.name);
  return out;
}

}  // namespace

TEST_CASE("selection: a sweep's tied configurations go to the best validation micro-F1", "[trainer][selection]") {
  // Ranked by validation macro-F1: a leads by less than its standard error over b and c, not over d.
  std::vector<SweepEntry> table{row("a", 0.386, 0.013, 0.47), row("b", 0.384, 0.017, 0.48),
                                row("c", 0.376, 0.015, 0.49), row("d", 0.370, 0.010, 0.55)};
  SweepOptions options;  // --metric macro
  RuleOptions rules;     // --select-se 1 --tie-break auto: micro-F1
  CHECK(move_selected_first(table, table.size(), options, rules) == 2);
  CHECK(names(table) == std::vector<std::string>{"c", "a", "b", "d"});

  // --select-se 0: the best by macro-F1 stays first.
  std::vector<SweepEntry> plain{row("a", 0.386, 0.013, 0.47), row("b", 0.384, 0.017, 0.48)};
  rules.tolerance_se = 0;
  CHECK(move_selected_first(plain, plain.size(), options, rules) == 0);
  CHECK(names(plain) == std::vector<std::string>{"a", "b"});
  // --tie-break simplest: for configurations, the best (the table's order is its preference).
  rules.tolerance_se = 1;
  rules.tie_break = TieBreak::simplest;
  CHECK(move_selected_first(plain, plain.size(), options, rules) == 0);
  // --metric micro: the headline is micro-F1 and ties go to macro-F1.
  SweepOptions by_micro;
  by_micro.metric = "micro";
  rules.tie_break = TieBreak::automatic;
  std::vector<SweepEntry> micro_table{row("x", 0.30, 0.02, 0.50), row("y", 0.35, 0.02, 0.49)};
  for (auto& e : micro_table) e.validation_headline = e.validation.tuned.f1.micro.f1;
  CHECK(move_selected_first(micro_table, micro_table.size(), by_micro, rules) == 1);
  CHECK(names(micro_table) == std::vector<std::string>{"y", "x"});
  // Only the first `count` rows are candidates.
  std::vector<SweepEntry> partial{row("a", 0.386, 0.013, 0.47), row("b", 0.384, 0.017, 0.48),
                                  row("c", 0.380, 0.1, 0.9)};
  CHECK(move_selected_first(partial, 2, options, RuleOptions{}) == 1);
  CHECK(names(partial) == std::vector<std::string>{"b", "a", "c"});
  CHECK_THROWS_WITH(move_selected_first(partial, 4, options, RuleOptions{}), Contains("4 candidates"));
  CHECK_THROWS_WITH(move_selected_first(partial, 0, options, RuleOptions{}), Contains("0 candidates"));
}

namespace {

/// A search's result: configurations 0.. with the rungs they finished, the table in the halving's
/// ranking with the ensemble's row at `ensemble_rank` (0: none).
SearchResult search_result(const std::vector<SweepEntry>& configs, const std::vector<std::size_t>& rungs,
                           const SweepEntry* ensemble, std::size_t ensemble_rank) {
  SearchResult res;
  for (std::size_t c = 0; c < configs.size(); ++c) {
    HalvingRecord r;
    r.rungs_done = rungs[c];
    res.outcome.configs.push_back(r);
    res.outcome.ranking.push_back(c);
    res.sweep.entries.push_back(configs[c]);
  }
  if (ensemble) {
    res.sweep.entries.insert(res.sweep.entries.begin() + std::ptrdiff_t(ensemble_rank - 1), *ensemble);
    res.ensemble = {0, 1};
    res.ensemble_rank = ensemble_rank;
  }
  return res;
}

}  // namespace

TEST_CASE("selection: a search selects among the rows of its last rung, the ensemble's included",
          "[trainer][selection][search]") {
  const SweepOptions options;
  const RuleOptions rules;
  const SweepEntry ens = row("ensemble_top2", 0.390, 0.012, 0.46);
  // Configurations 0-2 finished the last rung (3 rungs), 3 was eliminated after 2 with the best
  // micro-F1 of all: not a candidate.
  const std::vector<SweepEntry> configs{row("c0", 0.388, 0.012, 0.45), row("c1", 0.385, 0.012, 0.47),
                                        row("c2", 0.381, 0.012, 0.48), row("c3", 0.395, 0.012, 0.60)};
  const std::vector<std::size_t> rungs{3, 3, 3, 2};

  SECTION("a configuration below the ensemble: it moves to the top, the ensemble one down") {
    SearchResult res = search_result(configs, rungs, &ens, 1);  // ens, c0, c1, c2, c3
    select_among_finalists(res, options, rules);
    CHECK(names(res.sweep.entries) == std::vector<std::string>{"c2", "ensemble_top2", "c0", "c1", "c3"});
    CHECK(res.outcome.ranking == std::vector<std::size_t>{2, 0, 1, 3});
    CHECK(res.ensemble_rank == 2);
  }
  SECTION("a configuration above the ensemble: the ensemble keeps its rank") {
    std::vector<SweepEntry> c = configs;
    c[0].validation.tuned.f1.micro.f1 = 0.44;
    c[1].validation.tuned.f1.micro.f1 = 0.485;            // the best tied micro-F1
    SearchResult res = search_result(c, rungs, &ens, 3);  // c0, c1, ens, c2, c3
    select_among_finalists(res, options, rules);
    CHECK(names(res.sweep.entries) == std::vector<std::string>{"c1", "c0", "ensemble_top2", "c2", "c3"});
    CHECK(res.outcome.ranking == std::vector<std::size_t>{1, 0, 2, 3});
    CHECK(res.ensemble_rank == 3);
  }
  SECTION("the ensemble selected from below") {
    SweepEntry better = ens;
    better.validation.tuned.f1.micro.f1 = 0.55;
    SearchResult res = search_result(configs, rungs, &better, 2);  // c0, ens, c1, c2, c3
    select_among_finalists(res, options, rules);
    CHECK(names(res.sweep.entries) == std::vector<std::string>{"ensemble_top2", "c0", "c1", "c2", "c3"});
    CHECK(res.outcome.ranking == std::vector<std::size_t>{0, 1, 2, 3});
    CHECK(res.ensemble_rank == 1);
  }
  SECTION("no ensemble, and --select-se 0: the best of the last rung stays first") {
    RuleOptions plain;
    plain.tolerance_se = 0;
    SearchResult res = search_result(configs, rungs, nullptr, 0);
    select_among_finalists(res, options, plain);
    CHECK(names(res.sweep.entries) == std::vector<std::string>{"c0", "c1", "c2", "c3"});
    CHECK(res.ensemble_rank == 0);
    // With the tolerance, c2 (tied, best micro-F1 of the last rung) is selected, never c3.
    select_among_finalists(res, options, rules);
    CHECK(names(res.sweep.entries).front() == "c2");
    CHECK(res.outcome.ranking.front() == 2);
  }
}
