// SPDX-License-Identifier: Apache-2.0
#include "data/text_tsv_reader.hpp"

#include <algorithm>
#include <string_view>
#include <unordered_map>
#include <unordered_set>

#include "data/data_error.hpp"
#include "data/detail/csr_builder.hpp"
#include "data/detail/text_file.hpp"

namespace longtail_train {
namespace {

std::string base_name(const std::string& path) {
  const auto slash = path.find_last_of("/\\");
  return slash == std::string::npos ? path : path.substr(slash + 1);
}

/// The names of one row without repeats, in order of first appearance. Rows are short (a few
/// labels): comparing with the names kept so far is fastest there. That is quadratic, though (a
/// row of 100k labels took 28 s), so longer rows go through a hash set (`seen`, reused).
std::vector<std::string> first_occurrences(const std::vector<std::string_view>& names,
                                           std::unordered_set<std::string_view>& seen) {
  constexpr std::size_t kLinearScanMax = 32;
  std::vector<std::string> kept;
  kept.reserve(names.size());
  if (names.size() <= kLinearScanMax) {
    for (const auto name : names)
      if (std::find(kept.begin(), kept.end(), name) == kept.end()) kept.emplace_back(name);
    return kept;
  }
  seen.clear();
  for (const auto name : names)
    if (seen.insert(name).second) kept.emplace_back(name);
  return kept;
}

}  // namespace

LabelledTexts read_labelled_texts(const std::string& path) {
  const std::string text = detail::read_whole_file(path, "labelled text TSV");
  detail::LineCursor lines(text);
  std::string_view line;
  LabelledTexts out;
  out.source = path;
  std::vector<std::string_view> names;
  std::unordered_set<std::string_view> seen;
  while (lines.next(line)) {
    if (detail::trim(line).empty()) continue;
    const std::size_t tab = line.find('\t');
    if (tab == std::string_view::npos)
      throw data_error(path, lines.number(), "expected 'label1,label2<TAB>text' (no tab found)");
    names.clear();
    std::string_view list = detail::trim(line.substr(0, tab));
    if (!list.empty()) {
      for (;;) {
        const std::size_t comma = list.find(',');
        const std::string_view name = detail::trim(list.substr(0, comma));
        if (name.empty())
          throw data_error(path, lines.number(),
                           "empty label name in the label list " + detail::quote(line.substr(0, tab)) +
                               " (expected names separated by single commas)");
        names.push_back(name);
        if (comma == std::string_view::npos) break;
        list.remove_prefix(comma + 1);
      }
    }
    out.labels.push_back(first_occurrences(names, seen));
    out.texts.emplace_back(line.substr(tab + 1));
    out.line_numbers.push_back(lines.number());
  }
  if (out.texts.empty()) throw data_error(path, 0, "no rows (expected 'label1,label2<TAB>text' lines)");
  return out;
}

LabelSet collect_label_names(const std::vector<const LabelledTexts*>& files) {
  LabelSet set;
  std::unordered_map<std::string, int> seen;
  for (const LabelledTexts* f : files)
    for (const auto& row : f->labels)
      for (const auto& name : row)
        if (seen.emplace(name, static_cast<int>(set.size())).second) {
          set.names.push_back(name);
          set.parent.push_back(-1);
          set.tier.push_back(0);
        }
  return set;
}

Dataset make_text_dataset(const LabelledTexts& texts, const TextFeaturizer& featurizer, const LabelSet& labels) {
  if (labels.size() == 0)
    throw data_error(texts.source, 0,
                     "no labels: no row has a label (expected 'label1,label2<TAB>text'; the label list before "
                     "the tab is empty on every line)");
  std::unordered_map<std::string, std::int32_t> index;
  for (std::size_t i = 0; i < labels.size(); ++i) index.emplace(labels.names[i], static_cast<std::int32_t>(i));
  detail::CsrBuilder label_rows;
  std::vector<std::int32_t> row;
  for (std::size_t r = 0; r < texts.labels.size(); ++r) {
    row.clear();
    for (const auto& name : texts.labels[r]) {
      const auto it = index.find(name);
      if (it == index.end())
        throw data_error(texts.source, texts.line_numbers[r],
                         "unknown label " + detail::quote(name) + " (not in the label set)");
      row.push_back(it->second);
    }
    std::sort(row.begin(), row.end());
    for (auto l : row) label_rows.add(l, 1.0f);
    label_rows.end_row();
  }
  Dataset d;
  d.name = base_name(texts.source);
  d.features = featurizer.transform(texts.texts);
  d.labels = label_rows.build(static_cast<Eigen::Index>(labels.size()));
  d.label_set = labels;
  return d;
}

Dataset read_labelled_text_tsv(const std::string& path, const TextFeaturizerConfig& config) {
  const LabelledTexts texts = read_labelled_texts(path);
  TextFeaturizer featurizer(config);
  featurizer.fit(texts.texts);
  return make_text_dataset(texts, featurizer, collect_label_names({&texts}));
}

Splits read_labelled_text_splits(const std::string& train_path, const std::string& validation_path,
                                 const std::string& test_path, const TextFeaturizerConfig& config,
                                 TextFeaturizer* featurizer_out) {
  const LabelledTexts train = read_labelled_texts(train_path);
  LabelledTexts validation, test;
  std::vector<const LabelledTexts*> all{&train};
  if (!validation_path.empty()) {
    validation = read_labelled_texts(validation_path);
    all.push_back(&validation);
  }
  if (!test_path.empty()) {
    test = read_labelled_texts(test_path);
    all.push_back(&test);
  }
  const LabelSet labels = collect_label_names(all);
  TextFeaturizer featurizer(config);
  featurizer.fit(train.texts);
  Splits s;
  s.train = make_text_dataset(train, featurizer, labels);
  auto empty_like = [&](const std::string& name) {
    Dataset d;
    d.name = name;
    d.features.resize(0, config.num_buckets);
    d.labels.resize(0, static_cast<Eigen::Index>(labels.size()));
    d.label_set = labels;
    return d;
  };
  s.validation = validation_path.empty() ? empty_like("validation") : make_text_dataset(validation, featurizer, labels);
  s.test = test_path.empty() ? empty_like("test") : make_text_dataset(test, featurizer, labels);
  if (featurizer_out) *featurizer_out = std::move(featurizer);
  return s;
}

}  // namespace longtail_train
