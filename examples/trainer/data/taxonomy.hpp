// SPDX-License-Identifier: Apache-2.0
#pragma once
// Label taxonomies: the generated IAB-like tree and the reader of the IAB's own TSV.

#include <cstdint>
#include <string>
#include <vector>

#include "dataset.hpp"

namespace longtail_train {

/// Shape of the IAB Content Taxonomy 2.x topical part: nodes per tier (tier 1 first).
inline constexpr int kIabTierSizes[4] = {29, 341, 268, 60};
inline constexpr int kIabNumLabels = 698;

/// A 4-tier tree of exactly 698 labels shaped like the IAB Content Taxonomy 2.x topical part:
/// 29 tier-1, 341 tier-2, 268 tier-3 and 60 tier-4 nodes. As in the IAB tree, every tier-1 node
/// has children, 41 tier-2 and 14 tier-3 nodes have children, and the number of children is
/// skewed (a few big categories, many small ones). Labels are in depth-first pre-order (a
/// parent's index is smaller than its children's); names are paths such as
/// "Topic07 > Sub03 > Sub01". Deterministic for a given seed on every platform.
LabelSet generate_iab_like_taxonomy(std::uint64_t seed);

/// Reads the IAB's own "Content Taxonomy 2.x.tsv" (two header lines, then
/// `Unique ID, Parent, Name, Tier 1..Tier 4, Extension`; UTF-8, CRLF or LF). Only the topical
/// rows are read: everything after the first blank line (IDs 1000+: channel, type, format,
/// language, source) is not a topic. Labels keep the file's order; names are the Name column;
/// parent is the index of the row whose Unique ID is in the Parent column (-1 for tier 1); tier is
/// the depth (1 = top). Also accepts the 6-column form `id, parent_id, name, tier, path, flag`
/// (one header line). Where the Parent column contradicts the row's own path (the Tier 1..4
/// columns, or the path column "A > B > C"), the path wins and the parent becomes the row whose
/// path is this one minus its last element: the IAB 2.1 file has one such row (ID 497 "Horse
/// Racing": Parent 483 "Sports", path Sports > Equine Sports > Horse Racing); following the Parent
/// column would give 29/342/267/60 nodes per tier instead of the published 29/341/268/60.
/// Throws data_error naming file and line for a missing file, a bad header, a row with too few
/// columns, an empty or duplicate ID, an empty name, an unknown parent, a parent cycle, a bad
/// tier, or a declared tier that neither the Parent column nor the path can explain.
LabelSet read_iab_taxonomy_tsv(const std::string& path);

/// Checks that parent/tier are consistent (sizes match, parents in range, no cycles, tier =
/// parent's tier + 1 when tiers are known). Throws data_error with `source` as the file name.
void validate_label_set(const LabelSet& labels, const std::string& source);

/// Indices of the labels without children.
std::vector<int> leaf_labels(const LabelSet& labels);

}  // namespace longtail_train
