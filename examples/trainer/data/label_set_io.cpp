// SPDX-License-Identifier: Apache-2.0
#include "data/label_set_io.hpp"

#include <limits>

#include "data/data_error.hpp"
#include "data/detail/text_file.hpp"
#include "data/taxonomy.hpp"

namespace longtail_train {
namespace {
constexpr const char* kHeader = "index\tparent\ttier\tname";
}

std::string format_label_set_tsv(const LabelSet& labels, const std::string& path) {
  validate_label_set(labels, path);
  std::string out = std::string(kHeader) + '\n';
  for (std::size_t i = 0; i < labels.size(); ++i) {
    const std::string& name = labels.names[i];
    if (name.find_first_of("\t\r\n") != std::string::npos)
      throw data_error(path, 0, "cannot write label " + std::to_string(i) + ": its name contains a tab or a newline");
    out += std::to_string(i) + '\t' + std::to_string(labels.parent[i]) + '\t' + std::to_string(labels.tier[i]) + '\t' +
           name + '\n';
  }
  return out;
}

void write_label_set_tsv(const LabelSet& labels, const std::string& path) {
  detail::write_file_atomically(path, format_label_set_tsv(labels, path));
}

LabelSet read_label_set_tsv(const std::string& path) {
  const std::string text = detail::read_whole_file(path, "label set TSV");
  detail::LineCursor lines(text);
  std::string_view line;
  if (!lines.next(line) || line != kHeader)
    throw data_error(path, 1, "expected the header \"index<TAB>parent<TAB>tier<TAB>name\"");
  LabelSet labels;
  while (lines.next(line)) {
    if (detail::trim(line).empty()) continue;
    std::string_view f[4];
    std::size_t start = 0;
    for (int c = 0; c < 3; ++c) {
      const std::size_t tab = line.find('\t', start);
      if (tab == std::string_view::npos)
        throw data_error(path, lines.number(), "expected 4 tab-separated columns: index, parent, tier, name");
      f[c] = line.substr(start, tab - start);
      start = tab + 1;
    }
    f[3] = line.substr(start);
    long long index = 0, parent = 0, tier = 0;
    if (!detail::parse_int64(f[0], index) || index != static_cast<long long>(labels.size()))
      throw data_error(path, lines.number(),
                       "expected index " + std::to_string(labels.size()) + " in column 1, got " + detail::quote(f[0]));
    if (!detail::parse_int64(f[1], parent) || parent < -1)
      throw data_error(path, lines.number(), "expected a parent index >= -1 in column 2, got " + detail::quote(f[1]));
    // Range-checked here as a 64-bit number: narrowed to int first, 4294967296 would become 0.
    if (parent > std::numeric_limits<int>::max())
      throw data_error(path, lines.number(),
                       "parent " + std::to_string(parent) + " out of range (larger than any index)");
    if (!detail::parse_int64(f[2], tier) || tier < 0 || tier > 1000)
      throw data_error(path, lines.number(), "expected a tier >= 0 in column 3, got " + detail::quote(f[2]));
    if (f[3].empty()) throw data_error(path, lines.number(), "empty label name in column 4");
    labels.names.emplace_back(f[3]);
    labels.parent.push_back(static_cast<int>(parent));
    labels.tier.push_back(static_cast<int>(tier));
  }
  if (labels.size() == 0)
    throw data_error(path, 0, "no labels (expected one 'index<TAB>parent<TAB>tier<TAB>name' row per label)");
  for (std::size_t i = 0; i < labels.size(); ++i)
    if (labels.parent[i] >= static_cast<int>(labels.size()))
      throw data_error(path, i + 2,
                       "parent " + std::to_string(labels.parent[i]) + " out of range (the file has " +
                           std::to_string(labels.size()) + " labels)");
  validate_label_set(labels, path);  // cycles, tier consistency
  return labels;
}

}  // namespace longtail_train
