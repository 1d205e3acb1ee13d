// SPDX-License-Identifier: Apache-2.0
#pragma once
// Reader of the PyTorch golden files written by tests/reference/make_golden.py (the format is
// documented at the top of that script). A malformed file is an error naming the file and line,
// never a silently skipped case.

#include <cstdlib>
#include <fstream>
#include <map>
#include <optional>
#include <sstream>
#include <stdexcept>
#include <string>
#include <vector>

namespace lt_test {

struct GoldenCase {
  std::string file, name, kind;
  int rows = 0, cols = 0;
  double gamma_pos = 0, gamma_neg = 0, margin = 0, label_smoothing = 0;
  std::optional<double> alpha;
  std::vector<double> weight, pos_weight, sample_weight, mask;  // empty: "none"
  std::vector<double> logit_offset;                             // empty: none (or absent)
  // kind db: DistributionBalancedOptions {alpha, beta, mu, lambda, kappa, gamma}, counts, rows.
  std::vector<double> db, label_counts;
  double train_rows = 0;
  std::vector<double> logits, targets, loss_elements, grad_sum, grad_mean;
  double loss_sum = 0, loss_mean = 0;
};

namespace golden_detail {

[[noreturn]] inline void bad(const std::string& file, int line, const std::string& why) {
  throw std::runtime_error(file + ":" + std::to_string(line) + ": " + why);
}

inline std::vector<double> parse_numbers(const std::string& file, int line, std::istringstream& in, bool& is_none) {
  std::vector<double> out;
  std::string tok;
  is_none = false;
  while (in >> tok) {
    if (tok == "none" && out.empty()) {
      is_none = true;
      continue;
    }
    char* end = nullptr;
    const double v = std::strtod(tok.c_str(), &end);
    if (end == tok.c_str() || *end != '\0') bad(file, line, "not a number: '" + tok + "'");
    out.push_back(v);
  }
  return out;
}

}  // namespace golden_detail

/// Reads every case of one golden file; checks that each case has every field with the right
/// number of values.
inline std::vector<GoldenCase> load_golden(const std::string& path) {
  using golden_detail::bad;
  std::ifstream f(path);
  if (!f) throw std::runtime_error("cannot open golden file " + path + " (run tests/reference/make_golden.py)");
  std::vector<GoldenCase> cases;
  std::map<std::string, std::vector<double>> fields;
  std::map<std::string, bool> none;
  GoldenCase cur;
  bool open = false;
  std::string line;
  int lineno = 0;
  while (std::getline(f, line)) {
    ++lineno;
    std::istringstream in(line);
    std::string key;
    if (!(in >> key) || key[0] == '#') continue;
    if (key == "case") {
      if (open) bad(path, lineno, "'case' inside an unfinished case");
      cur = GoldenCase{};
      cur.file = path;
      if (!(in >> cur.name)) bad(path, lineno, "case without a name");
      fields.clear();
      none.clear();
      open = true;
      continue;
    }
    if (!open) bad(path, lineno, "'" + key + "' outside a case");
    if (key == "kind") {
      if (!(in >> cur.kind) || (cur.kind != "wbce" && cur.kind != "focal" && cur.kind != "asl" && cur.kind != "db"))
        bad(path, lineno, "kind must be wbce, focal, asl or db");
      continue;
    }
    if (key == "end") {
      auto need = [&](const char* k, std::size_t n, bool may_be_none) -> std::vector<double> {
        if (!fields.count(k)) bad(path, lineno, cur.name + ": missing field '" + k + "'");
        if (none[k]) {
          if (!may_be_none) bad(path, lineno, cur.name + ": field '" + k + "' may not be none");
          return {};
        }
        if (fields[k].size() != n)
          bad(path, lineno,
              cur.name + ": field '" + k + "' has " + std::to_string(fields[k].size()) + " values, want " +
                  std::to_string(n));
        return fields[k];
      };
      if (cur.kind.empty()) bad(path, lineno, cur.name + ": missing kind");
      const auto shape = need("shape", 2, false);
      cur.rows = int(shape[0]);
      cur.cols = int(shape[1]);
      const std::size_t rc = std::size_t(cur.rows) * std::size_t(cur.cols);
      cur.gamma_pos = need("gamma_pos", 1, false)[0];
      cur.gamma_neg = need("gamma_neg", 1, false)[0];
      const auto alpha = need("alpha", 1, true);
      if (!alpha.empty()) cur.alpha = alpha[0];
      cur.margin = need("margin", 1, false)[0];
      cur.label_smoothing = need("label_smoothing", 1, false)[0];
      cur.weight = need("weight", std::size_t(cur.cols), true);
      cur.pos_weight = need("pos_weight", std::size_t(cur.cols), true);
      cur.sample_weight = need("sample_weight", std::size_t(cur.rows), true);
      cur.mask = need("mask", rc, true);
      cur.logits = need("logits", rc, false);
      cur.targets = need("targets", rc, false);
      cur.loss_elements = need("loss_elements", rc, false);
      cur.loss_sum = need("loss_sum", 1, false)[0];
      cur.loss_mean = need("loss_mean", 1, false)[0];
      cur.grad_sum = need("grad_sum", rc, false);
      cur.grad_mean = need("grad_mean", rc, false);
      if (fields.count("logit_offset")) cur.logit_offset = need("logit_offset", std::size_t(cur.cols), true);
      if (cur.kind == "db") {
        cur.db = need("db", 6, false);
        cur.label_counts = need("label_counts", std::size_t(cur.cols), false);
        cur.train_rows = need("train_rows", 1, false)[0];
      }
      cases.push_back(cur);
      open = false;
      continue;
    }
    if (fields.count(key)) bad(path, lineno, "field '" + key + "' given twice");
    bool is_none = false;
    fields[key] = golden_detail::parse_numbers(path, lineno, in, is_none);
    none[key] = is_none;
  }
  if (open) bad(path, lineno, "file ends inside case " + cur.name);
  if (cases.empty()) bad(path, lineno, "no cases");
  return cases;
}

}  // namespace lt_test
