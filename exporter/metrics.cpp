#include "exporter/metrics.h"

#include <prometheus/text_serializer.h>

#include "exporter/compression.h"

#include <ostream>
#include <streambuf>
#include <utility>

namespace thx {
namespace {

using prometheus::ClientMetric;
using prometheus::MetricFamily;
using prometheus::MetricType;
using Labels = std::vector<ClientMetric::Label>;

// Builds one family; `add` appends samples. Keeps every family's name, help and type together.
class FamilyBuilder {
 public:
  FamilyBuilder(std::vector<MetricFamily>& out, std::string name, std::string help, MetricType type)
      : family_(out.emplace_back()) {
    family_.name = std::move(name);
    family_.help = std::move(help);
    family_.type = type;
  }

  void add(double value, Labels labels = {}) {
    ClientMetric& metric = family_.metric.emplace_back();
    metric.label = std::move(labels);
    if (family_.type == MetricType::Counter) {
      metric.counter.value = value;
    } else {
      metric.gauge.value = value;
    }
  }

 private:
  MetricFamily& family_;
};

double as_double(std::uint64_t value) {
  return static_cast<double>(value);
}

void add_totals(std::vector<MetricFamily>& out, const Aggregate& aggregate) {
  FamilyBuilder(out, "toolhelp_processes", "Processes in the last snapshot.", MetricType::Gauge)
      .add(as_double(aggregate.processes));
  FamilyBuilder(out, "toolhelp_threads", "Threads in the last snapshot.", MetricType::Gauge)
      .add(as_double(aggregate.threads));
  FamilyBuilder priorities(out, "toolhelp_threads_by_base_priority",
                           "Threads in the last snapshot by their base scheduling priority.",
                           MetricType::Gauge);
  for (const auto& [priority, threads] : aggregate.threads_by_priority) {
    priorities.add(as_double(threads), {{"base_priority", std::to_string(priority)}});
  }
}

void add_groups(std::vector<MetricFamily>& out, const Aggregate& aggregate) {
  FamilyBuilder processes(out, "toolhelp_group_processes",
                          "Processes per group in the last snapshot (groups come from the "
                          "grouping rules; by default one group per executable name).",
                          MetricType::Gauge);
  FamilyBuilder threads(out, "toolhelp_group_threads", "Threads of the processes of each group.",
                        MetricType::Gauge);
  FamilyBuilder modules(out, "toolhelp_group_modules",
                        "Distinct module files loaded by the processes of each group.",
                        MetricType::Gauge);
  FamilyBuilder heaps(out, "toolhelp_group_heaps", "Heaps of the processes of each group.",
                      MetricType::Gauge);
  for (const auto& [group, stats] : aggregate.groups) {
    processes.add(as_double(stats.processes), {{"group", group}});
    threads.add(as_double(stats.threads), {{"group", group}});
    modules.add(as_double(stats.distinct_modules), {{"group", group}});
    heaps.add(as_double(stats.heaps), {{"group", group}});
  }
  FamilyBuilder starts(out, "toolhelp_group_process_starts_total",
                       "Processes first seen in each group, by identity (pid and start time); "
                       "processes running when the exporter started are not counted.",
                       MetricType::Counter);
  FamilyBuilder exits(out, "toolhelp_group_process_exits_total",
                      "Processes of each group that disappeared between snapshots.",
                      MetricType::Counter);
  for (const auto& [group, churn] : aggregate.churn) {
    starts.add(as_double(churn.starts_total), {{"group", group}});
    exits.add(as_double(churn.exits_total), {{"group", group}});
  }
}

// The sample of an optional fact, when it is there.
template <typename T>
void add_if(FamilyBuilder& family, const std::optional<T>& value, Labels labels) {
  if (value) {
    family.add(static_cast<double>(*value), std::move(labels));
  }
}

void add_group_resources(std::vector<MetricFamily>& out, const Aggregate& aggregate) {
  FamilyBuilder cpu(out, "toolhelp_group_cpu_seconds_total",
                    "CPU time used by the processes of each group, by mode (user, system); a "
                    "process that exits keeps what it used in its group.",
                    MetricType::Counter);
  FamilyBuilder io(out, "toolhelp_group_io_bytes_total",
                   "Bytes the processes of each group read and wrote (direction read, write); "
                   "Linux: storage I/O from /proc/<pid>/io, Windows: all I/O of the process.",
                   MetricType::Counter);
  for (const auto& [group, usage] : aggregate.usage) {
    if (usage.has_cpu) {
      cpu.add(usage.cpu_user_seconds, {{"group", group}, {"mode", "user"}});
      cpu.add(usage.cpu_system_seconds, {{"group", group}, {"mode", "system"}});
    }
    if (usage.has_io) {
      io.add(as_double(usage.io_read_bytes), {{"group", group}, {"direction", "read"}});
      io.add(as_double(usage.io_write_bytes), {{"group", group}, {"direction", "write"}});
    }
  }
  FamilyBuilder memory(out, "toolhelp_group_memory_bytes",
                       "Memory of the live processes of each group, by kind: resident (working "
                       "set, RSS), private (Windows private bytes; Linux anonymous resident "
                       "memory), virtual.",
                       MetricType::Gauge);
  FamilyBuilder handles(out, "toolhelp_group_handles",
                        "Open handles (Windows) or file descriptors (Linux) of the live processes "
                        "of each group.",
                        MetricType::Gauge);
  FamilyBuilder oldest(out, "toolhelp_group_oldest_start_time_seconds",
                       "Start time of the oldest live process of each group, in Unix time.",
                       MetricType::Gauge);
  for (const auto& [group, stats] : aggregate.groups) {
    add_if(memory, stats.resident_bytes, {{"group", group}, {"kind", "resident"}});
    add_if(memory, stats.private_bytes, {{"group", group}, {"kind", "private"}});
    add_if(memory, stats.virtual_bytes, {{"group", group}, {"kind", "virtual"}});
    add_if(handles, stats.handles, {{"group", group}});
    add_if(oldest, stats.oldest_start_time_seconds, {{"group", group}});
  }
}

void add_modules(std::vector<MetricFamily>& out, const Aggregate& aggregate) {
  FamilyBuilder processes(out, "toolhelp_module_processes",
                          "Processes that have this module file loaded (the inventory is bounded "
                          "by the modules section of the configuration).",
                          MetricType::Gauge);
  for (const ModuleSeries& module : aggregate.modules) {
    processes.add(as_double(module.processes), {{"module", module.module}, {"path", module.path}});
  }
  if (aggregate.snapshot && !aggregate.snapshot->module_versions.empty()) {
    FamilyBuilder info(out, "toolhelp_module_info",
                       "Version resource of each module file in the inventory; always 1.",
                       MetricType::Gauge);
    const auto& versions = aggregate.snapshot->module_versions;
    for (const ModuleSeries& module : aggregate.modules) {
      if (auto it = versions.find(module.path); it != versions.end()) {
        info.add(1.0, {{"path", module.path},
                       {"file_version", it->second.file_version},
                       {"product_version", it->second.product_version},
                       {"company", it->second.company}});
      }
    }
  }
  FamilyBuilder(out, "toolhelp_module_series_dropped",
                "Module series left out of the last snapshot's inventory by modules.max_series.",
                MetricType::Gauge)
      .add(as_double(aggregate.module_series_dropped));
  FamilyBuilder(out, "toolhelp_processes_modules_unreadable",
                "Processes whose modules could not be read in the last snapshot (access denied, "
                "exited, protected); compare with toolhelp_processes for read coverage.",
                MetricType::Gauge)
      .add(as_double(aggregate.processes_modules_unread));
}

void add_per_process(std::vector<MetricFamily>& out, const Aggregate& aggregate) {
  if (aggregate.per_process.empty() && aggregate.per_process_series_dropped == 0) {
    return;
  }
  FamilyBuilder threads(out, "toolhelp_process_threads",
                        "Threads of each process named in per_process.include.", MetricType::Gauge);
  FamilyBuilder modules(out, "toolhelp_process_modules",
                        "Modules loaded by each process named in per_process.include.",
                        MetricType::Gauge);
  FamilyBuilder started(out, "toolhelp_process_start_time_seconds",
                        "Start time of each process named in per_process.include, in Unix time.",
                        MetricType::Gauge);
  FamilyBuilder cpu(out, "toolhelp_process_cpu_seconds_total",
                    "CPU time of each process named in per_process.include since it started, by "
                    "mode (user, system).",
                    MetricType::Counter);
  FamilyBuilder memory(out, "toolhelp_process_memory_bytes",
                       "Memory of each process named in per_process.include, by kind (resident, "
                       "private, virtual).",
                       MetricType::Gauge);
  FamilyBuilder handles(out, "toolhelp_process_handles",
                        "Open handles or file descriptors of each process named in "
                        "per_process.include.",
                        MetricType::Gauge);
  FamilyBuilder io(out, "toolhelp_process_io_bytes_total",
                   "Bytes each process named in per_process.include read and wrote since it "
                   "started, by direction (read, write).",
                   MetricType::Counter);
  for (const ProcessSeries& process : aggregate.per_process) {
    Labels labels = {{"pid", std::to_string(process.pid)}, {"name", process.name}};
    threads.add(as_double(process.threads), labels);
    modules.add(as_double(process.modules), labels);
    started.add(process.start_time_seconds, labels);
    auto with = [&labels](const char* name, const char* value) {
      Labels more = labels;
      more.push_back({name, value});
      return more;
    };
    const ProcessResources& resources = process.resources;
    add_if(cpu, resources.cpu_user_seconds, with("mode", "user"));
    add_if(cpu, resources.cpu_system_seconds, with("mode", "system"));
    add_if(memory, resources.resident_bytes, with("kind", "resident"));
    add_if(memory, resources.private_bytes, with("kind", "private"));
    add_if(memory, resources.virtual_bytes, with("kind", "virtual"));
    add_if(handles, resources.handles, labels);
    add_if(io, resources.io_read_bytes, with("direction", "read"));
    add_if(io, resources.io_write_bytes, with("direction", "write"));
  }
  FamilyBuilder(out, "toolhelp_per_process_series_dropped",
                "Processes matching per_process.include left out by per_process.max_series.",
                MetricType::Gauge)
      .add(as_double(aggregate.per_process_series_dropped));
}

void add_health(std::vector<MetricFamily>& out, const Aggregate& aggregate) {
  FamilyBuilder duration(out, "toolhelp_snapshot_duration_seconds",
                         "Time the last snapshot of each kind took.", MetricType::Gauge);
  FamilyBuilder state(out, "toolhelp_snapshot_kind_state",
                      "State of each kind in the last snapshot (complete, partial, unsupported, "
                      "failed); 1 for the current state.",
                      MetricType::Gauge);
  FamilyBuilder errors(out, "toolhelp_snapshot_errors_total",
                       "Reads that failed, by kind and reason (access_denied, vanished, "
                       "partial_copy, retries_exhausted, malformed, limit_reached, other).",
                       MetricType::Counter);
  for (Kind kind : kAllKinds) {
    const auto k = static_cast<std::size_t>(kind);
    const KindStatus& status = aggregate.last_status.at(k);
    if (status.state == KindStatus::State::not_requested) {
      continue;
    }
    const std::string kind_name(to_string(kind));
    duration.add(status.duration_seconds, {{"kind", kind_name}});
    state.add(1.0, {{"kind", kind_name}, {"state", std::string(to_string(status.state))}});
    for (ErrorReason reason : kAllErrorReasons) {
      errors.add(as_double(aggregate.errors_total.at(k).at(static_cast<std::size_t>(reason))),
                 {{"kind", kind_name}, {"reason", std::string(to_string(reason))}});
    }
  }
  FamilyBuilder(out, "toolhelp_last_snapshot_timestamp_seconds",
                "When the last complete snapshot finished, in Unix time.", MetricType::Gauge)
      .add(aggregate.last_snapshot_timestamp_seconds);
  FamilyBuilder(out, "toolhelp_snapshots_total", "Snapshots aggregated since the exporter started.",
                MetricType::Counter)
      .add(as_double(aggregate.cycles));
  FamilyBuilder(out, "toolhelp_identity_cache_entries",
                "Process identities the aggregator remembers (live processes only).",
                MetricType::Gauge)
      .add(as_double(aggregate.identity_cache_entries));
  FamilyBuilder(out, "toolhelp_groups_forgotten_total",
                "Groups without processes whose counters were dropped because more than " +
                    std::to_string(Aggregator::kMaxIdleGroups) +
                    " such groups were kept (the longest idle first).",
                MetricType::Counter)
      .add(as_double(aggregate.groups_forgotten_total));
}

}  // namespace

std::vector<MetricFamily> to_metric_families(const Aggregate* aggregate, const BuildInfo& build,
                                             const ReloadStatus& reload) {
  std::vector<MetricFamily> out;
  out.reserve(32);
  if (aggregate != nullptr) {
    add_totals(out, *aggregate);
    add_groups(out, *aggregate);
    add_group_resources(out, *aggregate);
    add_modules(out, *aggregate);
    add_per_process(out, *aggregate);
    add_health(out, *aggregate);
  }
  FamilyBuilder(out, "toolhelp_build_info",
                "The exporter's version, git revision and platform; always 1.", MetricType::Gauge)
      .add(
          1.0,
          {{"version", build.version}, {"revision", build.revision}, {"platform", build.platform}});
  FamilyBuilder(out, "toolhelp_config_last_reload_successful",
                "Whether the last configuration reload succeeded (1) or failed (0).",
                MetricType::Gauge)
      .add(reload.last_successful ? 1.0 : 0.0);
  FamilyBuilder(out, "toolhelp_config_last_reload_success_timestamp_seconds",
                "When the configuration was last loaded successfully, in Unix time.",
                MetricType::Gauge)
      .add(reload.last_success_timestamp_seconds);
  return out;
}

namespace {

// An output stream's buffer that appends to a string: the serializer writes the text once, where
// std::ostringstream would grow a buffer by doubling and then copy it out (three copies of a
// large exposition alive at the peak of every cycle).
class AppendToString : public std::streambuf {
 public:
  explicit AppendToString(std::string& out) : out_(out) {}

 protected:
  int_type overflow(int_type c) override {
    if (!traits_type::eq_int_type(c, traits_type::eof())) {
      out_.push_back(traits_type::to_char_type(c));
    }
    return traits_type::not_eof(c);
  }
  std::streamsize xsputn(const char_type* s, std::streamsize n) override {
    out_.append(s, static_cast<std::size_t>(n));
    return n;
  }

 private:
  std::string& out_;
};

}  // namespace

std::string to_text_format(const std::vector<MetricFamily>& families, std::size_t expected_size) {
  std::string text;
  text.reserve(expected_size + expected_size / 16);  // series come and go between cycles
  AppendToString buffer(text);
  std::ostream out(&buffer);
  out.exceptions(std::ios::badbit);  // out of memory: an error, never a truncated text
  prometheus::TextSerializer().Serialize(out, families);
  return text;
}

namespace {

MetricsCollectable::Exposition render(const Aggregate* aggregate, const BuildInfo& build,
                                      const ReloadStatus& reload, std::size_t expected_size) {
  auto text = std::make_shared<const std::string>(
      to_text_format(to_metric_families(aggregate, build, reload), expected_size));
  auto gzip = std::make_shared<const std::string>(gzip_compress(*text));
  return {std::move(text), std::move(gzip)};
}

}  // namespace

MetricsCollectable::MetricsCollectable(BuildInfo build)
    : build_(std::move(build)), exposition_(render(nullptr, build_, reload_, 0)) {}

// The new text is rendered before the lock is taken: scrapers meanwhile get the previous cycle's
// text, whole, instead of waiting. Publishers take turns (publish_mutex_), so each renders from
// the latest of both inputs.
void MetricsCollectable::publish(std::shared_ptr<const Aggregate> aggregate) {
  std::lock_guard publishing(publish_mutex_);
  // exposition_ is written only under publish_mutex_ too, so it may be read here without mutex_.
  auto rendered = render(aggregate.get(), build_, reload_, exposition_.text->size());
  std::lock_guard lock(mutex_);
  latest_ = std::move(aggregate);
  exposition_ = std::move(rendered);
}

void MetricsCollectable::set_reload_status(const ReloadStatus& reload) {
  std::lock_guard publishing(publish_mutex_);
  auto rendered = render(latest_.get(), build_, reload, exposition_.text->size());
  std::lock_guard lock(mutex_);
  reload_ = reload;
  exposition_ = std::move(rendered);
}

std::shared_ptr<const Aggregate> MetricsCollectable::latest() const {
  std::lock_guard lock(mutex_);
  return latest_;
}

ReloadStatus MetricsCollectable::reload_status() const {
  std::lock_guard lock(mutex_);
  return reload_;
}

std::vector<MetricFamily> MetricsCollectable::Collect() const {
  std::shared_ptr<const Aggregate> aggregate;
  ReloadStatus reload;
  {
    std::lock_guard lock(mutex_);
    aggregate = latest_;
    reload = reload_;
  }
  return to_metric_families(aggregate.get(), build_, reload);
}

MetricsCollectable::Exposition MetricsCollectable::exposition() const {
  std::lock_guard lock(mutex_);
  return exposition_;
}

}  // namespace thx
