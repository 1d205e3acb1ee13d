// SPDX-License-Identifier: Apache-2.0
#include "data/dataset_io.hpp"

#include <filesystem>
#include <stdexcept>

#include "common/durable_file.hpp"
#include "common/run_outputs.hpp"
#include "data/data_error.hpp"
#include "data/detail/text_file.hpp"
#include "data/label_set_io.hpp"
#include "data/xmc_text.hpp"

namespace longtail_train {

NamedFiles dataset_files(const Dataset& data, const std::string& data_path, const std::string& labels_path) {
  if (data.label_set.size() != static_cast<std::size_t>(data.labels.cols()))
    throw std::invalid_argument("write_dataset(" + data_path + "): the label set has " +
                                std::to_string(data.label_set.size()) + " names for " +
                                std::to_string(data.labels.cols()) + " label columns");
  if (!data.feature_names.empty() && data.feature_names.size() != static_cast<std::size_t>(data.features.cols()))
    throw std::invalid_argument("write_dataset(" + data_path + "): " + std::to_string(data.feature_names.size()) +
                                " feature names for " + std::to_string(data.features.cols()) + " features");
  NamedFiles files;
  files.emplace_back(data_path, format_xmc_text(data, data_path));
  if (!labels_path.empty()) files.emplace_back(labels_path, format_label_set_tsv(data.label_set, labels_path));
  if (!data.feature_names.empty()) {
    std::string out;
    for (std::size_t i = 0; i < data.feature_names.size(); ++i) {
      if (data.feature_names[i].find_first_of("\r\n") != std::string::npos)
        throw data_error(data_path + ".features", 0, "feature name " + std::to_string(i) + " contains a newline");
      out += data.feature_names[i] + '\n';
    }
    files.emplace_back(data_path + ".features", std::move(out));
  }
  return files;
}

void write_dataset(const Dataset& data, const std::string& data_path, const std::string& labels_path) {
  for (const auto& [path, contents] : dataset_files(data, data_path, labels_path))
    detail::write_file_atomically(path, contents);
}

Dataset read_dataset(const std::string& data_path, const std::string& labels_path) {
  Dataset d = read_xmc_text(data_path);
  if (!labels_path.empty()) {
    LabelSet labels = read_label_set_tsv(labels_path);
    if (labels.size() != static_cast<std::size_t>(d.labels.cols()))
      throw data_error(labels_path, 0,
                       "has " + std::to_string(labels.size()) + " labels but " + data_path + " has " +
                           std::to_string(d.labels.cols()));
    d.label_set = std::move(labels);
  }
  const std::string names_path = data_path + ".features";
  if (std::filesystem::exists(names_path)) {
    const std::string text = detail::read_whole_file(names_path, "feature names file");
    detail::LineCursor lines(text);
    std::string_view line;
    std::vector<std::string> names;
    while (lines.next(line)) names.emplace_back(line);
    if (names.size() != static_cast<std::size_t>(d.features.cols()))
      throw data_error(names_path, 0,
                       "has " + std::to_string(names.size()) + " feature names but " + data_path + " has " +
                           std::to_string(d.features.cols()) + " features");
    d.feature_names = std::move(names);
  }
  return d;
}

namespace {
const char* const kSplitFiles[3] = {"train.txt", "validation.txt", "test.txt"};
}

void write_splits(const Splits& splits, const std::string& directory) {
  RunOutputs outputs;
  try {
    outputs.open(directory, "generate");
    const Dataset* parts[3] = {&splits.train, &splits.validation, &splits.test};
    for (int i = 0; i < 3; ++i)
      for (const auto& [name, contents] : dataset_files(*parts[i], kSplitFiles[i], i == 0 ? "labels.tsv" : ""))
        outputs.stage(name, contents);
    outputs.commit();
  } catch (const file_error& e) {
    throw data_error(directory, 0, e.what());
  }
}

Splits read_splits(const std::string& directory) {
  const std::filesystem::path dir(directory);
  const std::string labels = (dir / "labels.tsv").string();
  Splits s;
  Dataset* parts[3] = {&s.train, &s.validation, &s.test};
  for (int i = 0; i < 3; ++i) *parts[i] = read_dataset((dir / kSplitFiles[i]).string(), labels);
  return s;
}

}  // namespace longtail_train
