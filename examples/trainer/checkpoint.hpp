// SPDX-License-Identifier: Apache-2.0
#pragma once
// Checkpoints: the serialised form of a training run. Everything needed to resume training
// exactly (the TrainingState of training_state.hpp) and to evaluate / predict later (the model's
// shape, the best weights, tuned thresholds, label names, training label counts), plus what
// --resume checks (the settings and a fingerprint of the training and validation data).
//
// File format (little-endian):
//   magic "LTTRAIN\x1a" (8 bytes) | u32 version | u32 0x01020304 (byte-order check) |
//   u64 payload size | payload | u64 FNV-1a-64 checksum of the payload
// The payload is a fixed sequence of typed fields (checkpoint.cpp); version 2 added the data
// fingerprint and the text featurizer (after the training label counts), version 3 the decision
// rule (its name and at-least-one flag, at the end); versions 1 and 2 are still read (their
// thresholds are the per-label rule's). Loading checks the magic, version, byte order,
// size and checksum, then every value (shapes, counters, finiteness), and names the file in
// every error: a checkpoint with a valid checksum but impossible contents is refused too.
// Writing is atomic (common/durable_file.hpp): a crash never leaves a half-written checkpoint
// under the real name.

#include <cstdint>
#include <optional>
#include <stdexcept>
#include <string>
#include <utility>
#include <vector>

#include <Eigen/Core>

#include "data/text_featurizer.hpp"
#include "mlp.hpp"
#include "training_state.hpp"

namespace longtail_train {

struct Checkpoint {
  static constexpr std::uint32_t kVersion = 4;

  /// Training settings as (flag, value) pairs: checked by --resume, shown by eval.
  std::vector<std::pair<std::string, std::string>> settings;
  std::string data;                    ///< description of the data the model was trained on
  std::uint64_t data_fingerprint = 0;  ///< of the train and validation splits (0: unknown, version 1)
  MlpShape shape;
  bool dense_input = false;

  TrainingState state;

  // For eval / predict.
  Eigen::ArrayXd thresholds;  ///< the decision rule's thresholds, tuned on validation (empty until finished)
  std::string rule = "0.5";   ///< the decision rule (decision_rules.hpp) that made `thresholds`
  bool at_least_one = false;  ///< the rule's top-1 when no label clears its threshold (predict, eval)
  std::vector<std::string> label_names;
  Eigen::ArrayXd train_label_counts;
  /// Rows of the training split that train_label_counts count (the propensity-scored metrics need
  /// both, of one split: a refit model's are train + validation); 0: unknown (versions 1 to 3).
  std::int64_t train_rows = 0;

  /// The fitted text featurizer of a model trained on text (--tsv): its settings and idf, all that
  /// transform() needs to reproduce the training features bit for bit (predict --text). Empty
  /// for every other data source and in version 1 files.
  std::optional<TextFeaturizer> featurizer;

  /// The value of a setting ("" when absent).
  std::string setting(const std::string& key) const;
};

class checkpoint_error : public std::runtime_error {
 public:
  using std::runtime_error::runtime_error;
};

/// Writes atomically (temp file, fsync, rename, fsync of the folder). Throws checkpoint_error
/// naming the file.
void save_checkpoint(const std::string& path, const Checkpoint& checkpoint);

/// Reads and checks a checkpoint. Throws checkpoint_error naming the file and what is wrong.
Checkpoint load_checkpoint(const std::string& path);

}  // namespace longtail_train
