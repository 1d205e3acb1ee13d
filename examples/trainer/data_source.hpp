// SPDX-License-Identifier: Apache-2.0
#pragma once
// Which data the trainer runs on, from the command line's data flags, through the data layer
// (examples/trainer/data/): the embedded generator (default), Mulan ARFF, XMC text, labelled
// text TSV, or a directory written by `longtail-train generate`.
//
// Splits (data/split.hpp, one rule for every source, seeded with --data-seed): a source without a
// test file gives --test-fraction of its rows to test, and without a validation file
// --validation-fraction of the rest to validation. Delicious' official split is therefore
//   --arff delicious-train.arff --arff-test delicious-test.arff --xml delicious.xml
// (train -> train + validation, test file -> test).

#include <cstdint>
#include <optional>
#include <string>
#include <utility>
#include <vector>

#include "data/generator.hpp"
#include "data/text_featurizer.hpp"
#include "dataset.hpp"

namespace longtail_train {

struct DataOptions {
  // Embedded generator.
  std::string taxonomy;                              ///< IAB taxonomy TSV (names and tree); "" = generated tree
  std::uint64_t data_seed = GeneratorConfig{}.seed;  ///< generator and split seed
  std::vector<std::pair<std::string, std::string>> generator_overrides;  ///< --generator K=V
  // Files.
  std::string arff, arff_test, xml;
  int labels = 0;  ///< ARFF: the last `labels` attributes are labels (or from --xml)
  std::string xmc, xmc_test;
  std::string tsv, tsv_validation, tsv_test;
  int hash_buckets = 1 << 14;
  bool bigrams = false;
  std::string data_dir;  ///< written by `generate`
  double validation_fraction = 0.1;
  double test_fraction = 0.2;

  /// "embedded", "arff", "xmc", "tsv", "dir".
  std::string source() const;
  /// Throws std::invalid_argument naming the flag for conflicting or incomplete choices.
  void validate() const;
};

/// The generator settings: the frozen defaults, --data-seed, then --generator overrides.
GeneratorConfig generator_config(const DataOptions& options);

/// A fingerprint of a split's contents (shape, feature and label matrices, label names): what
/// --resume compares to refuse a different data set that has the same file name and shape.
std::uint64_t fingerprint(const Dataset& data);

/// Loads (or generates) train / validation / test. Data-layer errors (data_error) pass through:
/// they name file and line. `featurizer`, when non-null, receives the text featurizer fitted on
/// the training rows for --tsv (what a checkpoint keeps so that predict --text reproduces the
/// training features) and is reset for every other source.
Splits load_splits(const DataOptions& options, std::optional<TextFeaturizer>* featurizer = nullptr);

}  // namespace longtail_train
