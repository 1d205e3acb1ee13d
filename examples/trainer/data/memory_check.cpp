// SPDX-License-Identifier: Apache-2.0
#include "data/memory_check.hpp"

#include <unistd.h>

#include <cstdio>

#include "data/data_error.hpp"

namespace longtail_train {

double physical_memory_bytes() {
  const long pages = sysconf(_SC_PHYS_PAGES);
  const long page_size = sysconf(_SC_PAGE_SIZE);
  return pages > 0 && page_size > 0 ? static_cast<double>(pages) * static_cast<double>(page_size) : 0.0;
}

std::string format_gib(double bytes) {
  char buf[64];
  std::snprintf(buf, sizeof buf, "%.1f GiB", bytes / (1024.0 * 1024.0 * 1024.0));
  return buf;
}

void require_memory(double bytes, const std::string& file, std::size_t line, const std::string& what) {
  const double memory = physical_memory_bytes();
  if (memory > 0 && bytes > memory)
    throw data_error(
        file, line,
        what + " would need " + format_gib(bytes) + ", more than this machine's " + format_gib(memory) + " of memory");
}

}  // namespace longtail_train
