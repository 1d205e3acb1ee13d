// SPDX-License-Identifier: Apache-2.0
#pragma once

#include <sstream>
#include <stdexcept>
#include <string>

namespace longtail {

/// Thrown for every bad argument (options, shapes, vector lengths, input values). The message
/// always names the argument and the offending value or shapes, e.g.
/// "longtail: FocalBCEOptions.gamma_pos must be >= 0 (got -1)".
class invalid_argument : public std::invalid_argument {
 public:
  explicit invalid_argument(const std::string& what) : std::invalid_argument("longtail: " + what) {}
};

namespace detail {

/// Builds a message from streamable parts and throws longtail::invalid_argument.
template <class... Parts>
[[noreturn]] void fail(const Parts&... parts) {
  std::ostringstream os;
  os.precision(17);
  (os << ... << parts);
  throw invalid_argument(os.str());
}

}  // namespace detail
}  // namespace longtail
