// SPDX-License-Identifier: Apache-2.0
#include "data/detail/text_file.hpp"

#include <charconv>
#include <cmath>
#include <cstdio>
#include <fstream>
#include <sstream>
#include <system_error>

#include "data/data_error.hpp"

namespace longtail_train::detail {

std::string read_whole_file(const std::string& path) {
  std::ifstream in(path, std::ios::binary);
  if (!in) throw data_error(path, 0, "cannot open file for reading");
  std::ostringstream buffer;
  buffer << in.rdbuf();
  if (in.bad()) throw data_error(path, 0, "read error");
  return std::move(buffer).str();
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
  std::string q = "\"";
  q.append(token.substr(0, kMax));
  if (token.size() > kMax) q += "...";
  q += '"';
  return q;
}

void write_file_atomically(const std::string& path, const std::string& text) {
  const std::string temp = path + ".tmp";
  {
    std::ofstream out(temp, std::ios::binary | std::ios::trunc);
    if (!out) throw data_error(path, 0, "cannot open " + temp + " for writing");
    out.write(text.data(), static_cast<std::streamsize>(text.size()));
    out.flush();
    if (!out) {
      out.close();
      std::remove(temp.c_str());
      throw data_error(path, 0, "write error (disk full?)");
    }
  }
  if (std::rename(temp.c_str(), path.c_str()) != 0) {
    std::remove(temp.c_str());
    throw data_error(path, 0, "cannot rename " + temp + " to the final name");
  }
}

}  // namespace longtail_train::detail
