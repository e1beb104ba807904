#include "collector/aggregate/aggregator.h"

#include <algorithm>
#include <set>
#include <string_view>
#include <unordered_map>
#include <unordered_set>
#include <utility>

namespace thx {
namespace {

using Captures = std::map<std::string, std::string, std::less<>>;

// Runs one matcher; a matcher that is not set matches everything. A match that hit the engine's
// limits counts as no match: hostile input must not decide a group.
bool match_into(const std::optional<Regex>& matcher, std::string_view subject, Captures& captures) {
  if (!matcher) {
    return true;
  }
  Regex::Match match = matcher->search(subject);
  if (match.outcome != Regex::Outcome::matched) {
    return false;
  }
  for (auto& [name, value] : match.named) {
    captures.insert_or_assign(name, std::move(value));
  }
  return true;
}

bool any_matches(const std::vector<Regex>& patterns, std::string_view subject) {
  return std::any_of(patterns.begin(), patterns.end(),
                     [subject](const Regex& pattern) { return pattern.matches(subject); });
}

// A module file's path and name; a Module without a file has empty ones (see Module::path).
std::string_view path_of(const ModuleFile* file) {
  return file != nullptr ? std::string_view(file->path) : std::string_view();
}
std::string_view name_of(const ModuleFile* file) {
  return file != nullptr ? std::string_view(file->name) : std::string_view();
}

// What a cumulative counter grew by since it was last seen, and remember the new value. A first
// observation counts whole (what the process used before it was seen); a value that went back
// (which a counter of one identity never does) counts nothing. A fact not read this time keeps
// the last observation, so the next reading adds the growth of both cycles.
template <typename T>
T growth(std::optional<T>& seen, const std::optional<T>& now) {
  if (!now) {
    return T{};
  }
  const T grown = !seen ? *now : (*now > *seen ? *now - *seen : T{});
  seen = now;
  return grown;
}

void add_to(std::optional<std::uint64_t>& sum, const std::optional<std::uint64_t>& value) {
  if (value) {
    sum = sum.value_or(0) + *value;
  }
}

bool kind_usable(const Snapshot& snapshot, Kind kind) {
  const KindStatus::State state = snapshot.status_of(kind).state;
  return state == KindStatus::State::complete || state == KindStatus::State::partial;
}

}  // namespace

std::string expand_group_template(const std::string& group_template, const Captures& captures,
                                  const Process& process) {
  std::string out;
  out.reserve(group_template.size());
  for (std::size_t i = 0; i < group_template.size(); ++i) {
    const char c = group_template[i];
    const std::size_t close = c == '{' ? group_template.find('}', i) : std::string::npos;
    if (close == std::string::npos) {
      out += c;
      continue;
    }
    const std::string_view key = std::string_view(group_template).substr(i + 1, close - i - 1);
    if (auto it = captures.find(key); it != captures.end()) {
      out += it->second;
    } else if (key == "name") {
      out += process.name;
    } else if (key == "path") {
      out += process.path;
    }
    i = close;
  }
  // An empty label value is the same as no label to Prometheus: `group=""` would merge every
  // such process into a series nobody can select. A template that came out empty (a capture
  // that matched nothing, a process without a path) means the process name.
  if (out.empty()) {
    out = process.name.empty() ? std::string(kUnnamedGroup) : process.name;
  }
  return out;
}

Aggregator::Aggregator(AggregatorSettings settings) : settings_(std::move(settings)) {}

void Aggregator::reconfigure(AggregatorSettings settings) {
  settings_ = std::move(settings);
  module_verdicts_.clear();  // decided under the old include/exclude lists
  // Classify every live process again, but keep identities: new rules are not starts or exits.
  for (auto& [identity, known] : identities_) {
    known.rules_changed = true;
  }
}

std::optional<std::string> Aggregator::classify(const Process& process) const {
  for (const GroupRule& rule : settings_.grouping.rules) {
    Captures captures;
    if (match_into(rule.name, process.name, captures) &&
        match_into(rule.path, process.path, captures) &&
        match_into(rule.command_line, process.command_line, captures)) {
      return expand_group_template(rule.group, captures, process);
    }
  }
  if (process.kernel_thread && !settings_.grouping.kernel_threads_group.empty()) {
    return settings_.grouping.kernel_threads_group;
  }
  if (settings_.grouping.unmatched_group.empty()) {
    return std::nullopt;
  }
  return expand_group_template(settings_.grouping.unmatched_group, {}, process);
}

std::shared_ptr<const Aggregate> Aggregator::update(std::shared_ptr<const Snapshot> snapshot) {
  auto out = std::make_shared<Aggregate>();
  for (Kind kind : kAllKinds) {
    const KindStatus& status = snapshot->status_of(kind);
    for (std::size_t r = 0; r < kErrorReasonCount; ++r) {
      errors_total_.at(static_cast<std::size_t>(kind)).at(r) += status.errors.at(r);
    }
  }
  if (!kind_usable(*snapshot, Kind::processes)) {
    // Keep serving the last good numbers; only the failure counters move.
    if (last_) {
      *out = *last_;
    }
    out->errors_total = errors_total_;
    out->last_status = snapshot->status;
    last_ = out;
    return out;
  }

  ++cycles_;
  const Snapshot& taken = *snapshot;
  out->snapshot = std::move(snapshot);  // the aggregate keeps it for /snapshot
  out->cycles = cycles_;
  out->last_status = taken.status;
  out->last_snapshot_timestamp_seconds = taken.taken_at_seconds;
  count_churn(taken, *out);
  count_usage(taken, *out);
  fill_groups(taken, *out);
  forget_idle_groups(*out);  // after fill_groups: out.groups are the groups with processes now
  fill_cpu_rate(taken, *out);
  fill_modules(taken, *out);
  fill_per_process(taken, *out);
  out->errors_total = errors_total_;
  out->identity_cache_entries = identities_.size();
  seen_first_snapshot_ = true;
  last_ = out;
  return out;
}

// Classifies new identities and re-classifies those whose name or executable changed (an exec
// after fork); counts starts and exits per group. The processes present at the first snapshot
// are not starts: they were running before the exporter.
void Aggregator::count_churn(const Snapshot& snapshot, Aggregate& out) {
  std::set<ProcessIdentity> present;
  for (const Process& process : snapshot.processes) {
    const ProcessIdentity identity = identity_of(process);
    present.insert(identity);
    auto [it, is_new] = identities_.try_emplace(identity);
    Known& known = it->second;
    if (!is_new && !known.rules_changed && known.name == process.name &&
        known.path == process.path) {
      continue;
    }
    std::optional<std::string> group = classify(process);
    auto remember = [&known, &process](std::optional<std::string> new_group) {
      known.group = std::move(new_group);
      known.name = process.name;
      known.path = process.path;
      known.rules_changed = false;  // known.seen stays: the same process, whatever its group
    };
    if (known.rules_changed) {
      if (group) {
        churn_.try_emplace(*group);
      }
      remember(std::move(group));
      continue;
    }
    if (!is_new && group != known.group && known.group) {
      // An exec moved the process to another group: it left the old one and joined the new.
      ++churn_[*known.group].exits_total;
    }
    if (group && (is_new ? seen_first_snapshot_ : group != known.group)) {
      ++churn_[*group].starts_total;
    } else if (group) {
      churn_.try_emplace(*group);  // the counter exists from the group's first appearance
    }
    remember(std::move(group));
  }
  for (auto it = identities_.begin(); it != identities_.end();) {
    if (present.contains(it->first)) {
      ++it;
      continue;
    }
    if (it->second.group) {
      ++churn_[*it->second.group].exits_total;
    }
    it = identities_.erase(it);
  }
  out.churn = churn_;
}

// Adds to each group what its processes used since they were last seen (see GroupUsage).
void Aggregator::count_usage(const Snapshot& snapshot, Aggregate& out) {
  for (const Process& process : snapshot.processes) {
    Known& known = identities_.at(identity_of(process));
    const ProcessResources& now = process.resources;
    const double user = growth(known.seen.cpu_user_seconds, now.cpu_user_seconds);
    const double system = growth(known.seen.cpu_system_seconds, now.cpu_system_seconds);
    const std::uint64_t read = growth(known.seen.io_read_bytes, now.io_read_bytes);
    const std::uint64_t written = growth(known.seen.io_write_bytes, now.io_write_bytes);
    const bool has_cpu = now.cpu_user_seconds.has_value() || now.cpu_system_seconds.has_value();
    const bool has_io = now.io_read_bytes.has_value() || now.io_write_bytes.has_value();
    if (!known.group || (!has_cpu && !has_io)) {
      continue;
    }
    GroupUsage& usage = usage_[*known.group];
    usage.cpu_user_seconds += user;
    usage.cpu_system_seconds += system;
    usage.io_read_bytes += read;
    usage.io_write_bytes += written;
    usage.has_cpu = usage.has_cpu || has_cpu;
    usage.has_io = usage.has_io || has_io;
  }
  out.usage = usage_;
}

// Tracks which counted groups have no processes now, and drops the counters of the longest idle
// beyond kMaxIdleGroups (from the running state and from this cycle's aggregate).
void Aggregator::forget_idle_groups(Aggregate& out) {
  // Every counted group has a churn_ entry (count_churn makes one for each group it assigns), so
  // usage_'s groups are among these.
  for (const auto& entry : churn_) {
    const std::string& group = entry.first;
    const bool is_live = out.groups.contains(group);
    const auto idle = idle_since_.find(group);
    if (is_live && idle != idle_since_.end()) {
      idle_order_.erase({idle->second, group});
      idle_since_.erase(idle);
    } else if (!is_live && idle == idle_since_.end()) {
      idle_since_.emplace(group, cycles_);
      idle_order_.emplace(cycles_, group);
    }
  }
  while (idle_since_.size() > kMaxIdleGroups) {
    const auto oldest = idle_order_.begin();
    const std::string group = oldest->second;
    idle_order_.erase(oldest);
    idle_since_.erase(group);
    churn_.erase(group);
    usage_.erase(group);
    out.churn.erase(group);
    out.usage.erase(group);
    ++groups_forgotten_total_;
  }
  out.groups_forgotten_total = groups_forgotten_total_;
}

// CPU seconds per second of each group between the oldest and the newest of the last
// kRateCycles snapshots.
void Aggregator::fill_cpu_rate(const Snapshot& snapshot, Aggregate& out) {
  std::map<std::string, double> totals;
  for (const auto& [group, usage] : usage_) {
    if (usage.has_cpu) {
      totals.emplace(group, usage.cpu_user_seconds + usage.cpu_system_seconds);
    }
  }
  cpu_history_.emplace_back(snapshot.taken_at_seconds, std::move(totals));
  while (cpu_history_.size() > kRateCycles) {
    cpu_history_.pop_front();
  }
  const auto& [oldest_at, oldest] = cpu_history_.front();
  const auto& [newest_at, newest] = cpu_history_.back();
  const double window = newest_at - oldest_at;
  if (cpu_history_.size() < 2 || window <= 0.0) {
    return;
  }
  out.cpu_rate_window_seconds = window;
  for (const auto& [group, total] : newest) {
    const auto before = oldest.find(group);
    const double then = before != oldest.end() ? before->second : 0.0;
    out.cpu_rate.emplace(group, std::max(0.0, total - then) / window);
  }
}

void Aggregator::fill_groups(const Snapshot& snapshot, Aggregate& out) {
  // Module files by address first: the sources intern them, so the thousands of entries of one
  // file cost a pointer hash each, and its path is compared once per group below.
  std::map<std::string, std::unordered_set<const ModuleFile*>> files_by_group;
  std::uint64_t thread_sum = 0;
  for (const Process& process : snapshot.processes) {
    thread_sum += process.thread_count;
    const std::optional<std::string>& group = identities_.at(identity_of(process)).group;
    if (!group) {
      continue;
    }
    out.group_of_pid.emplace(process.pid, *group);
    GroupStats& stats = out.groups[*group];
    ++stats.processes;
    stats.threads += process.thread_count;
    stats.heaps += process.heaps.size();
    const ProcessResources& resources = process.resources;
    add_to(stats.resident_bytes, resources.resident_bytes);
    add_to(stats.private_bytes, resources.private_bytes);
    add_to(stats.virtual_bytes, resources.virtual_bytes);
    add_to(stats.handles, resources.handles);
    if (process.start_time_ns > 0) {
      const double started = static_cast<double>(process.start_time_ns) / 1e9;
      stats.oldest_start_time_seconds =
          std::min(stats.oldest_start_time_seconds.value_or(started), started);
    }
    auto& files = files_by_group[*group];
    for (const Module& module : process.modules) {
      files.insert(module.file.get());
    }
  }
  for (const auto& [group, files] : files_by_group) {
    std::unordered_set<std::string_view> paths;  // files not interned may share a path
    paths.reserve(files.size());
    for (const ModuleFile* file : files) {
      paths.insert(path_of(file));
    }
    out.groups[group].distinct_modules = paths.size();
  }
  out.processes = snapshot.processes.size();
  // The thread list, when taken, is the authority; otherwise each process's own count.
  out.threads = kind_usable(snapshot, Kind::threads) ? snapshot.threads.size() : thread_sum;
  if (kind_usable(snapshot, Kind::threads)) {
    for (const Thread& thread : snapshot.threads) {
      ++out.threads_by_priority[thread.base_priority];
    }
  }
}

bool Aggregator::path_shown(std::string_view path) const {
  const ModuleInventorySettings& bounds = settings_.modules;
  return (bounds.include.empty() || any_matches(bounds.include, path)) &&
         !any_matches(bounds.exclude, path);
}

bool Aggregator::module_shown(const std::shared_ptr<const ModuleFile>& file) {
  if (settings_.modules.include.empty() && settings_.modules.exclude.empty()) {
    return true;
  }
  if (!file) {
    return path_shown({});
  }
  auto [it, is_new] = module_verdicts_.try_emplace(file.get());
  if (is_new) {
    it->second.file = file;
    it->second.shown = path_shown(file->path);
  }
  it->second.seen_cycle = cycles_;
  return it->second.shown;
}

void Aggregator::fill_modules(const Snapshot& snapshot, Aggregate& out) {
  if (!snapshot.kinds.contains(Kind::modules)) {
    module_verdicts_.clear();
    return;
  }
  struct Count {
    std::string_view name;
    std::uint64_t processes = 0;
  };
  // Counted by file address first (see fill_groups), then merged by path.
  struct FileCount {
    const std::shared_ptr<const ModuleFile>* file = nullptr;
    std::uint64_t processes = 0;
  };
  std::unordered_map<const ModuleFile*, FileCount> by_file;
  for (const Process& process : snapshot.processes) {
    if (!process.modules_read) {
      ++out.processes_modules_unread;
      continue;
    }
    for (const Module& module : process.modules) {
      FileCount& count = by_file[module.file.get()];
      count.file = &module.file;
      ++count.processes;
    }
  }
  std::unordered_map<std::string_view, Count> by_path;
  by_path.reserve(by_file.size());
  for (const auto& [file, count] : by_file) {
    if (!module_shown(*count.file)) {
      continue;
    }
    Count& merged = by_path[path_of(file)];
    merged.name = name_of(file);
    merged.processes += count.processes;
  }
  // Verdicts of files no process loads any more go with them.
  std::erase_if(module_verdicts_,
                [this](const auto& item) { return item.second.seen_cycle != cycles_; });
  for (const auto& [path, count] : by_path) {
    out.modules.push_back({std::string(count.name), std::string(path), count.processes});
  }
  const ModuleInventorySettings& bounds = settings_.modules;
  // Most widely loaded first, so the bound keeps what a fleet query is most likely to ask about.
  std::sort(out.modules.begin(), out.modules.end(), [](const auto& a, const auto& b) {
    return a.processes != b.processes ? a.processes > b.processes : a.path < b.path;
  });
  if (out.modules.size() > bounds.max_series) {
    out.module_series_dropped = out.modules.size() - bounds.max_series;
    out.modules.resize(bounds.max_series);
  }
}

void Aggregator::fill_per_process(const Snapshot& snapshot, Aggregate& out) {
  const PerProcessSettings& config = settings_.per_process;
  if (config.include.empty()) {
    return;
  }
  for (const Process& process : snapshot.processes) {
    if (!any_matches(config.include, process.name)) {
      continue;
    }
    if (out.per_process.size() >= config.max_series) {
      ++out.per_process_series_dropped;
      continue;
    }
    const std::optional<std::string>& group = identities_.at(identity_of(process)).group;
    out.per_process.push_back({process.pid, process.name, group.value_or(""), process.thread_count,
                               process.modules.size(),
                               static_cast<double>(process.start_time_ns) / 1e9,
                               process.resources});
  }
}

bool GroupingSettings::uses_command_line() const {
  return std::any_of(rules.begin(), rules.end(),
                     [](const GroupRule& rule) { return rule.command_line.has_value(); });
}

}  // namespace thx
