#include "tests/bench/synthetic.h"

#include <algorithm>
#include <array>
#include <cstdio>
#include <fstream>
#include <string_view>
#include <utility>

namespace thx::bench {
namespace {

constexpr std::int64_t kFirstStartNs = 1'700'000'000LL * 1'000'000'000LL;
constexpr std::int64_t kStartStepNs = 1'000'000;  // one new process a millisecond

std::string numbered(std::string_view prefix, std::size_t index, std::string_view suffix) {
  std::array<char, 16> digits{};
  std::snprintf(digits.data(), digits.size(), "%04zu", index);
  std::string text(prefix);
  text += digits.data();
  text += suffix;
  return text;
}

}  // namespace

std::string synthetic_module_path(std::size_t index) {
  return numbered("/usr/lib/bench/libbench", index, ".so.1");
}

SyntheticMachine::SyntheticMachine(SyntheticShape shape) : shape_(shape) {
  shape_.common_modules = std::min(shape_.common_modules, shape_.distinct_modules);
  shape_.modules_per_process = std::min(shape_.modules_per_process, shape_.distinct_modules);
  shape_.names = std::max<std::size_t>(shape_.names, 1);
  live_.reserve(shape_.processes);
  for (std::size_t i = 0; i < shape_.processes; ++i) {
    live_.push_back(make_process(next_pid_++, serial_++));
  }
}

Process SyntheticMachine::make_process(std::uint32_t pid, std::uint64_t serial) {
  Process process;
  process.pid = pid;
  process.parent_pid = 1;
  process.name = numbered("bench-", serial % shape_.names, "");
  process.path = "/usr/bin/" + process.name;
  process.start_time_ns = kFirstStartNs + static_cast<std::int64_t>(serial) * kStartStepNs;
  process.thread_count = static_cast<std::uint32_t>(shape_.threads_per_process);
  process.base_priority = 20;
  process.modules_read = true;
  const std::size_t common = shape_.common_modules;
  const std::size_t rest = shape_.distinct_modules - common;
  const std::size_t own = shape_.modules_per_process - common;
  // Consecutive windows: the first rest/own processes together load every module once.
  const std::size_t start = rest == 0 ? 0 : (serial * own) % rest;
  process.modules.reserve(shape_.modules_per_process);
  auto add = [this, &process](std::size_t index) {
    std::string path = synthetic_module_path(index);
    const auto& file = files_.intern(path, [&path] {
      std::string name = path.substr(path.rfind('/') + 1);
      return ModuleFile{std::move(name), std::move(path)};
    });
    process.modules.emplace_back(file, 0x7f0000000000ULL + index * 0x200000ULL, 0x100000);
  };
  for (std::size_t i = 0; i < common; ++i) {
    add(i);
  }
  for (std::size_t j = 0; j < own && rest > 0; ++j) {
    add(common + (start + j) % rest);
  }
  return process;
}

std::shared_ptr<const Snapshot> SyntheticMachine::next(std::size_t replaced) {
  replaced = std::min(replaced, live_.size());
  // The oldest exit; the new ones get higher pids, so live_ stays in pid order.
  live_.erase(live_.begin(), live_.begin() + static_cast<std::ptrdiff_t>(replaced));
  for (std::size_t i = 0; i < replaced; ++i) {
    live_.push_back(make_process(next_pid_++, serial_++));
  }
  auto snapshot = std::make_shared<Snapshot>();
  snapshot->platform = "linux";
  snapshot->kinds = {Kind::processes, Kind::threads, Kind::modules};
  snapshot->taken_at_seconds = 1.7e9 + static_cast<double>(serial_);
  snapshot->processes = live_;
  snapshot->threads.reserve(live_.size() * shape_.threads_per_process);
  for (const Process& process : live_) {
    for (std::size_t t = 0; t < shape_.threads_per_process; ++t) {
      const auto tid = static_cast<std::uint32_t>(process.pid * 16 + t);
      snapshot->threads.push_back({tid, process.pid, process.base_priority});
    }
  }
  for (Kind kind : {Kind::processes, Kind::threads, Kind::modules}) {
    snapshot->status_of(kind).state = KindStatus::State::complete;
    snapshot->status_of(kind).duration_seconds = 0.001;
  }
  return snapshot;
}

std::shared_ptr<const Aggregate> synthetic_aggregate(std::size_t module_series,
                                                     std::size_t groups) {
  auto aggregate = std::make_shared<Aggregate>();
  aggregate->snapshot = std::make_shared<const Snapshot>();
  aggregate->cycles = 1;
  aggregate->processes = groups * 10;
  aggregate->threads = groups * 100;
  aggregate->threads_by_priority[20] = aggregate->threads;
  for (std::size_t g = 0; g < groups; ++g) {
    const std::string group = numbered("bench-", g, "");
    GroupStats& stats = aggregate->groups[group];
    stats.processes = 10;
    stats.threads = 100;
    stats.distinct_modules = 30;
    aggregate->churn[group] = {g, g / 2};
  }
  aggregate->modules.reserve(module_series);
  for (std::size_t m = 0; m < module_series; ++m) {
    std::string path = synthetic_module_path(m);
    std::string name = path.substr(path.rfind('/') + 1);
    aggregate->modules.push_back({std::move(name), std::move(path), 1 + m % 97});
  }
  for (Kind kind : {Kind::processes, Kind::threads, Kind::modules}) {
    aggregate->last_status.at(static_cast<std::size_t>(kind)).state = KindStatus::State::complete;
  }
  aggregate->last_snapshot_timestamp_seconds = 1.7e9;
  return aggregate;
}

MemoryUsage memory_usage() {
  MemoryUsage usage;
  std::ifstream status("/proc/self/status");
  std::string line;
  while (std::getline(status, line)) {
    unsigned long long kib = 0;
    if (std::sscanf(line.c_str(), "VmRSS: %llu kB", &kib) == 1) {
      usage.rss_bytes = kib * 1024;
    } else if (std::sscanf(line.c_str(), "VmHWM: %llu kB", &kib) == 1) {
      usage.peak_rss_bytes = kib * 1024;
    }
  }
  return usage;
}

}  // namespace thx::bench
