// SPDX-License-Identifier: Apache-2.0
#pragma once
// Reports of a training run: the end-of-run summary, result.json and history.csv. Files are
// written through a temporary name and renamed, like checkpoints.

#include <string>

#include "trainer.hpp"

namespace longtail_train {

/// Human-readable summary: configuration, best epoch, timing, validation and test metrics.
std::string format_summary(const TrainResult& result, const std::string& data_description);

/// JSON string literal (quotes and escapes).
std::string json_string(const std::string& s);
/// A finite number, or null.
std::string json_number(double v);

/// The metrics of one split as a JSON object.
std::string evaluation_json(const SplitEvaluation& e);

/// Writes `contents` to `path` atomically; throws std::runtime_error naming the file.
void write_file_atomically(const std::string& path, const std::string& contents);

/// result.json and history.csv into `directory` (created if needed).
void write_train_outputs(const std::string& directory, const TrainResult& result, const std::string& data_description);

/// Creates a directory (and parents); throws std::runtime_error naming it.
void make_directories(const std::string& directory);

}  // namespace longtail_train
