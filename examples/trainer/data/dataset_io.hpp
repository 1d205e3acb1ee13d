// SPDX-License-Identifier: Apache-2.0
#pragma once
// Whole data sets and splits on disk: XMC text for the matrices plus a label-set TSV.

#include <string>
#include <utility>
#include <vector>

#include "dataset.hpp"

namespace longtail_train {

/// Files as (name, contents).
using NamedFiles = std::vector<std::pair<std::string, std::string>>;

/// The files of `data`: the XMC text (data_path), its label set (labels_path, see
/// label_set_io.hpp; skipped when empty) and, when present, the feature names (data_path +
/// ".features", one per line).
NamedFiles dataset_files(const Dataset& data, const std::string& data_path, const std::string& labels_path);

/// dataset_files, each written atomically and durably.
void write_dataset(const Dataset& data, const std::string& data_path, const std::string& labels_path);

/// Reads what write_dataset wrote; the label file's size must match the XMC header's L.
/// labels_path may be empty (names "0".."L-1"). Reads data_path + ".features" when it exists.
Dataset read_dataset(const std::string& data_path, const std::string& labels_path);

/// Writes directory/{train,validation,test}.txt and directory/labels.tsv (the label set of the
/// train split; all three share it), as one unit (common/run_outputs.hpp: a RUNNING marker until
/// every file is in place); creates the directory if needed.
void write_splits(const Splits& splits, const std::string& directory);

/// Reads what write_splits wrote.
Splits read_splits(const std::string& directory);

}  // namespace longtail_train
