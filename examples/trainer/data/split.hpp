// SPDX-License-Identifier: Apache-2.0
#pragma once
// Row subsets and random validation splits.

#include <cstdint>
#include <string>
#include <vector>

#include "dataset.hpp"

namespace longtail_train {

/// The rows `rows` (in that order) of `data`; label set and feature names are shared.
Dataset select_rows(const Dataset& data, const std::vector<Eigen::Index>& rows, std::string name);

/// Carves a validation split out of `data`: a seeded random permutation (own RNG, the same on
/// every platform) puts round(validation_fraction * rows) rows into validation, the rest into
/// train, each in their original order. test is left empty (0 rows, same columns) for the
/// caller to fill (e.g. Delicious: the official test file). Names get "/train" and
/// "/validation" appended. validation_fraction must be in [0, 1).
Splits split_dataset(const Dataset& data, double validation_fraction, std::uint64_t seed);

}  // namespace longtail_train
