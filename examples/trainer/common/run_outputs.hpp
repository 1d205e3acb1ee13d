// SPDX-License-Identifier: Apache-2.0
#pragma once
// The output files of one run (train: result.json + history.csv; sweep: sweep.csv + sweep.json;
// generate: the data set), written as one unit into an output folder:
//
//  1. At the start of the run, before any long work, open(): creates the folder (failing at once
//     with the reason when it cannot be written), removes temporary files of killed runs, and
//     writes a marker file RUNNING ("outputs in this folder are from a run that has not
//     finished") with the command and process id.
//  2. stage(name, bytes) for each file: written and fsync'ed under a temporary name.
//  3. commit(): every staged file renamed into place, the folder fsync'ed, then RUNNING removed
//     (and the folder fsync'ed again).
//
// So RUNNING is present exactly when the folder may hold a mix of two runs' files or none of this
// run's: a run killed before or during commit() leaves it (and the next run says so); a run that
// fails with an error removes its temporary files and its marker, leaving the previous run's
// files as they were.

#include <string>
#include <vector>

namespace longtail_train {

class RunOutputs {
 public:
  /// Name of the marker file.
  static constexpr const char* kMarker = "RUNNING";

  RunOutputs() = default;
  RunOutputs(const RunOutputs&) = delete;
  RunOutputs& operator=(const RunOutputs&) = delete;
  /// Without commit(): removes the staged temporaries, and the marker unless commit() had begun
  /// renaming (then the folder may hold a mix of two runs, and the marker says so).
  ~RunOutputs();

  /// Step 1 (see the file comment). `command` goes into the marker. Returns a note for the user
  /// when the folder held the marker of an earlier run that did not finish ("" otherwise).
  /// Throws file_error naming the folder and the reason.
  std::string open(const std::string& directory, const std::string& command);

  /// Step 2: `name` is a file name inside the folder.
  void stage(const std::string& name, const std::string& bytes);

  /// Step 3.
  void commit();

  const std::string& directory() const { return directory_; }
  bool is_open() const { return !directory_.empty(); }

 private:
  std::string directory_;
  std::vector<std::string> staged_;
  bool publishing_ = false, committed_ = false;
};

}  // namespace longtail_train
