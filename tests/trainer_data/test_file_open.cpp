// SPDX-License-Identifier: Apache-2.0
// The shared text-file layer: opening with reasons, whole-file reads, byte-order marks, and error
// messages that show invisible bytes.
#include <sys/stat.h>
#include <unistd.h>

#include <cerrno>
#include <cstdio>
#include <iterator>
#include <stdexcept>
#include <thread>

#include "data/data_error.hpp"
#include "data/detail/csr_builder.hpp"
#include "data/detail/printable.hpp"
#include "data/detail/text_file.hpp"
#include "data/file_open.hpp"
#include "data/memory_check.hpp"
#include "test_support.hpp"

using namespace longtail_train;
using test_support::require_data_error;

TEST_CASE("open_input_file: opens files, refuses directories, says why it cannot open", "[file]") {
  test_support::TempDir dir;
  const auto p = dir.write("a.bin", std::string("x\0y", 3));
  std::ifstream in = open_input_file(p, "checkpoint");
  const std::string bytes((std::istreambuf_iterator<char>(in)), std::istreambuf_iterator<char>());
  CHECK(bytes == std::string("x\0y", 3));
  require_data_error([&] { open_input_file(dir.path("none.bin"), "checkpoint"); }, dir.path("none.bin"), 0,
                     "cannot open checkpoint for reading: No such file or directory");
  std::filesystem::create_directory(dir.path("sub"));
  require_data_error([&] { open_input_file(dir.path("sub"), "checkpoint"); }, dir.path("sub"), 0,
                     "cannot open checkpoint for reading: Is a directory");
  require_data_error([&] { open_input_file(dir.path("a.bin/x"), "checkpoint"); }, dir.path("a.bin/x"), 0,
                     "Not a directory");
  SECTION("no read permission") {
    const auto locked = dir.write("locked.bin", "secret");
    ::chmod(locked.c_str(), 0);
    if (std::FILE* f = std::fopen(locked.c_str(), "rb")) {  // root reads everything
      std::fclose(f);
      WARN("skipped: running as a user who can read a file with mode 000 (root)");
      return;
    }
    require_data_error([&] { open_input_file(locked, "checkpoint"); }, locked, 0, "Permission denied");
    require_data_error([&] { read_input_file(locked, "checkpoint"); }, locked, 0, "Permission denied");
  }
}

TEST_CASE("read_input_file: whole files, empty files, pipes, no directories", "[file]") {
  test_support::TempDir dir;
  std::string big(300000, 'a');
  big[299999] = 'z';
  CHECK(read_input_file(dir.write("big.txt", big), "file") == big);
  CHECK(read_input_file(dir.write("empty.txt", ""), "file").empty());
  std::filesystem::create_directory(dir.path("sub"));
  require_data_error([&] { read_input_file(dir.path("sub"), "data file"); }, dir.path("sub"), 0,
                     "cannot open data file for reading: Is a directory");
  // A pipe has no size: the reader grows its buffer until the end of the stream.
  const std::string fifo = dir.path("fifo");
  REQUIRE(::mkfifo(fifo.c_str(), 0600) == 0);
  std::thread writer([&] { std::ofstream(fifo, std::ios::binary) << big << big; });
  const std::string got = read_input_file(fifo, "file");
  writer.join();
  CHECK(got == big + big);
}

TEST_CASE("read_whole_file: a leading UTF-8 byte-order mark is skipped, nowhere else", "[file]") {
  test_support::TempDir dir;
  CHECK(detail::read_whole_file(dir.write("a", "\xEF\xBB\xBFx\xEF\xBB\xBF"), "file") == "x\xEF\xBB\xBF");
  CHECK(detail::read_whole_file(dir.write("b", "\xEF\xBB\xBF"), "file").empty());
  CHECK(detail::read_whole_file(dir.write("c", "\xEF\xBBx"), "file") == "\xEF\xBBx");
}

TEST_CASE("error messages show invisible bytes as hex escapes and keep visible UTF-8", "[file]") {
  using detail::escape_invisible;
  CHECK(escape_invisible("plain ASCII, back\\slash") == "plain ASCII, back\\slash");
  CHECK(escape_invisible("Caf\xC3\xA9 \xE2\x82\xAC \xF0\x9F\x8E\xBE") == "Caf\xC3\xA9 \xE2\x82\xAC \xF0\x9F\x8E\xBE");
  CHECK(escape_invisible("a\tb\r\n\x01\x7F") == "a\\tb\\r\\n\\x01\\x7F");
  CHECK(escape_invisible("\xEF\xBB\xBFsports") == "\\xEF\\xBB\\xBFsports");  // byte-order mark
  CHECK(escape_invisible("sports\xE2\x80\x8B") == "sports\\xE2\\x80\\x8B");  // zero-width space
  CHECK(escape_invisible("a\xC2\xA0"
                         "b\xE2\x80\xAE") == "a\\xC2\\xA0b\\xE2\\x80\\xAE");  // no-break space, RLO
  CHECK(escape_invisible("\xC2\x85") == "\\xC2\\x85");                        // C1 control
  // Malformed UTF-8: stray continuation byte, overlong '/', surrogate, cut-short sequence.
  CHECK(escape_invisible("\x80"
                         "a") == "\\x80a");
  CHECK(escape_invisible("\xC0\xAF") == "\\xC0\\xAF");
  CHECK(escape_invisible("\xED\xA0\x80") == "\\xED\\xA0\\x80");
  CHECK(escape_invisible("x\xE2\x82") == "x\\xE2\\x82");
  const std::string once = escape_invisible("\xEF\xBB\xBF\t\x80 Caf\xC3\xA9");
  CHECK(escape_invisible(once) == once);  // idempotent: data_error may escape an escaped token
  // quote() cuts long tokens at a character boundary and escapes.
  const std::string long_token = std::string(39, 'a') + "\xC3\xA9" + "tail";
  CHECK(detail::quote(long_token) == "\"" + std::string(39, 'a') + "...\"");
  CHECK(detail::quote("\xEF\xBB\xBF"
                      "0") == "\"\\xEF\\xBB\\xBF0\"");
  // data_error escapes the whole message, the path included; file() keeps the path as given.
  const data_error e("dir/\xE2\x80\x8Bx.txt", 3, "got \x01");
  CHECK(std::string(e.what()) == "dir/\\xE2\\x80\\x8Bx.txt:3: got \\x01");
  CHECK(e.file() == "dir/\xE2\x80\x8Bx.txt");
}

TEST_CASE("require_memory: refuses sizes beyond the physical memory, names file and line", "[file]") {
  const double memory = physical_memory_bytes();
  REQUIRE(memory > 0);
  CHECK_NOTHROW(require_memory(1024, "f.txt", 1, "a small thing"));
  require_data_error([&] { require_memory(memory * 2, "f.txt", 7, "2 x the memory"); }, "f.txt", 7,
                     "2 x the memory would need " + format_gib(memory * 2) + ", more than this machine's " +
                         format_gib(memory) + " of memory");
  CHECK(format_gib(80.0 * 1024 * 1024 * 1024) == "80.0 GiB");
}

TEST_CASE("CsrBuilder: more stored values than int32 indices hold is an error, not a wrap-around", "[file]") {
  // The real limit is 2^31 - 1 values (a 10 GB file); the check is the same with a small one.
  detail::CsrBuilder b(3);
  for (int c = 0; c < 3; ++c) b.add(c, 1.0f);
  b.end_row();
  CHECK_NOTHROW(b.check_size("big.txt", "feature"));
  CHECK(b.build(4).nonZeros() == 3);
  b.add(0, 2.0f);
  b.end_row();
  require_data_error([&] { b.check_size("big.txt", "feature"); }, "big.txt", 0,
                     "4 stored feature values: more than the 3 a sparse matrix with int32 indices can hold");
  CHECK_THROWS_AS(b.build(4), std::length_error);
  CHECK(detail::CsrBuilder::kMaxNonZeros == 2147483647);
}
