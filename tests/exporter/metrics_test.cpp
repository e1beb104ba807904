#include "exporter/metrics.h"

#include <gtest/gtest.h>

#include <set>
#include <string>

#include <nlohmann/json.hpp>

#include "collector/aggregate/aggregator.h"
#include "collector/model/snapshot_json.h"

namespace thx {
namespace {

std::shared_ptr<Aggregate> sample_aggregate() {
  auto snapshot = std::make_shared<Snapshot>();
  snapshot->module_versions["C:\\Windows\\System32\\kernel32.dll"] = {"10.0.1", "10.0", "Wine"};
  auto aggregate = std::make_shared<Aggregate>();
  aggregate->snapshot = snapshot;
  aggregate->processes = 3;
  aggregate->threads = 12;
  aggregate->groups["svchost \"netsvcs\""] = {2, 10, 5, 1};
  aggregate->churn["svchost \"netsvcs\""] = {4, 2};
  aggregate->modules.push_back({"kernel32.dll", "C:\\Windows\\System32\\kernel32.dll", 3});
  aggregate->last_status[0].state = KindStatus::State::complete;
  aggregate->last_status[0].duration_seconds = 0.25;
  aggregate->errors_total[0][static_cast<std::size_t>(ErrorReason::vanished)] = 7;
  aggregate->last_snapshot_timestamp_seconds = 1.7e9;
  return aggregate;
}

TEST(Metrics, EveryFixedMetricIsPresentWithHelp) {
  const auto families =
      to_metric_families(sample_aggregate().get(), {"1.2.3", "abc", "windows"}, {});
  std::set<std::string> names;
  for (const auto& family : families) {
    names.insert(family.name);
    EXPECT_GT(family.help.size(), 20U) << family.name << " needs help text that documents it";
  }
  for (const char* fixed : {"toolhelp_processes", "toolhelp_threads", "toolhelp_group_processes",
                            "toolhelp_group_threads", "toolhelp_group_process_starts_total",
                            "toolhelp_group_process_exits_total", "toolhelp_module_processes",
                            "toolhelp_snapshot_duration_seconds", "toolhelp_snapshot_errors_total",
                            "toolhelp_last_snapshot_timestamp_seconds", "toolhelp_build_info",
                            "toolhelp_module_info", "toolhelp_config_last_reload_successful"}) {
    EXPECT_TRUE(names.contains(fixed)) << fixed;
  }
}

TEST(Metrics, TextFormatEscapesBackslashesAndQuotes) {
  const std::string text =
      to_text_format(to_metric_families(sample_aggregate().get(), {"1.2.3", "abc", "windows"}, {}));
  EXPECT_NE(text.find("toolhelp_module_processes{module=\"kernel32.dll\",path=\"C:\\\\Windows\\\\"
                      "System32\\\\kernel32.dll\"} 3"),
            std::string::npos)
      << text;
  EXPECT_NE(text.find("toolhelp_group_processes{group=\"svchost \\\"netsvcs\\\"\"} 2"),
            std::string::npos);
  EXPECT_NE(text.find("toolhelp_snapshot_errors_total{kind=\"processes\",reason=\"vanished\"} 7"),
            std::string::npos);
  EXPECT_NE(
      text.find("toolhelp_build_info{version=\"1.2.3\",revision=\"abc\",platform=\"windows\"} 1"),
      std::string::npos)
      << text;
  EXPECT_NE(text.find("# TYPE toolhelp_group_process_starts_total counter"), std::string::npos);
}

// Snapshots written as their JSON form, folded by the real Aggregator, rendered as a scrape
// gets them: the families below are computed, not copied from the test's input.
std::shared_ptr<const Snapshot> snapshot_from(const std::string& processes_and_threads) {
  return std::make_shared<const Snapshot>(snapshot_from_json(nlohmann::json::parse(
      R"({"platform": "linux", "taken_at_seconds": 1700000000,
          "kinds": ["processes", "threads", "modules", "heaps"],
          "status": {"processes": {"state": "complete"}, "threads": {"state": "complete"},
                     "modules": {"state": "complete"}, "heaps": {"state": "complete"}},)" +
      processes_and_threads + "}")));
}

std::string rendered(const std::shared_ptr<const Aggregate>& aggregate) {
  return to_text_format(to_metric_families(aggregate.get(), {"v", "r", "linux"}, {}));
}

// Two nginx processes (one module shared, one not; three heaps) and a cron; threads of three
// base priorities.
const std::string kNginxAndCron = R"(
  "processes": [
    {"pid": 10, "name": "nginx", "start_time_ns": 1, "thread_count": 2, "modules_read": true,
     "heaps_read": true,
     "modules": [{"name": "libc.so.6", "path": "/lib/libc.so.6", "base_address": 4096, "size": 8},
                 {"name": "libssl.so.3", "path": "/lib/libssl.so.3", "base_address": 8192,
                  "size": 8}],
     "heaps": [{"id": 1}, {"id": 2}]},
    {"pid": 11, "name": "nginx", "start_time_ns": 2, "thread_count": 1, "modules_read": true,
     "heaps_read": true,
     "modules": [{"name": "libc.so.6", "path": "/lib/libc.so.6", "base_address": 4096, "size": 8}],
     "heaps": [{"id": 3}]},
    {"pid": 20, "name": "cron", "start_time_ns": 3, "thread_count": 1, "modules_read": true,
     "heaps_read": true, "modules": [], "heaps": []}],
  "threads": [{"tid": 10, "owner_pid": 10, "base_priority": 20},
              {"tid": 12, "owner_pid": 10, "base_priority": 0},
              {"tid": 11, "owner_pid": 11, "base_priority": 20},
              {"tid": 20, "owner_pid": 20, "base_priority": 39}])";

TEST(Metrics, GroupModulesHeapsAndPrioritiesAsRendered) {
  Aggregator aggregator{AggregatorSettings{}};
  const std::string text = rendered(aggregator.update(snapshot_from(kNginxAndCron)));
  for (const char* line :
       {"toolhelp_group_modules{group=\"nginx\"} 2\n", "toolhelp_group_modules{group=\"cron\"} 0\n",
        "toolhelp_group_heaps{group=\"nginx\"} 3\n", "toolhelp_group_heaps{group=\"cron\"} 0\n",
        "toolhelp_threads_by_base_priority{base_priority=\"0\"} 1\n",
        "toolhelp_threads_by_base_priority{base_priority=\"20\"} 2\n",
        "toolhelp_threads_by_base_priority{base_priority=\"39\"} 1\n",
        "# TYPE toolhelp_group_modules gauge\n",
        "# TYPE toolhelp_threads_by_base_priority gauge\n"}) {
    EXPECT_NE(text.find(line), std::string::npos) << line << " not in\n" << text;
  }
  EXPECT_EQ(text.find("toolhelp_process_threads"), std::string::npos) << "per-process is opt-in";
}

TEST(Metrics, PerProcessFamiliesAsRenderedAndBounded) {
  AggregatorSettings settings;
  settings.per_process.include.emplace_back("^nginx$");
  settings.per_process.max_series = 1;
  Aggregator aggregator{settings};
  const std::string text = rendered(aggregator.update(snapshot_from(kNginxAndCron)));
  for (const char* line :
       {"toolhelp_process_threads{pid=\"10\",name=\"nginx\"} 2\n",
        "toolhelp_process_modules{pid=\"10\",name=\"nginx\"} 2\n",
        "toolhelp_process_start_time_seconds{pid=\"10\",name=\"nginx\"} ",
        "toolhelp_per_process_series_dropped 1\n", "# TYPE toolhelp_process_threads gauge\n"}) {
    EXPECT_NE(text.find(line), std::string::npos) << line << " not in\n" << text;
  }
  EXPECT_EQ(text.find("pid=\"11\""), std::string::npos) << "max_series is 1";
  EXPECT_EQ(text.find("name=\"cron\""), std::string::npos) << "not included";
}

// A group whose processes all exited: its gauges go with the next aggregate, its counters stay
// (the exit counted).
TEST(Metrics, VanishedGroupDisappearsWithTheNextAggregate) {
  Aggregator aggregator{AggregatorSettings{}};
  MetricsCollectable collectable({"v", "r", "p"});
  collectable.publish(aggregator.update(snapshot_from(kNginxAndCron)));
  ASSERT_NE(collectable.text()->find("toolhelp_group_processes{group=\"cron\"} 1\n"),
            std::string::npos);
  collectable.publish(aggregator.update(snapshot_from(R"(
    "processes": [{"pid": 10, "name": "nginx", "start_time_ns": 1, "thread_count": 1}],
    "threads": [{"tid": 10, "owner_pid": 10, "base_priority": 20}])")));
  const std::string text = *collectable.text();
  for (const char* gauge : {"toolhelp_group_processes", "toolhelp_group_threads",
                            "toolhelp_group_modules", "toolhelp_group_heaps"}) {
    EXPECT_EQ(text.find(std::string(gauge) + "{group=\"cron\"}"), std::string::npos) << gauge;
  }
  EXPECT_NE(text.find("toolhelp_group_processes{group=\"nginx\"} 1\n"), std::string::npos);
  EXPECT_NE(text.find("toolhelp_group_process_exits_total{group=\"cron\"} 1\n"), std::string::npos)
      << text;
  EXPECT_NE(text.find("toolhelp_group_process_exits_total{group=\"nginx\"} 1\n"),
            std::string::npos);
  EXPECT_EQ(text.find("base_priority=\"39\""), std::string::npos) << "cron's thread is gone";
}

TEST(Metrics, BeforeTheFirstSnapshotOnlyExporterInfoIsServed) {
  MetricsCollectable collectable({"v", "r", "p"});
  const std::string text = to_text_format(collectable.Collect());
  EXPECT_NE(text.find("toolhelp_build_info"), std::string::npos);
  EXPECT_EQ(text.find("toolhelp_processes"), std::string::npos) << "no made-up zeros";
}

TEST(Metrics, ReloadStatusIsExported) {
  MetricsCollectable collectable({"v", "r", "p"});
  collectable.set_reload_status({false, 123.0});
  const std::string text = to_text_format(collectable.Collect());
  EXPECT_NE(text.find("toolhelp_config_last_reload_successful 0"), std::string::npos);
  EXPECT_NE(text.find("toolhelp_config_last_reload_success_timestamp_seconds 123"),
            std::string::npos);
}

}  // namespace
}  // namespace thx

namespace thx {
namespace {

TEST(Metrics, TextIsRenderedOncePerPublish) {
  MetricsCollectable collectable({"v", "r", "p"});
  collectable.publish(sample_aggregate());
  const auto first = collectable.text();
  EXPECT_EQ(first, collectable.text());  // the same rendering, shared
  EXPECT_EQ(*first, to_text_format(collectable.Collect()));
  collectable.publish(sample_aggregate());
  EXPECT_NE(first, collectable.text());  // a new cycle, a new rendering
  collectable.set_reload_status({false, 1.0});
  EXPECT_NE(collectable.text()->find("toolhelp_config_last_reload_successful 0"),
            std::string::npos);
}

}  // namespace
}  // namespace thx
