// Google Benchmark micro-benchmarks of the pure parts of a cycle: the procfs parsers, the
// aggregator on a synthetic 3,000-process snapshot, and the exposition of 10,000 series.
#include <benchmark/benchmark.h>

#include <algorithm>
#include <array>
#include <cstdio>
#include <string>

#include "collector/aggregate/aggregator.h"
#include "collector/linux/procfs_parse.h"
#include "config/config.h"
#include "exporter/metrics.h"
#include "tests/bench/synthetic.h"

namespace {

const thx::BuildInfo kBuild{"bench", "bench", "linux"};

// A stat line as the kernel writes it for a threaded user process.
constexpr const char* kStatLine =
    "4242 (thx_sleeper) S 4200 4242 4200 34816 4242 4194560 137 0 0 0 12 7 0 0 20 0 10 0 "
    "1234567 185634816 1024 18446744073709551615 94558311538688 94558311600489 "
    "140724011836096 0 0 0 0 0 0 0 0 0 17 1 0 0 0 0 0 94558311626160 94558311628360 "
    "94558335356928 140724011843163 140724011843189 140724011843189 140724011847632 0\n";

// A maps file of `libraries` shared libraries (five mappings each, as ld.so lays them out) plus
// the executable, the heap, anonymous mappings and the stack.
std::string synthetic_maps(std::size_t libraries) {
  std::string text;
  std::array<char, 256> line{};
  unsigned long long address = 0x55d0c0000000ULL;
  auto add = [&](const char* perms, unsigned long long size, unsigned long long offset,
                 const std::string& path) {
    std::snprintf(line.data(), line.size(), "%012llx-%012llx %s %08llx fd:01 %llu", address,
                  address + size, perms, offset, 1000000ULL + address % 99991);
    text += line.data();
    if (!path.empty()) {
      text.append(26 - 8, ' ');
      text += path;
    }
    text += '\n';
    address += size;
  };
  add("r--p", 0x2000, 0, "/usr/bin/thx_sleeper");
  add("r-xp", 0x5000, 0x2000, "/usr/bin/thx_sleeper");
  add("rw-p", 0x1000, 0x7000, "/usr/bin/thx_sleeper");
  add("rw-p", 0x21000, 0, "[heap]");
  address = 0x7f3a00000000ULL;
  for (std::size_t i = 0; i < libraries; ++i) {
    const std::string path = thx::bench::synthetic_module_path(i);
    add("r--p", 0x4000, 0, path);
    add("r-xp", 0x20000, 0x4000, path);
    add("r--p", 0x8000, 0x24000, path);
    add("r--p", 0x1000, 0x2c000, path);
    add("rw-p", 0x1000, 0x2d000, path);
    add("rw-p", 0x3000, 0, "");
  }
  add("rw-p", 0x21000, 0, "[stack]");
  add("r-xp", 0x2000, 0, "[vdso]");
  return text;
}

void BM_ParseStat(benchmark::State& state) {
  const std::string text = kStatLine;
  for (auto _ : state) {
    auto parsed = thx::procfs::parse_stat(text);
    benchmark::DoNotOptimize(parsed);
  }
  state.SetBytesProcessed(state.iterations() * static_cast<std::int64_t>(text.size()));
}
BENCHMARK(BM_ParseStat);

void BM_ParseMaps(benchmark::State& state) {
  const std::string text = synthetic_maps(static_cast<std::size_t>(state.range(0)));
  for (auto _ : state) {
    auto parsed = thx::procfs::parse_maps(text);
    benchmark::DoNotOptimize(parsed);
  }
  state.SetBytesProcessed(state.iterations() * static_cast<std::int64_t>(text.size()));
  state.counters["lines"] = static_cast<double>(std::count(text.begin(), text.end(), '\n'));
}
BENCHMARK(BM_ParseMaps)->Arg(10)->Arg(150);

thx::AggregatorSettings default_settings() {
  const thx::Config config;
  return {config.grouping, config.modules, config.per_process};
}

thx::bench::SyntheticShape shape_of(std::size_t processes) {
  thx::bench::SyntheticShape shape;
  shape.processes = processes;
  return shape;
}

// Steady state: the same 3,000 processes every cycle (identities known, nothing to classify).
void BM_AggregatorUpdate(benchmark::State& state) {
  thx::bench::SyntheticMachine machine(shape_of(static_cast<std::size_t>(state.range(0))));
  const auto snapshot = machine.next(0);
  thx::Aggregator aggregator(default_settings());
  benchmark::DoNotOptimize(aggregator.update(snapshot));
  for (auto _ : state) {
    benchmark::DoNotOptimize(aggregator.update(snapshot));
  }
  state.counters["processes"] = static_cast<double>(snapshot->processes.size());
}
BENCHMARK(BM_AggregatorUpdate)->Arg(3000)->Unit(benchmark::kMillisecond);

// Churn: 1% of the processes replaced every cycle (new identities to classify, exits to count).
void BM_AggregatorUpdateChurn(benchmark::State& state) {
  thx::bench::SyntheticMachine machine(shape_of(static_cast<std::size_t>(state.range(0))));
  thx::Aggregator aggregator(default_settings());
  benchmark::DoNotOptimize(aggregator.update(machine.next(0)));
  for (auto _ : state) {
    state.PauseTiming();
    auto snapshot = machine.next(static_cast<std::size_t>(state.range(0)) / 100);
    state.ResumeTiming();
    benchmark::DoNotOptimize(aggregator.update(std::move(snapshot)));
  }
}
BENCHMARK(BM_AggregatorUpdateChurn)->Arg(3000)->Unit(benchmark::kMillisecond);

// About 10,000 series: 8,800 module series and 200 groups (six series each), plus the fixed ones.
std::shared_ptr<const thx::Aggregate> ten_thousand_series() {
  return thx::bench::synthetic_aggregate(8800, 200);
}

void BM_ToMetricFamilies(benchmark::State& state) {
  const auto aggregate = ten_thousand_series();
  for (auto _ : state) {
    benchmark::DoNotOptimize(thx::to_metric_families(aggregate.get(), kBuild, {}));
  }
}
BENCHMARK(BM_ToMetricFamilies)->Unit(benchmark::kMillisecond);

void BM_ToTextFormat(benchmark::State& state) {
  const auto families = thx::to_metric_families(ten_thousand_series().get(), kBuild, {});
  std::size_t series = 0;
  for (const auto& family : families) {
    series += family.metric.size();
  }
  std::size_t bytes = 0;
  for (auto _ : state) {
    const std::string text = thx::to_text_format(families);
    bytes = text.size();
    benchmark::DoNotOptimize(text.data());
  }
  state.counters["series"] = static_cast<double>(series);
  state.counters["bytes"] = static_cast<double>(bytes);
}
BENCHMARK(BM_ToTextFormat)->Unit(benchmark::kMillisecond);

void BM_Expose10000Series(benchmark::State& state) {
  const auto aggregate = ten_thousand_series();
  for (auto _ : state) {
    const std::string text =
        thx::to_text_format(thx::to_metric_families(aggregate.get(), kBuild, {}));
    benchmark::DoNotOptimize(text.data());
  }
}
BENCHMARK(BM_Expose10000Series)->Unit(benchmark::kMillisecond);

}  // namespace

BENCHMARK_MAIN();
