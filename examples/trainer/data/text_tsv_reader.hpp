// SPDX-License-Identifier: Apache-2.0
#pragma once
// Labelled free text: "label1,label2<TAB>text" lines.

#include <cstddef>
#include <string>
#include <vector>

#include "data/text_featurizer.hpp"
#include "dataset.hpp"

namespace longtail_train {

/// The raw content of a labelled-text TSV file.
struct LabelledTexts {
  std::string source;                            ///< the file path
  std::vector<std::string> texts;                ///< one per row
  std::vector<std::vector<std::string>> labels;  ///< label names per row (may be empty)
  std::vector<std::size_t> line_numbers;         ///< 1-based line of each row in `source`
};

/// Reads "label1,label2<TAB>free text" lines (UTF-8; CRLF accepted; blank lines skipped; the text
/// is everything after the first tab). The label list may be empty ("<TAB>text"); label names are
/// trimmed of spaces, must not be empty between commas, and a name repeated within a row counts
/// once. Throws data_error naming file and line for a line without a tab, an empty label name, or
/// an unreadable or empty file.
LabelledTexts read_labelled_texts(const std::string& path);

/// Label names in order of first appearance over `files` (flat LabelSet: parent -1, tier 0).
LabelSet collect_label_names(const std::vector<const LabelledTexts*>& files);

/// Builds a Dataset from texts with an already fitted featurizer and a given label set. A label
/// name missing from `labels` throws data_error naming file and line; an empty label set (no row
/// of any file had a label) throws data_error "no labels" naming texts.source.
Dataset make_text_dataset(const LabelledTexts& texts, const TextFeaturizer& featurizer, const LabelSet& labels);

/// One-file convenience: reads `path`, collects its label names, fits a featurizer with `config`
/// on its texts and returns the features. For train / validation / test files use
/// read_labelled_text_splits (the featurizer must be fitted on train only).
Dataset read_labelled_text_tsv(const std::string& path, const TextFeaturizerConfig& config);

/// Reads train (and validation / test when the path is non-empty): label names are collected
/// from all given files (a label seen only outside train simply has no training positives), the
/// featurizer is fitted on train and applied to all. `featurizer_out`, when non-null, receives
/// the fitted featurizer (for predict on new texts).
Splits read_labelled_text_splits(const std::string& train_path, const std::string& validation_path,
                                 const std::string& test_path, const TextFeaturizerConfig& config,
                                 TextFeaturizer* featurizer_out = nullptr);

}  // namespace longtail_train
