// SPDX-License-Identifier: Apache-2.0
#include "data/text_writer.hpp"

#include <cmath>

#include "common/durable_file.hpp"
#include "common/run_outputs.hpp"
#include "data/data_error.hpp"
#include "data/detail/text_file.hpp"

namespace longtail_train {
namespace {

bool token_byte(unsigned char c) {  // text_featurizer.cpp's rule
  return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') || c >= 0x80;
}

/// Why `name` cannot be a label of a "label1,label2<TAB>text" line ("" when it can).
std::string label_problem(const std::string& name) {
  if (name.empty()) return "is empty";
  if (name.front() == ' ' || name.back() == ' ') return "has surrounding spaces (the reader trims them)";
  if (name.find_first_of(",\t\r\n") != std::string::npos) return "contains ',', a tab or a line break";
  return "";
}

}  // namespace

std::string format_labelled_text_tsv(const Dataset& d, const std::string& path) {
  if (d.feature_names.size() != std::size_t(d.features.cols()))
    throw data_error(path, 0,
                     "cannot write text: " + std::to_string(d.feature_names.size()) + " words for " +
                         std::to_string(d.features.cols()) + " features");
  for (const auto& word : d.feature_names) {
    bool ok = !word.empty();
    for (unsigned char c : word) ok = ok && token_byte(c);
    if (!ok) throw data_error(path, 0, "cannot write text: the word " + detail::quote(word) + " is not one token");
  }
  for (const auto& name : d.label_set.names)
    if (const std::string problem = label_problem(name); !problem.empty())
      throw data_error(path, 0, "cannot write the label " + detail::quote(name) + ": its name " + problem);
  std::string out;
  for (Eigen::Index r = 0; r < d.features.rows(); ++r) {
    bool first = true;
    for (SparseRowMatrix::InnerIterator it(d.labels, r); it; ++it) {
      if (!first) out += ',';
      out += d.label_set.names[std::size_t(it.col())];
      first = false;
    }
    out += '\t';
    first = true;
    for (SparseRowMatrix::InnerIterator it(d.features, r); it; ++it) {
      const float count = it.value();
      if (!(count >= 1 && count <= 1e6f && count == std::floor(count)))
        throw data_error(path, std::size_t(r) + 1,
                         "cannot write text: feature " + std::to_string(it.col()) + " has value " +
                             std::to_string(count) + ", not a word count (generate raw counts: tfidf=0)");
      const std::string& word = d.feature_names[std::size_t(it.col())];
      for (int n = 0; n < int(count); ++n) {
        if (!first) out += ' ';
        out += word;
        first = false;
      }
    }
    out += '\n';
  }
  return out;
}

void write_labelled_text_tsv(const Dataset& d, const std::string& path) {
  detail::write_file_atomically(path, format_labelled_text_tsv(d, path));
}

void write_labelled_text_splits(const Splits& counts, const std::string& directory) {
  RunOutputs outputs;
  try {
    outputs.open(directory, "generate --format text");
    outputs.stage("train.tsv", format_labelled_text_tsv(counts.train, directory + "/train.tsv"));
    outputs.stage("validation.tsv", format_labelled_text_tsv(counts.validation, directory + "/validation.tsv"));
    outputs.stage("test.tsv", format_labelled_text_tsv(counts.test, directory + "/test.tsv"));
    outputs.commit();
  } catch (const file_error& e) {
    throw data_error(directory, 0, e.what());
  }
}

}  // namespace longtail_train
