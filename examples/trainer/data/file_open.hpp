// SPDX-License-Identifier: Apache-2.0
#pragma once
// Opening input files with errors that say why: "<path>: cannot open <what> for reading: No such
// file or directory" (or "Permission denied", "Is a directory"), instead of a bare "cannot open".
// Every reader of the data layer opens its files here; the rest of the trainer can too.

#include <fstream>
#include <string>

namespace longtail_train {

/// Opens `path` for binary reading. Throws data_error(path, 0, "cannot open <what> for reading:
/// <reason>"), the reason being the system's (strerror): "No such file or directory",
/// "Permission denied", ... A directory is refused with "Is a directory": on Linux it opens as a
/// stream and then reads as an empty file, which a reader would report as "empty file". `what`
/// names the file's role, e.g. "checkpoint", "XMC text file".
std::ifstream open_input_file(const std::string& path, const char* what);

/// The whole contents of `path`, byte for byte. Throws data_error as open_input_file does, when
/// the file is larger than this machine's memory ("reading the <what> whole would need X GiB,
/// more than this machine's Y GiB of memory", before allocating anything), when the memory for it
/// cannot be allocated, and on read errors (with the system's reason). Never returns a prefix.
std::string read_input_file(const std::string& path, const char* what);

}  // namespace longtail_train
