#include "exporter/metrics.h"

#include <gtest/gtest.h>

#include <set>
#include <stop_token>
#include <string>

#include <nlohmann/json.hpp>

#include "collector/aggregate/aggregator.h"
#include "collector/model/snapshot_json.h"
#include "exporter/pages.h"

namespace thx {
namespace {

std::shared_ptr<Aggregate> sample_aggregate() {
  auto snapshot = std::make_shared<Snapshot>();
  snapshot->module_versions["C:\\Windows\\System32\\kernel32.dll"] = {"10.0.1", "10.0", "Wine"};
  auto aggregate = std::make_shared<Aggregate>();
  aggregate->snapshot = snapshot;
  aggregate->processes = 3;
  aggregate->threads = 12;
  GroupStats& svchost = aggregate->groups["svchost \"netsvcs\""];
  svchost.processes = 2;
  svchost.threads = 10;
  svchost.distinct_modules = 5;
  svchost.heaps = 1;
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

TEST(Metrics, GroupAndProcessResources) {
  auto aggregate = sample_aggregate();
  GroupStats& web = aggregate->groups["web"];
  web.processes = 2;
  web.resident_bytes = 100;
  web.private_bytes = 60;
  web.handles = 7;
  web.oldest_start_time_seconds = 1234.5;
  aggregate->usage["web"] = {1.5, 0.5, 10, 20, true, true};
  aggregate->usage["gone"] = {3, 1, 0, 0, true, false};  // exited: counters stay
  ProcessSeries db;
  db.pid = 9;
  db.name = "db";
  db.resources.cpu_user_seconds = 2;
  db.resources.resident_bytes = 4096;
  db.resources.handles = 4;
  db.resources.io_read_bytes = 8;
  aggregate->per_process.push_back(db);
  const std::string text =
      to_text_format(to_metric_families(aggregate.get(), {"1.2.3", "abc", "linux"}, {}));
  for (const char* line : {
           "toolhelp_group_cpu_seconds_total{group=\"web\",mode=\"user\"} 1.5\n",
           "toolhelp_group_cpu_seconds_total{group=\"web\",mode=\"system\"} 0.5\n",
           "toolhelp_group_cpu_seconds_total{group=\"gone\",mode=\"system\"} 1\n",
           "toolhelp_group_io_bytes_total{group=\"web\",direction=\"write\"} 20\n",
           "toolhelp_group_memory_bytes{group=\"web\",kind=\"resident\"} 100\n",
           "toolhelp_group_memory_bytes{group=\"web\",kind=\"private\"} 60\n",
           "toolhelp_group_handles{group=\"web\"} 7\n",
           "toolhelp_group_oldest_start_time_seconds{group=\"web\"} 1234.5\n",
           "toolhelp_process_cpu_seconds_total{pid=\"9\",name=\"db\",mode=\"user\"} 2\n",
           "toolhelp_process_memory_bytes{pid=\"9\",name=\"db\",kind=\"resident\"} 4096\n",
           "toolhelp_process_handles{pid=\"9\",name=\"db\"} 4\n",
           "toolhelp_process_io_bytes_total{pid=\"9\",name=\"db\",direction=\"read\"} 8\n",
           "# TYPE toolhelp_group_cpu_seconds_total counter\n",
           "# TYPE toolhelp_group_memory_bytes gauge\n",
       }) {
    EXPECT_NE(text.find(line), std::string::npos) << line;
  }
  // What was never read has no sample: no I/O of "gone", no virtual size of "web", no CPU
  // system time of db.
  EXPECT_EQ(text.find("toolhelp_group_io_bytes_total{group=\"gone\""), std::string::npos);
  EXPECT_EQ(text.find("kind=\"virtual\""), std::string::npos);
  EXPECT_EQ(text.find("name=\"db\",mode=\"system\""), std::string::npos);
}

TEST(Pages, LandingPageRanksGroupsByCpuAndMemory) {
  auto aggregate = sample_aggregate();
  aggregate->groups["web"].processes = 3;
  aggregate->groups["web"].resident_bytes = 512 * 1024 * 1024;
  aggregate->groups["<db>"].processes = 1;
  aggregate->groups["<db>"].resident_bytes = 2048;
  aggregate->groups["<db>"].private_bytes = 1024;
  aggregate->cpu_rate = {{"web", 0.25}, {"<db>", 1.5}};
  aggregate->cpu_rate_window_seconds = 60;
  MetricsCollectable metrics({"1", "r", "linux"});
  metrics.publish(aggregate);
  PageContext context;
  context.metrics = &metrics;
  const std::string html = landing_page(context).body;
  const std::size_t cpu = html.find("<table id=\"top-cpu\"");
  const std::size_t memory = html.find("<table id=\"top-memory\"");
  ASSERT_NE(cpu, std::string::npos) << html;
  ASSERT_NE(memory, std::string::npos) << html;
  // Busiest first, names escaped.
  EXPECT_LT(html.find("&lt;db&gt;</td><td>1.500</td>", cpu), html.find("web</td><td>0.250", cpu));
  EXPECT_LT(html.find("web</td><td>512.0 MiB", memory),
            html.find("&lt;db&gt;</td><td>2.0 KiB</td><td>1.0 KiB", memory));
  EXPECT_EQ(html.find("<db>"), std::string::npos);
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
