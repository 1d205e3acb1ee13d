// SPDX-License-Identifier: Apache-2.0
#include "data/file_open.hpp"

#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cerrno>
#include <new>
#include <stdexcept>
#include <system_error>

#include "data/data_error.hpp"
#include "data/memory_check.hpp"

namespace longtail_train {
namespace {

[[noreturn]] void cannot_open(const std::string& path, const char* what, int err) {
  throw data_error(path, 0,
                   std::string("cannot open ") + what + " for reading: " +
                       (err != 0 ? std::generic_category().message(err) : std::string("unknown reason")));
}

/// Closes the descriptor on every path out of read_input_file.
struct Descriptor {
  int fd;
  ~Descriptor() {
    if (fd >= 0) ::close(fd);
  }
};

}  // namespace

std::ifstream open_input_file(const std::string& path, const char* what) {
  struct stat st {};
  if (::stat(path.c_str(), &st) != 0) cannot_open(path, what, errno);
  if (S_ISDIR(st.st_mode)) cannot_open(path, what, EISDIR);
  errno = 0;
  std::ifstream in(path, std::ios::binary);
  if (!in) cannot_open(path, what, errno);  // e.g. EACCES: stat needs no read permission
  return in;
}

std::string read_input_file(const std::string& path, const char* what) {
  const Descriptor file{::open(path.c_str(), O_RDONLY | O_CLOEXEC)};
  if (file.fd < 0) cannot_open(path, what, errno);
  struct stat st {};
  if (::fstat(file.fd, &st) != 0) cannot_open(path, what, errno);
  if (S_ISDIR(st.st_mode)) cannot_open(path, what, EISDIR);
  // Regular files: one allocation of the exact size, checked against the memory first (a
  // sparse or truncated-up file can claim terabytes). Pipes and devices report no size: grow.
  const bool sized = S_ISREG(st.st_mode) && st.st_size > 0;
  const double size = sized ? static_cast<double>(st.st_size) : 0.0;
  const std::string whole = std::string("reading the ") + what + " whole";
  require_memory(size, path, 0, whole);
  std::string bytes;
  std::size_t used = 0;
  auto grow = [&](std::size_t capacity) {
    try {
      bytes.resize(capacity);
    } catch (const std::bad_alloc&) {
      throw data_error(path, 0, whole + " needs " + format_gib(static_cast<double>(capacity)) + ": out of memory");
    } catch (const std::length_error&) {
      throw data_error(path, 0, whole + " needs " + format_gib(static_cast<double>(capacity)) + ": out of memory");
    }
  };
  grow(sized ? static_cast<std::size_t>(st.st_size) : std::size_t(1) << 16);
  for (;;) {
    if (used == bytes.size()) {
      // Full: at the end of a file whose size we knew, one probe byte tells whether it grew.
      char probe;
      const ssize_t n = ::read(file.fd, &probe, 1);
      if (n < 0 && errno == EINTR) continue;
      if (n < 0) throw data_error(path, 0, std::string("read error: ") + std::generic_category().message(errno));
      if (n == 0) break;
      grow(bytes.size() * 2);
      bytes[used++] = probe;
      continue;
    }
    const ssize_t n = ::read(file.fd, bytes.data() + used, bytes.size() - used);
    if (n < 0 && errno == EINTR) continue;
    if (n < 0) throw data_error(path, 0, std::string("read error: ") + std::generic_category().message(errno));
    if (n == 0) break;
    used += static_cast<std::size_t>(n);
  }
  bytes.resize(used);
  return bytes;
}

}  // namespace longtail_train
