#include "exporter/metrics.h"

#include <gtest/gtest.h>

#include <set>

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

}  // namespace
}  // namespace thx
