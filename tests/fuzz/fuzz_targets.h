// One input of each fuzz target. The libFuzzer entry points (built with THX_BUILD_FUZZERS) and
// the corpus regression test (built always, with every compiler) call the same functions, so
// every input the fuzzers kept stays a test.
//
// A target returns normally for any input the code under test handles as documented: a value,
// a failure it reports, or one of its documented exceptions. Anything else (a crash, another
// exception, a sanitizer report, a broken invariant) ends the program.
#pragma once

#include <cstdio>
#include <cstdlib>
#include <string_view>

namespace thx::fuzz {

// load_config_text on the bytes.
void config_one_input(std::string_view data);
// The first byte selects a procfs parser (see fuzz_procfs.cpp); the rest is the file's text.
void procfs_one_input(std::string_view data);
// The bytes parsed as JSON, then snapshot_from_json and a round trip of what it accepted.
void snapshot_json_one_input(std::string_view data);
// apply_web_config_text on the bytes (a --web.config.file), over the default configuration.
void web_config_one_input(std::string_view data);

[[noreturn]] inline void invariant_failed(const char* file, int line, const char* condition) {
  static_cast<void>(
      std::fprintf(stderr, "%s:%d: fuzz invariant failed: %s\n", file, line, condition));
  std::abort();
}

}  // namespace thx::fuzz

// An invariant of the code under test; aborts (a crash, for the fuzzer and for gtest) when false.
#define THX_FUZZ_CHECK(condition)     \
  ((condition) ? static_cast<void>(0) \
               : ::thx::fuzz::invariant_failed(__FILE__, __LINE__, #condition))
