// SPDX-License-Identifier: Apache-2.0
#pragma once
// The one error type of the trainer's data layer: malformed files and bad generator settings.

#include <cstddef>
#include <stdexcept>
#include <string>

#include "data/detail/printable.hpp"

namespace longtail_train {

/// Thrown by every reader for malformed input. The message has the compiler-style form
/// "<file>:<line>: <what was wrong / what was expected>" (": <what>" alone when no line applies,
/// e.g. a missing file). Bytes that would be invisible in a terminal (control characters, a
/// byte-order mark, zero-width or bidirectional characters, malformed UTF-8) are shown as \xHH in
/// the message, so two names that print alike never give the same message; file() keeps the path
/// as given. Readers build the whole data set before returning it, so nothing half-loaded ever
/// escapes an exception.
class data_error : public std::runtime_error {
 public:
  data_error(const std::string& file, std::size_t line, const std::string& what)
      : std::runtime_error(format(file, line, what)), file_(file), line_(line) {}

  const std::string& file() const noexcept { return file_; }
  /// 1-based line number; 0 when the error concerns the whole file.
  std::size_t line() const noexcept { return line_; }

 private:
  static std::string format(const std::string& file, std::size_t line, const std::string& what) {
    return detail::escape_invisible(line == 0 ? file + ": " + what : file + ":" + std::to_string(line) + ": " + what);
  }
  std::string file_;
  std::size_t line_;
};

}  // namespace longtail_train
