// SPDX-License-Identifier: Apache-2.0
#include "data/taxonomy.hpp"

#include <algorithm>
#include <cstdio>
#include <functional>
#include <numeric>
#include <string_view>
#include <unordered_map>

#include "data/data_error.hpp"
#include "data/detail/text_file.hpp"
#include "data/rng.hpp"

namespace longtail_train {
namespace {

// ---- parent chains ------------------------------------------------------------------------------

/// Depths of labels in a parent forest (1 = root), each chain walked once over all calls: O(n)
/// in total where walking every label's chain to its root is quadratic in the depth (a 100k-deep
/// chain took 37 s). Parents must be -1 or valid indices.
class ChainDepths {
 public:
  static constexpr int kCycle = -1;

  explicit ChainDepths(const std::vector<int>& parent) : parent_(parent), depth_(parent.size(), kUnknown) {}

  /// Depth of label i, or kCycle when its parent chain runs into a cycle.
  int operator()(std::size_t i) {
    walk_.clear();
    int q = static_cast<int>(i);
    while (q >= 0 && depth_[static_cast<std::size_t>(q)] == kUnknown) {
      depth_[static_cast<std::size_t>(q)] = kOnWalk;
      walk_.push_back(q);
      q = parent_[static_cast<std::size_t>(q)];
    }
    int base = q < 0 ? 0 : depth_[static_cast<std::size_t>(q)];
    if (base == kOnWalk) base = kCycle;  // the walk came back to itself
    for (auto it = walk_.rbegin(); it != walk_.rend(); ++it)
      depth_[static_cast<std::size_t>(*it)] = base == kCycle ? kCycle : ++base;
    return depth_[i];
  }

 private:
  static constexpr int kUnknown = 0;
  static constexpr int kOnWalk = -2;
  const std::vector<int>& parent_;
  std::vector<int> depth_;
  std::vector<int> walk_;
};

// ---- the generated tree ------------------------------------------------------------------------

// Nodes with children per tier in the IAB 2.x topical tree: all 29 tier-1 nodes, 41 of the 341
// tier-2 nodes and 14 of the 268 tier-3 nodes.
constexpr int kIabParentsPerTier[3] = {29, 41, 14};
// Children are spread over parents with weights (rank)^-0.8 in a random order: with the counts
// above this reproduces the IAB's skew (largest tier-1 node ~55 children, smallest ~4; the IAB's
// own: 52 and 3).
constexpr double kChildSkew = 0.8;

// Splits `total` children over `parents` parents: each gets at least one, the rest in proportion
// to a Zipf weight of a random rank, rounded by largest remainder (exact total).
std::vector<int> allocate_children(int total, int parents, Rng& rng) {
  std::vector<int> rank(static_cast<std::size_t>(parents));
  std::iota(rank.begin(), rank.end(), 1);
  rng.shuffle(rank);
  std::vector<double> weight(rank.size());
  double sum = 0;
  for (std::size_t i = 0; i < rank.size(); ++i) sum += weight[i] = det_pow(rank[i], -kChildSkew);
  const int extra = total - parents;
  std::vector<int> count(rank.size(), 1);
  std::vector<std::pair<double, std::size_t>> remainder;  // (fraction lost, parent)
  int assigned = 0;
  for (std::size_t i = 0; i < rank.size(); ++i) {
    const double exact = extra * weight[i] / sum;
    const int whole = static_cast<int>(std::floor(exact));
    count[i] += whole;
    assigned += whole;
    remainder.emplace_back(exact - whole, i);
  }
  // Largest remainders first; ties broken by index so the order is total and deterministic.
  std::sort(remainder.begin(), remainder.end(),
            [](const auto& a, const auto& b) { return a.first != b.first ? a.first > b.first : a.second < b.second; });
  for (int k = 0; k < extra - assigned; ++k) ++count[remainder[static_cast<std::size_t>(k)].second];
  return count;
}

std::string two_digits(int n) {
  char buf[16];
  std::snprintf(buf, sizeof buf, "%02d", n);
  return buf;
}

}  // namespace

LabelSet generate_iab_like_taxonomy(std::uint64_t seed) {
  Rng rng(seed, /*stream=*/0x7A40);
  // children[t][i]: number of children of the i-th node of tier t+1 (tier order, 0-based).
  std::vector<std::vector<int>> children(4);
  children[0] = allocate_children(kIabTierSizes[1], kIabTierSizes[0], rng);
  for (int t = 1; t < 3; ++t) {
    // Which nodes of tier t+1 have children: a random subset of kIabParentsPerTier[t].
    std::vector<int> order(static_cast<std::size_t>(kIabTierSizes[t]));
    std::iota(order.begin(), order.end(), 0);
    rng.shuffle(order);
    const auto counts = allocate_children(kIabTierSizes[t + 1], kIabParentsPerTier[t], rng);
    children[static_cast<std::size_t>(t)].assign(order.size(), 0);
    for (int k = 0; k < kIabParentsPerTier[t]; ++k)
      children[static_cast<std::size_t>(t)][static_cast<std::size_t>(order[static_cast<std::size_t>(k)])] =
          counts[static_cast<std::size_t>(k)];
  }
  children[3].assign(static_cast<std::size_t>(kIabTierSizes[3]), 0);

  // Depth-first pre-order, like the IAB file: a node, then its subtree.
  LabelSet labels;
  std::vector<std::size_t> next_in_tier(4, 0);  // next unplaced node of each tier
  std::function<void(int, int, const std::string&)> place = [&](int tier, int parent, const std::string& name) {
    const int index = static_cast<int>(labels.size());
    labels.names.push_back(name);
    labels.parent.push_back(parent);
    labels.tier.push_back(tier);
    const int n = children[static_cast<std::size_t>(tier - 1)][next_in_tier[static_cast<std::size_t>(tier - 1)]++];
    for (int c = 1; c <= n; ++c) place(tier + 1, index, name + " > Sub" + two_digits(c));
  };
  for (int t1 = 1; t1 <= kIabTierSizes[0]; ++t1) place(1, -1, "Topic" + two_digits(t1));
  return labels;
}

// ---- the IAB's TSV -----------------------------------------------------------------------------

namespace {

std::vector<std::string_view> split_tabs(std::string_view line) {
  std::vector<std::string_view> fields;
  std::size_t start = 0;
  for (;;) {
    const std::size_t tab = line.find('\t', start);
    if (tab == std::string_view::npos) {
      fields.push_back(line.substr(start));
      return fields;
    }
    fields.push_back(line.substr(start, tab - start));
    start = tab + 1;
  }
}

bool blank(std::string_view line) { return detail::trim(line).empty(); }

bool starts_with_fields(const std::vector<std::string_view>& fields, std::initializer_list<std::string_view> want) {
  if (fields.size() < want.size()) return false;
  std::size_t i = 0;
  for (auto w : want)
    if (detail::trim(fields[i++]) != w) return false;
  return true;
}

}  // namespace

LabelSet read_iab_taxonomy_tsv(const std::string& path) {
  const std::string text = detail::read_whole_file(path, "IAB taxonomy TSV");
  detail::LineCursor lines(text);
  std::string_view line;

  // Header: the IAB's two lines, or its second line alone, or the 6-column topical form.
  enum class Format { iab, topical } format = Format::iab;
  if (!lines.next(line)) throw data_error(path, 1, "empty file: expected an IAB Content Taxonomy header");
  auto fields = split_tabs(line);
  const char* expected =
      "expected an IAB Content Taxonomy header: \"Relational ID System...\" followed by "
      "\"Unique ID<TAB>Parent<TAB>Name<TAB>Tier 1...\", or \"id<TAB>parent_id<TAB>name<TAB>tier...\"";
  if (detail::trim(fields[0]) == "Relational ID System") {
    if (!lines.next(line) || !starts_with_fields(split_tabs(line), {"Unique ID", "Parent", "Name"}))
      throw data_error(path, lines.number(), expected);
  } else if (starts_with_fields(fields, {"Unique ID", "Parent", "Name"})) {
    // second header line only
  } else if (starts_with_fields(fields, {"id", "parent_id", "name", "tier"})) {
    format = Format::topical;
  } else {
    throw data_error(path, 1, std::string(expected) + ", got " + detail::quote(line));
  }

  struct Row {
    std::string id, parent_id;
    int declared_tier;              // 0 = not declared
    std::vector<std::string> path;  // Tier 1..n names (empty when the file has no path)
    std::size_t line;
  };
  std::vector<Row> rows;
  LabelSet labels;
  std::unordered_map<std::string, int> index_of;
  while (lines.next(line)) {
    if (blank(line)) break;  // the topical part ends at the first blank line
    fields = split_tabs(line);
    const std::size_t need = format == Format::iab ? 3 : 4;
    if (fields.size() < need)
      throw data_error(path, lines.number(),
                       "expected at least " + std::to_string(need) + " tab-separated columns (" +
                           (format == Format::iab ? "Unique ID, Parent, Name" : "id, parent_id, name, tier") +
                           "), got " + std::to_string(fields.size()));
    Row row{std::string(detail::trim(fields[0])), std::string(detail::trim(fields[1])), 0, {}, lines.number()};
    const std::string name(detail::trim(fields[2]));
    if (row.id.empty()) throw data_error(path, row.line, "empty Unique ID (column 1)");
    if (name.empty()) throw data_error(path, row.line, "empty Name (column 3) for ID " + detail::quote(row.id));
    if (format == Format::topical) {
      long long tier = 0;
      if (!detail::parse_int64(detail::trim(fields[3]), tier) || tier < 1 || tier > 64)
        throw data_error(path, row.line, "expected a tier number >= 1 in column 4, got " + detail::quote(fields[3]));
      row.declared_tier = static_cast<int>(tier);
      if (fields.size() > 4) {  // path column "A > B > C"
        std::string_view rest = detail::trim(fields[4]);
        while (!rest.empty()) {
          const std::size_t sep = rest.find(" > ");
          row.path.emplace_back(detail::trim(rest.substr(0, sep)));
          if (sep == std::string_view::npos) break;
          rest.remove_prefix(sep + 3);
        }
      }
    } else {
      // Tier 1..Tier 4 columns (4..7): the node's path; its tier is the number of non-empty ones.
      for (std::size_t c = 3; c < fields.size() && c < 7; ++c) {
        const std::string_view tier_name = detail::trim(fields[c]);
        if (tier_name.empty()) break;
        row.path.emplace_back(tier_name);
      }
      row.declared_tier = static_cast<int>(row.path.size());  // 0 when the columns are absent
    }
    if (!row.path.empty() && static_cast<int>(row.path.size()) != row.declared_tier)
      throw data_error(path, row.line,
                       "the path has " + std::to_string(row.path.size()) + " elements but the tier is " +
                           std::to_string(row.declared_tier));
    if (!index_of.emplace(row.id, static_cast<int>(rows.size())).second)
      throw data_error(path, row.line, "duplicate Unique ID " + detail::quote(row.id));
    labels.names.push_back(name);
    rows.push_back(std::move(row));
  }
  if (rows.empty()) throw data_error(path, lines.number(), "no topical rows before the first blank line");

  const std::size_t n = rows.size();
  labels.parent.assign(n, -1);
  labels.tier.assign(n, 0);
  for (std::size_t i = 0; i < n; ++i) {
    if (rows[i].parent_id.empty()) continue;
    const auto it = index_of.find(rows[i].parent_id);
    if (it == index_of.end())
      throw data_error(path, rows[i].line,
                       "Parent " + detail::quote(rows[i].parent_id) + " is not the Unique ID of any topical row");
    labels.parent[i] = it->second;
  }
  auto depth_in = [&](ChainDepths& depths, std::size_t i) {
    const int depth = depths(i);
    if (depth == ChainDepths::kCycle)
      throw data_error(path, rows[i].line, "the Parent chain of ID " + detail::quote(rows[i].id) + " has a cycle");
    return depth;
  };
  auto join = [](const std::vector<std::string>& parts, std::size_t count) {
    std::string s;
    for (std::size_t k = 0; k < count; ++k) s += (k ? " > " : "") + parts[k];
    return s;
  };
  // Where the Parent column contradicts the row's own Tier path, the path wins (IAB 2.1 has one
  // such row: ID 497 "Horse Racing", Parent 483 "Sports", path Sports > Equine Sports > Horse
  // Racing; the published shape 29/341/268/60 counts it in tier 3).
  std::unordered_map<std::string, int> index_of_path;
  for (std::size_t i = 0; i < n; ++i)
    if (!rows[i].path.empty()) index_of_path.emplace(join(rows[i].path, rows[i].path.size()), static_cast<int>(i));
  std::vector<int> repaired(n, -2);  // -2: keep the Parent column
  ChainDepths column_depths(labels.parent);
  auto depth_of = [&](std::size_t i) { return depth_in(column_depths, i); };
  for (std::size_t i = 0; i < n; ++i) {
    const Row& row = rows[i];
    if (row.path.empty() || depth_of(i) == row.declared_tier) continue;
    if (row.declared_tier == 1) {
      repaired[i] = -1;
      continue;
    }
    const auto it = index_of_path.find(join(row.path, row.path.size() - 1));
    if (it == index_of_path.end())
      throw data_error(path, row.line,
                       "ID " + detail::quote(row.id) + " is declared tier " + std::to_string(row.declared_tier) +
                           " (path " + detail::quote(join(row.path, row.path.size())) +
                           ") but its Parent chain makes it tier " + std::to_string(depth_of(i)) +
                           ", and no row has the path " + detail::quote(join(row.path, row.path.size() - 1)));
    repaired[i] = it->second;
  }
  for (std::size_t i = 0; i < n; ++i)
    if (repaired[i] != -2) labels.parent[i] = repaired[i];
  // Tiers = depth; every declared tier must now agree.
  ChainDepths depths(labels.parent);
  for (std::size_t i = 0; i < n; ++i) {
    const int depth = depth_in(depths, i);
    labels.tier[i] = depth;
    if (rows[i].declared_tier != 0 && rows[i].declared_tier != depth)
      throw data_error(path, rows[i].line,
                       "ID " + detail::quote(rows[i].id) + " is declared tier " +
                           std::to_string(rows[i].declared_tier) + " but its Parent chain makes it tier " +
                           std::to_string(depth));
  }
  return labels;
}

void validate_label_set(const LabelSet& labels, const std::string& source) {
  const std::size_t n = labels.names.size();
  if (labels.parent.size() != n || labels.tier.size() != n)
    throw data_error(source, 0,
                     "label set has " + std::to_string(n) + " names but " + std::to_string(labels.parent.size()) +
                         " parents and " + std::to_string(labels.tier.size()) + " tiers");
  auto who = [&](std::size_t i) { return "label " + std::to_string(i) + " (" + detail::quote(labels.names[i]) + ")"; };
  // Every parent in range first: the chains below follow them.
  for (std::size_t i = 0; i < n; ++i) {
    const int p = labels.parent[i];
    if (p < -1 || p >= static_cast<int>(n) || p == static_cast<int>(i))
      throw data_error(source, 0, who(i) + " has an invalid parent index " + std::to_string(p));
  }
  ChainDepths depths(labels.parent);
  for (std::size_t i = 0; i < n; ++i) {
    const int p = labels.parent[i];
    if (depths(i) == ChainDepths::kCycle) throw data_error(source, 0, who(i) + ": its parent chain has a cycle");
    const int t = labels.tier[i];
    if (t != 0 && (p < 0 || labels.tier[static_cast<std::size_t>(p)] != 0)) {  // both tiers known
      const int want = p < 0 ? 1 : labels.tier[static_cast<std::size_t>(p)] + 1;
      if (t != want)
        throw data_error(
            source, 0,
            who(i) + " has tier " + std::to_string(t) + " but its parent makes it tier " + std::to_string(want));
    }
  }
}

std::vector<int> leaf_labels(const LabelSet& labels) {
  std::vector<char> has_child(labels.size(), 0);
  for (int p : labels.parent)
    if (p >= 0) has_child[static_cast<std::size_t>(p)] = 1;
  std::vector<int> leaves;
  for (std::size_t i = 0; i < labels.size(); ++i)
    if (!has_child[i]) leaves.push_back(static_cast<int>(i));
  return leaves;
}

}  // namespace longtail_train
