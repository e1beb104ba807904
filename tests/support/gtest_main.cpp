// main() of every gtest program. A run in which some test skipped and none failed exits with 77,
// which ctest reports as "Skipped" (SKIP_RETURN_CODE in tests/CMakeLists.txt), so a skip is never
// counted as a pass; each skipped test is listed with its reason. A failure still wins over a
// skip: the exit code is then gtest's own.
#include <gtest/gtest.h>

#include <cstdio>
#include <string>

namespace {

constexpr int kSkippedExitCode = 77;

std::string skip_reason(const testing::TestResult& result) {
  std::string reason;
  for (int i = 0; i < result.total_part_count(); ++i) {
    const testing::TestPartResult& part = result.GetTestPartResult(i);
    if (part.skipped()) {
      reason += part.message();
    }
  }
  return reason.empty() ? "(no reason given)" : reason;
}

}  // namespace

int main(int argc, char** argv) {
  testing::InitGoogleTest(&argc, argv);
  const int result = RUN_ALL_TESTS();
  const testing::UnitTest& unit = *testing::UnitTest::GetInstance();
  if (result != 0 || unit.skipped_test_count() == 0) {
    return result;
  }
  for (int s = 0; s < unit.total_test_suite_count(); ++s) {
    const testing::TestSuite& suite = *unit.GetTestSuite(s);
    for (int t = 0; t < suite.total_test_count(); ++t) {
      const testing::TestInfo& test = *suite.GetTestInfo(t);
      if (test.result()->Skipped()) {
        std::printf("SKIPPED %s.%s: %s\n", suite.name(), test.name(),
                    skip_reason(*test.result()).c_str());
      }
    }
  }
  std::fflush(stdout);
  return kSkippedExitCode;
}
