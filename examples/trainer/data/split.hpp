// SPDX-License-Identifier: Apache-2.0
#pragma once
// Every random split of the trainer: which rows of a source go to train, validation and test
// when the source has no file of its own for them. One rule for every source (ARFF, XMC, text):
// one seeded permutation of the rows (Rng(seed, kSplitStream), common/rng.hpp); its first
// round(test_fraction * n) rows are test, the next round(validation_fraction * (n - n_test))
// validation, the rest train; each part keeps the source's row order.

#include <cstdint>
#include <string>
#include <vector>

#include "dataset.hpp"

namespace longtail_train {

/// The split's stream of the data seed (kept from the first release, so that the validation
/// rows carved out of an official training file, e.g. Delicious', stay the same).
inline constexpr std::uint64_t kSplitStream = 0x5B17;

/// Row indices of each part, ascending.
struct RowPartition {
  std::vector<Eigen::Index> train, validation, test;
};

/// The partition of rows 0..rows-1 described in the file comment. Fractions in [0, 1).
RowPartition partition_rows(Eigen::Index rows, double test_fraction, double validation_fraction, std::uint64_t seed);

/// The rows `rows` (in that order) of `data`; label set and feature names are shared.
Dataset select_rows(const Dataset& data, const std::vector<Eigen::Index>& rows, std::string name);

/// The rows of `first`, then those of `second` (refitting on train + validation, refit.hpp);
/// label set and feature names are `first`'s. Throws std::invalid_argument naming both when their
/// feature or label counts differ.
Dataset concatenate_rows(const Dataset& first, const Dataset& second, std::string name);

/// `data` split by partition_rows into train / validation / test, named "<name>/train", ...
/// (test_fraction 0: test has 0 rows and the same columns, for the caller to fill, e.g. with
/// Delicious' official test file).
Splits split_dataset(const Dataset& data, double test_fraction, double validation_fraction, std::uint64_t seed);

}  // namespace longtail_train
