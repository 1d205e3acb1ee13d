// SPDX-License-Identifier: Apache-2.0
#include "data/detail/text_file.hpp"

#include <algorithm>
#include <cerrno>
#include <charconv>
#include <cmath>
#include <cstdio>
#include <fstream>
#include <system_error>

#include "common/durable_file.hpp"

#include "data/data_error.hpp"
#include "data/detail/printable.hpp"
#include "data/file_open.hpp"

namespace longtail_train::detail {

std::string read_whole_file(const std::string& path, const char* what) {
  std::string text = read_input_file(path, what);
  // One memmove of the file when it starts with a byte-order mark; nothing otherwise.
  if (text.compare(0, 3, "\xEF\xBB\xBF") == 0) text.erase(0, 3);
  return text;
}

bool parse_int64(std::string_view s, long long& out) {
  if (!s.empty() && s.front() == '+') s.remove_prefix(1);
  if (s.empty()) return false;
  const auto [end, ec] = std::from_chars(s.data(), s.data() + s.size(), out);
  return ec == std::errc() && end == s.data() + s.size();
}

bool parse_float(std::string_view s, float& out) {
  if (!s.empty() && s.front() == '+') s.remove_prefix(1);
  if (s.empty()) return false;
  const auto [end, ec] = std::from_chars(s.data(), s.data() + s.size(), out);
  return ec == std::errc() && end == s.data() + s.size() && std::isfinite(out);
}

std::string quote(std::string_view token) {
  constexpr std::size_t kMax = 40;
  std::size_t cut = std::min(token.size(), kMax);
  // Back to the start of a UTF-8 character (continuation bytes are 10xxxxxx).
  while (cut < token.size() && cut > 0 && (static_cast<unsigned char>(token[cut]) & 0xC0u) == 0x80u) --cut;
  std::string q = "\"" + escape_invisible(token.substr(0, cut));
  if (cut < token.size()) q += "...";
  q += '"';
  return q;
}

void write_file_atomically(const std::string& path, const std::string& text) {
  try {
    longtail_train::write_file_atomically(path, text, "file");
  } catch (const file_error& e) {
    throw data_error(path, 0, "cannot write the file: " + (e.reason().empty() ? std::string(e.what()) : e.reason()));
  }
}

}  // namespace longtail_train::detail
