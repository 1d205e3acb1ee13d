// SPDX-License-Identifier: Apache-2.0
#pragma once
// Reports of a training run: the end-of-run summary and the contents of result.json and
// history.csv (written as one unit by common/run_outputs.hpp).

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

/// Every decision rule's cross-fitted validation and test metrics, and the chosen one, as a JSON object.
std::string rules_json(const RuleReport& report);

/// result.json: configuration, data, model, epochs, timing, validation and test metrics.
std::string result_json(const TrainResult& result, const std::string& data_description);
/// history.csv: one line per epoch.
std::string history_csv(const TrainResult& result);

}  // namespace longtail_train
