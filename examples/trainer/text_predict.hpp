// SPDX-License-Identifier: Apache-2.0
#pragma once
// Prediction on raw text (`longtail-train predict --text FILE|-`): documents, one per line, go
// through the checkpoint's fitted text featurizer (the training features bit for bit) and the
// model, and come out as one JSON object per line:
//   {"line": 3, "top": [{"label": "Sports > Soccer", "index": 17, "p": 0.9312}, ...],
//    "predicted": ["Sports > Soccer", ...]}
// "top": the K most probable labels (ties: lower index first); "predicted": every label whose
// probability exceeds its threshold (the checkpoint's decision rule, tuned on validation; 0.5
// when not tuned), most probable first; with the rule's at-least-one, the most probable label
// when none exceeds its threshold (decision_rules.hpp).
//
// Input rules: a line ends at '\n'; one '\r' before it is dropped (CRLF files); the last line
// needs no newline; a UTF-8 byte-order mark at the start of the input is skipped (as the TSV
// reader does); bytes are never decoded, so invalid UTF-8 is tokenised by the featurizer's rule
// (every byte >= 0x80 is a token byte), exactly as in training. An empty line is the empty
// document: it gets a line of output too (the model's answer without any word), so output line
// i always answers input line i. A line longer than max_line_bytes is an error naming the line
// (the stream is read in blocks, never more than one line plus one block in memory).
// Lines are scored batch_rows at a time (the model's GEMM wants many rows); the output is
// flushed after every batch.

#include <cstddef>
#include <istream>
#include <ostream>
#include <stdexcept>
#include <string>
#include <vector>

#include <Eigen/Core>

#include "data/text_featurizer.hpp"
#include "dataset.hpp"
#include "mlp.hpp"

namespace longtail_train {

struct TextPredictOptions {
  int top = 5;                                         ///< labels in "top"
  std::size_t batch_rows = 256;                        ///< documents per model call
  std::size_t max_line_bytes = std::size_t{64} << 20;  ///< longer lines are refused
  bool at_least_one = false;                           ///< predict the top label when none clears its threshold
};

/// A line the predictor cannot take (too long): the message names the input and the line.
class text_input_error : public std::runtime_error {
 public:
  using std::runtime_error::runtime_error;
};

class TextPredictor {
 public:
  /// Keeps references to `model` and `featurizer`: they must outlive the predictor.
  /// `thresholds`: one per label (empty: 0.5 for every label); `label_names`: one per label
  /// (empty: the index is the name). Throws std::invalid_argument when the featurizer's bucket
  /// count is not the model's input width or the sizes do not match the model's labels.
  TextPredictor(const Mlp<float>& model, const TextFeaturizer& featurizer, Eigen::ArrayXd thresholds,
                std::vector<std::string> label_names, TextPredictOptions options = {});

  /// sigmoid(logits) of each text (rows = texts).
  RowMatrix<float> probabilities(const std::vector<std::string>& texts) const;

  /// The JSON line (without the newline) of one document's probabilities.
  std::string json_line(std::size_t line_number, const float* probabilities) const;

  /// Reads `in` to its end, writes one JSON line per input line to `out`; `source` names the
  /// input in errors. Returns the number of documents.
  std::size_t run(std::istream& in, const std::string& source, std::ostream& out) const;

 private:
  const Mlp<float>& model_;
  const TextFeaturizer& featurizer_;
  Eigen::ArrayXd thresholds_;
  std::vector<std::string> names_;  ///< JSON string literals, ready to print
  TextPredictOptions options_;
};

}  // namespace longtail_train
