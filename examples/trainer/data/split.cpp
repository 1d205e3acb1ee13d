// SPDX-License-Identifier: Apache-2.0
#include "data/split.hpp"

#include <algorithm>
#include <cmath>
#include <numeric>
#include <stdexcept>

#include "data/detail/csr_builder.hpp"
#include "data/rng.hpp"

namespace longtail_train {
namespace {

SparseRowMatrix take_rows(const SparseRowMatrix& m, const std::vector<Eigen::Index>& rows) {
  detail::CsrBuilder b;
  for (Eigen::Index r : rows) {
    for (SparseRowMatrix::InnerIterator it(m, r); it; ++it) b.add(static_cast<std::int32_t>(it.col()), it.value());
    b.end_row();
  }
  return b.build(m.cols());
}

}  // namespace

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

Splits split_dataset(const Dataset& data, double validation_fraction, std::uint64_t seed) {
  if (!(validation_fraction >= 0 && validation_fraction < 1))
    throw std::invalid_argument("split_dataset(" + data.name + "): validation_fraction must be in [0, 1) (got " +
                                std::to_string(validation_fraction) + ")");
  if (data.labels.rows() != data.features.rows())
    throw std::invalid_argument("split_dataset(" + data.name + "): features and labels have different row counts");
  const Eigen::Index n = data.rows();
  std::vector<Eigen::Index> order(static_cast<std::size_t>(n));
  std::iota(order.begin(), order.end(), Eigen::Index{0});
  Rng rng(seed, /*stream=*/0x5B17);
  rng.shuffle(order);
  const auto n_val = static_cast<std::size_t>(std::floor(validation_fraction * static_cast<double>(n) + 0.5));
  std::vector<Eigen::Index> val(order.begin(), order.begin() + static_cast<std::ptrdiff_t>(n_val));
  std::vector<Eigen::Index> train(order.begin() + static_cast<std::ptrdiff_t>(n_val), order.end());
  std::sort(val.begin(), val.end());
  std::sort(train.begin(), train.end());
  Splits s;
  s.train = select_rows(data, train, data.name + "/train");
  s.validation = select_rows(data, val, data.name + "/validation");
  s.test = select_rows(data, {}, data.name + "/test");
  return s;
}

}  // namespace longtail_train
