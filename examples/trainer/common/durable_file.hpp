// SPDX-License-Identifier: Apache-2.0
#pragma once
// Files that survive a crash: every file longtail-train writes (checkpoints, result.json,
// history.csv, the sweep's tables, generated data sets) goes through here. A file is written to
// "<path>.tmp-<pid>", flushed and fsync'ed, renamed over <path>, and the folder is fsync'ed, so
// <path> holds either the old or the new contents, never a mix or a prefix, even across a power
// loss. Temporary files of processes that were killed are removed by remove_stale_temporaries.

#include <stdexcept>
#include <string>
#include <utility>

namespace longtail_train {

class file_error : public std::runtime_error {
 public:
  explicit file_error(const std::string& message, std::string reason = "")
      : std::runtime_error(message), reason_(std::move(reason)) {}
  /// The system's reason alone ("No such file or directory"), or "" when the message has none.
  const std::string& reason() const noexcept { return reason_; }

 private:
  std::string reason_;
};

/// "<path>.tmp-<pid of this process>".
std::string temporary_path(const std::string& path);

/// Writes `bytes` to temporary_path(path) and fsyncs it (not yet visible under `path`).
/// Throws file_error "cannot write <what> '<path>': <reason>".
void write_temporary(const std::string& path, const std::string& bytes, const char* what);

/// Renames temporary_path(path) over `path` (atomic on POSIX). Does not fsync the folder.
void publish_temporary(const std::string& path, const char* what);

/// fsync of a folder: makes the renames inside it durable.
void sync_directory(const std::string& directory);

/// write_temporary + publish_temporary + sync_directory of the file's folder.
void write_file_atomically(const std::string& path, const std::string& bytes, const char* what);

/// Creates `directory` and its missing parents; checks that it is a writable folder. Throws
/// file_error naming it and the reason ("Not a directory", "Permission denied", ...).
void ensure_writable_directory(const std::string& directory, const char* what);

/// Checks, before any long work, that a file can later be written at `path`: its folder exists
/// and is writable, and `path` is not a folder. Throws file_error naming `what` and the reason.
void check_writable_file_path(const std::string& path, const char* what);

/// Removes "<name>.tmp-<pid>" files in `directory` whose process is gone (killed runs). Returns
/// how many were removed.
int remove_stale_temporaries(const std::string& directory);

/// The folder part of a path ("." for a bare file name).
std::string parent_directory(const std::string& path);

}  // namespace longtail_train
