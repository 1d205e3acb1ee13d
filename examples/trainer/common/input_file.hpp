// SPDX-License-Identifier: Apache-2.0
#pragma once
// Reading a whole (binary) file with errors that say why: "cannot read checkpoint 'x.ltck': No
// such file or directory" / "Is a directory" / "Permission denied", and the size when it does not
// fit in memory, instead of a bare std::bad_alloc or "cannot open file".

#include <string>

namespace longtail_train {

/// The contents of `path`. Throws file_error (common/durable_file.hpp) naming `what`, the path
/// and the reason.
std::string read_whole_file(const std::string& path, const char* what);

}  // namespace longtail_train
