// SPDX-License-Identifier: Apache-2.0
#include "progress.hpp"

#include <cmath>
#include <cstdio>
#include <mutex>

#include <unistd.h>

namespace longtail_train {
namespace {

std::mutex& output_lock() {
  static std::mutex m;
  return m;
}
bool g_bar_open = false;  // a bar line is on screen without its newline (guarded by output_lock)

}  // namespace

ProgressMode auto_progress_mode() { return ::isatty(::fileno(stderr)) ? ProgressMode::bar : ProgressMode::lines; }

Progress::Progress(ProgressMode mode, std::string prefix, bool show_warnings)
    : mode_(mode), prefix_(std::move(prefix)), show_warnings_(show_warnings) {}

std::string Progress::format_duration(double s) {
  if (!std::isfinite(s) || s < 0) return "?";
  char buf[32];
  const long long t = static_cast<long long>(std::llround(s));
  if (t < 60)
    std::snprintf(buf, sizeof buf, "%llds", t);
  else if (t < 3600)
    std::snprintf(buf, sizeof buf, "%lldm%02llds", t / 60, t % 60);
  else
    std::snprintf(buf, sizeof buf, "%lldh%02lldm", t / 3600, (t % 3600) / 60);
  return buf;
}

void Progress::print_line(const std::string& line) {
  std::lock_guard<std::mutex> lock(output_lock());
  // One write per line: stderr is unbuffered, and under mpirun the ranks share it, so a line
  // written in pieces (text, then its newline) could be split by another rank's line.
  const std::string out = (g_bar_open ? "\r\x1b[K" : "") + line + "\n";
  std::fwrite(out.data(), 1, out.size(), stderr);
  std::fflush(stderr);
  g_bar_open = false;
}

void Progress::start(int first_epoch, int epochs, long long batches) {
  first_epoch_ = first_epoch;
  epochs_ = epochs;
  batches_ = batches > 0 ? batches : 1;
  start_ = std::chrono::steady_clock::now();
  last_draw_ = {};
  last_validation_.clear();
}

double Progress::eta(double fraction_done) const {
  const double elapsed = std::chrono::duration<double>(std::chrono::steady_clock::now() - start_).count();
  if (fraction_done <= 0) return NAN;
  return elapsed / fraction_done * (1.0 - fraction_done);
}

void Progress::draw(int epoch, double fraction_done, const std::string& tail) {
  constexpr int width = 24;
  const int filled = static_cast<int>(fraction_done * width);
  std::string bar(std::size_t(width), '.');
  for (int i = 0; i < filled && i < width; ++i) bar[std::size_t(i)] = '#';
  char head[160];
  std::snprintf(head, sizeof head, "%sepoch %d/%d [%s] %3d%% ", prefix_.c_str(), epoch, epochs_, bar.c_str(),
                static_cast<int>(fraction_done * 100));
  std::lock_guard<std::mutex> lock(output_lock());
  std::fprintf(stderr, "\r%s%s%s ETA %s\x1b[K", head, tail.c_str(), last_validation_.c_str(),
               format_duration(eta(fraction_done)).c_str());
  std::fflush(stderr);
  g_bar_open = true;
}

void Progress::batch(int epoch, long long batch, double running_loss) {
  if (mode_ != ProgressMode::bar) return;
  const auto now = std::chrono::steady_clock::now();
  if (now - last_draw_ < std::chrono::milliseconds(100) && batch + 1 < batches_) return;
  last_draw_ = now;
  const int run_epochs = epochs_ - first_epoch_ + 1;
  const double done = (double(epoch - first_epoch_) + double(batch + 1) / double(batches_)) / double(run_epochs);
  char tail[64];
  std::snprintf(tail, sizeof tail, "loss %.5f", running_loss);
  draw(epoch, done, tail);
}

void Progress::epoch(const EpochRecord& r, double best_score, int best_epoch, bool stopping) {
  char val[128];
  std::snprintf(val, sizeof val, "  val macro-F1 %.4f (best %.4f @%d)", r.val_macro_f1, best_score, best_epoch);
  last_validation_ = val;
  if (mode_ == ProgressMode::quiet) return;
  const int run_epochs = epochs_ - first_epoch_ + 1;
  const double done = double(r.epoch - first_epoch_ + 1) / double(run_epochs);
  if (mode_ == ProgressMode::bar) {
    char tail[64];
    std::snprintf(tail, sizeof tail, "loss %.5f", r.train_loss);
    draw(r.epoch, done, tail);
    return;
  }
  char line[256];
  std::snprintf(line, sizeof line,
                "%sepoch %3d/%d  loss %.5f  val micro-F1 %.4f  macro-F1 %.4f  (best %.4f @%d)  %.1fs  ETA %s%s",
                prefix_.c_str(), r.epoch, epochs_, r.train_loss, r.val_micro_f1, r.val_macro_f1, best_score, best_epoch,
                r.seconds, stopping ? "0s" : format_duration(eta(done)).c_str(), stopping ? "  (early stop)" : "");
  print_line(line);
}

void Progress::finish() {
  if (mode_ != ProgressMode::bar) return;
  std::lock_guard<std::mutex> lock(output_lock());
  if (g_bar_open) {
    std::fputc('\n', stderr);
    std::fflush(stderr);
    g_bar_open = false;
  }
}

void Progress::warn(const std::string& message) {
  if (show_warnings_) print_line(prefix_ + "warning: " + message);
}

}  // namespace longtail_train
