// Soak: 10,000 cycles of a synthetic machine whose processes come and go (new pids, exits, pids
// reused at once, exec renames, module sets that change), replayed through the Aggregator and
// on to the metric families and the text format. Whatever the churn, the exporter's state must
// stay the size of the live machine: the identity cache holds exactly the live processes at
// every cycle, the series stay under a bound the configuration sets, and the resident memory at
// cycle 10,000 is that of cycle 1,000 within a small slack. Deterministic: a fixed seed.
#include <algorithm>
#include <cstddef>
#include <cstdint>
#include <cstdio>
#include <map>
#include <memory>
#include <optional>
#include <random>
#include <set>
#include <string>
#include <utility>
#include <vector>

#include <gtest/gtest.h>

#include "collector/aggregate/aggregator.h"
#include "collector/model/snapshot_json.h"
#include "exporter/metrics.h"

#ifdef _WIN32
#include <windows.h>
// windows.h first: psapi.h needs its types.
#include <psapi.h>
#else
#include <unistd.h>

#include <fstream>
#endif

#if defined(__SANITIZE_ADDRESS__) || defined(__SANITIZE_THREAD__)
#define THX_SOAK_SANITIZED 1
#elif defined(__has_feature)
#if __has_feature(address_sanitizer) || __has_feature(thread_sanitizer)
#define THX_SOAK_SANITIZED 1
#endif
#endif

namespace thx {
namespace {

constexpr int kCycles = 10'000;
constexpr int kMemoryBaselineCycle = 1'000;
constexpr int kChunk = 20;               // snapshots recorded, then replayed, at a time
constexpr std::size_t kLiveTarget = 40;  // processes the machine hovers around
constexpr std::uint32_t kPidMax = 512;   // a small pid space, so pids are reused often
constexpr std::size_t kSvcNames = 30;    // svc-00..svc-29: three groups by rule
constexpr std::size_t kOtherNames = 10;  // app-00..app-09: a group each ({name})
constexpr std::size_t kNames = kSvcNames + kOtherNames;
constexpr std::size_t kModulePool = 150;
constexpr std::size_t kModuleMaxSeries = 100;
constexpr std::size_t kPerProcessMaxSeries = 5;
constexpr int kTextEvery = 10;  // the text format costs more than the rest of a cycle
constexpr int kJsonEvery = 500;
constexpr int kFailedEvery = 997;  // a snapshot whose process list failed (not a mass exit)
constexpr std::int64_t kCycleNs = 100'000'000;
[[maybe_unused]] constexpr std::size_t kRssSlackBytes = std::size_t{4} * 1024 * 1024;

std::string name_of(std::size_t index) {
  const bool svc = index < kSvcNames;
  const std::size_t number = svc ? index : index - kSvcNames;
  return std::string(svc ? "svc-" : "app-") + (number < 10 ? "0" : "") + std::to_string(number);
}

// A machine that changes every cycle. Its live processes are the truth the test checks the
// aggregator against.
class Machine {
 public:
  explicit Machine(std::uint64_t seed) : random_(seed) {}

  Snapshot next() {
    ++cycle_;
    clock_ns_ += kCycleNs;
    if (cycle_ % kFailedEvery == 0) {
      return failed_snapshot();
    }
    std::vector<std::uint32_t> exited;
    for (auto it = live_.begin(); it != live_.end();) {
      if (chance(0.06)) {
        exited.push_back(it->first);
        it = live_.erase(it);
      } else {
        ++it;
      }
    }
    for (auto& [pid, process] : live_) {
      if (chance(0.02)) {  // exec: same identity, new name and executable
        rename(process, pick(kNames));
      }
      if (chance(0.05)) {
        process.modules = pick_modules();
        process.modules_read = !chance(0.05);
      }
      if (chance(0.1)) {
        process.thread_count = static_cast<std::uint32_t>(1 + pick(8));
      }
    }
    const std::size_t wanted = kLiveTarget - 10 + pick(21);
    while (live_.size() < wanted) {
      // Sometimes a pid that exited this very cycle comes back at once: a new identity.
      std::optional<std::uint32_t> reused;
      if (!exited.empty() && chance(0.2)) {
        reused = exited.back();
        exited.pop_back();
      }
      const std::uint32_t pid = reused ? *reused : fresh_pid();
      live_.emplace(pid, new_process(pid));
    }
    return snapshot();
  }

  [[nodiscard]] std::size_t live() const { return live_.size(); }

 private:
  bool chance(double p) { return std::bernoulli_distribution(p)(random_); }
  std::size_t pick(std::size_t n) {
    return std::uniform_int_distribution<std::size_t>(0, n - 1)(random_);
  }

  std::uint32_t fresh_pid() {
    do {
      next_pid_ = next_pid_ % kPidMax + 1;
    } while (live_.contains(next_pid_));
    return next_pid_;
  }

  static void rename(Process& process, std::size_t name_index) {
    process.name = name_of(name_index);
    process.path = "/opt/soak/bin/" + process.name;
    process.command_line = process.path + " --serve";
  }

  std::vector<Module> pick_modules() {
    std::set<std::size_t> chosen;
    const std::size_t count = 2 + pick(7);
    while (chosen.size() < count) {
      chosen.insert(pick(kModulePool));
    }
    std::vector<Module> modules;
    for (std::size_t index : chosen) {
      std::string name = "libsoak" + std::to_string(index) + ".so";
      std::string path = "/usr/lib/soak/" + name;
      modules.emplace_back(std::move(name), std::move(path),
                           0x7f0000000000ULL + index * 0x100000ULL, 0x20000);
    }
    return modules;
  }

  Process new_process(std::uint32_t pid) {
    Process process;
    process.pid = pid;
    process.parent_pid = 1;
    rename(process, pick(kNames));
    process.start_time_ns = clock_ns_ + static_cast<std::int64_t>(pick(1000));
    process.thread_count = static_cast<std::uint32_t>(1 + pick(8));
    process.base_priority = 20;
    process.modules = pick_modules();
    process.modules_read = true;
    return process;
  }

  Snapshot base_snapshot() const {
    Snapshot snapshot;
    snapshot.platform = "linux";
    snapshot.taken_at_seconds = static_cast<double>(clock_ns_) / 1e9;
    snapshot.kinds = {Kind::processes, Kind::threads, Kind::modules};
    return snapshot;
  }

  Snapshot failed_snapshot() const {
    Snapshot snapshot = base_snapshot();
    for (Kind kind : {Kind::processes, Kind::threads, Kind::modules}) {
      snapshot.status_of(kind).state = KindStatus::State::failed;
      snapshot.status_of(kind).count(ErrorReason::other);
    }
    return snapshot;
  }

  Snapshot snapshot() {
    Snapshot snapshot = base_snapshot();
    static constexpr std::int32_t kPriorities[] = {8, 10, 13, 20};
    for (const auto& [pid, process] : live_) {  // a map: sorted by pid, as the model says
      snapshot.processes.push_back(process);
      for (std::uint32_t i = 0; i < process.thread_count; ++i) {
        snapshot.threads.push_back({pid * 16 + i, pid, kPriorities[(pid + i) % 4]});
      }
    }
    for (Kind kind : {Kind::processes, Kind::threads, Kind::modules}) {
      KindStatus& status = snapshot.status_of(kind);
      status.state = KindStatus::State::complete;
      status.duration_seconds = 0.001;
      if (chance(0.3)) {
        status.state = KindStatus::State::partial;
        status.count(ErrorReason::vanished, 1 + pick(3));
      }
    }
    return snapshot;
  }

  std::mt19937_64 random_;
  std::map<std::uint32_t, Process> live_;
  std::int64_t clock_ns_ = 1'700'000'000'000'000'000;
  std::uint32_t next_pid_ = 1;
  int cycle_ = 0;
};

AggregatorSettings soak_settings() {
  AggregatorSettings settings;
  GroupRule rule;
  rule.group = "svc-{tens}x";
  rule.name = Regex("^svc-(?<tens>\\d)\\d$");
  settings.grouping.rules.push_back(std::move(rule));
  settings.grouping.unmatched_group = "{name}";  // every process is in a group
  settings.modules.max_series = kModuleMaxSeries;
  settings.per_process.include.emplace_back("^svc-0");
  settings.per_process.max_series = kPerProcessMaxSeries;
  return settings;
}

// Series that can exist whatever the churn: the per-group families for every name (live
// gauges and the never-reset counters), the bounded inventory and per-process series, and the
// fixed families (kinds x reasons and the exporter's own) with room to spare.
constexpr std::size_t kSeriesBound = 6 * kNames + kModuleMaxSeries + 3 * kPerProcessMaxSeries + 200;

std::size_t series_count(const std::vector<prometheus::MetricFamily>& families) {
  std::size_t count = 0;
  for (const prometheus::MetricFamily& family : families) {
    count += family.metric.size();
  }
  return count;
}

double counter_sum(const Aggregate& aggregate, bool starts) {
  double sum = 0;
  for (const auto& [group, churn] : aggregate.churn) {
    sum += static_cast<double>(starts ? churn.starts_total : churn.exits_total);
  }
  return sum;
}

// Resident memory of this process in bytes; nullopt where it cannot be read.
std::optional<std::size_t> resident_bytes() {
#ifdef _WIN32
  PROCESS_MEMORY_COUNTERS counters{};
  if (GetProcessMemoryInfo(GetCurrentProcess(), &counters, sizeof(counters)) == 0) {
    return std::nullopt;
  }
  return counters.WorkingSetSize;
#else
  std::ifstream statm("/proc/self/statm");
  std::size_t size = 0;
  std::size_t resident = 0;
  if (!(statm >> size >> resident)) {
    return std::nullopt;
  }
  return resident * static_cast<std::size_t>(sysconf(_SC_PAGESIZE));
#endif
}

TEST(Soak, TenThousandCyclesOfChurnStayBounded) {
  Machine machine(20'240'601);
  Aggregator aggregator(soak_settings());
  const BuildInfo build{"0.0.0-soak", "soak", "linux"};
  std::optional<std::size_t> good_live;   // live processes of the last usable snapshot
  std::optional<std::size_t> first_live;  // of the first snapshot: not starts
  std::size_t max_series = 0;
  std::size_t max_series_by_baseline = 0;
  std::size_t max_text_bytes = 0;
  std::optional<std::size_t> rss_baseline;
  int cycle = 0;
  while (cycle < kCycles) {
    // Record a chunk of the machine's life, then replay it, as a recorded file would be.
    std::vector<Snapshot> recording;
    std::vector<std::size_t> live_counts;
    for (int i = 0; i < kChunk; ++i) {
      recording.push_back(machine.next());
      live_counts.push_back(machine.live());
    }
    // Now and then a recorded snapshot also goes through JSON text and back.
    if (cycle % kJsonEvery == 0) {
      const std::string text = snapshot_to_json_text(recording.front());
      ASSERT_EQ(snapshot_from_json(nlohmann::json::parse(text)), recording.front());
    }
    ReplaySource replay(std::move(recording));
    for (int i = 0; i < kChunk; ++i) {
      ++cycle;
      auto snapshot = std::make_shared<const Snapshot>(replay.take({}, {}));
      const bool failed = snapshot->status_of(Kind::processes).state == KindStatus::State::failed;
      const std::shared_ptr<const Aggregate> aggregate = aggregator.update(snapshot);
      if (!failed) {
        good_live = live_counts.at(static_cast<std::size_t>(i));
        ASSERT_EQ(snapshot->processes.size(), *good_live);
        if (!first_live) {
          first_live = good_live;
        }
      }
      ASSERT_TRUE(good_live.has_value());
      ASSERT_EQ(aggregator.identity_cache_size(), *good_live) << "cycle " << cycle;
      ASSERT_EQ(aggregate->identity_cache_entries, *good_live) << "cycle " << cycle;
      // Every process is in a group, so the counters add up to the change in live processes.
      ASSERT_EQ(counter_sum(*aggregate, true) - counter_sum(*aggregate, false),
                static_cast<double>(*good_live) - static_cast<double>(*first_live))
          << "cycle " << cycle;

      const auto families = to_metric_families(aggregate.get(), build, ReloadStatus{});
      const std::size_t series = series_count(families);
      ASSERT_LE(series, kSeriesBound) << "cycle " << cycle;
      max_series = std::max(max_series, series);
      if (cycle <= kMemoryBaselineCycle) {
        max_series_by_baseline = max_series;
      }
      if (cycle % kTextEvery == 0) {
        max_text_bytes = std::max(max_text_bytes, to_text_format(families).size());
      }
      if (cycle == kMemoryBaselineCycle) {
        rss_baseline = resident_bytes();
      }
    }
  }
  // The series reached their plateau early and stayed there.
  EXPECT_EQ(max_series, max_series_by_baseline);
  const std::optional<std::size_t> rss_end = resident_bytes();
  std::printf("soak: %d cycles, %zu live at the end, max %zu series, max %zu text bytes\n", kCycles,
              machine.live(), max_series, max_text_bytes);
  if (rss_baseline && rss_end) {
    std::printf("soak: resident %.1f MiB at cycle %d, %.1f MiB at cycle %d\n",
                static_cast<double>(*rss_baseline) / 1048576.0, kMemoryBaselineCycle,
                static_cast<double>(*rss_end) / 1048576.0, kCycles);
  }
#ifdef THX_SOAK_SANITIZED
  std::printf("soak: resident memory not compared under a sanitizer (its quarantine grows)\n");
#else
  ASSERT_TRUE(rss_baseline.has_value());
  ASSERT_TRUE(rss_end.has_value());
  EXPECT_LE(*rss_end, *rss_baseline + kRssSlackBytes);
#endif
}

}  // namespace
}  // namespace thx
