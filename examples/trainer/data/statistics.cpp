// SPDX-License-Identifier: Apache-2.0
#include "data/statistics.hpp"

#include <algorithm>
#include <cstdio>

namespace longtail_train {

DatasetStats compute_stats(const Dataset& data) {
  DatasetStats s;
  s.rows = data.rows();
  s.features = data.num_features();
  s.labels = data.num_labels();
  s.label_counts.assign(static_cast<std::size_t>(s.labels), 0);
  std::int64_t positives = 0;
  for (Eigen::Index r = 0; r < data.labels.rows(); ++r)
    for (SparseRowMatrix::InnerIterator it(data.labels, r); it; ++it)
      if (it.value() != 0) {
        ++s.label_counts[static_cast<std::size_t>(it.col())];
        ++positives;
      }
  if (s.rows > 0) {
    s.mean_features_per_row = static_cast<double>(data.features.nonZeros()) / static_cast<double>(s.rows);
    s.mean_labels_per_row = static_cast<double>(positives) / static_cast<double>(s.rows);
  }
  if (!s.label_counts.empty()) {
    std::vector<std::int64_t> sorted = s.label_counts;
    std::sort(sorted.begin(), sorted.end());
    s.min_label_count = sorted.front();
    s.max_label_count = sorted.back();
    s.median_label_count = sorted[sorted.size() / 2];
    s.labels_without_positives = std::count(sorted.begin(), sorted.end(), 0);
  }
  return s;
}

std::string format_stats(const std::string& name, const DatasetStats& s) {
  char buf[320];
  std::snprintf(buf, sizeof buf,
                "%s: %lld rows, %lld features, %lld labels, %.1f non-zeros/row, %.2f labels/row, "
                "positives per label min %lld / median %lld / max %lld (%lld labels without positives)",
                name.c_str(), static_cast<long long>(s.rows), static_cast<long long>(s.features),
                static_cast<long long>(s.labels), s.mean_features_per_row, s.mean_labels_per_row,
                static_cast<long long>(s.min_label_count), static_cast<long long>(s.median_label_count),
                static_cast<long long>(s.max_label_count), static_cast<long long>(s.labels_without_positives));
  return buf;
}

}  // namespace longtail_train
