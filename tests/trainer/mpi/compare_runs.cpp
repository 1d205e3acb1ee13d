// SPDX-License-Identifier: Apache-2.0
// Compares two training runs of the same configuration, e.g. one process against two ranks:
//   longtail_compare_runs A.ltck B.ltck [A/result.json B/result.json]
// Checkpoints: same epochs, best epoch and Adam steps; the current and the best weights, and Adam's
// moments, within a relative distance of 1e-5 (||a - b|| / ||a||, over the whole vector: a
// data-parallel run adds the ranks' gradients in another order than one process, so the
// weights agree to float rounding, not bit for bit). result.json: every number but the timings
// within 2e-3 (the metrics of weights that differ in the last bits; a label whose score sits on
// its threshold may flip). Prints the distances; exit code 0 when all hold, 1 otherwise.

#include <cmath>
#include <cstdio>
#include <fstream>
#include <iostream>
#include <regex>
#include <sstream>
#include <string>
#include <vector>

#include "checkpoint.hpp"

namespace {

int failures = 0;

void expect(bool ok, const std::string& what) {
  std::printf("%s %s\n", ok ? "ok  " : "FAIL", what.c_str());
  if (!ok) ++failures;
}

void compare_vectors(const char* name, const Eigen::VectorXf& a, const Eigen::VectorXf& b, double rtol) {
  if (a.size() != b.size()) return expect(false, std::string(name) + ": sizes differ");
  const double norm = a.cast<double>().norm();
  const double dist = (a.cast<double>() - b.cast<double>()).norm();
  const double rel = norm > 0 ? dist / norm : dist;
  char line[200];
  std::snprintf(line, sizeof line, "%s: relative distance %.3g (limit %.0e), max |a - b| %.3g", name, rel, rtol,
                (a - b).cwiseAbs().maxCoeff());
  expect(rel <= rtol, line);
}

std::string read_file(const std::string& path) {
  std::ifstream in(path);
  if (!in) throw std::runtime_error("cannot read " + path);
  std::ostringstream os;
  os << in.rdbuf();
  return os.str();
}

/// The numbers of a result.json, timings left out (lines with "seconds").
std::vector<double> numbers(const std::string& json) {
  std::vector<double> out;
  std::istringstream lines(json);
  std::string line;
  const std::regex number(R"((-?\d+(\.\d+)?([eE][-+]?\d+)?))");
  while (std::getline(lines, line)) {
    if (line.find("seconds") != std::string::npos) continue;
    for (auto it = std::sregex_iterator(line.begin(), line.end(), number); it != std::sregex_iterator(); ++it)
      out.push_back(std::stod(it->str()));
  }
  return out;
}

}  // namespace

int main(int argc, char** argv) {
  if (argc != 3 && argc != 5) {
    std::cerr << "usage: longtail_compare_runs A.ltck B.ltck [A/result.json B/result.json]\n";
    return 2;
  }
  try {
    const auto a = longtail_train::load_checkpoint(argv[1]);
    const auto b = longtail_train::load_checkpoint(argv[2]);
    expect(a.state.epochs_done == b.state.epochs_done && a.state.best_epoch == b.state.best_epoch &&
               a.state.adam_steps == b.state.adam_steps,
           "epochs " + std::to_string(a.state.epochs_done) + " / " + std::to_string(b.state.epochs_done) +
               ", best epoch " + std::to_string(a.state.best_epoch) + " / " + std::to_string(b.state.best_epoch) +
               ", Adam steps " + std::to_string(a.state.adam_steps) + " / " + std::to_string(b.state.adam_steps));
    expect(a.train_label_counts.size() == b.train_label_counts.size() &&
               (a.train_label_counts == b.train_label_counts).all(),
           "training label counts identical");
    expect(a.data_fingerprint == b.data_fingerprint && a.data == b.data, "same data (" + a.data + ")");
    compare_vectors("weights", a.state.params, b.state.params, 1e-5);
    compare_vectors("best weights", a.state.best_params, b.state.best_params, 1e-5);
    compare_vectors("Adam first moment", a.state.adam_m, b.state.adam_m, 1e-4);
    compare_vectors("Adam second moment", a.state.adam_v, b.state.adam_v, 1e-4);
    for (std::size_t e = 0; e < a.state.history.size() && e < b.state.history.size(); ++e) {
      const auto &ha = a.state.history[e], &hb = b.state.history[e];
      char line[200];
      std::snprintf(line, sizeof line, "epoch %d: loss %.8g / %.8g, validation macro-F1 %.6f / %.6f", ha.epoch,
                    ha.train_loss, hb.train_loss, ha.val_macro_f1, hb.val_macro_f1);
      expect(std::fabs(ha.train_loss - hb.train_loss) <= 1e-5 * std::fabs(ha.train_loss) &&
                 std::fabs(ha.val_macro_f1 - hb.val_macro_f1) <= 2e-3,
             line);
    }
    if (argc == 5) {
      const auto na = numbers(read_file(argv[3])), nb = numbers(read_file(argv[4]));
      if (na.size() != nb.size()) {
        expect(false, "result.json files hold different numbers of values");
      } else {
        double worst = 0;
        for (std::size_t i = 0; i < na.size(); ++i) worst = std::max(worst, std::fabs(na[i] - nb[i]));
        char line[160];
        std::snprintf(line, sizeof line, "result.json: %zu metrics, largest difference %.3g (limit 2e-3)", na.size(),
                      worst);
        expect(worst <= 2e-3, line);
      }
    }
  } catch (const std::exception& e) {
    std::cerr << "error: " << e.what() << "\n";
    return 1;
  }
  std::printf("%s\n", failures ? "the runs differ" : "the runs agree");
  return failures ? 1 : 0;
}
