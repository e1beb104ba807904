// Snapshot -> Aggregate: process and thread counts per group, the module inventory, process churn
// and the exporter's own collection health. Pure computation over values: no OS calls, so the
// same code serves both platforms and replayed snapshots.
#pragma once

#include <array>
#include <cstdint>
#include <deque>
#include <map>
#include <memory>
#include <optional>
#include <set>
#include <string>
#include <string_view>
#include <unordered_map>
#include <vector>

#include "collector/aggregate/settings.h"
#include "collector/model/snapshot.h"

namespace thx {

struct GroupStats {
  std::uint64_t processes = 0;
  std::uint64_t threads = 0;
  std::uint64_t distinct_modules = 0;  // distinct module paths loaded by the group's processes
  std::uint64_t heaps = 0;
  // Sums over the group's live processes of the resource facts that were read (Kind::resources);
  // empty when no process of the group gave the fact.
  std::optional<std::uint64_t> resident_bytes;
  std::optional<std::uint64_t> private_bytes;
  std::optional<std::uint64_t> virtual_bytes;
  std::optional<std::uint64_t> handles;
  std::optional<double> oldest_start_time_seconds;  // Unix time of the group's oldest process
};

// What a group's processes used while the exporter watched them (plus, for a process first seen,
// what it had used before). Grows by what each process identity used between two observations:
// never goes back. A process that exits keeps what it used up to its last observation; one that
// moves to another group (an exec, a reload) takes only its later use there.
struct GroupUsage {
  double cpu_user_seconds = 0.0;
  double cpu_system_seconds = 0.0;
  std::uint64_t io_read_bytes = 0;
  std::uint64_t io_write_bytes = 0;
  bool has_cpu = false;  // some process of the group ever gave its CPU times
  bool has_io = false;   // ... its I/O counters
};

struct GroupChurn {
  std::uint64_t starts_total = 0;  // identities (pid, start time) first seen in this group
  std::uint64_t exits_total = 0;   // identities of this group that disappeared
};

struct ModuleSeries {
  std::string module;  // base name
  std::string path;
  std::uint64_t processes = 0;
};

struct ProcessSeries {
  std::uint32_t pid = 0;
  std::string name;
  std::string group;
  std::uint64_t threads = 0;
  std::uint64_t modules = 0;
  double start_time_seconds = 0.0;
  ProcessResources resources;
};

struct Aggregate {
  std::shared_ptr<const Snapshot> snapshot;  // the snapshot this was computed from
  std::uint64_t cycles = 0;                  // snapshots aggregated since start

  std::uint64_t processes = 0;
  std::uint64_t threads = 0;
  std::map<std::string, GroupStats> groups;  // only groups with processes now
  // Every group seen (counters never go back), but of the groups with no processes now only the
  // Aggregator::kMaxIdleGroups most recently busy: see groups_forgotten_total.
  std::map<std::string, GroupChurn> churn;
  std::map<std::string, GroupUsage> usage;  // the groups above that ever gave a CPU or I/O reading
  // CPU seconds per second of each group over the last cycles (up to Aggregator::kRateCycles
  // snapshots): what the landing page ranks. Empty until two snapshots were aggregated.
  std::map<std::string, double> cpu_rate;
  double cpu_rate_window_seconds = 0.0;
  std::map<std::int32_t, std::uint64_t> threads_by_priority;  // base priority -> threads
  std::map<std::uint32_t, std::string> group_of_pid;          // for /snapshot?group=

  std::vector<ModuleSeries> modules;           // the bounded inventory, most-loaded first
  std::uint64_t module_series_dropped = 0;     // series the bounds (max_series) left out
  std::uint64_t processes_modules_unread = 0;  // processes whose modules could not be read

  std::vector<ProcessSeries> per_process;  // opt-in processes only
  std::uint64_t per_process_series_dropped = 0;

  // Failures by kind and reason since start (counters), and the last snapshot's status per kind.
  std::array<std::array<std::uint64_t, kErrorReasonCount>, kKindCount> errors_total{};
  std::array<KindStatus, kKindCount> last_status{};
  double last_snapshot_timestamp_seconds = 0.0;
  std::uint64_t identity_cache_entries = 0;
  // Idle groups (no processes) whose counters were dropped to stay within kMaxIdleGroups.
  std::uint64_t groups_forgotten_total = 0;
};

class Aggregator {
 public:
  explicit Aggregator(AggregatorSettings settings);

  // Folds one snapshot into the running state and returns the new immutable aggregate. A snapshot
  // whose process list failed entirely changes only the error counters: a failed read is not a
  // mass exit.
  std::shared_ptr<const Aggregate> update(std::shared_ptr<const Snapshot> snapshot);

  // New rules (a reload): every live process is classified again on the next update; counters
  // are kept.
  void reconfigure(AggregatorSettings settings);

  // The group a process belongs to under the current rules; nullopt when it is left out.
  [[nodiscard]] std::optional<std::string> classify(const Process& process) const;

  // Snapshots the landing page's CPU rate spans.
  static constexpr std::size_t kRateCycles = 5;
  // A group whose processes are gone keeps its counters (an idle service's CPU and exits must not
  // vanish), but only this many such groups: the default group is the process name, which any
  // local user sets at will, and a stream of new names would otherwise grow the memory and the
  // series without end. Beyond it the group idle the longest is forgotten first.
  static constexpr std::size_t kMaxIdleGroups = 1000;

  [[nodiscard]] std::size_t identity_cache_size() const { return identities_.size(); }
  // Module files whose inventory verdict is cached (those seen in the last snapshot).
  [[nodiscard]] std::size_t module_verdicts_cached() const { return module_verdicts_.size(); }

 private:
  struct Known {
    std::optional<std::string> group;
    std::string name;  // what the classification was based on: a change means an exec
    std::string path;
    bool rules_changed = false;  // set by reconfigure(): classify again without counting churn
    // The cumulative counters (CPU, I/O) as last observed: the next observation adds only what
    // grew since. Kept across an exec and a reload: the identity is the same process.
    ProcessResources seen;
  };

  // Whether the module inventory shows this file under the current rules. Decided once per
  // file and configuration: the sources intern one ModuleFile per path, so a cycle matches only
  // the files it has not seen before against modules.include/exclude.
  struct ModuleVerdict {
    std::shared_ptr<const ModuleFile> file;  // keeps the address from being reused while cached
    bool shown = false;
    std::uint64_t seen_cycle = 0;
  };
  [[nodiscard]] bool path_shown(std::string_view path) const;
  bool module_shown(const std::shared_ptr<const ModuleFile>& file);

  void count_churn(const Snapshot& snapshot, Aggregate& out);
  void count_usage(const Snapshot& snapshot, Aggregate& out);
  void forget_idle_groups(Aggregate& out);
  void fill_cpu_rate(const Snapshot& snapshot, Aggregate& out);
  void fill_groups(const Snapshot& snapshot, Aggregate& out);
  void fill_modules(const Snapshot& snapshot, Aggregate& out);
  void fill_per_process(const Snapshot& snapshot, Aggregate& out);

  AggregatorSettings settings_;
  std::map<ProcessIdentity, Known> identities_;  // live processes only: bounded by the machine
  std::map<std::string, GroupChurn> churn_;
  std::map<std::string, GroupUsage> usage_;
  // Groups of churn_ and usage_ without processes now: since which cycle, and in that order.
  std::map<std::string, std::uint64_t, std::less<>> idle_since_;
  std::set<std::pair<std::uint64_t, std::string>> idle_order_;
  std::uint64_t groups_forgotten_total_ = 0;
  // (snapshot time, CPU seconds per group) of the last kRateCycles snapshots.
  std::deque<std::pair<double, std::map<std::string, double>>> cpu_history_;
  std::unordered_map<const ModuleFile*, ModuleVerdict> module_verdicts_;  // files of this cycle
  std::array<std::array<std::uint64_t, kErrorReasonCount>, kKindCount> errors_total_{};
  std::uint64_t cycles_ = 0;
  bool seen_first_snapshot_ = false;
  std::shared_ptr<const Aggregate> last_;
};

// The group of a process whose template expanded to nothing and whose name is empty too (on
// Linux a process can set its name to "").
inline constexpr std::string_view kUnnamedGroup = "unnamed";

// Expands a group template: `{capture}` from `captures`, else `{name}` / `{path}` of the process.
// Never empty: an empty result falls back to the process name (then to kUnnamedGroup).
std::string expand_group_template(const std::string& group_template,
                                  const std::map<std::string, std::string, std::less<>>& captures,
                                  const Process& process);

}  // namespace thx
