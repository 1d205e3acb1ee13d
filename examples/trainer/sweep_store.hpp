// SPDX-License-Identifier: Apache-2.0
#pragma once
// A sweep's state on disk, so that a killed sweep can continue where it was (sweep --resume).
// The folder `<out>/checkpoints` holds:
//   sweep.settings   the settings every configuration shares and fingerprints of the three data
//                    splits (text, "key<TAB>value" lines): what --resume checks first;
//   <name>.ltck      the configuration's training checkpoint (checkpoint.hpp), written after an
//                    epoch when that keeps checkpointing under ~10% of its time
//                    (TrainConfig::checkpoint_overhead: after every epoch when epochs are long,
//                    rarely when a small model's epoch is shorter than the write) and at the end:
//                    after the sweep, its final model (eval / predict use it);
//   <name>.result    written atomically when the configuration finishes: its settings, the data
//                    fingerprints and its entry (sweep_entry_io.hpp), in a checked binary file:
//                    magic "LTSWRES\x1a" | u32 version | u32 0x01020304 | u64 payload size |
//                    payload | u64 FNV-1a-64 of the payload.
// So a killed sweep loses the running epochs, or for short epochs at most ~10x the time of one
// checkpoint write per running configuration. A sweep without --resume owns the folder: it first
// removes every .ltck / .result file and sweep.settings there. With --resume a finished
// configuration (its .result) is reported without training, an unfinished one continues from its
// checkpoint (train_model resumes bit for bit), the rest start; other settings or other data are
// refused, naming the setting.
//
// Under MPI every rank writes its own configurations' files; the root prepares the folder and
// reads the results. The folder must be on a file system every rank sees (as on a cluster);
// otherwise a rerun still gives the right results, but retrains what the root cannot see.

#include <optional>
#include <stdexcept>
#include <string>
#include <utility>
#include <vector>

#include "sweep.hpp"

namespace longtail_train {

using Settings = std::vector<std::pair<std::string, std::string>>;

/// A resume that would mix runs of other settings or data: refused (the whole sweep stops).
class resume_error : public std::invalid_argument {
 public:
  using std::invalid_argument::invalid_argument;
};

class SweepStore {
 public:
  /// The settings every configuration of a sweep shares (TrainConfig::resume_settings without the
  /// loss, plus --epochs, --patience, --buckets, the test split and the three splits' fingerprints).
  static Settings shared_settings(const TrainConfig& base, const Splits& data);

  /// `directory`: the state folder (`<out>/checkpoints`); `shared`: shared_settings of this run.
  SweepStore(std::string directory, Settings shared);

  const std::string& directory() const { return directory_; }
  std::string checkpoint_path(const LossConfig& loss) const;
  std::string result_path(const LossConfig& loss) const;

  /// A fresh sweep: creates the folder, removes the files of an earlier sweep, writes
  /// sweep.settings. Returns how many files it removed.
  int start_fresh() const;
  /// --resume: false when the folder holds no sweep (no sweep.settings); throws resume_error
  /// naming the first setting that differs from this run.
  bool check_resumable() const;
  /// The finished entry of `loss` from its result file, or nothing when there is none. Throws
  /// resume_error when it was trained with other settings or data, sweep_io_error when the file
  /// is damaged.
  std::optional<SweepEntry> load_result(const LossConfig& loss) const;
  /// Writes the result file of a finished configuration (atomically).
  void write_result(const LossConfig& loss, const SweepEntry& entry) const;

  /// The task that trains a configuration with its checkpoint here (continuing it when `resume`
  /// and the checkpoint exists) and writes its result file when it finishes.
  ConfigurationTask task(const Splits& data, const SweepOptions& options, bool resume,
                         const std::string& line_prefix) const;

 private:
  Settings settings_of(const LossConfig& loss) const;
  std::string directory_;
  Settings shared_;
};

/// Throws resume_error when `stored` (read from `path`) differs from `expected` in any setting,
/// naming the setting and both values.
void check_same_settings(const Settings& expected, const Settings& stored, const std::string& path);

}  // namespace longtail_train
