// SPDX-License-Identifier: Apache-2.0
#pragma once
// The Extreme Classification Repository's text format.

#include <string>

#include "dataset.hpp"

namespace longtail_train {

/// Reads the XMC text format: a header line "N F L" (rows, features, labels), then exactly N
/// rows "l1,l2,... f:v f:v ..." with 0-based label and feature indices; a row may have no labels
/// (it then starts with a space or directly with "f:v") and no features. Feature indices must be
/// unique within a row; values must be finite. Blank lines are rows without labels and features
/// only when counted in N; trailing blank lines after the N rows are ignored. Throws data_error
/// naming file, line and what was expected (bad header, bad label or feature index, index out of
/// range, duplicate index, bad value, too few / too many rows), for L = 0 ("no labels"), for N, F
/// or L above 2^31 - 1 (the matrices' int32 indices), and for an L whose label names alone would
/// not fit in this machine's memory (refused before allocating them). Label names are "0".."L-1"
/// (no hierarchy); feature_names stay empty.
Dataset read_xmc_text(const std::string& path);

/// `data` in the XMC text format (values with the shortest exactly-round-tripping decimal
/// representation, so read_xmc_text gives back identical matrices). `path` names the file in
/// errors.
std::string format_xmc_text(const Dataset& data, const std::string& path);
/// format_xmc_text written atomically and durably (common/durable_file.hpp). Throws data_error
/// when the file cannot be written.
void write_xmc_text(const Dataset& data, const std::string& path);

}  // namespace longtail_train
