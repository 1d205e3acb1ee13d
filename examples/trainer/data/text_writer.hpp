// SPDX-License-Identifier: Apache-2.0
#pragma once
// Bag-of-words data written as labelled text: the "label1,label2<TAB>text" lines that
// text_tsv_reader.hpp reads (`longtail-train generate --format text`).

#include <string>

#include "dataset.hpp"

namespace longtail_train {

/// `counts` (features = raw term counts, one column per word of `counts.feature_names`) as
/// labelled text (`path` names the file in errors): per row, the names of its labels joined by
/// ',', a tab, then each word repeated by its count, separated by spaces, in column order. Only the bag of words
/// exists (the order of the words is not kept), which is all a bag-of-words featurizer reads.
/// Throws data_error naming the file when a count is not a positive integer, a feature has no
/// word, a word is not a token of the featurizer (letters, digits, bytes >= 0x80), or a label
/// name cannot be written (empty, surrounding spaces, ',', tab or line break).
std::string format_labelled_text_tsv(const Dataset& counts, const std::string& path);
/// format_labelled_text_tsv written atomically and durably.
void write_labelled_text_tsv(const Dataset& counts, const std::string& path);

/// directory/{train,validation,test}.tsv, written as one unit (common/run_outputs.hpp; creates the
/// directory if needed).
void write_labelled_text_splits(const Splits& counts, const std::string& directory);

}  // namespace longtail_train
