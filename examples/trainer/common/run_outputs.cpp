// SPDX-License-Identifier: Apache-2.0
#include "common/run_outputs.hpp"

#include <cstdio>
#include <ctime>
#include <fstream>
#include <iterator>
#include <stdexcept>

#include <unistd.h>

#include "common/durable_file.hpp"

namespace longtail_train {

RunOutputs::~RunOutputs() {
  if (directory_.empty() || committed_) return;
  for (const auto& name : staged_) std::remove(temporary_path(directory_ + "/" + name).c_str());
  if (!publishing_) std::remove((directory_ + "/" + kMarker).c_str());
}

std::string RunOutputs::open(const std::string& directory, const std::string& command) {
  if (is_open()) throw std::logic_error("RunOutputs::open called twice");
  ensure_writable_directory(directory, "output folder");
  remove_stale_temporaries(directory);
  const std::string marker = directory + "/" + kMarker;
  std::string note;
  {
    std::ifstream earlier(marker);
    if (earlier) {
      std::string line;
      std::getline(earlier, line);
      note = "note: " + directory + " holds outputs of a run that did not finish (" + line +
             "); they will be replaced when this run finishes";
    }
  }
  char when[64] = "";
  const std::time_t now = std::time(nullptr);
  std::strftime(when, sizeof when, "%Y-%m-%d %H:%M:%S UTC", std::gmtime(&now));
  write_file_atomically(
      marker,
      "longtail-train " + command + ", pid " + std::to_string(::getpid()) + ", started " + when +
          "\nThe files in this folder are incomplete or from an earlier run until this file is gone.\n",
      "run marker");
  directory_ = directory;
  return note;
}

void RunOutputs::stage(const std::string& name, const std::string& bytes) {
  if (!is_open()) throw std::logic_error("RunOutputs::stage before open");
  write_temporary(directory_ + "/" + name, bytes, "output file");
  staged_.push_back(name);
}

void RunOutputs::commit() {
  if (!is_open()) throw std::logic_error("RunOutputs::commit before open");
  publishing_ = true;
  for (const auto& name : staged_) publish_temporary(directory_ + "/" + name, "output file");
  sync_directory(directory_);
  if (std::remove((directory_ + "/" + kMarker).c_str()) != 0)
    throw file_error("cannot remove the run marker '" + directory_ + "/" + kMarker + "'");
  sync_directory(directory_);
  committed_ = true;
}

}  // namespace longtail_train
