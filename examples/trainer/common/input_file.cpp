// SPDX-License-Identifier: Apache-2.0
#include "common/input_file.hpp"

#include <cerrno>
#include <cstring>
#include <new>

#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include "common/durable_file.hpp"

namespace longtail_train {

std::string read_whole_file(const std::string& path, const char* what) {
  auto fail = [&](const std::string& reason) -> void {
    throw file_error(std::string("cannot read ") + what + " '" + path + "': " + reason);
  };
  const int fd = ::open(path.c_str(), O_RDONLY | O_CLOEXEC);
  if (fd < 0) fail(std::strerror(errno));
  struct stat st {};
  if (::fstat(fd, &st) != 0 || S_ISDIR(st.st_mode)) {
    const int err = S_ISDIR(st.st_mode) ? EISDIR : errno;
    ::close(fd);
    fail(std::strerror(err));
  }
  std::string bytes;
  try {
    bytes.resize(static_cast<std::size_t>(st.st_size));
  } catch (const std::bad_alloc&) {
    ::close(fd);
    fail("its " + std::to_string(st.st_size) + " bytes do not fit in memory");
  } catch (const std::length_error&) {
    ::close(fd);
    fail("its " + std::to_string(st.st_size) + " bytes do not fit in memory");
  }
  std::size_t done = 0;
  while (done < bytes.size()) {
    const ssize_t n = ::read(fd, bytes.data() + done, bytes.size() - done);
    if (n < 0 && errno == EINTR) continue;
    if (n < 0) {
      const int err = errno;
      ::close(fd);
      fail(std::strerror(err));
    }
    if (n == 0) break;  // shrank while reading: what was there is what we have
    done += static_cast<std::size_t>(n);
  }
  bytes.resize(done);
  ::close(fd);
  return bytes;
}

}  // namespace longtail_train
