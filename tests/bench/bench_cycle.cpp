// thx_bench_cycle: the exporter's collection cycle in a loop, measured from inside.
//
//   thx_bench_cycle real  [--cycles K] [--module-interval S] [--config FILE]
//       K cycles of the real platform source: take() + Aggregator::update() + to_text_format()
//       (what the service does per interval, plus rendering /metrics once). CPU per cycle from
//       getrusage, wall time from the steady clock, RSS at eleven points.
//   thx_bench_cycle churn [--cycles K] [--processes N] [--replace R] [--config FILE]
//       K cycles over synthetic snapshots in which R processes exit and R start each cycle
//       (no OS reads): the aggregator's and the exposition's memory under churn.
//   thx_bench_cycle serve [--processes N] [--module-series M] [--listen HOST:PORT]
//       Publishes one aggregate computed from a synthetic snapshot of N processes with M
//       distinct modules (modules.max_series = M) into a real HttpServer, on the route the
//       exporter serves /metrics with (text rendered once, see metrics_page), and serves it until
//       standard input closes. Prints "ready port=P series=S bytes=B" when listening.
//
// Prints one JSON object (real, churn) on standard output.
#include <malloc.h>
#include <sys/resource.h>
#include <sys/time.h>

#include <algorithm>
#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <iostream>
#include <map>
#include <memory>
#include <nlohmann/json.hpp>
#include <optional>
#include <stop_token>
#include <string>
#include <string_view>
#include <vector>

#include "collector/aggregate/aggregator.h"
#include "collector/platform_source.h"
#include "config/config.h"
#include "exporter/http_server.h"
#include "exporter/metrics.h"
#include "exporter/pages.h"
#include "tests/bench/synthetic.h"

namespace {

using Json = nlohmann::json;
using SteadyClock = std::chrono::steady_clock;

struct Options {
  std::string mode;
  std::size_t cycles = 20;
  std::optional<long> module_interval_seconds;
  std::string config_file;
  std::size_t processes = 1000;
  std::size_t replace = 20;
  std::size_t module_series = 5000;
  std::string listen = "127.0.0.1:0";
};

[[noreturn]] void usage() {
  std::cerr << "usage: thx_bench_cycle real [--cycles K] [--module-interval S] [--config FILE]\n"
               "       thx_bench_cycle churn [--cycles K] [--processes N] [--replace R]\n"
               "       thx_bench_cycle serve [--processes N] [--module-series M] "
               "[--listen HOST:PORT]\n";
  std::exit(2);
}

std::size_t to_size(const char* text) {
  char* end = nullptr;
  const unsigned long long value = std::strtoull(text, &end, 10);
  if (end == text || *end != '\0') {
    usage();
  }
  return static_cast<std::size_t>(value);
}

Options parse_options(int argc, char** argv) {
  if (argc < 2) {
    usage();
  }
  Options options;
  options.mode = argv[1];
  for (int i = 2; i + 1 < argc; i += 2) {
    const std::string_view flag = argv[i];
    const char* value = argv[i + 1];
    if (flag == "--cycles") {
      options.cycles = std::max<std::size_t>(to_size(value), 1);
    } else if (flag == "--module-interval") {
      options.module_interval_seconds = static_cast<long>(to_size(value));
    } else if (flag == "--config") {
      options.config_file = value;
    } else if (flag == "--processes") {
      options.processes = to_size(value);
    } else if (flag == "--replace") {
      options.replace = to_size(value);
    } else if (flag == "--module-series") {
      options.module_series = std::max<std::size_t>(to_size(value), 1);
    } else if (flag == "--listen") {
      options.listen = value;
    } else {
      usage();
    }
  }
  if (argc % 2 != 0) {
    usage();
  }
  return options;
}

thx::Config load_config(const std::string& file) {
  if (file.empty()) {
    return thx::Config{};
  }
  thx::ConfigLoadResult loaded = thx::load_config_file(file);
  if (!loaded.config) {
    for (const thx::ConfigError& error : loaded.errors) {
      std::cerr << error.path << ": " << error.message << "\n";
    }
    std::exit(2);
  }
  return *loaded.config;
}

thx::AggregatorSettings settings_of(const thx::Config& config) {
  return {config.grouping, config.modules, config.per_process};
}

// CPU seconds (user + system) this process has used so far.
struct CpuTime {
  double user = 0.0;
  double system = 0.0;
  [[nodiscard]] double total() const { return user + system; }
};

double seconds_of(const timeval& value) {
  return static_cast<double>(value.tv_sec) + static_cast<double>(value.tv_usec) / 1e6;
}

CpuTime cpu_now() {
  rusage usage{};
  ::getrusage(RUSAGE_SELF, &usage);
  return {seconds_of(usage.ru_utime), seconds_of(usage.ru_stime)};
}

double elapsed(SteadyClock::time_point since) {
  return std::chrono::duration<double>(SteadyClock::now() - since).count();
}

// Bytes malloc has handed out and not had back: unlike RSS, blind to fragmentation and to
// pages the allocator keeps, so a leak shows as growth here.
std::size_t heap_in_use_bytes() {
  const struct mallinfo2 info = ::mallinfo2();
  return info.uordblks + info.hblkhd;
}

// Samples of RSS and heap in use at eleven evenly spaced cycles (the first, every tenth, the
// last).
class RssSamples {
 public:
  explicit RssSamples(std::size_t cycles) : cycles_(cycles) {}
  void after_cycle(std::size_t index) {
    const std::size_t step = std::max<std::size_t>(cycles_ / 10, 1);
    if (index == 0 || (index + 1) % step == 0 || index + 1 == cycles_) {
      samples_.push_back({{"cycle", index + 1},
                          {"rss_bytes", thx::bench::memory_usage().rss_bytes},
                          {"heap_in_use_bytes", heap_in_use_bytes()}});
    }
  }
  [[nodiscard]] const Json& samples() const { return samples_; }

 private:
  std::size_t cycles_;
  Json samples_ = Json::array();
};

double median(std::vector<double> values) {
  if (values.empty()) {
    return 0.0;
  }
  std::sort(values.begin(), values.end());
  const std::size_t mid = values.size() / 2;
  return values.size() % 2 == 1 ? values[mid] : (values[mid - 1] + values[mid]) / 2;
}

double mean(const std::vector<double>& values) {
  double sum = 0.0;
  for (double value : values) {
    sum += value;
  }
  return values.empty() ? 0.0 : sum / static_cast<double>(values.size());
}

// Summary of per-cycle values: the first cycle apart (it fills every cache), the rest as
// median and mean.
Json summarize(const std::vector<double>& values) {
  Json out;
  out["first"] = values.empty() ? 0.0 : values.front();
  const std::vector<double> rest(values.size() > 1 ? values.begin() + 1 : values.end(),
                                 values.end());
  out["median"] = median(rest);
  out["mean"] = mean(rest);
  out["max"] = rest.empty() ? 0.0 : *std::max_element(rest.begin(), rest.end());
  return out;
}

std::size_t count_samples(const std::string& text) {
  std::size_t samples = 0;
  std::size_t line_start = 0;
  while (line_start < text.size()) {
    std::size_t end = text.find('\n', line_start);
    if (end == std::string::npos) {
      end = text.size();
    }
    if (end > line_start && text[line_start] != '#') {
      ++samples;
    }
    line_start = end + 1;
  }
  return samples;
}

const thx::BuildInfo kBuild{"bench", "bench", "linux"};

// Per-phase CPU and wall time of one cycle.
struct Phases {
  std::vector<double> take_cpu, update_cpu, expose_cpu, cycle_cpu, cycle_wall;

  // Room for every cycle up front: the heap in use then shows the exporter's code, not ours.
  explicit Phases(std::size_t cycles) {
    for (auto* values : {&take_cpu, &update_cpu, &expose_cpu, &cycle_cpu, &cycle_wall}) {
      values->reserve(cycles);
    }
  }

  Json to_json() const {
    return {{"take_cpu_seconds", summarize(take_cpu)},
            {"update_cpu_seconds", summarize(update_cpu)},
            {"expose_cpu_seconds", summarize(expose_cpu)},
            {"cycle_cpu_seconds", summarize(cycle_cpu)},
            {"cycle_wall_seconds", summarize(cycle_wall)},
            {"cycle_cpu_seconds_all", cycle_cpu}};
  }
};

int run_real(const Options& options) {
  const thx::Config config = load_config(options.config_file);
  thx::SnapshotRequest request;
  request.kinds = config.collection.kinds;
  request.module_interval =
      std::chrono::duration_cast<std::chrono::seconds>(config.collection.module_interval);
  if (options.module_interval_seconds) {
    request.module_interval = std::chrono::seconds(*options.module_interval_seconds);
  }
  request.resources = config.collection.resources;
  request.thread_detail = config.collection.thread_detail;
  request.command_lines = config.grouping.uses_command_line();

  const thx::bench::MemoryUsage at_start = thx::bench::memory_usage();
  std::unique_ptr<thx::SnapshotSource> source = thx::make_platform_source();
  thx::Aggregator aggregator(settings_of(config));
  thx::MetricsCollectable metrics(kBuild);
  Phases phases(options.cycles);
  RssSamples rss(options.cycles);
  std::size_t processes = 0;
  std::size_t threads = 0;
  std::size_t series = 0;
  std::size_t text_bytes = 0;
  std::size_t module_series = 0;
  std::stop_source stop;
  for (std::size_t i = 0; i < options.cycles; ++i) {
    const auto wall_start = SteadyClock::now();
    const CpuTime c0 = cpu_now();
    thx::Snapshot snapshot = source->take(request, stop.get_token());
    const CpuTime c1 = cpu_now();
    processes = snapshot.processes.size();
    threads = snapshot.threads.size();
    auto aggregate = aggregator.update(std::make_shared<const thx::Snapshot>(std::move(snapshot)));
    metrics.publish(aggregate);
    const CpuTime c2 = cpu_now();
    const std::string text =
        thx::to_text_format(thx::to_metric_families(metrics.latest().get(), kBuild, {}));
    const CpuTime c3 = cpu_now();
    phases.cycle_wall.push_back(elapsed(wall_start));
    phases.take_cpu.push_back(c1.total() - c0.total());
    phases.update_cpu.push_back(c2.total() - c1.total());
    phases.expose_cpu.push_back(c3.total() - c2.total());
    phases.cycle_cpu.push_back(c3.total() - c0.total());
    text_bytes = text.size();
    series = count_samples(text);
    module_series = aggregate->modules.size();
    rss.after_cycle(i);
  }
  const thx::bench::MemoryUsage at_end = thx::bench::memory_usage();
  Json out = phases.to_json();
  out["mode"] = "real";
  out["cycles"] = options.cycles;
  out["module_interval_seconds"] = request.module_interval.count();
  out["processes"] = processes;
  out["threads"] = threads;
  out["series"] = series;
  out["module_series"] = module_series;
  out["text_bytes"] = text_bytes;
  out["rss_start_bytes"] = at_start.rss_bytes;
  out["rss_end_bytes"] = at_end.rss_bytes;
  out["peak_rss_bytes"] = at_end.peak_rss_bytes;
  out["rss_samples"] = rss.samples();
  std::cout << out.dump() << "\n";
  return 0;
}

int run_churn(const Options& options) {
  const thx::Config config = load_config(options.config_file);
  const thx::bench::MemoryUsage at_start = thx::bench::memory_usage();
  thx::bench::SyntheticShape shape;
  shape.processes = options.processes;
  thx::bench::SyntheticMachine machine(shape);
  thx::Aggregator aggregator(settings_of(config));
  thx::MetricsCollectable metrics(kBuild);
  Phases phases(options.cycles);
  RssSamples rss(options.cycles);
  const auto run_start = SteadyClock::now();
  std::size_t series = 0;
  for (std::size_t i = 0; i < options.cycles; ++i) {
    std::shared_ptr<const thx::Snapshot> snapshot = machine.next(i == 0 ? 0 : options.replace);
    const auto wall_start = SteadyClock::now();
    const CpuTime c1 = cpu_now();
    metrics.publish(aggregator.update(std::move(snapshot)));
    const CpuTime c2 = cpu_now();
    const std::string text =
        thx::to_text_format(thx::to_metric_families(metrics.latest().get(), kBuild, {}));
    const CpuTime c3 = cpu_now();
    phases.cycle_wall.push_back(elapsed(wall_start));
    phases.update_cpu.push_back(c2.total() - c1.total());
    phases.expose_cpu.push_back(c3.total() - c2.total());
    phases.cycle_cpu.push_back(c3.total() - c1.total());
    series = count_samples(text);
    rss.after_cycle(i);
  }
  const thx::bench::MemoryUsage at_end = thx::bench::memory_usage();
  Json out = phases.to_json();
  out.erase("take_cpu_seconds");
  out.erase("cycle_cpu_seconds_all");
  out["mode"] = "churn";
  out["cycles"] = options.cycles;
  out["processes"] = options.processes;
  out["replaced_per_cycle"] = options.replace;
  out["identity_cache_entries"] = aggregator.identity_cache_size();
  out["series"] = series;
  out["run_seconds"] = elapsed(run_start);
  out["rss_start_bytes"] = at_start.rss_bytes;
  out["rss_end_bytes"] = at_end.rss_bytes;
  out["peak_rss_bytes"] = at_end.peak_rss_bytes;
  out["rss_samples"] = rss.samples();
  std::cout << out.dump() << "\n";
  return 0;
}

int run_serve(const Options& options) {
  thx::Config config;
  config.modules.max_series = options.module_series;
  config.web.listen_address = options.listen;
  thx::bench::SyntheticShape shape;
  shape.processes = std::max<std::size_t>(options.processes, 1);
  shape.common_modules = std::min<std::size_t>(10, options.module_series);
  shape.distinct_modules = options.module_series;
  const std::size_t rest = shape.distinct_modules - shape.common_modules;
  shape.modules_per_process = shape.common_modules + (rest + shape.processes - 1) / shape.processes;
  thx::bench::SyntheticMachine machine(shape);
  thx::Aggregator aggregator(settings_of(config));
  auto metrics = std::make_shared<thx::MetricsCollectable>(kBuild);
  metrics->publish(aggregator.update(machine.next(0)));
  const std::string text =
      thx::to_text_format(thx::to_metric_families(metrics->latest().get(), kBuild, {}));
  // The route the exporter serves /metrics with: text rendered once, shared by every scrape.
  std::map<std::string, thx::HttpRoute> routes;
  routes[config.web.telemetry_path] = [metrics](const thx::HttpRequest&) {
    return thx::metrics_page(*metrics);
  };
  thx::HttpServer server(config.web, std::move(routes));
  const std::vector<int> ports = server.listening_ports();
  std::cout << "ready port=" << (ports.empty() ? 0 : ports.front())
            << " series=" << count_samples(text) << " bytes=" << text.size()
            << " module_series=" << metrics->latest()->modules.size() << std::endl;
  // Serve until the harness closes our standard input (or kills us).
  std::string line;
  while (std::getline(std::cin, line)) {
  }
  return 0;
}

}  // namespace

int main(int argc, char** argv) {
  const Options options = parse_options(argc, argv);
  try {
    if (options.mode == "real") {
      return run_real(options);
    }
    if (options.mode == "churn") {
      return run_churn(options);
    }
    if (options.mode == "serve") {
      return run_serve(options);
    }
  } catch (const std::exception& error) {
    std::cerr << "thx_bench_cycle: " << error.what() << "\n";
    return 1;
  }
  usage();
}
