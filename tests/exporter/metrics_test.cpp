#include "exporter/metrics.h"

#include <gtest/gtest.h>

#include <set>
#include <stop_token>

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

TEST(Metrics, VanishedGroupDisappearsWithTheNextAggregate) {
  MetricsCollectable collectable({"v", "r", "p"});
  auto first = sample_aggregate();
  collectable.publish(first);
  auto second = sample_aggregate();
  second->groups.clear();
  collectable.publish(second);
  for (const auto& family : collectable.Collect()) {
    if (family.name == "toolhelp_group_processes") {
      EXPECT_TRUE(family.metric.empty());
    }
    if (family.name == "toolhelp_group_process_starts_total") {
      EXPECT_EQ(family.metric.size(), 1U);  // counters stay
    }
  }
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

// The series (names and labels) of one aggregate, values left out.
std::set<std::string> series_of(const Aggregate& aggregate) {
  std::set<std::string> out;
  for (const auto& family : to_metric_families(&aggregate, {"1", "r", "linux"}, {})) {
    for (const auto& metric : family.metric) {
      std::string key = family.name + "{";
      for (const auto& label : metric.label) {
        key += label.name + "=" + label.value + ",";
      }
      out.insert(key + "}");
    }
  }
  return out;
}

// An idle Linux host an hour apart, as a saved snapshot file gives it back: the kworkers picked
// up other work and changed their names. Under the default configuration the series are the
// same: kernel threads are one group, whatever they are called.
TEST(Metrics, RenamedKernelThreadsKeepTheSeriesOfTheDefaultConfiguration) {
  auto host = [](std::vector<std::string> kworkers) {
    nlohmann::json processes = nlohmann::json::array();
    processes.push_back({{"pid", 1},
                         {"name", "systemd"},
                         {"path", "/usr/lib/systemd/systemd"},
                         {"start_time_ns", 1},
                         {"thread_count", 1}});
    processes.push_back({{"pid", 2},
                         {"name", "kthreadd"},
                         {"start_time_ns", 2},
                         {"thread_count", 1},
                         {"kernel_thread", true}});
    std::uint32_t pid = 10;
    for (const std::string& name : kworkers) {
      processes.push_back({{"pid", pid},
                           {"parent_pid", 2},
                           {"name", name},
                           {"start_time_ns", pid},
                           {"thread_count", 1},
                           {"kernel_thread", true}});
      ++pid;
    }
    return snapshot_from_json({{"format_version", 1},
                               {"platform", "linux"},
                               {"taken_at_seconds", 1.7e9},
                               {"kinds", {"processes"}},
                               {"status", {{"processes", {{"state", "complete"}}}}},
                               {"processes", processes}});
  };
  ReplaySource replay(
      {host({"kworker/0:1-events", "kworker/1:2-cgroup_destroy", "kworker/u8:0"}),
       host({"kworker/0:1-mm_percpu_wq", "kworker/1:2-events", "kworker/u8:0-flush-8:0"})});
  Aggregator aggregator{AggregatorSettings{}};
  SnapshotRequest request;
  auto first = aggregator.update(std::make_shared<const Snapshot>(replay.take(request, {})));
  auto later = aggregator.update(std::make_shared<const Snapshot>(replay.take(request, {})));
  EXPECT_EQ(series_of(*first), series_of(*later));
  EXPECT_EQ(later->groups.at("kernel").processes, 4U);
  EXPECT_EQ(later->churn.at("kernel").starts_total, 0U);
}

}  // namespace
}  // namespace thx
