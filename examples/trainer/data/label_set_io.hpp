// SPDX-License-Identifier: Apache-2.0
#pragma once
// Label-set files: the names, parents and tiers that go with an XMC text file.

#include <string>

#include "dataset.hpp"

namespace longtail_train {

/// A TSV with the header "index<TAB>parent<TAB>tier<TAB>name" and one row per label (parent -1
/// for roots; tier 0 when unknown). Throws data_error naming `path` when a name contains a tab
/// or a newline.
std::string format_label_set_tsv(const LabelSet& labels, const std::string& path);
/// format_label_set_tsv written atomically and durably. Throws data_error as above or when the
/// file cannot be written.
void write_label_set_tsv(const LabelSet& labels, const std::string& path);

/// Reads the file written by write_label_set_tsv (validates header, consecutive indices, parents
/// in range and acyclic, at least one label). Throws data_error naming file and line.
LabelSet read_label_set_tsv(const std::string& path);

}  // namespace longtail_train
