// SPDX-License-Identifier: Apache-2.0
#include "common/durable_file.hpp"

#include <cerrno>
#include <csignal>
#include <cstdio>
#include <cstdlib>
#include <cstring>

#include <dirent.h>
#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

namespace longtail_train {
namespace {

[[noreturn]] void fail(const char* what, const std::string& path, const std::string& step, int err) {
  throw file_error(std::string("cannot ") + step + " " + what + " '" + path + "': " + std::strerror(err),
                   std::strerror(err));
}

/// True when `name` ends in ".tmp-<digits>"; the digits go to *pid.
bool temporary_of(const std::string& name, long* pid) {
  const auto at = name.rfind(".tmp-");
  if (at == std::string::npos || at + 5 >= name.size()) return false;
  const std::string digits = name.substr(at + 5);
  if (digits.size() > 9 || digits.find_first_not_of("0123456789") != std::string::npos) return false;
  *pid = std::strtol(digits.c_str(), nullptr, 10);
  return *pid > 0;
}

bool process_alive(long pid) { return ::kill(static_cast<pid_t>(pid), 0) == 0 || errno == EPERM; }

}  // namespace

std::string temporary_path(const std::string& path) { return path + ".tmp-" + std::to_string(::getpid()); }

std::string parent_directory(const std::string& path) {
  const auto slash = path.find_last_of('/');
  if (slash == std::string::npos) return ".";
  if (slash == 0) return "/";
  return path.substr(0, slash);
}

void write_temporary(const std::string& path, const std::string& bytes, const char* what) {
  const std::string tmp = temporary_path(path);
  const int fd = ::open(tmp.c_str(), O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0644);
  if (fd < 0) fail(what, path, "write", errno);
  std::size_t done = 0;
  while (done < bytes.size()) {
    const ssize_t n = ::write(fd, bytes.data() + done, bytes.size() - done);
    if (n < 0 && errno == EINTR) continue;
    if (n <= 0) {
      const int err = n < 0 ? errno : EIO;
      ::close(fd);
      ::unlink(tmp.c_str());
      fail(what, path, "write", err);
    }
    done += static_cast<std::size_t>(n);
  }
  if (::fsync(fd) != 0) {
    const int err = errno;
    ::close(fd);
    ::unlink(tmp.c_str());
    fail(what, path, "write (fsync)", err);
  }
  if (::close(fd) != 0) {
    const int err = errno;
    ::unlink(tmp.c_str());
    fail(what, path, "write (close)", err);
  }
}

void publish_temporary(const std::string& path, const char* what) {
  const std::string tmp = temporary_path(path);
  if (std::rename(tmp.c_str(), path.c_str()) != 0) {
    const int err = errno;
    ::unlink(tmp.c_str());
    fail(what, path, "write (rename)", err);
  }
}

void sync_directory(const std::string& directory) {
  const int fd = ::open(directory.c_str(), O_RDONLY | O_DIRECTORY | O_CLOEXEC);
  if (fd < 0) fail("folder", directory, "sync", errno);
  // Some file systems refuse fsync on a folder (EINVAL); the rename is then as durable as they
  // make it, which is all that can be done.
  if (::fsync(fd) != 0 && errno != EINVAL) {
    const int err = errno;
    ::close(fd);
    fail("folder", directory, "sync", err);
  }
  ::close(fd);
}

void write_file_atomically(const std::string& path, const std::string& bytes, const char* what) {
  write_temporary(path, bytes, what);
  publish_temporary(path, what);
  sync_directory(parent_directory(path));
}

void ensure_writable_directory(const std::string& directory, const char* what) {
  if (directory.empty()) throw file_error(std::string(what) + ": empty folder name");
  struct stat st {};
  if (::stat(directory.c_str(), &st) == 0) {
    if (!S_ISDIR(st.st_mode)) fail(what, directory, "use", ENOTDIR);
  } else {
    if (errno != ENOENT) fail(what, directory, "use", errno);
    const std::string parent = parent_directory(directory);
    if (parent != directory) ensure_writable_directory(parent, what);
    if (::mkdir(directory.c_str(), 0755) != 0 && errno != EEXIST) fail(what, directory, "create", errno);
  }
  if (::access(directory.c_str(), W_OK | X_OK) != 0) fail(what, directory, "write into", errno);
}

void check_writable_file_path(const std::string& path, const char* what) {
  if (path.empty()) throw file_error(std::string(what) + ": empty file name");
  struct stat st {};
  if (::stat(path.c_str(), &st) == 0 && S_ISDIR(st.st_mode)) fail(what, path, "write", EISDIR);
  const std::string dir = parent_directory(path);
  if (::stat(dir.c_str(), &st) != 0) fail(what, path, "write", errno);
  if (!S_ISDIR(st.st_mode)) fail(what, path, "write", ENOTDIR);
  if (::access(dir.c_str(), W_OK | X_OK) != 0) fail(what, path, "write", errno);
}

int remove_stale_temporaries(const std::string& directory) {
  DIR* d = ::opendir(directory.c_str());
  if (!d) return 0;
  int removed = 0;
  while (const dirent* e = ::readdir(d)) {
    long pid = 0;
    const std::string name = e->d_name;
    if (temporary_of(name, &pid) && pid != ::getpid() && !process_alive(pid))
      removed += ::unlink((directory + "/" + name).c_str()) == 0;
  }
  ::closedir(d);
  return removed;
}

}  // namespace longtail_train
