// SPDX-License-Identifier: Apache-2.0
// JSON output of the reports (result.json, sweep.json, predict --text): strings always parse.
#include <catch2/catch.hpp>

#include <string>

#include "report.hpp"

using namespace longtail_train;

TEST_CASE("json_string escapes what JSON requires and keeps valid UTF-8", "[trainer][report]") {
  CHECK(json_string("a\"b\\c") == "\"a\\\"b\\\\c\"");
  CHECK(json_string("tab\there\nnl\x01") == "\"tab\\there\\nnl\\u0001\"");
  CHECK(json_string("Caf\xC3\xA9 \xE6\x97\xA5\xE6\x9C\xAC \xF0\x9F\x98\x80") ==
        "\"Caf\xC3\xA9 \xE6\x97\xA5\xE6\x9C\xAC \xF0\x9F\x98\x80\"");
}

TEST_CASE("json_string replaces bytes that are not UTF-8 with U+FFFD", "[trainer][report]") {
  CHECK(json_string("Caf\xE9") == "\"Caf\\ufffd\"");                             // Latin-1
  CHECK(json_string("x\xE6\x97") == "\"x\\ufffd\\ufffd\"");                      // truncated sequence
  CHECK(json_string("\xC0\xAF") == "\"\\ufffd\\ufffd\"");                        // overlong '/'
  CHECK(json_string("\xED\xA0\x80") == "\"\\ufffd\\ufffd\\ufffd\"");             // surrogate half
  CHECK(json_string("\xF4\x90\x80\x80") == "\"\\ufffd\\ufffd\\ufffd\\ufffd\"");  // above U+10FFFF
  CHECK(json_string("\xBF ok") == "\"\\ufffd ok\"");                             // stray continuation byte
}
