// SPDX-License-Identifier: Apache-2.0
#pragma once
// Refusing allocations whose size comes from a file before making them: "would need X GiB" with
// the file and line that asked for it, instead of a bare std::bad_alloc after filling the memory
// (or the kernel killing the process: Linux overcommits, so a big allocation often succeeds and
// the process dies later while touching it).

#include <cstddef>
#include <string>

namespace longtail_train {

/// Physical memory of this machine in bytes (sysconf); 0 when the system does not say.
double physical_memory_bytes();

/// "80.0 GiB" (one decimal).
std::string format_gib(double bytes);

/// Throws data_error(file, line, "<what> would need <X GiB>, more than this machine's <Y GiB> of
/// memory") when `bytes` exceeds the physical memory. Nothing is checked when the memory is
/// unknown. The check is against the whole memory, not what is free: it catches sizes that can
/// never work (a header declaring 10^9 labels, a 2 TiB file), not a busy machine.
void require_memory(double bytes, const std::string& file, std::size_t line, const std::string& what);

}  // namespace longtail_train
