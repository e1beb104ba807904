// The fuzz corpus as a regression suite: every file under corpus/<target>/ goes through the same
// function its fuzz target calls, with whatever compiler built this test (gcc in the normal
// build, clang with sanitizers in the fuzz build). Inputs that once crashed stay in the corpus
// and also get a named case below, so the failure says what broke.
#include <algorithm>
#include <csignal>
#include <cstdio>
#include <filesystem>
#include <fstream>
#include <string>
#include <string_view>
#include <vector>

#include <gtest/gtest.h>

#include "tests/fuzz/fuzz_targets.h"

namespace thx::fuzz {
namespace {

namespace fs = std::filesystem;

// Set by the build: the source tree's corpus folder.
const fs::path kCorpus = fs::u8path(THX_FUZZ_CORPUS_DIR);

// The input being run, named on stderr if it crashes the program (a crash ends gtest before
// it can say which file did it).
std::string g_current_input;

void name_crashing_input(int signal_number) {
  static_cast<void>(std::fprintf(stderr, "crashed on corpus input: %s\n", g_current_input.c_str()));
  static_cast<void>(std::signal(signal_number, SIG_DFL));
  static_cast<void>(std::raise(signal_number));
}

class CrashNamer {
 public:
  CrashNamer() {
    for (int signal_number : {SIGABRT, SIGSEGV, SIGFPE, SIGILL}) {
      static_cast<void>(std::signal(signal_number, &name_crashing_input));
    }
  }
  CrashNamer(const CrashNamer&) = delete;
  CrashNamer& operator=(const CrashNamer&) = delete;
  CrashNamer(CrashNamer&&) = delete;
  CrashNamer& operator=(CrashNamer&&) = delete;
  ~CrashNamer() {
    for (int signal_number : {SIGABRT, SIGSEGV, SIGFPE, SIGILL}) {
      static_cast<void>(std::signal(signal_number, SIG_DFL));
    }
  }
};

std::string read_bytes(const fs::path& file) {
  std::string bytes(fs::file_size(file), '\0');
  std::ifstream in(file, std::ios::binary);
  in.read(bytes.data(), static_cast<std::streamsize>(bytes.size()));
  EXPECT_TRUE(in.good()) << "cannot read " << file;
  return bytes;
}

// The corpus files of one target, sorted so runs are reproducible.
std::vector<fs::path> corpus_files(std::string_view target) {
  std::vector<fs::path> files;
  for (const auto& entry : fs::directory_iterator(kCorpus / target)) {
    if (entry.is_regular_file()) {
      files.push_back(entry.path());
    }
  }
  std::sort(files.begin(), files.end());
  return files;
}

void run_corpus(std::string_view target, void (*one_input)(std::string_view)) {
  const CrashNamer namer;
  const std::vector<fs::path> files = corpus_files(target);
  EXPECT_GE(files.size(), 5U) << "the seed corpus of " << target << " is missing";
  for (const fs::path& file : files) {
    g_current_input = file.string();
    const std::string bytes = read_bytes(file);
    EXPECT_NO_THROW(one_input(bytes)) << file;
  }
  g_current_input.clear();
}

TEST(FuzzCorpus, ConfigInputs) {
  run_corpus("fuzz_config", &config_one_input);
}

TEST(FuzzCorpus, ProcfsInputs) {
  run_corpus("fuzz_procfs", &procfs_one_input);
}

TEST(FuzzCorpus, SnapshotJsonInputs) {
  run_corpus("fuzz_snapshot_json", &snapshot_json_one_input);
}

TEST(FuzzCorpus, WebConfigInputs) {
  run_corpus("fuzz_web_config", &web_config_one_input);
}

// Degenerate inputs every target must take, whatever the corpus holds.
TEST(FuzzCorpus, EmptyAndTinyInputs) {
  for (auto one_input :
       {&config_one_input, &procfs_one_input, &snapshot_json_one_input, &web_config_one_input}) {
    for (std::string_view input :
         {std::string_view{}, std::string_view("\0", 1), std::string_view("{"),
          std::string_view("s"), std::string_view("m\n"), std::string_view("c")}) {
      EXPECT_NO_THROW(one_input(input));
    }
  }
}

}  // namespace
}  // namespace thx::fuzz
