// SPDX-License-Identifier: Apache-2.0
#include "data/xmc_text.hpp"

#include <algorithm>
#include <charconv>
#include <limits>
#include <new>

#include "data/data_error.hpp"
#include "data/detail/csr_builder.hpp"
#include "data/detail/text_file.hpp"
#include "data/memory_check.hpp"

namespace longtail_train {
namespace {

using detail::quote;
using detail::trim;

bool is_space(char c) { return c == ' ' || c == '\t'; }

/// Splits on runs of spaces/tabs.
std::vector<std::string_view> words(std::string_view s) {
  std::vector<std::string_view> out;
  std::size_t i = 0;
  while (i < s.size()) {
    while (i < s.size() && is_space(s[i])) ++i;
    const std::size_t start = i;
    while (i < s.size() && !is_space(s[i])) ++i;
    if (i > start) out.push_back(s.substr(start, i - start));
  }
  return out;
}

std::string base_name(const std::string& path) {
  const auto slash = path.find_last_of("/\\");
  return slash == std::string::npos ? path : path.substr(slash + 1);
}

}  // namespace

Dataset read_xmc_text(const std::string& path) {
  const std::string text = detail::read_whole_file(path, "XMC text file");
  detail::LineCursor lines(text);
  std::string_view line;
  const char* header_help = "expected the header 'N F L' (rows, features, labels: three non-negative integers)";
  if (!lines.next(line)) throw data_error(path, 1, std::string("empty file: ") + header_help);
  const auto head = words(line);
  long long dims[3] = {0, 0, 0};
  if (head.size() != 3) throw data_error(path, 1, std::string(header_help) + ", got " + quote(line));
  const char* const dim_names[3] = {"N", "F", "L"};
  for (int i = 0; i < 3; ++i) {
    const std::string_view word = head[static_cast<std::size_t>(i)];
    if (!detail::parse_int64(word, dims[i]) || dims[i] < 0)
      throw data_error(path, 1, std::string(header_help) + ", got " + quote(word));
    // Rows, feature and label indices and the non-zero counts are int32 in the sparse matrices.
    if (dims[i] > std::numeric_limits<std::int32_t>::max())
      throw data_error(path, 1,
                       std::string(dim_names[i]) + " = " + std::to_string(dims[i]) + " is larger than " +
                           std::to_string(std::numeric_limits<std::int32_t>::max()) +
                           " (the sparse matrices have int32 indices)");
  }
  const long long n = dims[0], num_features = dims[1], num_labels = dims[2];
  if (num_labels == 0)
    throw data_error(path, 1, "no labels: the header declares L = 0 (expected 'N F L' with at least one label)");
  // The label names "0".."L-1" are the one allocation whose size the header alone decides: each
  // costs a std::string (short enough to be stored inline) plus its parent and tier. Refuse what
  // cannot fit before allocating, rather than std::bad_alloc or the kernel's OOM killer later.
  const double label_bytes = static_cast<double>(num_labels) * (sizeof(std::string) + 2 * sizeof(int));
  require_memory(label_bytes, path, 1, "the names of the header's L = " + std::to_string(num_labels) + " labels");

  detail::CsrBuilder features, labels;
  std::vector<std::pair<std::int32_t, float>> row;
  std::vector<std::int32_t> row_labels;
  for (long long r = 0; r < n; ++r) {
    if (!lines.next(line))
      throw data_error(
          path, lines.number(),
          "the header announces " + std::to_string(n) + " rows but the file ends after " + std::to_string(r));
    auto fail = [&](const std::string& what) { throw data_error(path, lines.number(), what); };
    auto tokens = words(line);
    std::size_t t = 0;
    row_labels.clear();
    // The label list is the first token unless the line starts with a space or a "f:v" pair.
    if (!tokens.empty() && !is_space(line.front()) && tokens[0].find(':') == std::string_view::npos) {
      std::string_view list = tokens[0];
      t = 1;
      for (;;) {
        const std::size_t comma = list.find(',');
        const std::string_view item = list.substr(0, comma);
        long long label = 0;
        if (!detail::parse_int64(item, label))
          fail("expected a comma-separated list of label indices at the start of the row, got " + quote(item) + " in " +
               quote(tokens[0]));
        if (label < 0 || label >= num_labels)
          fail("label index " + std::to_string(label) + " out of range [0, " + std::to_string(num_labels) + ")");
        row_labels.push_back(static_cast<std::int32_t>(label));
        if (comma == std::string_view::npos) break;
        list.remove_prefix(comma + 1);
      }
      std::sort(row_labels.begin(), row_labels.end());
      const auto dup = std::adjacent_find(row_labels.begin(), row_labels.end());
      if (dup != row_labels.end()) fail("label index " + std::to_string(*dup) + " appears twice in the row");
    }
    row.clear();
    for (; t < tokens.size(); ++t) {
      const std::string_view token = tokens[t];
      const std::size_t colon = token.find(':');
      if (colon == std::string_view::npos) fail("expected 'feature:value' (e.g. 12:0.5), got " + quote(token));
      long long feature = 0;
      float value = 0;
      if (!detail::parse_int64(token.substr(0, colon), feature))
        fail("expected a feature index before ':', got " + quote(token));
      if (feature < 0 || feature >= num_features)
        fail("feature index " + std::to_string(feature) + " out of range [0, " + std::to_string(num_features) + ")");
      if (!detail::parse_float(token.substr(colon + 1), value))
        fail("expected a finite number after ':', got " + quote(token));
      row.emplace_back(static_cast<std::int32_t>(feature), value);
    }
    std::sort(row.begin(), row.end(), [](const auto& a, const auto& b) { return a.first < b.first; });
    for (std::size_t i = 1; i < row.size(); ++i)
      if (row[i].first == row[i - 1].first)
        fail("feature index " + std::to_string(row[i].first) + " appears twice in the row");
    for (const auto& [f, v] : row)
      if (v != 0) features.add(f, v);
    for (auto l : row_labels) labels.add(l, 1.0f);
    features.end_row();
    labels.end_row();
  }
  while (lines.next(line))
    if (!trim(line).empty())
      throw data_error(path, lines.number(),
                       "more rows than the header's N = " + std::to_string(n) +
                           " (expected only blank lines after row " + std::to_string(n) + ")");

  Dataset d;
  d.name = base_name(path);
  features.check_size(path, "feature");
  labels.check_size(path, "label");
  d.features = features.build(static_cast<Eigen::Index>(num_features));
  d.labels = labels.build(static_cast<Eigen::Index>(num_labels));
  try {
    d.label_set.names.reserve(static_cast<std::size_t>(num_labels));
    for (long long l = 0; l < num_labels; ++l) d.label_set.names.push_back(std::to_string(l));
    d.label_set.parent.assign(static_cast<std::size_t>(num_labels), -1);
    d.label_set.tier.assign(static_cast<std::size_t>(num_labels), 0);
  } catch (const std::bad_alloc&) {
    throw data_error(path, 1,
                     "out of memory for the names of the header's L = " + std::to_string(num_labels) + " labels (" +
                         format_gib(label_bytes) + ")");
  }
  return d;
}

std::string format_xmc_text(const Dataset& data, const std::string& path) {
  if (data.labels.rows() != data.features.rows())
    throw data_error(path, 0,
                     "cannot write: " + std::to_string(data.features.rows()) + " feature rows but " +
                         std::to_string(data.labels.rows()) + " label rows");
  std::string out;
  out.reserve(static_cast<std::size_t>(data.features.nonZeros()) * 12 + 64);
  out += std::to_string(data.features.rows()) + ' ' + std::to_string(data.features.cols()) + ' ' +
         std::to_string(data.labels.cols()) + '\n';
  char buf[64];
  for (Eigen::Index r = 0; r < data.features.rows(); ++r) {
    bool first = true;
    for (SparseRowMatrix::InnerIterator it(data.labels, r); it; ++it) {
      if (it.value() == 0) continue;
      if (!first) out += ',';
      out += std::to_string(it.col());
      first = false;
    }
    for (SparseRowMatrix::InnerIterator it(data.features, r); it; ++it) {
      out += ' ';
      out += std::to_string(it.col());
      out += ':';
      // Shortest decimal that reads back as the same float.
      const auto res = std::to_chars(buf, buf + sizeof buf, it.value());
      out.append(buf, res.ptr);
    }
    out += '\n';
  }
  return out;
}

void write_xmc_text(const Dataset& data, const std::string& path) {
  detail::write_file_atomically(path, format_xmc_text(data, path));
}

}  // namespace longtail_train
