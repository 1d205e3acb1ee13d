// SPDX-License-Identifier: Apache-2.0
#pragma once
// Checkpoints: everything needed to resume training exactly (weights, Adam state, epoch, early-
// stopping state, history) and to evaluate / predict later (best weights, tuned thresholds,
// label names, training label counts).
//
// File format (little-endian, version 1):
//   magic "LTTRAIN\x1a" (8 bytes) | u32 version | u32 0x01020304 (byte-order check) |
//   u64 payload size | payload | u64 FNV-1a-64 checksum of the payload
// The payload is a fixed sequence of typed fields (see checkpoint.cpp). Loading checks the
// magic, version, byte order, size and checksum and names the file in every error. Writing is
// atomic: the bytes go to "<file>.tmp-<pid>", are flushed and fsync'ed, then renamed over <file>,
// so a crash never leaves a half-written checkpoint under the real name.

#include <cstdint>
#include <stdexcept>
#include <string>
#include <utility>
#include <vector>

#include <Eigen/Core>

#include "mlp.hpp"

namespace longtail_train {

/// One line of training history.
struct EpochRecord {
  int epoch = 0;            ///< 1-based
  double train_loss = 0;    ///< mean minibatch loss over the epoch
  double val_macro_f1 = 0;  ///< at threshold 0.5
  double val_micro_f1 = 0;
  double seconds = 0;            ///< wall time of the epoch (training + validation)
  double train_seconds = 0;      ///< wall time of the minibatch updates alone
  double train_cpu_seconds = 0;  ///< process CPU time of the minibatch updates (all threads)
};

struct Checkpoint {
  static constexpr std::uint32_t kVersion = 1;

  /// Training settings as (flag, value) pairs: checked by --resume, shown by eval.
  std::vector<std::pair<std::string, std::string>> settings;
  std::string data;  ///< description of the data the model was trained on
  MlpShape shape;
  bool dense_input = false;

  // State after `epochs_done` epochs.
  Eigen::VectorXf params;
  std::int64_t adam_steps = 0;
  Eigen::VectorXf adam_m, adam_v;
  int epochs_done = 0;
  bool finished = false;  ///< training ended (epochs exhausted or early stop)

  // Early stopping on validation macro-F1.
  Eigen::VectorXf best_params;
  int best_epoch = 0;
  double best_score = -1;
  int epochs_without_improvement = 0;
  std::vector<EpochRecord> history;

  // For eval / predict.
  Eigen::ArrayXd thresholds;  ///< per-label thresholds tuned on validation (empty until finished)
  std::vector<std::string> label_names;
  Eigen::ArrayXd train_label_counts;

  /// The value of a setting ("" when absent).
  std::string setting(const std::string& key) const;
};

class checkpoint_error : public std::runtime_error {
 public:
  using std::runtime_error::runtime_error;
};

/// Writes atomically (temp file + rename). Throws checkpoint_error naming the file.
void save_checkpoint(const std::string& path, const Checkpoint& checkpoint);

/// Reads and checks a checkpoint. Throws checkpoint_error naming the file and what is wrong.
Checkpoint load_checkpoint(const std::string& path);

}  // namespace longtail_train
