// SPDX-License-Identifier: Apache-2.0
#pragma once
// Mulan multi-label ARFF files.

#include <string>

#include "dataset.hpp"

namespace longtail_train {

/// Reads a Mulan multi-label ARFF file: `@relation`, `@attribute` lines (numeric / real /
/// integer, or nominal with numeric values such as {0,1}), `@data`, then dense rows
/// ("v1,v2,...") or sparse rows ("{i v, j v, ...}", 0-based attribute indices, omitted = 0).
/// Comments (%) and blank lines are skipped; CRLF is accepted.
/// The labels are the LAST L attributes: L = num_labels_or_0 when > 0, otherwise the number of
/// <label> elements in the Mulan XML file at xml_path_or_empty (when both are given they must
/// agree). With the XML, each of its <label name="..."> must name one of the last L attributes
/// (XML entities and ARFF backslash escapes decoded; any order): a name that is no attribute, or
/// that names an attribute the reader would take as a feature (an XML with fewer labels than the
/// ARFF, or a feature listed as a label), a <label> without a name and a name listed twice are
/// errors at the XML's line. Label attributes must be {0,1} nominal or numeric with values 0/1. All other
/// attributes are features (names kept in feature_names); label names are the ARFF attribute
/// names. Throws data_error naming file, line and the expected syntax for: a missing file, a bad
/// @attribute line, an unknown attribute type (string, date, relational), a nominal feature with
/// non-numeric values, a missing @data, a row with the wrong number of values, a bad index or
/// value, an index out of range or not increasing, a label value other than 0/1, a missing
/// value '?', instance weights, too many labels, and an XML file without <label> elements.
Dataset read_mulan_arff(const std::string& arff_path, int num_labels_or_0, const std::string& xml_path_or_empty);

/// Number of <label ...> elements in a Mulan labels XML file (throws data_error when none, for a
/// <label> without a name and for a name listed twice).
int count_mulan_xml_labels(const std::string& xml_path);

}  // namespace longtail_train
