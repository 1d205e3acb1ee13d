// SPDX-License-Identifier: Apache-2.0
#include "data/split.hpp"

#include <algorithm>
#include <cmath>
#include <stdexcept>

#include "common/rng.hpp"
#include "data/detail/csr_builder.hpp"

namespace longtail_train {
namespace {

void append_row(detail::CsrBuilder& b, const SparseRowMatrix& m, Eigen::Index r) {
  for (SparseRowMatrix::InnerIterator it(m, r); it; ++it) b.add(static_cast<std::int32_t>(it.col()), it.value());
  b.end_row();
}

SparseRowMatrix take_rows(const SparseRowMatrix& m, const std::vector<Eigen::Index>& rows) {
  detail::CsrBuilder b;
  for (Eigen::Index r : rows) append_row(b, m, r);
  return b.build(m.cols());
}

void check_fraction(const char* name, double f) {
  if (!(f >= 0 && f < 1))
    throw std::invalid_argument(std::string("split: ") + name + " must be in [0, 1) (got " + std::to_string(f) + ")");
}

std::size_t rounded_share(double fraction, std::size_t n) {
  return static_cast<std::size_t>(std::floor(fraction * static_cast<double>(n) + 0.5));
}

}  // namespace

RowPartition partition_rows(Eigen::Index rows, double test_fraction, double validation_fraction, std::uint64_t seed) {
  check_fraction("test_fraction", test_fraction);
  check_fraction("validation_fraction", validation_fraction);
  if (rows < 0) throw std::invalid_argument("split: negative row count " + std::to_string(rows));
  Rng rng(seed, kSplitStream);
  const std::vector<Eigen::Index> order = shuffled_indices<Eigen::Index>(rows, rng);
  const std::size_t n = order.size();
  const std::size_t n_test = rounded_share(test_fraction, n);
  const std::size_t n_val = rounded_share(validation_fraction, n - n_test);
  auto part = [&](std::size_t from, std::size_t to) {
    std::vector<Eigen::Index> v(order.begin() + std::ptrdiff_t(from), order.begin() + std::ptrdiff_t(to));
    std::sort(v.begin(), v.end());
    return v;
  };
  RowPartition p;
  p.test = part(0, n_test);
  p.validation = part(n_test, n_test + n_val);
  p.train = part(n_test + n_val, n);
  return p;
}

Dataset select_rows(const Dataset& data, const std::vector<Eigen::Index>& rows, std::string name) {
  for (Eigen::Index r : rows)
    if (r < 0 || r >= data.rows())
      throw std::invalid_argument("select_rows(" + data.name + "): row " + std::to_string(r) + " out of range [0, " +
                                  std::to_string(data.rows()) + ")");
  Dataset d;
  d.name = std::move(name);
  d.features = take_rows(data.features, rows);
  d.labels = take_rows(data.labels, rows);
  d.label_set = data.label_set;
  d.feature_names = data.feature_names;
  return d;
}

Dataset concatenate_rows(const Dataset& first, const Dataset& second, std::string name) {
  if (first.num_features() != second.num_features() || first.num_labels() != second.num_labels())
    throw std::invalid_argument("concatenate_rows: '" + second.name + "' has " + std::to_string(second.num_features()) +
                                " features and " + std::to_string(second.num_labels()) + " labels but '" + first.name +
                                "' has " + std::to_string(first.num_features()) + " and " +
                                std::to_string(first.num_labels()));
  auto stack = [](const SparseRowMatrix& a, const SparseRowMatrix& b) {
    detail::CsrBuilder builder;
    for (const SparseRowMatrix* m : {&a, &b})
      for (Eigen::Index r = 0; r < m->outerSize(); ++r) append_row(builder, *m, r);
    return builder.build(a.cols());
  };
  Dataset d;
  d.name = std::move(name);
  d.features = stack(first.features, second.features);
  d.labels = stack(first.labels, second.labels);
  d.label_set = first.label_set;
  d.feature_names = first.feature_names;
  return d;
}

Splits split_dataset(const Dataset& data, double test_fraction, double validation_fraction, std::uint64_t seed) {
  if (data.labels.rows() != data.features.rows())
    throw std::invalid_argument("split_dataset(" + data.name + "): features and labels have different row counts");
  const RowPartition p = partition_rows(data.rows(), test_fraction, validation_fraction, seed);
  Splits s;
  s.train = select_rows(data, p.train, data.name + "/train");
  s.validation = select_rows(data, p.validation, data.name + "/validation");
  s.test = select_rows(data, p.test, data.name + "/test");
  return s;
}

}  // namespace longtail_train
