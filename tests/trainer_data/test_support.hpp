// SPDX-License-Identifier: Apache-2.0
#pragma once
// Shared helpers of the data-layer tests: temporary files, the optional shared data sets, and an
// assertion that a data_error names the right file, line and problem.

#include <catch2/catch.hpp>

#include <chrono>
#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <string>

#include "data/data_error.hpp"
#include "dataset.hpp"

namespace test_support {

inline std::string sample(const std::string& name) { return std::string(LONGTAIL_TRAINER_TEST_DATA) + "/" + name; }

/// ../shared/data (or $LONGTAIL_SHARED_DATA) when `relative` exists under it; empty otherwise.
inline std::string shared_file(const std::string& relative) {
  const char* env = std::getenv("LONGTAIL_SHARED_DATA");
  const std::string root = env && *env ? env : LONGTAIL_SHARED_DATA_DEFAULT;
  const std::string path = root + "/" + relative;
  return std::filesystem::exists(path) ? path : std::string();
}

/// A fresh directory under the system temp dir, removed at scope exit.
class TempDir {
 public:
  TempDir() {
    static int counter = 0;
    path_ = std::filesystem::temp_directory_path() /
            ("longtail_data_test_" + std::to_string(std::chrono::steady_clock::now().time_since_epoch().count()) + "_" +
             std::to_string(counter++));
    std::filesystem::create_directories(path_);
  }
  ~TempDir() {
    std::error_code ec;
    std::filesystem::remove_all(path_, ec);
  }
  TempDir(const TempDir&) = delete;
  TempDir& operator=(const TempDir&) = delete;

  std::string path(const std::string& name) const { return (path_ / name).string(); }
  /// Writes `content` verbatim to a file in the directory and returns its path.
  std::string write(const std::string& name, const std::string& content) const {
    const std::string p = path(name);
    std::ofstream(p, std::ios::binary) << content;
    return p;
  }

 private:
  std::filesystem::path path_;
};

/// Runs `f`, which must throw longtail_train::data_error for `file` at `line` (0 = whole file)
/// with a message of the form "file:line: ..." containing `needle`.
template <class F>
void require_data_error(F&& f, const std::string& file, std::size_t line, const std::string& needle) {
  bool thrown = false;
  try {
    f();
  } catch (const longtail_train::data_error& e) {
    thrown = true;
    const std::string msg = e.what();
    INFO("message: " << msg);
    CHECK(e.file() == file);
    CHECK(e.line() == line);
    const std::string prefix = line == 0 ? file + ": " : file + ":" + std::to_string(line) + ": ";
    CHECK(msg.rfind(prefix, 0) == 0);
    CHECK(msg.find(needle) != std::string::npos);
  }
  INFO("expected a data_error for " << file << ":" << line << " containing \"" << needle << "\"");
  CHECK(thrown);
}

/// True when every byte of `message` is printable ASCII (0x20..0x7E): what the readers' error
/// messages must look like for inputs whose only non-ASCII bytes are invisible ones (a byte-order
/// mark, control characters), which they show escaped as \xHH.
inline bool printable_ascii(const std::string& message) {
  for (unsigned char c : message)
    if (c < 0x20 || c > 0x7E) return false;
  return true;
}

/// Runs `f`, which must throw a data_error whose message contains `needle` and shows only
/// printable ASCII; returns the message.
template <class F>
std::string data_error_message(F&& f, const std::string& needle) {
  std::string msg;
  try {
    f();
  } catch (const longtail_train::data_error& e) {
    msg = e.what();
  }
  INFO("message: " << msg);
  CHECK(msg.find(needle) != std::string::npos);
  CHECK(printable_ascii(msg));
  return msg;
}

/// Bitwise equality of two sparse matrices (shape, structure and values).
inline bool identical(const longtail_train::SparseRowMatrix& a, const longtail_train::SparseRowMatrix& b) {
  if (a.rows() != b.rows() || a.cols() != b.cols() || a.nonZeros() != b.nonZeros()) return false;
  for (Eigen::Index r = 0; r < a.rows(); ++r) {
    longtail_train::SparseRowMatrix::InnerIterator ia(a, r), ib(b, r);
    for (; ia && ib; ++ia, ++ib)
      if (ia.col() != ib.col() || ia.value() != ib.value()) return false;
    if (ia || ib) return false;
  }
  return true;
}

}  // namespace test_support
