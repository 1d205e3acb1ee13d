// SPDX-License-Identifier: Apache-2.0
// Output files: durable single files (temporary + fsync + rename) and the outputs of one run as a
// unit (RUNNING marker until every file is in place), stale temporaries of killed runs removed.
#include <catch2/catch.hpp>

#include <fstream>
#include <iterator>
#include <string>

#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include "common/durable_file.hpp"
#include "common/run_outputs.hpp"

using namespace longtail_train;
using Catch::Contains;

namespace {

bool exists(const std::string& p) {
  struct stat st {};
  return ::stat(p.c_str(), &st) == 0;
}

std::string read(const std::string& p) {
  std::ifstream in(p, std::ios::binary);
  return {std::istreambuf_iterator<char>(in), std::istreambuf_iterator<char>()};
}

void write(const std::string& p, const std::string& s) { std::ofstream(p, std::ios::binary) << s; }

/// A process id that is certainly not running: a child that has exited and been reaped.
pid_t dead_pid() {
  const pid_t child = ::fork();
  if (child == 0) ::_exit(0);
  int status = 0;
  ::waitpid(child, &status, 0);
  return child;
}

std::string fresh_dir(const std::string& name) {
  const std::string dir = "longtail_trainer_outputs_" + name;
  std::system(("rm -rf " + dir).c_str());
  return dir;
}

}  // namespace

TEST_CASE("write_file_atomically: contents in place, no temporary left, reasons in errors", "[trainer][outputs]") {
  const std::string dir = fresh_dir("atomic");
  ensure_writable_directory(dir + "/a/b", "test folder");  // creates parents
  const std::string path = dir + "/a/b/f.txt";
  write_file_atomically(path, "first", "test file");
  write_file_atomically(path, "second", "test file");
  CHECK(read(path) == "second");
  CHECK_FALSE(exists(temporary_path(path)));
  CHECK_THROWS_WITH(write_file_atomically(dir + "/a", "x", "test file"), Contains("Is a directory"));
  CHECK_THROWS_WITH(ensure_writable_directory(path, "--out"), Contains("--out") && Contains("Not a directory"));
  CHECK_THROWS_WITH(check_writable_file_path(dir + "/missing/f", "--checkpoint"),
                    Contains("--checkpoint") && Contains("No such file or directory"));
  CHECK_THROWS_WITH(check_writable_file_path(dir + "/a", "--checkpoint"), Contains("Is a directory"));
  std::system(("rm -rf " + dir).c_str());
}

TEST_CASE("RunOutputs: the files of a run appear together, RUNNING marks an unfinished run", "[trainer][outputs]") {
  const std::string dir = fresh_dir("unit");
  const std::string marker = dir + "/" + RunOutputs::kMarker;
  {
    RunOutputs out;
    CHECK(out.open(dir, "train").empty());
    CHECK(exists(marker));
    out.stage("result.json", "{1}");
    out.stage("history.csv", "epoch\n1\n");
    CHECK_FALSE(exists(dir + "/result.json"));  // staged, not yet visible
    out.commit();
  }
  CHECK(read(dir + "/result.json") == "{1}");
  CHECK(read(dir + "/history.csv") == "epoch\n1\n");
  CHECK_FALSE(exists(marker));

  // A run that fails before commit (an exception: the destructor runs) leaves the previous run's
  // files and no marker or temporary behind.
  {
    RunOutputs out;
    out.open(dir, "train");
    out.stage("result.json", "{2}");
  }
  CHECK(read(dir + "/result.json") == "{1}");
  CHECK_FALSE(exists(marker));
  CHECK_FALSE(exists(temporary_path(dir + "/result.json")));

  // A killed run (no destructor) left its marker and a temporary: the next run says so and
  // removes the temporary.
  const std::string stale = dir + "/result.json.tmp-" + std::to_string(dead_pid());
  write(stale, "{half");
  write(marker, "longtail-train train, pid 1, started earlier\n");
  RunOutputs next;
  const std::string note = next.open(dir, "train");
  CHECK_THAT(note, Contains("did not finish") && Contains("started earlier"));
  CHECK_FALSE(exists(stale));
  next.stage("result.json", "{3}");
  next.commit();
  CHECK(read(dir + "/result.json") == "{3}");
  CHECK_FALSE(exists(marker));
  std::system(("rm -rf " + dir).c_str());
}

TEST_CASE("remove_stale_temporaries keeps the files of live processes", "[trainer][outputs]") {
  const std::string dir = fresh_dir("stale");
  ensure_writable_directory(dir, "test folder");
  const std::string mine = dir + "/x.tmp-" + std::to_string(::getpid());
  const std::string dead = dir + "/x.tmp-" + std::to_string(dead_pid());
  const std::string unrelated = dir + "/notes.tmp-draft";
  for (const auto& p : {mine, dead, unrelated}) write(p, "x");
  CHECK(remove_stale_temporaries(dir) == 1);
  CHECK(exists(mine));
  CHECK_FALSE(exists(dead));
  CHECK(exists(unrelated));
  std::system(("rm -rf " + dir).c_str());
}

TEST_CASE("RunOutputs: a commit that fails half-way keeps the RUNNING marker", "[trainer][outputs]") {
  const std::string dir = fresh_dir("halfway");
  {
    RunOutputs out;
    out.open(dir, "generate");
    out.stage("a.txt", "new a");
    out.stage("b.txt", "new b");
    ensure_writable_directory(dir + "/b.txt", "test folder");  // b.txt cannot be replaced by a file
    CHECK_THROWS_WITH(out.commit(), Contains("b.txt") && Contains("Is a directory"));
  }
  CHECK(read(dir + "/a.txt") == "new a");  // renamed before the failure
  CHECK(exists(dir + "/" + RunOutputs::kMarker));
  CHECK_FALSE(exists(temporary_path(dir + "/b.txt")));
  std::system(("rm -rf " + dir).c_str());
}
