// SPDX-License-Identifier: Apache-2.0
#pragma once
// Internal: error messages show every byte that would be invisible in a terminal as \xHH.

#include <cstddef>
#include <cstdio>
#include <string>
#include <string_view>

namespace longtail_train::detail {

/// Length (2-4) of the well-formed UTF-8 sequence starting at s[i], with its code point in `cp`;
/// 0 when the bytes there are not well-formed UTF-8 (a stray continuation byte, an overlong form,
/// a surrogate, a code point beyond U+10FFFF, or a sequence cut short).
inline std::size_t utf8_sequence(std::string_view s, std::size_t i, char32_t& cp) {
  const auto byte = [&](std::size_t k) { return static_cast<unsigned char>(s[k]); };
  const unsigned char b0 = byte(i);
  std::size_t n = 0;
  char32_t min = 0;
  if (b0 >= 0xC2 && b0 <= 0xDF) {
    n = 2, cp = b0 & 0x1Fu, min = 0x80;
  } else if (b0 >= 0xE0 && b0 <= 0xEF) {
    n = 3, cp = b0 & 0x0Fu, min = 0x800;
  } else if (b0 >= 0xF0 && b0 <= 0xF4) {
    n = 4, cp = b0 & 0x07u, min = 0x10000;
  } else {
    return 0;
  }
  if (i + n > s.size()) return 0;
  for (std::size_t k = 1; k < n; ++k) {
    if ((byte(i + k) & 0xC0u) != 0x80u) return 0;
    cp = (cp << 6) | (byte(i + k) & 0x3Fu);
  }
  if (cp < min || cp > 0x10FFFF || (cp >= 0xD800 && cp <= 0xDFFF)) return 0;
  return n;
}

/// Code points that print as nothing, as an ordinary-looking space, or that reorder the text
/// around them: C1 controls, no-break and typographic spaces, soft hyphen, zero-width characters,
/// bidirectional controls, the byte-order mark, interlinear annotation and tag characters. A label
/// "sports" and "sports" + U+200B look identical in a message; escaped they do not.
inline bool invisible_code_point(char32_t cp) {
  return cp <= 0x9F || cp == 0xA0 || cp == 0xAD || cp == 0x34F || cp == 0x61C || cp == 0x115F || cp == 0x1160 ||
         cp == 0x17B4 || cp == 0x17B5 || (cp >= 0x180B && cp <= 0x180F) || (cp >= 0x2000 && cp <= 0x200F) ||
         (cp >= 0x2028 && cp <= 0x202F) || (cp >= 0x205F && cp <= 0x206F) || cp == 0x3000 || cp == 0x3164 ||
         cp == 0xFEFF || cp == 0xFFA0 || (cp >= 0xFFF0 && cp <= 0xFFFB) || (cp >= 0xE0000 && cp <= 0xE0FFF);
}

/// `text` with tab, CR and LF written as \t, \r, \n and every other control byte, byte of
/// malformed UTF-8 and byte of an invisible code point (above) written as \xHH; printable ASCII
/// and visible UTF-8 (e.g. "Café") are kept. Backslashes are kept as they are (paths, ARFF
/// escapes), so applying it twice gives the same text: data_error applies it to every message.
inline std::string escape_invisible(std::string_view text) {
  std::string out;
  out.reserve(text.size());
  for (std::size_t i = 0; i < text.size();) {
    const auto c = static_cast<unsigned char>(text[i]);
    if (c >= 0x20 && c < 0x7F) {
      out += static_cast<char>(c);
      ++i;
      continue;
    }
    if (c == '\t' || c == '\r' || c == '\n') {
      out += c == '\t' ? "\\t" : c == '\r' ? "\\r" : "\\n";
      ++i;
      continue;
    }
    char32_t cp = 0;
    const std::size_t n = c >= 0x80 ? utf8_sequence(text, i, cp) : 0;
    if (n > 0 && !invisible_code_point(cp)) {
      out.append(text.substr(i, n));
      i += n;
      continue;
    }
    for (const std::size_t end = i + (n > 0 ? n : 1); i < end; ++i) {
      char hex[8];
      std::snprintf(hex, sizeof hex, "\\x%02X", static_cast<unsigned>(static_cast<unsigned char>(text[i])));
      out += hex;
    }
  }
  return out;
}

}  // namespace longtail_train::detail
