// SPDX-License-Identifier: Apache-2.0
#pragma once
// Internal: whole-file loading and line iteration for the readers.

#include <cstddef>
#include <string>
#include <string_view>

namespace longtail_train::detail {

/// The whole text file as bytes, without a leading UTF-8 byte-order mark (EF BB BF: Windows
/// editors write one; kept, it would become part of the first label name or header word). Throws
/// data_error as read_input_file (file_open.hpp) does: "cannot open <what> for reading: <reason>",
/// a directory, a file larger than the memory, a read error.
std::string read_whole_file(const std::string& path, const char* what);

/// Iterates over the lines of a buffer with 1-based numbers; strips a trailing '\r' (CRLF).
class LineCursor {
 public:
  explicit LineCursor(std::string_view text) : text_(text) {}

  /// Next line into `line`; false at the end of the text.
  bool next(std::string_view& line) {
    if (pos_ >= text_.size()) return false;
    std::size_t end = text_.find('\n', pos_);
    if (end == std::string_view::npos) end = text_.size();
    line = text_.substr(pos_, end - pos_);
    if (!line.empty() && line.back() == '\r') line.remove_suffix(1);
    pos_ = end + 1;
    ++number_;
    return true;
  }
  /// Number of the line last returned by next().
  std::size_t number() const { return number_; }

 private:
  std::string_view text_;
  std::size_t pos_ = 0;
  std::size_t number_ = 0;
};

/// Removes leading and trailing spaces and tabs.
inline std::string_view trim(std::string_view s) {
  while (!s.empty() && (s.front() == ' ' || s.front() == '\t')) s.remove_prefix(1);
  while (!s.empty() && (s.back() == ' ' || s.back() == '\t')) s.remove_suffix(1);
  return s;
}

/// Parses a whole string_view as a base-10 integer (optional leading '-' or '+').
bool parse_int64(std::string_view s, long long& out);
/// Parses a whole string_view as a finite float ("1", "0.5", "-2e-3"; optional '+'; not nan/inf).
bool parse_float(std::string_view s, float& out);

/// The token quoted for an error message: `"abc"`, cut to 40 bytes (at a UTF-8 character
/// boundary), invisible bytes shown as \xHH (printable.hpp).
std::string quote(std::string_view token);

/// Writes `text` to `path` atomically and durably (common/durable_file.hpp: temporary file,
/// fsync, rename, folder fsync). Throws data_error with the system's reason when it cannot.
void write_file_atomically(const std::string& path, const std::string& text);

}  // namespace longtail_train::detail
