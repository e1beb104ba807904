// Snapshot replay, the path of `toolhelp_exporter metrics --from-snapshot FILE`: a snapshot saved
// on Windows (backslash paths, version resources) gives the same series wherever it is replayed,
// with the platform label of the file.
#include "service/replay.h"

#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include <string>
#include <vector>

#include "collector/model/snapshot_json.h"
#include "config/config.h"

namespace thx {
namespace {

using ::testing::HasSubstr;
using ::testing::Not;

std::vector<Snapshot> windows_two_processes() {
  return read_snapshots_file(path_from_utf8(THX_TEST_DATA_DIR "/windows_two_processes.json"));
}

Config config_from(std::string_view json) {
  ConfigLoadResult loaded = load_config_text(json);
  EXPECT_TRUE(loaded.config.has_value());
  return loaded.config.value_or(Config{});
}

TEST(Replay, WindowsSnapshotGivesItsSeriesOnAnyPlatform) {
  const std::vector<Snapshot> snapshots = windows_two_processes();
  ASSERT_EQ(snapshots.size(), 1U);
  const std::string text = replay_metrics_text(snapshots, config_from(R"({"groups": {"rules": [
        {"group": "services", "path": "(?i)^C:\\\\Windows\\\\System32\\\\"}]}})"));

  EXPECT_THAT(text, HasSubstr("toolhelp_processes 2\n"));
  EXPECT_THAT(text, HasSubstr("toolhelp_threads 5\n"));
  EXPECT_THAT(text, HasSubstr("toolhelp_group_processes{group=\"services\"} 1\n"));
  EXPECT_THAT(text, HasSubstr("toolhelp_group_threads{group=\"services\"} 3\n"));
  EXPECT_THAT(text, HasSubstr("toolhelp_group_processes{group=\"notepad.exe\"} 1\n"));
  EXPECT_THAT(text, HasSubstr("toolhelp_group_threads{group=\"notepad.exe\"} 2\n"));
  // Windows paths keep their backslashes, escaped as the text format requires.
  EXPECT_THAT(text, HasSubstr("toolhelp_module_processes{module=\"ntdll.dll\",path=\"C:\\\\Windows"
                              "\\\\SYSTEM32\\\\ntdll.dll\"} 2\n"));
  EXPECT_THAT(text, HasSubstr("toolhelp_module_processes{module=\"KERNEL32.DLL\",path=\"C:\\\\"
                              "Windows\\\\System32\\\\KERNEL32.DLL\"} 1\n"));
  EXPECT_THAT(text,
              HasSubstr("toolhelp_module_info{path=\"C:\\\\Windows\\\\SYSTEM32\\\\ntdll.dll\","
                        "file_version=\"10.0.19041.3636\",product_version=\"10.0.19041.3636\","
                        "company=\"Microsoft Corporation\"} 1\n"));
  EXPECT_THAT(text, HasSubstr("toolhelp_snapshot_errors_total{kind=\"modules\","
                              "reason=\"access_denied\"} 1\n"));
  // The platform is the file's, whatever runs the replay.
  EXPECT_THAT(text, HasSubstr("platform=\"windows\"}"));
  EXPECT_THAT(text, Not(HasSubstr("platform=\"linux\"")));
}

TEST(Replay, RecordingIsFoldedInOrder) {
  std::vector<Snapshot> snapshots = windows_two_processes();
  Snapshot later = snapshots.front();
  later.taken_at_seconds += 15;
  std::erase_if(later.processes, [](const Process& process) { return process.pid == 4242; });
  std::erase_if(later.threads, [](const Thread& thread) { return thread.owner_pid == 4242; });
  snapshots.push_back(later);
  const std::string text = replay_metrics_text(snapshots, Config{});
  EXPECT_THAT(text, HasSubstr("toolhelp_processes 1\n"));
  EXPECT_THAT(text, HasSubstr("toolhelp_group_process_exits_total{group=\"notepad.exe\"} 1\n"));
  EXPECT_THAT(text, HasSubstr("toolhelp_snapshots_total 2\n"));
}

TEST(Replay, BuildInfoPlatformComesFromTheFile) {
  std::vector<Snapshot> snapshots(1);
  snapshots[0].platform = "windows";
  EXPECT_EQ(replay_build_info(snapshots).platform, "windows");
  snapshots[0].platform.clear();
  EXPECT_FALSE(replay_build_info(snapshots).platform.empty());  // this program's
  EXPECT_THROW(replay_metrics_text({}, Config{}), std::invalid_argument);
}

}  // namespace
}  // namespace thx
