// SPDX-License-Identifier: Apache-2.0
#pragma once
// Summary statistics of a data set (used by tests, the `generate` report and calibration).

#include <cstdint>
#include <string>
#include <vector>

#include "dataset.hpp"

namespace longtail_train {

struct DatasetStats {
  Eigen::Index rows = 0, features = 0, labels = 0;
  double mean_features_per_row = 0;  ///< stored non-zeros per row
  double mean_labels_per_row = 0;
  std::vector<std::int64_t> label_counts;  ///< positives per label
  std::int64_t min_label_count = 0, max_label_count = 0, median_label_count = 0;
  Eigen::Index labels_without_positives = 0;
};

DatasetStats compute_stats(const Dataset& data);

/// One line: "name: rows, features, labels, nnz/row, labels/row, label count min/median/max".
std::string format_stats(const std::string& name, const DatasetStats& stats);

}  // namespace longtail_train
