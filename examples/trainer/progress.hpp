// SPDX-License-Identifier: Apache-2.0
#pragma once
// Training progress on stderr: a one-line bar redrawn in place when stderr is a terminal
// (epoch, batch progress, running loss, last validation macro-F1, ETA), one plain line per epoch
// otherwise (logs, pipes, CI), or nothing. All output goes through one process-wide lock, so the
// parallel jobs of a sweep never interleave within a line.

#include <chrono>
#include <string>

#include "training_state.hpp"

namespace longtail_train {

enum class ProgressMode { bar, lines, quiet };

/// bar when stderr is a terminal, lines otherwise.
ProgressMode auto_progress_mode();

class Progress {
 public:
  /// show_warnings = false: warn() prints nothing (the caller reports the run's warnings itself,
  /// e.g. once for the many runs of a search).
  explicit Progress(ProgressMode mode, std::string prefix = "", bool show_warnings = true);

  /// A run of epochs first_epoch..epochs (1-based) with `batches` minibatches each.
  void start(int first_epoch, int epochs, long long batches);
  /// After each minibatch (redraws at most ~10 times a second).
  void batch(int epoch, long long batch, double running_loss);
  /// After each epoch's validation.
  void epoch(const EpochRecord& record, double best_score, int best_epoch, bool stopping);
  /// A warning about the run, shown in every mode (also quiet) unless show_warnings was false,
  /// prefixed "warning: ".
  void warn(const std::string& message);
  /// Ends the bar line (if any).
  void finish();

  /// Prints one line to stderr under the shared lock (clearing a bar first).
  static void print_line(const std::string& line);
  /// Formats seconds as "42s", "3m05s", "1h02m".
  static std::string format_duration(double seconds);

 private:
  double eta(double fraction_done) const;
  void draw(int epoch, double fraction_done, const std::string& tail);

  ProgressMode mode_;
  std::string prefix_;
  bool show_warnings_ = true;
  int first_epoch_ = 1, epochs_ = 1;
  long long batches_ = 1;
  std::chrono::steady_clock::time_point start_, last_draw_;
  std::string last_validation_;
};

}  // namespace longtail_train
