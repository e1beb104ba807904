#include "collector/aggregate/aggregator.h"

#include <gtest/gtest.h>

#include <memory>
#include <set>

namespace thx {
namespace {

Process make_process(std::uint32_t pid, std::string name, std::int64_t start = 1000,
                     std::uint32_t threads = 1) {
  Process process;
  process.pid = pid;
  process.name = std::move(name);
  process.path = "/usr/bin/" + process.name;
  process.start_time_ns = start;
  process.thread_count = threads;
  return process;
}

std::shared_ptr<const Snapshot> snapshot_of(std::vector<Process> processes) {
  auto snapshot = std::make_shared<Snapshot>();
  snapshot->platform = "test";
  snapshot->taken_at_seconds = 1.7e9;
  snapshot->kinds = KindSet{Kind::processes, Kind::modules};
  snapshot->processes = std::move(processes);
  snapshot->status_of(Kind::processes).state = KindStatus::State::complete;
  snapshot->status_of(Kind::modules).state = KindStatus::State::complete;
  return snapshot;
}

GroupRule rule(std::string group, std::optional<std::string> name,
               std::optional<std::string> command_line = std::nullopt) {
  GroupRule r;
  r.group = std::move(group);
  if (name) {
    r.name = Regex(*name);
  }
  if (command_line) {
    r.command_line = Regex(*command_line);
  }
  return r;
}

TEST(Aggregator, DefaultGroupsByExecutableName) {
  Aggregator aggregator{AggregatorSettings{}};
  auto aggregate =
      aggregator.update(snapshot_of({make_process(1, "init", 1, 1), make_process(2, "sshd", 2, 3),
                                     make_process(3, "sshd", 3, 4)}));
  EXPECT_EQ(aggregate->processes, 3U);
  EXPECT_EQ(aggregate->threads, 8U);
  ASSERT_EQ(aggregate->groups.size(), 2U);
  EXPECT_EQ(aggregate->groups.at("sshd").processes, 2U);
  EXPECT_EQ(aggregate->groups.at("sshd").threads, 7U);
  EXPECT_EQ(aggregate->groups.at("init").processes, 1U);
}

TEST(Aggregator, FirstMatchWinsAndTemplatesUseNamedCaptures) {
  AggregatorSettings settings;
  settings.grouping.rules.push_back(
      rule("svchost-{service}", "^svchost\\.exe$", "-k\\s+(?<service>\\S+)"));
  settings.grouping.rules.push_back(rule("services", "\\.exe$"));
  settings.grouping.unmatched_group = "";
  Aggregator aggregator(settings);
  Process netsvcs = make_process(10, "svchost.exe", 1);
  netsvcs.command_line = "C:\\Windows\\system32\\svchost.exe -k netsvcs -p";
  Process local = make_process(11, "svchost.exe", 2);
  local.command_line = "svchost.exe -k LocalService";
  Process lsass = make_process(12, "lsass.exe", 3);
  Process unmatched = make_process(13, "bash", 4);
  auto aggregate = aggregator.update(snapshot_of({netsvcs, local, lsass, unmatched}));
  EXPECT_EQ(aggregate->groups.at("svchost-netsvcs").processes, 1U);
  EXPECT_EQ(aggregate->groups.at("svchost-LocalService").processes, 1U);
  EXPECT_EQ(aggregate->groups.at("services").processes, 1U);  // second rule
  EXPECT_EQ(aggregate->groups.count("bash"), 0U);             // left out: no catch-all
  EXPECT_EQ(aggregate->groups.size(), 3U);
}

TEST(Aggregator, CatchAllTemplate) {
  AggregatorSettings settings;
  settings.grouping.rules.push_back(rule("web", "^nginx$"));
  settings.grouping.unmatched_group = "other";
  Aggregator aggregator(settings);
  auto aggregate = aggregator.update(
      snapshot_of({make_process(1, "nginx"), make_process(2, "bash"), make_process(3, "cron")}));
  EXPECT_EQ(aggregate->groups.at("web").processes, 1U);
  EXPECT_EQ(aggregate->groups.at("other").processes, 2U);
}

TEST(Aggregator, ChurnCountsStartsAndExitsByIdentity) {
  Aggregator aggregator{AggregatorSettings{}};
  // The first snapshot's processes were running before the exporter: not starts.
  auto first = aggregator.update(snapshot_of({make_process(1, "init"), make_process(5, "worker")}));
  EXPECT_EQ(first->churn.at("worker").starts_total, 0U);
  EXPECT_EQ(first->churn.at("worker").exits_total, 0U);

  auto second = aggregator.update(snapshot_of(
      {make_process(1, "init"), make_process(6, "worker", 2000), make_process(7, "worker", 2001)}));
  EXPECT_EQ(second->churn.at("worker").starts_total, 2U);
  EXPECT_EQ(second->churn.at("worker").exits_total, 1U);
  EXPECT_EQ(second->groups.at("worker").processes, 2U);

  // pid 6 reused by a new process (other start time): one exit and one start.
  auto third = aggregator.update(snapshot_of(
      {make_process(1, "init"), make_process(6, "worker", 3000), make_process(7, "worker", 2001)}));
  EXPECT_EQ(third->churn.at("worker").starts_total, 3U);
  EXPECT_EQ(third->churn.at("worker").exits_total, 2U);
  EXPECT_EQ(aggregator.identity_cache_size(), 3U);
}

TEST(Aggregator, ExitedGroupKeepsCountersButLosesGauges) {
  Aggregator aggregator{AggregatorSettings{}};
  aggregator.update(snapshot_of({make_process(1, "init")}));
  aggregator.update(snapshot_of({make_process(1, "init"), make_process(9, "job", 5)}));
  auto after = aggregator.update(snapshot_of({make_process(1, "init")}));
  EXPECT_EQ(after->groups.count("job"), 0U);
  EXPECT_EQ(after->churn.at("job").starts_total, 1U);
  EXPECT_EQ(after->churn.at("job").exits_total, 1U);
  EXPECT_EQ(aggregator.identity_cache_size(), 1U);  // the exited identity left the cache
}

TEST(Aggregator, ReclassifiesAfterExec) {
  AggregatorSettings settings;
  settings.grouping.rules.push_back(rule("app", "^myapp$"));
  settings.grouping.unmatched_group = "other";
  Aggregator aggregator(settings);
  aggregator.update(snapshot_of({make_process(1, "init")}));
  // Seen between fork and exec: still named like its parent.
  auto forked = aggregator.update(snapshot_of({make_process(1, "init"), make_process(2, "sh", 7)}));
  EXPECT_EQ(forked->groups.at("other").processes, 2U);
  auto execed =
      aggregator.update(snapshot_of({make_process(1, "init"), make_process(2, "myapp", 7)}));
  EXPECT_EQ(execed->groups.at("app").processes, 1U);
  EXPECT_EQ(execed->groups.at("other").processes, 1U);
  EXPECT_EQ(execed->churn.at("app").starts_total, 1U);
  EXPECT_EQ(execed->churn.at("other").exits_total, 1U);
}

TEST(Aggregator, ReconfigureReclassifiesWithoutChurn) {
  Aggregator aggregator{AggregatorSettings{}};
  aggregator.update(snapshot_of({make_process(1, "init"), make_process(2, "nginx")}));
  AggregatorSettings settings;
  settings.grouping.rules.push_back(rule("web", "^nginx$"));
  settings.grouping.unmatched_group = "other";
  aggregator.reconfigure(settings);
  auto aggregate =
      aggregator.update(snapshot_of({make_process(1, "init"), make_process(2, "nginx")}));
  EXPECT_EQ(aggregate->groups.at("web").processes, 1U);
  EXPECT_EQ(aggregate->churn.at("web").starts_total, 0U);
}

TEST(Aggregator, FailedProcessListIsNotAMassExit) {
  Aggregator aggregator{AggregatorSettings{}};
  aggregator.update(snapshot_of({make_process(1, "init"), make_process(2, "sshd")}));
  auto failed = std::make_shared<Snapshot>();
  failed->status_of(Kind::processes).state = KindStatus::State::failed;
  failed->status_of(Kind::processes).count(ErrorReason::other);
  auto aggregate = aggregator.update(failed);
  EXPECT_EQ(aggregate->processes, 2U);
  EXPECT_EQ(aggregate->churn.at("sshd").exits_total, 0U);
  EXPECT_EQ(aggregate->errors_total[0][static_cast<std::size_t>(ErrorReason::other)], 1U);
}

TEST(Aggregator, ModuleInventoryIsBoundedAndCountsWhatItDropped) {
  AggregatorSettings settings;
  settings.modules.max_series = 2;
  settings.modules.exclude.emplace_back("\\.mui$");
  Aggregator aggregator(settings);
  std::vector<Process> processes;
  for (std::uint32_t pid = 1; pid <= 3; ++pid) {
    Process process = make_process(pid, "app", pid);
    process.modules_read = true;
    process.modules.push_back({"libc.so.6", "/lib/libc.so.6", 0x1000, 0x2000});
    if (pid < 3) {
      process.modules.push_back({"libz.so.1", "/lib/libz.so.1", 0x5000, 0x100});
    }
    process.modules.push_back(
        {"x" + std::to_string(pid) + ".so", "/opt/x" + std::to_string(pid) + ".so", 1, 1});
    process.modules.push_back({"en.mui", "/lang/en.mui", 1, 1});
    processes.push_back(process);
  }
  Process unreadable = make_process(4, "protected", 4);
  processes.push_back(unreadable);
  auto aggregate = aggregator.update(snapshot_of(processes));
  ASSERT_EQ(aggregate->modules.size(), 2U);
  EXPECT_EQ(aggregate->modules[0].path, "/lib/libc.so.6");
  EXPECT_EQ(aggregate->modules[0].processes, 3U);
  EXPECT_EQ(aggregate->modules[1].path, "/lib/libz.so.1");
  EXPECT_EQ(aggregate->module_series_dropped, 3U);  // x1, x2, x3; en.mui excluded, not dropped
  EXPECT_EQ(aggregate->processes_modules_unread, 1U);
  EXPECT_EQ(aggregate->groups.at("app").distinct_modules, 6U);
}

TEST(Aggregator, PerProcessSeriesAreOptInAndBounded) {
  AggregatorSettings settings;
  settings.per_process.include.emplace_back("^db$");
  settings.per_process.max_series = 1;
  Aggregator aggregator(settings);
  auto aggregate = aggregator.update(
      snapshot_of({make_process(1, "db", 1, 4), make_process(2, "db", 2), make_process(3, "web")}));
  ASSERT_EQ(aggregate->per_process.size(), 1U);
  EXPECT_EQ(aggregate->per_process[0].pid, 1U);
  EXPECT_EQ(aggregate->per_process[0].threads, 4U);
  EXPECT_EQ(aggregate->per_process_series_dropped, 1U);
}

TEST(Aggregator, HostileCommandLineNeverHangsOrMatchesByAccident) {
  AggregatorSettings settings;
  settings.grouping.rules.push_back(rule("evil", std::nullopt, "^(a+)+$"));
  settings.grouping.unmatched_group = "other";
  Aggregator aggregator(settings);
  Process process = make_process(1, "x");
  process.command_line = std::string(std::size_t{32} * 1024, 'a') + "!";
  auto aggregate = aggregator.update(snapshot_of({process}));
  EXPECT_EQ(aggregate->groups.at("other").processes, 1U);
}

Process kernel_thread(std::uint32_t pid, std::string name) {
  Process process = make_process(pid, std::move(name), pid);
  process.path.clear();
  process.parent_pid = 2;
  process.kernel_thread = true;
  return process;
}

TEST(Aggregator, KernelThreadsShareOneGroupByDefault) {
  Aggregator aggregator{AggregatorSettings{}};
  auto aggregate = aggregator.update(
      snapshot_of({kernel_thread(2, "kthreadd"), kernel_thread(30, "kworker/0:1-events"),
                   kernel_thread(31, "ksoftirqd/0"), make_process(100, "bash", 100)}));
  ASSERT_EQ(aggregate->groups.size(), 2U);
  EXPECT_EQ(aggregate->groups.at("kernel").processes, 3U);
  EXPECT_EQ(aggregate->groups.at("bash").processes, 1U);
}

TEST(Aggregator, RulesStillMatchKernelThreadsAndTheGroupCanBeSwitchedOff) {
  AggregatorSettings settings;
  settings.grouping.rules.push_back(rule("workers", "^kworker/"));
  Aggregator aggregator(settings);
  auto aggregate = aggregator.update(
      snapshot_of({kernel_thread(30, "kworker/0:1-events"), kernel_thread(31, "ksoftirqd/0")}));
  EXPECT_EQ(aggregate->groups.at("workers").processes, 1U);
  EXPECT_EQ(aggregate->groups.at("kernel").processes, 1U);

  settings.grouping.kernel_threads_group.clear();  // like any other process: by name
  aggregator.reconfigure(settings);
  aggregate = aggregator.update(
      snapshot_of({kernel_thread(30, "kworker/0:1-events"), kernel_thread(31, "ksoftirqd/0")}));
  EXPECT_EQ(aggregate->groups.count("kernel"), 0U);
  EXPECT_EQ(aggregate->groups.at("ksoftirqd/0").processes, 1U);
}

// A kworker renamed by the work it picked up is the same process in the same group: no churn.
TEST(Aggregator, RenamedKernelThreadsCauseNoChurn) {
  Aggregator aggregator{AggregatorSettings{}};
  aggregator.update(snapshot_of({kernel_thread(30, "kworker/0:1-events")}));
  auto aggregate = aggregator.update(snapshot_of({kernel_thread(30, "kworker/0:1-mm_percpu_wq")}));
  ASSERT_EQ(aggregate->churn.size(), 1U);
  EXPECT_EQ(aggregate->churn.at("kernel").starts_total, 0U);
  EXPECT_EQ(aggregate->churn.at("kernel").exits_total, 0U);
}

// Which modules the inventory shows is decided once per module file and configuration.
TEST(Aggregator, ModuleVerdictsAreCachedPerFileAndRedecidedOnReload) {
  AggregatorSettings settings;
  settings.modules.exclude.emplace_back("\\.mui$");
  Aggregator aggregator(settings);
  auto libc = std::make_shared<const ModuleFile>(ModuleFile{"libc.so.6", "/lib/libc.so.6"});
  auto mui = std::make_shared<const ModuleFile>(ModuleFile{"en.mui", "/lang/en.mui"});
  auto gone = std::make_shared<const ModuleFile>(ModuleFile{"old.so", "/lib/old.so"});
  auto with_modules = [](std::uint32_t pid, std::vector<std::shared_ptr<const ModuleFile>> files) {
    Process process = make_process(pid, "app", pid);
    process.modules_read = true;
    std::vector<Module> modules;
    for (auto& file : files) {
      modules.emplace_back(file, 0x1000, 0x1000);
    }
    process.modules = std::move(modules);
    return process;
  };
  auto paths = [](const Aggregate& aggregate) {
    std::set<std::string> out;
    for (const ModuleSeries& series : aggregate.modules) {
      out.insert(series.path);
    }
    return out;
  };
  auto aggregate = aggregator.update(
      snapshot_of({with_modules(1, {libc, mui, gone}), with_modules(2, {libc, mui})}));
  EXPECT_EQ(paths(*aggregate), (std::set<std::string>{"/lib/libc.so.6", "/lib/old.so"}));
  EXPECT_EQ(aggregator.module_verdicts_cached(), 3U);
  aggregate = aggregator.update(snapshot_of({with_modules(2, {libc, mui})}));
  EXPECT_EQ(paths(*aggregate), (std::set<std::string>{"/lib/libc.so.6"}));
  EXPECT_EQ(aggregator.module_verdicts_cached(), 2U);  // old.so's verdict left with it

  settings.modules.exclude = {Regex("^/lib/")};
  aggregator.reconfigure(settings);
  EXPECT_EQ(aggregator.module_verdicts_cached(), 0U);
  aggregate = aggregator.update(snapshot_of({with_modules(2, {libc, mui})}));
  EXPECT_EQ(paths(*aggregate), (std::set<std::string>{"/lang/en.mui"}));
}

// ---- Resources: counters per identity, gauges over live processes ----

Process with_usage(Process process, double cpu_user, double cpu_system, std::uint64_t read,
                   std::uint64_t written) {
  process.resources.cpu_user_seconds = cpu_user;
  process.resources.cpu_system_seconds = cpu_system;
  process.resources.io_read_bytes = read;
  process.resources.io_write_bytes = written;
  return process;
}

std::shared_ptr<const Snapshot> at_time(std::vector<Process> processes, double taken_at) {
  auto snapshot = std::make_shared<Snapshot>(*snapshot_of(std::move(processes)));
  snapshot->taken_at_seconds = taken_at;
  return snapshot;
}

TEST(AggregatorResources, CountersAddWhatEachIdentityUsedSinceItWasLastSeen) {
  Aggregator aggregator{AggregatorSettings{}};
  auto aggregate =
      aggregator.update(snapshot_of({with_usage(make_process(1, "db", 1), 10, 2, 100, 50),
                                     with_usage(make_process(2, "db", 2), 1, 1, 0, 0)}));
  // First sight: what the processes had used before counts whole.
  EXPECT_DOUBLE_EQ(aggregate->usage.at("db").cpu_user_seconds, 11);
  EXPECT_DOUBLE_EQ(aggregate->usage.at("db").cpu_system_seconds, 3);
  EXPECT_EQ(aggregate->usage.at("db").io_read_bytes, 100U);
  aggregate = aggregator.update(snapshot_of({with_usage(make_process(1, "db", 1), 12, 2, 300, 50),
                                             with_usage(make_process(2, "db", 2), 1.5, 1, 0, 10)}));
  EXPECT_DOUBLE_EQ(aggregate->usage.at("db").cpu_user_seconds, 13.5);
  EXPECT_EQ(aggregate->usage.at("db").io_read_bytes, 300U);
  EXPECT_EQ(aggregate->usage.at("db").io_write_bytes, 60U);
  // Pid 2 is reused by another process (a new identity): it starts from its own zero.
  aggregate = aggregator.update(snapshot_of({with_usage(make_process(1, "db", 1), 12, 2, 300, 50),
                                             with_usage(make_process(2, "db", 99), 0.5, 0, 0, 0)}));
  EXPECT_DOUBLE_EQ(aggregate->usage.at("db").cpu_user_seconds, 14);
}

TEST(AggregatorResources, AnExitedProcessKeepsWhatItUsed) {
  Aggregator aggregator{AggregatorSettings{}};
  aggregator.update(snapshot_of({with_usage(make_process(1, "job", 1), 5, 1, 10, 10),
                                 with_usage(make_process(2, "job", 2), 1, 0, 0, 0)}));
  auto aggregate =
      aggregator.update(snapshot_of({with_usage(make_process(2, "job", 2), 2, 0, 0, 0)}));
  EXPECT_DOUBLE_EQ(aggregate->usage.at("job").cpu_user_seconds, 7);
  EXPECT_EQ(aggregate->usage.at("job").io_write_bytes, 10U);
  aggregate = aggregator.update(snapshot_of({}));  // all gone: the counters stay
  EXPECT_DOUBLE_EQ(aggregate->usage.at("job").cpu_user_seconds, 7);
  EXPECT_EQ(aggregate->groups.count("job"), 0U);
}

TEST(AggregatorResources, AnExecKeepsThePastInTheOldGroup) {
  Aggregator aggregator{AggregatorSettings{}};
  aggregator.update(snapshot_of({with_usage(make_process(7, "sh", 7), 1, 1, 0, 0)}));
  // Same identity, new program: only the later use goes to the new group.
  auto aggregate =
      aggregator.update(snapshot_of({with_usage(make_process(7, "python3", 7), 4, 2, 0, 0)}));
  EXPECT_DOUBLE_EQ(aggregate->usage.at("sh").cpu_user_seconds, 1);
  EXPECT_DOUBLE_EQ(aggregate->usage.at("sh").cpu_system_seconds, 1);
  EXPECT_DOUBLE_EQ(aggregate->usage.at("python3").cpu_user_seconds, 3);
  EXPECT_DOUBLE_EQ(aggregate->usage.at("python3").cpu_system_seconds, 1);
}

TEST(AggregatorResources, AReloadThatRegroupsNeitherDropsNorDoubleCounts) {
  AggregatorSettings settings;
  Aggregator aggregator(settings);
  aggregator.update(snapshot_of({with_usage(make_process(1, "a", 1), 10, 0, 0, 0),
                                 with_usage(make_process(2, "b", 2), 20, 0, 0, 0)}));
  settings.grouping.unmatched_group = "all";
  aggregator.reconfigure(settings);
  auto aggregate =
      aggregator.update(snapshot_of({with_usage(make_process(1, "a", 1), 11, 0, 0, 0),
                                     with_usage(make_process(2, "b", 2), 22, 0, 0, 0)}));
  EXPECT_DOUBLE_EQ(aggregate->usage.at("a").cpu_user_seconds, 10);  // kept, not dropped
  EXPECT_DOUBLE_EQ(aggregate->usage.at("b").cpu_user_seconds, 20);
  EXPECT_DOUBLE_EQ(aggregate->usage.at("all").cpu_user_seconds, 3);  // only the growth
  double total = 0;
  for (const auto& [group, usage] : aggregate->usage) {
    total += usage.cpu_user_seconds;
  }
  EXPECT_DOUBLE_EQ(total, 33);  // what the processes used, once
}

TEST(AggregatorResources, AnUnreadValueWaitsForTheNextReadingAndNeverGoesBack) {
  Aggregator aggregator{AggregatorSettings{}};
  aggregator.update(snapshot_of({with_usage(make_process(1, "x", 1), 5, 0, 0, 0)}));
  Process unread = make_process(1, "x", 1);  // this cycle's read was refused
  auto aggregate = aggregator.update(snapshot_of({unread}));
  EXPECT_DOUBLE_EQ(aggregate->usage.at("x").cpu_user_seconds, 5);
  aggregate = aggregator.update(snapshot_of({with_usage(make_process(1, "x", 1), 8, 0, 0, 0)}));
  EXPECT_DOUBLE_EQ(aggregate->usage.at("x").cpu_user_seconds, 8);
  aggregate = aggregator.update(snapshot_of({with_usage(make_process(1, "x", 1), 6, 0, 0, 0)}));
  EXPECT_DOUBLE_EQ(aggregate->usage.at("x").cpu_user_seconds, 8);
}

TEST(AggregatorResources, GaugesSumTheLiveProcesses) {
  Aggregator aggregator{AggregatorSettings{}};
  Process a = make_process(1, "web", 3'000'000'000);
  a.resources.resident_bytes = 100;
  a.resources.private_bytes = 60;
  a.resources.handles = 10;
  Process b = make_process(2, "web", 2'000'000'000);
  b.resources.resident_bytes = 50;
  b.resources.virtual_bytes = 1000;
  Process c = make_process(3, "idle", 1'000'000'000);
  auto aggregate = aggregator.update(snapshot_of({a, b, c}));
  const GroupStats& web = aggregate->groups.at("web");
  EXPECT_EQ(web.resident_bytes, 150U);
  EXPECT_EQ(web.private_bytes, 60U);
  EXPECT_EQ(web.virtual_bytes, 1000U);
  EXPECT_EQ(web.handles, 10U);
  EXPECT_DOUBLE_EQ(*web.oldest_start_time_seconds, 2.0);
  EXPECT_FALSE(aggregate->groups.at("idle").resident_bytes.has_value());  // nothing read
  aggregate = aggregator.update(snapshot_of({b}));
  EXPECT_EQ(aggregate->groups.at("web").resident_bytes, 50U);
  EXPECT_FALSE(aggregate->groups.at("web").handles.has_value());
}

TEST(AggregatorResources, CpuRateOverTheLastCyclesRanksGroups) {
  Aggregator aggregator{AggregatorSettings{}};
  auto aggregate = aggregator.update(at_time({with_usage(make_process(1, "busy", 1), 10, 0, 0, 0),
                                              with_usage(make_process(2, "calm", 2), 1, 0, 0, 0)},
                                             100));
  EXPECT_TRUE(aggregate->cpu_rate.empty());  // one snapshot: no rate yet
  aggregate = aggregator.update(at_time({with_usage(make_process(1, "busy", 1), 30, 0, 0, 0),
                                         with_usage(make_process(2, "calm", 2), 2, 0, 0, 0)},
                                        110));
  EXPECT_DOUBLE_EQ(aggregate->cpu_rate_window_seconds, 10);
  EXPECT_DOUBLE_EQ(aggregate->cpu_rate.at("busy"), 2.0);
  EXPECT_DOUBLE_EQ(aggregate->cpu_rate.at("calm"), 0.1);
}

// A local user who names processes at will (the default group is the name) must not grow the
// remembered groups without end: idle groups beyond the bound go, the longest idle first, and a
// group with processes is never forgotten, however long ago it started.
TEST(Aggregator, IdleGroupsAreBoundedAndTheLongestIdleGoFirst) {
  constexpr std::size_t kBound = Aggregator::kMaxIdleGroups;
  Aggregator aggregator{AggregatorSettings{}};
  const Process service = with_usage(make_process(1, "service", 1), 5, 1, 0, 0);
  aggregator.update(
      snapshot_of({service, with_usage(make_process(2, "idle-early", 2), 1, 0, 0, 0)}));
  std::shared_ptr<const Aggregate> aggregate;
  // Each cycle one new name appears and the one before it exits.
  for (std::uint32_t i = 0; i < kBound + 500; ++i) {
    aggregate = aggregator.update(
        snapshot_of({service, with_usage(make_process(1000 + i, "x" + std::to_string(i), 1000 + i),
                                         1, 0, 0, 0)}));
    const std::size_t live = 2;  // service and this cycle's name
    ASSERT_LE(aggregate->churn.size(), kBound + live) << "cycle " << i;
    ASSERT_LE(aggregate->usage.size(), kBound + live) << "cycle " << i;
  }
  // 1,500 groups went idle (idle-early, x0 .. x1498): the 500 idle the longest were forgotten.
  EXPECT_EQ(aggregate->groups_forgotten_total, 500U);
  EXPECT_EQ(aggregate->churn.size(), kBound + 2);
  EXPECT_EQ(aggregate->churn.count("idle-early"), 0U);  // idle the longest
  EXPECT_EQ(aggregate->churn.count("x0"), 0U);
  EXPECT_EQ(aggregate->churn.count("x498"), 0U);
  EXPECT_EQ(aggregate->churn.at("x499").exits_total, 1U);  // the most recently idle stay whole
  EXPECT_DOUBLE_EQ(aggregate->usage.at("x1498").cpu_user_seconds, 1);
  EXPECT_DOUBLE_EQ(aggregate->usage.at("service").cpu_user_seconds, 5);  // live: never forgotten
  EXPECT_EQ(aggregate->churn.count("service"), 1U);
  // A group that comes back is busy again: it leaves the idle list and is kept.
  aggregate =
      aggregator.update(snapshot_of({service, with_usage(make_process(5, "x500", 5), 2, 0, 0, 0)}));
  EXPECT_EQ(aggregate->groups.at("x500").processes, 1U);
  EXPECT_EQ(aggregate->churn.at("x500").starts_total, 2U);
}

TEST(GroupTemplate, ExpandsCapturesThenBuiltins) {
  Process process = make_process(1, "java");
  EXPECT_EQ(expand_group_template("{name}:{main}", {{"main", "App"}}, process), "java:App");
  EXPECT_EQ(expand_group_template("{path}", {}, process), "/usr/bin/java");
  EXPECT_EQ(expand_group_template("{unknown}-x", {}, process), "-x");
  EXPECT_EQ(expand_group_template("unbalanced {", {}, process), "unbalanced {");
}

TEST(GroupTemplate, AnEmptyResultFallsBackToTheProcessName) {
  Process process = make_process(1, "java");
  // A capture that matched nothing, a process without a path, a template of unknown names.
  EXPECT_EQ(expand_group_template("{main}", {{"main", ""}}, process), "java");
  process.path.clear();
  EXPECT_EQ(expand_group_template("{path}", {}, process), "java");
  EXPECT_EQ(expand_group_template("{unknown}", {}, process), "java");
  process.name.clear();  // Linux lets a process name itself ""
  EXPECT_EQ(expand_group_template("{name}", {}, process), "unnamed");
}

TEST(Aggregator, AnEmptyTemplateResultIsNeverAnEmptyGroup) {
  AggregatorSettings settings;
  settings.grouping.rules.push_back(rule("{opt}", "^(?<opt>x?)java$"));
  Aggregator aggregator(settings);
  const auto aggregate = aggregator.update(snapshot_of({make_process(1, "java")}));
  EXPECT_EQ(aggregate->groups.count(""), 0U);
  EXPECT_EQ(aggregate->groups.count("java"), 1U);
}

}  // namespace
}  // namespace thx
