// Snapshots to JSON and back: lossless, and every bad document rejected with the path of the
// offending value.
#include "collector/model/snapshot_json.h"

#include <gtest/gtest.h>

#include <cstdint>
#include <filesystem>
#include <fstream>
#include <functional>
#include <limits>

namespace thx {
namespace {

using nlohmann::json;

// A snapshot that uses every field, with values at the edges of their types.
Snapshot rich_snapshot() {
  Snapshot snapshot;
  snapshot.platform = "windows";
  snapshot.taken_at_seconds = 1700000000.123456789;
  snapshot.kinds = {Kind::processes, Kind::threads,     Kind::modules,
                    Kind::heaps,     Kind::heap_blocks, Kind::resources};
  KindStatus& processes = snapshot.status_of(Kind::processes);
  processes.state = KindStatus::State::partial;
  processes.duration_seconds = 0.1 + 0.2;  // not exactly 0.3: must survive as written
  processes.count(ErrorReason::vanished, 3);
  processes.count(ErrorReason::access_denied, std::numeric_limits<std::uint64_t>::max());
  snapshot.status_of(Kind::threads).state = KindStatus::State::complete;
  snapshot.status_of(Kind::modules).state = KindStatus::State::failed;
  snapshot.status_of(Kind::modules).count(ErrorReason::partial_copy);
  snapshot.status_of(Kind::heaps).state = KindStatus::State::unsupported;
  snapshot.status_of(Kind::heap_blocks).count(ErrorReason::limit_reached, 7);
  snapshot.status_of(Kind::resources).state = KindStatus::State::partial;
  snapshot.status_of(Kind::resources).count(ErrorReason::access_denied, 2);

  Process system;
  system.pid = 4;
  system.name = "System";
  Process app;
  app.pid = std::numeric_limits<std::uint32_t>::max();
  app.parent_pid = 4;
  app.name = "Gr\xC3\xBC\xC3\x9F \"app\".exe";
  app.path = "C:\\Program Files\\App\\app.exe";
  app.command_line = "app.exe --name \"two words\" \\\\server\\share\n\ttab";
  app.start_time_ns = std::numeric_limits<std::int64_t>::min();
  app.thread_count = 12;
  app.base_priority = -31;
  app.modules_read = true;
  app.modules = {{"app.exe", app.path, 0x140000000ULL, 0x1000},
                 {"kernel32.dll", "C:\\Windows\\System32\\kernel32.dll",
                  std::numeric_limits<std::uint64_t>::max() - 0xFFFF, 0xFFFF}};
  app.heaps_read = true;
  Heap known;
  known.id = 0xFFFF'FFFF'FFFF'0000ULL;
  known.flags = 0xFFFFFFFFU;
  known.block_count = 0;
  known.bytes = std::numeric_limits<std::uint64_t>::max();
  app.heaps = {known, Heap{}};
  app.resources.cpu_user_seconds = 0.1 + 0.2;
  app.resources.cpu_system_seconds = 0.0;
  app.resources.resident_bytes = std::numeric_limits<std::uint64_t>::max();
  app.resources.private_bytes = 0;
  app.resources.handles = 500;
  app.resources.io_write_bytes = 64ULL << 20U;  // virtual_bytes and io_read_bytes unknown
  Process kworker;
  kworker.pid = 30;
  kworker.name = "kworker/0:1-events";
  kworker.kernel_thread = true;
  snapshot.processes = {system, app, kworker};
  snapshot.threads = {{8, 4, 0}, {9, app.pid, -15}};
  snapshot.module_versions["C:\\Windows\\System32\\kernel32.dll"] = {"10.0.19041.1", "10.0.19041.2",
                                                                     "Microsoft"};
  return snapshot;
}

TEST(SnapshotJson, RoundTripIsLossless) {
  const Snapshot original = rich_snapshot();
  EXPECT_EQ(snapshot_from_json(snapshot_to_json(original)), original);
  // Through text as well: numbers must survive printing and parsing.
  const json reparsed = json::parse(snapshot_to_json_text(original));
  EXPECT_EQ(snapshot_from_json(reparsed), original);
  EXPECT_EQ(reparsed["processes"][1]["modules"][1]["base_address"].get<std::uint64_t>(),
            std::numeric_limits<std::uint64_t>::max() - 0xFFFF);
}

TEST(SnapshotJson, EmptySnapshotRoundTrips) {
  EXPECT_EQ(snapshot_from_json(snapshot_to_json(Snapshot{})), Snapshot{});
}

TEST(SnapshotJson, NamesKindsStatesAndReasons) {
  const json document = snapshot_to_json(rich_snapshot());
  EXPECT_EQ(document["kinds"][4], "heap_blocks");
  EXPECT_EQ(document["status"]["modules"]["state"], "failed");
  EXPECT_EQ(document["status"]["processes"]["errors"]["vanished"], 3);
  EXPECT_FALSE(document["status"]["processes"]["errors"].contains("malformed"));
  EXPECT_FALSE(document["processes"][1]["heaps"][1].contains("bytes"));
  EXPECT_EQ(document["kinds"][5], "resources");
  EXPECT_EQ(document["status"]["resources"]["errors"]["access_denied"], 2);
}

// Resources carry only the facts that were read: an unknown value is absent, never zero.
TEST(SnapshotJson, ResourcesHoldOnlyWhatWasRead) {
  const json document = snapshot_to_json(rich_snapshot());
  const json& resources = document["processes"][1]["resources"];
  EXPECT_EQ(resources["handles"], 500);
  EXPECT_EQ(resources["private_bytes"], 0);
  EXPECT_FALSE(resources.contains("virtual_bytes"));
  EXPECT_FALSE(resources.contains("io_read_bytes"));
  EXPECT_FALSE(document["processes"][0].contains("resources"));  // nothing read at all
  EXPECT_EQ(document["processes"][2]["kernel_thread"], true);
  EXPECT_FALSE(document["processes"][0].contains("kernel_thread"));
  json bad = document;
  bad["processes"][1]["resources"]["handles"] = -1;
  EXPECT_THROW(
      {
        try {
          snapshot_from_json(bad);
        } catch (const SnapshotFormatError& error) {
          EXPECT_STREQ(error.what(),
                       "$.processes[1].resources.handles: expected an unsigned integer");
          throw;
        }
      },
      SnapshotFormatError);
}

TEST(SnapshotJson, MissingMembersKeepTheirDefaults) {
  const json document = json::parse(R"({"processes": [{"pid": 5, "heaps": [{"bytes": null}]}]})");
  const Snapshot snapshot = snapshot_from_json(document);
  ASSERT_EQ(snapshot.processes.size(), 1U);
  EXPECT_EQ(snapshot.processes[0].pid, 5U);
  EXPECT_TRUE(snapshot.processes[0].name.empty());
  EXPECT_FALSE(snapshot.processes[0].heaps[0].bytes.has_value());
  EXPECT_EQ(snapshot.status_of(Kind::threads).state, KindStatus::State::not_requested);
  EXPECT_TRUE(snapshot.kinds.empty());
}

struct BadDocument {
  std::function<void(json&)> damage;
  std::string message;
};

TEST(SnapshotJson, ErrorsNameTheJsonPath) {
  const std::vector<BadDocument> cases = {
      {[](json& d) { d["processes"][1]["pid"] = "x"; },
       "$.processes[1].pid: expected an unsigned integer"},
      {[](json& d) { d["processes"][0]["pid"] = -1; },
       "$.processes[0].pid: expected an unsigned integer"},
      {[](json& d) { d["processes"][0]["pid"] = 4294967296ULL; },
       "$.processes[0].pid: out of range for a 32-bit unsigned integer"},
      {[](json& d) { d["processes"][0].erase("pid"); }, "$.processes[0].pid: missing"},
      {[](json& d) { d["processes"][1]["modules"][1]["base_address"] = 1.5; },
       "$.processes[1].modules[1].base_address: expected an unsigned integer"},
      {[](json& d) { d["processes"][1]["start_time_ns"] = 9223372036854775808ULL; },
       "$.processes[1].start_time_ns: expected a signed 64-bit integer"},
      {[](json& d) { d["processes"][1]["base_priority"] = 2147483648LL; },
       "$.processes[1].base_priority: out of range for a 32-bit signed integer"},
      {[](json& d) { d["processes"][1]["modules_read"] = 1; },
       "$.processes[1].modules_read: expected true or false"},
      {[](json& d) { d["processes"][1]["heaps"][0]["flags"] = -1; },
       "$.processes[1].heaps[0].flags: expected an unsigned integer"},
      {[](json& d) { d["processes"][1]["name"] = json::array(); },
       "$.processes[1].name: expected a string"},
      {[](json& d) { d["processes"] = json::object(); }, "$.processes: expected an array"},
      {[](json& d) { d["threads"][0] = 5; }, "$.threads[0]: expected an object"},
      {[](json& d) { d["threads"][1].erase("owner_pid"); }, "$.threads[1].owner_pid: missing"},
      {[](json& d) { d["status"]["processes"]["state"] = "bogus"; },
       "$.status.processes.state: unknown state \"bogus\""},
      {[](json& d) { d["status"]["bogus"] = json::object(); }, "$.status.bogus: unknown kind"},
      {[](json& d) { d["status"]["threads"]["errors"]["nope"] = 1; },
       "$.status.threads.errors.nope: unknown error reason"},
      {[](json& d) { d["status"]["threads"]["duration_seconds"] = "fast"; },
       "$.status.threads.duration_seconds: expected a number"},
      {[](json& d) { d["kinds"][1] = "nope"; }, "$.kinds[1]: unknown kind \"nope\""},
      {[](json& d) { d["format_version"] = 2; }, "$.format_version: unsupported format version"},
      {[](json& d) { d["module_versions"]["C:\\Windows\\System32\\kernel32.dll"]["company"] = 5; },
       "$.module_versions[\"C:\\\\Windows\\\\System32\\\\kernel32.dll\"].company: expected a "
       "string"},
      {[](json& d) { d = json::array(); }, "$: expected an object"},
  };
  for (const BadDocument& bad : cases) {
    json document = snapshot_to_json(rich_snapshot());
    bad.damage(document);
    try {
      (void)snapshot_from_json(document);
      ADD_FAILURE() << "accepted; expected: " << bad.message;
    } catch (const SnapshotFormatError& error) {
      EXPECT_EQ(std::string(error.what()), bad.message);
    }
  }
}

class SnapshotFiles : public ::testing::Test {
 protected:
  void SetUp() override {
    dir_ = std::filesystem::temp_directory_path() /
           ("thx_snapshot_json_test_" +
            std::to_string(::testing::UnitTest::GetInstance()->random_seed()) + "_" +
            ::testing::UnitTest::GetInstance()->current_test_info()->name());
    std::filesystem::create_directories(dir_);
  }
  void TearDown() override { std::filesystem::remove_all(dir_); }
  std::filesystem::path dir_;
};

TEST_F(SnapshotFiles, OneSnapshotOrARecording) {
  const Snapshot one = rich_snapshot();
  write_snapshot_file(dir_ / "one.json", one);
  EXPECT_EQ(read_snapshots_file(dir_ / "one.json"), std::vector<Snapshot>{one});

  std::vector<Snapshot> recording = {one, Snapshot{}, one};
  recording[2].taken_at_seconds += 15;
  write_snapshots_file(dir_ / "recording.json", recording);
  EXPECT_EQ(read_snapshots_file(dir_ / "recording.json"), recording);
}

TEST_F(SnapshotFiles, BadFilesSayWhichAndWhere) {
  EXPECT_THROW((void)read_snapshots_file(dir_ / "missing.json"), std::runtime_error);
  { std::ofstream(dir_ / "broken.json") << "{\"processes\": ["; }
  try {
    (void)read_snapshots_file(dir_ / "broken.json");
    ADD_FAILURE() << "accepted broken JSON";
  } catch (const SnapshotFormatError& error) {
    EXPECT_NE(std::string(error.what()).find("broken.json: $: not valid JSON"), std::string::npos)
        << error.what();
  }
  { std::ofstream(dir_ / "wrong.json") << R"([{}, {"threads": [{"tid": 1}]}])"; }
  try {
    (void)read_snapshots_file(dir_ / "wrong.json");
    ADD_FAILURE() << "accepted a thread without owner";
  } catch (const SnapshotFormatError& error) {
    EXPECT_NE(std::string(error.what()).find("wrong.json: $[1].threads[0].owner_pid: missing"),
              std::string::npos)
        << error.what();
  }
}

Snapshot numbered(double taken_at) {
  Snapshot snapshot;
  snapshot.taken_at_seconds = taken_at;
  return snapshot;
}

TEST(ReplaySource, RepeatsTheLastByDefault) {
  ReplaySource source({numbered(1), numbered(2)});
  const SnapshotRequest request;
  EXPECT_EQ(source.take(request, {}).taken_at_seconds, 1);
  EXPECT_EQ(source.take(request, {}).taken_at_seconds, 2);
  EXPECT_EQ(source.take(request, {}).taken_at_seconds, 2);
  EXPECT_EQ(source.takes(), 3U);
}

TEST(ReplaySource, Cycles) {
  ReplaySource source({numbered(1), numbered(2)}, ReplaySource::AtEnd::cycle);
  const SnapshotRequest request;
  std::vector<double> seen;
  seen.reserve(5);
  for (int i = 0; i < 5; ++i) {
    seen.push_back(source.take(request, {}).taken_at_seconds);
  }
  EXPECT_EQ(seen, (std::vector<double>{1, 2, 1, 2, 1}));
}

TEST(ReplaySource, NothingRecordedFailsTheRequestedKinds) {
  ReplaySource source({});
  SnapshotRequest request;
  request.kinds = {Kind::processes};
  const Snapshot snapshot = source.take(request, {});
  EXPECT_EQ(snapshot.status_of(Kind::processes).state, KindStatus::State::failed);
  EXPECT_EQ(snapshot.status_of(Kind::threads).state, KindStatus::State::not_requested);
}

}  // namespace
}  // namespace thx
