// SPDX-License-Identifier: Apache-2.0
#include "saved_model.hpp"

#include <cerrno>
#include <cmath>
#include <cstdio>
#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <sstream>
#include <stdexcept>

#include "common/durable_file.hpp"
#include "data/file_open.hpp"
#include "inference.hpp"
#include "mlp.hpp"
#include "targets.hpp"

namespace longtail_train {
namespace {

constexpr const char* kEnsembleHeader = "longtail-train ensemble 1";

[[noreturn]] void bad_line(const std::string& path, std::size_t line, const std::string& what) {
  throw std::invalid_argument(path + ":" + std::to_string(line) + ": " + what);
}

/// A threshold: a finite number in [0, 1], the whole field.
double parse_threshold(const std::string& text, const std::string& path, std::size_t line, std::size_t index) {
  errno = 0;
  char* end = nullptr;
  const double v = std::strtod(text.c_str(), &end);
  if (text.empty() || end != text.c_str() + text.size() || errno == ERANGE || !std::isfinite(v) || v < 0 || v > 1)
    bad_line(path, line, "threshold " + std::to_string(index + 1) + " '" + text + "' is not a number in [0, 1]");
  return v;
}

/// A member's path as the loader opens it: relative paths are relative to the ensemble file's folder.
std::string resolve_member(const std::string& ensemble_path, const std::string& member) {
  const std::filesystem::path p(member);
  if (p.is_absolute()) return member;
  return (std::filesystem::path(parent_directory(ensemble_path)) / p).lexically_normal().string();
}

}  // namespace

Mlp<float> checkpoint_model(const Checkpoint& c, int threads) {
  Mlp<float> model(c.shape, c.dense_input);
  model.set_threads(threads);
  model.parameters() = c.state.best_params;
  return model;
}

RowMatrix<float> mean_probabilities(const std::vector<const RowMatrix<float>*>& members) {
  if (members.empty()) throw std::invalid_argument("mean_probabilities: no members");
  const Eigen::Index rows = members.front()->rows(), cols = members.front()->cols();
  Eigen::ArrayXXd sum = Eigen::ArrayXXd::Zero(rows, cols);
  for (std::size_t m = 0; m < members.size(); ++m) {
    const RowMatrix<float>& p = *members[m];
    if (p.rows() != rows || p.cols() != cols)
      throw std::invalid_argument("mean_probabilities: member " + std::to_string(m + 1) + " is " +
                                  std::to_string(p.rows()) + " x " + std::to_string(p.cols()) + ", member 1 is " +
                                  std::to_string(rows) + " x " + std::to_string(cols));
    sum += p.cast<double>().array();
  }
  return (sum / double(members.size())).cast<float>().matrix();
}

AppliedRule checkpoint_rule(const Checkpoint& c) {
  if (c.thresholds.size() == 0) return {"0.5", Eigen::ArrayXd::Constant(c.shape.outputs, 0.5), false};
  return {c.rule, c.thresholds, c.at_least_one};
}

void save_ensemble_file(const std::string& path, const EnsembleFile& e) {
  if (e.members.size() < 2)
    throw std::invalid_argument("an ensemble file needs at least 2 members (got " + std::to_string(e.members.size()) +
                                ")");
  std::ostringstream os;
  os << kEnsembleHeader << "\n";
  for (const std::string& m : e.members) {
    if (m.empty() || m.find_first_of("\r\n") != std::string::npos)
      throw std::invalid_argument("ensemble member path '" + m + "' is empty or holds a line break");
    os << "member " << m << "\n";
  }
  os << "rule " << e.rule.name << " " << (e.rule.at_least_one ? 1 : 0) << "\nthresholds";
  char buf[40];
  for (Eigen::Index j = 0; j < e.rule.thresholds.size(); ++j) {
    std::snprintf(buf, sizeof buf, " %.17g", e.rule.thresholds[j]);
    os << buf;
  }
  os << "\n";
  write_file_atomically(path, os.str(), "ensemble file");
}

bool is_ensemble_file(const std::string& path) {
  std::ifstream in(path, std::ios::binary);
  std::string first;
  return in && std::getline(in, first) && first == kEnsembleHeader;
}

EnsembleFile load_ensemble_file(const std::string& path) {
  std::ifstream in = open_input_file(path, "ensemble file");
  EnsembleFile e;
  std::string line;
  std::size_t number = 0;
  bool have_rule = false, have_thresholds = false;
  while (std::getline(in, line)) {
    ++number;
    if (number == 1) {
      if (line != kEnsembleHeader)
        bad_line(path, 1, "not an ensemble file (expected '" + std::string(kEnsembleHeader) + "')");
      continue;
    }
    const std::size_t space = line.find(' ');
    const std::string key = line.substr(0, space), rest = space == std::string::npos ? "" : line.substr(space + 1);
    if (key == "member") {
      if (rest.empty()) bad_line(path, number, "'member' without a path");
      e.members.push_back(rest);
    } else if (key == "rule") {
      std::istringstream fields(rest);
      std::string name, flag, extra;
      fields >> name >> flag;
      if (name.empty() || (flag != "0" && flag != "1") || (fields >> extra))
        bad_line(path, number, "expected 'rule <name> <0|1>', got '" + line + "'");
      e.rule.name = name;
      e.rule.at_least_one = flag == "1";
      have_rule = true;
    } else if (key == "thresholds") {
      std::vector<double> t;
      std::istringstream fields(rest);
      for (std::string field; fields >> field;) t.push_back(parse_threshold(field, path, number, t.size()));
      e.rule.thresholds = Eigen::Map<const Eigen::ArrayXd>(t.data(), Eigen::Index(t.size()));
      have_thresholds = true;
    } else if (!line.empty()) {
      bad_line(path, number, "unknown item '" + key + "' (expected member, rule or thresholds)");
    }
  }
  if (number == 0) bad_line(path, 1, "empty file, not an ensemble file");
  if (e.members.size() < 2)
    throw std::invalid_argument(path + ": an ensemble needs at least 2 'member' lines (found " +
                                std::to_string(e.members.size()) + ")");
  if (!have_rule) throw std::invalid_argument(path + ": no 'rule' line");
  if (!have_thresholds) throw std::invalid_argument(path + ": no 'thresholds' line");
  return e;
}

bool SavedModel::finished() const {
  for (const Checkpoint& c : checkpoints)
    if (!c.state.finished) return false;
  return true;
}

std::string SavedModel::describe() const {
  auto one = [](const Checkpoint& c) {
    return c.setting("loss") + "; epoch " + std::to_string(c.state.best_epoch) + " of " +
           std::to_string(c.state.epochs_done);
  };
  if (!ensemble) return one(first());
  std::string s = "ensemble of " + std::to_string(checkpoints.size()) + ", decision rule " + rule.name + ":";
  for (std::size_t m = 0; m < checkpoints.size(); ++m) s += "\n  " + member_paths[m] + " (" + one(checkpoints[m]) + ")";
  return s;
}

SavedModel load_saved_model(const std::string& path) {
  SavedModel m;
  m.path = path;
  if (!is_ensemble_file(path)) {
    m.member_paths = {path};
    m.checkpoints.push_back(load_checkpoint(path));
    m.rule = checkpoint_rule(m.checkpoints.front());
    return m;
  }
  const EnsembleFile file = load_ensemble_file(path);
  m.ensemble = true;
  m.rule = file.rule;
  for (const std::string& member : file.members) {
    m.member_paths.push_back(resolve_member(path, member));
    m.checkpoints.push_back(load_checkpoint(m.member_paths.back()));
  }
  const Checkpoint& a = m.first();
  for (std::size_t k = 1; k < m.checkpoints.size(); ++k) {
    const Checkpoint& b = m.checkpoints[k];
    const std::string which = path + ": member " + std::to_string(k + 1) + " (" + m.member_paths[k] + ")";
    if (b.shape.inputs != a.shape.inputs || b.shape.outputs != a.shape.outputs)
      throw std::invalid_argument(which + " takes " + std::to_string(b.shape.inputs) + " features to " +
                                  std::to_string(b.shape.outputs) + " labels, member 1 " +
                                  std::to_string(a.shape.inputs) + " to " + std::to_string(a.shape.outputs));
    if (b.label_names != a.label_names) throw std::invalid_argument(which + " has other label names than member 1");
    if (b.data_fingerprint != a.data_fingerprint || b.data != a.data)
      throw std::invalid_argument(which + " was trained on other data than member 1 (" + b.data + " vs " + a.data +
                                  ")");
  }
  if (m.rule.thresholds.size() != a.shape.outputs)
    throw std::invalid_argument(path + ": " + std::to_string(m.rule.thresholds.size()) +
                                " thresholds for members with " + std::to_string(a.shape.outputs) + " labels");
  return m;
}

RowMatrix<float> saved_model_probabilities(const SavedModel& m, const Dataset& d, const SparseRowMatrix& features,
                                           int threads) {
  if (d.num_features() != m.inputs() || d.num_labels() != m.outputs()) {
    std::ostringstream os;
    os << m.path << ": the model " << m.first().shape.to_string() << " expects " << m.inputs() << " features and "
       << m.outputs() << " labels, but " << d.name << " has " << d.num_features() << " and " << d.num_labels()
       << " (pass the data flags it was trained with: " << m.first().data << ")";
    throw std::invalid_argument(os.str());
  }
  std::vector<RowMatrix<float>> each;
  for (const Checkpoint& c : m.checkpoints)
    each.push_back(predict_probabilities(checkpoint_model(c, threads), features));
  if (each.size() == 1) return std::move(each.front());
  std::vector<const RowMatrix<float>*> pointers;
  for (const auto& p : each) pointers.push_back(&p);
  return mean_probabilities(pointers);
}

TrainingCounts training_counts(const SavedModel& model, const Dataset& train) {
  const Checkpoint& c = model.first();
  if (c.train_label_counts.size() == model.outputs() && c.train_rows > 0)
    return {c.train_label_counts, Eigen::Index(c.train_rows)};
  return {label_counts(train.labels), train.rows()};
}

}  // namespace longtail_train
