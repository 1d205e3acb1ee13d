// SPDX-License-Identifier: Apache-2.0
#include "data/detail/text_file.hpp"

#include <algorithm>
#include <cerrno>
#include <charconv>
#include <cmath>
#include <cstdio>
#include <fstream>
#include <system_error>

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
  const std::string temp = path + ".tmp";
  auto reason = [](int err) { return err != 0 ? std::generic_category().message(err) : std::string("unknown reason"); };
  {
    errno = 0;
    std::ofstream out(temp, std::ios::binary | std::ios::trunc);
    if (!out) throw data_error(path, 0, "cannot open " + temp + " for writing: " + reason(errno));
    out.write(text.data(), static_cast<std::streamsize>(text.size()));
    out.flush();
    if (!out) {
      const int err = errno;
      out.close();
      std::remove(temp.c_str());
      throw data_error(path, 0, "write error: " + reason(err));
    }
  }
  if (std::rename(temp.c_str(), path.c_str()) != 0) {
    const int err = errno;  // e.g. EISDIR when `path` is a directory
    std::remove(temp.c_str());
    throw data_error(path, 0, "cannot rename " + temp + " to the final name: " + reason(err));
  }
}

}  // namespace longtail_train::detail
