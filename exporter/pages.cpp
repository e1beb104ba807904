#include "exporter/pages.h"

#include <algorithm>
#include <array>
#include <charconv>
#include <cstdio>
#include <ctime>
#include <sstream>
#include <vector>

#include "collector/model/snapshot_json.h"
#include "exporter/routes.h"

namespace thx {
namespace {

double now_seconds() {
  using namespace std::chrono;
  return duration<double>(system_clock::now().time_since_epoch()).count();
}

std::string html_escape(std::string_view text) {
  std::string out;
  out.reserve(text.size());
  for (char c : text) {
    switch (c) {
      case '&':
        out += "&amp;";
        break;
      case '<':
        out += "&lt;";
        break;
      case '>':
        out += "&gt;";
        break;
      case '"':
        out += "&quot;";
        break;
      default:
        out += c;
    }
  }
  return out;
}

// "512.0 MiB": bytes for a person to read at a glance.
std::string human_bytes(std::uint64_t bytes) {
  constexpr std::array<const char*, 5> kUnits = {"B", "KiB", "MiB", "GiB", "TiB"};
  auto value = static_cast<double>(bytes);
  std::size_t unit = 0;
  while (value >= 1024.0 && unit + 1 < kUnits.size()) {
    value /= 1024.0;
    ++unit;
  }
  std::array<char, 32> text{};
  // The buffer fits every value a double can print here; a cut text would still end in '\0'.
  static_cast<void>(std::snprintf(text.data(), text.size(), unit == 0 ? "%.0f %s" : "%.1f %s",
                                  value, kUnits.at(unit)));
  return text.data();
}

std::string fixed(double value, int decimals) {
  std::array<char, 32> text{};
  static_cast<void>(std::snprintf(text.data(), text.size(), "%.*f", decimals, value));
  return text.data();
}

constexpr std::size_t kTopGroups = 10;

// The groups that used the most CPU over the last cycles and those holding the most memory now:
// what an administrator on the host wants to know first, without Grafana.
void top_groups(std::ostringstream& html, const Aggregate& aggregate) {
  std::vector<std::pair<double, const std::string*>> by_cpu;
  for (const auto& [group, rate] : aggregate.cpu_rate) {
    by_cpu.emplace_back(rate, &group);
  }
  std::vector<std::pair<std::uint64_t, const std::string*>> by_memory;
  for (const auto& [group, stats] : aggregate.groups) {
    if (stats.resident_bytes) {
      by_memory.emplace_back(*stats.resident_bytes, &group);
    }
  }
  auto by_value = [](const auto& a, const auto& b) {
    return a.first != b.first ? a.first > b.first : *a.second < *b.second;
  };
  std::sort(by_cpu.begin(), by_cpu.end(), by_value);
  std::sort(by_memory.begin(), by_memory.end(), by_value);
  auto processes_of = [&aggregate](const std::string& group) -> std::uint64_t {
    const auto it = aggregate.groups.find(group);
    return it == aggregate.groups.end() ? 0 : it->second.processes;
  };
  html << "<h2>Top groups by CPU</h2>";
  if (by_cpu.empty()) {
    html << "<p id=\"top-cpu-empty\">No CPU readings over two snapshots yet.</p>";
  } else {
    html << "<p>CPU seconds per second over the last "
         << fixed(aggregate.cpu_rate_window_seconds, 0)
         << " s</p><table id=\"top-cpu\" border=\"1\"><tr><th>group</th><th>CPU "
            "(cores)</th><th>processes</th></tr>";
    for (std::size_t i = 0; i < std::min(kTopGroups, by_cpu.size()); ++i) {
      const std::string& group = *by_cpu[i].second;
      html << "<tr><td>" << html_escape(group) << "</td><td>" << fixed(by_cpu[i].first, 3)
           << "</td><td>" << processes_of(group) << "</td></tr>";
    }
    html << "</table>";
  }
  html << "<h2>Top groups by memory</h2>";
  if (by_memory.empty()) {
    html << "<p id=\"top-memory-empty\">No memory readings yet.</p>";
  } else {
    html << "<table id=\"top-memory\" border=\"1\"><tr><th>group</th><th>resident</th>"
            "<th>private</th><th>processes</th></tr>";
    for (std::size_t i = 0; i < std::min(kTopGroups, by_memory.size()); ++i) {
      const std::string& group = *by_memory[i].second;
      const GroupStats& stats = aggregate.groups.at(group);
      html << "<tr><td>" << html_escape(group) << "</td><td>" << human_bytes(by_memory[i].first)
           << "</td><td>"
           << (stats.private_bytes ? human_bytes(*stats.private_bytes) : std::string("-"))
           << "</td><td>" << stats.processes << "</td></tr>";
    }
    html << "</table>";
  }
}

HttpResponse bad_request(const std::string& message) {
  return {400, "text/plain; charset=utf-8", message + "\n"};
}

}  // namespace

HttpResponse metrics_page(const MetricsCollectable& metrics) {
  HttpResponse response{200, "text/plain; version=0.0.4; charset=utf-8", {}, {}};
  auto exposition = metrics.exposition();
  response.shared_body = std::move(exposition.text);
  response.shared_gzip = std::move(exposition.gzip);
  return response;
}

HttpResponse landing_page(const PageContext& context) {
  const auto aggregate = context.metrics->latest();
  const BuildInfo& build = context.metrics->build();
  std::ostringstream html;
  html << "<!DOCTYPE html><html><head><meta charset=\"utf-8\"><title>toolhelp_exporter</title>"
       << "</head><body><h1>toolhelp_exporter</h1>"
       << "<p>Version " << html_escape(build.version) << " (" << html_escape(build.revision)
       << "), " << html_escape(build.platform) << "</p><ul>"
       << "<li><a href=\"" << html_escape(context.telemetry_path) << "\">Metrics</a></li>"
       << (context.enable_snapshot ? "<li><a href=\"" + std::string(routes::kSnapshot) +
                                         "\">Latest snapshot (JSON)</a></li>"
                                   : std::string())
       << "<li><a href=\"" << routes::kHealth << "\">Health</a></li></ul>";
  if (aggregate && aggregate->snapshot) {
    html << "<h2>Last snapshot</h2><p>" << aggregate->processes << " processes, "
         << aggregate->threads << " threads, " << aggregate->groups.size() << " groups, "
         << aggregate->modules.size() << " module series</p><table border=\"1\">"
         << "<tr><th>kind</th><th>state</th><th>seconds</th><th>errors</th></tr>";
    for (Kind kind : kAllKinds) {
      const KindStatus& status = aggregate->last_status.at(static_cast<std::size_t>(kind));
      if (status.state == KindStatus::State::not_requested) {
        continue;
      }
      html << "<tr><td>" << to_string(kind) << "</td><td>" << to_string(status.state) << "</td><td>"
           << status.duration_seconds << "</td><td>";
      for (ErrorReason reason : kAllErrorReasons) {
        if (status.error_count(reason) > 0) {
          html << to_string(reason) << "=" << status.error_count(reason) << " ";
        }
      }
      html << "</td></tr>";
    }
    html << "</table>";
    top_groups(html, *aggregate);
  } else {
    html << "<p>No snapshot yet.</p>";
  }
  html << "<h2>Configuration</h2><pre>" << html_escape(context.config_summary)
       << "</pre></body></html>\n";
  return {200, "text/html; charset=utf-8", html.str()};
}

namespace {

// A copy of the snapshot with only the asked-for processes and kinds.
Snapshot filter_snapshot(const Aggregate& aggregate, std::optional<std::uint32_t> pid,
                         const std::optional<std::string>& group, std::optional<Kind> kind) {
  const Snapshot& full = *aggregate.snapshot;
  Snapshot out;
  out.platform = full.platform;
  out.taken_at_seconds = full.taken_at_seconds;
  out.kinds = full.kinds;
  out.status = full.status;
  auto wanted = [&](std::uint32_t candidate) {
    if (pid && candidate != *pid) {
      return false;
    }
    if (group) {
      auto it = aggregate.group_of_pid.find(candidate);
      return it != aggregate.group_of_pid.end() && it->second == *group;
    }
    return true;
  };
  for (const Process& process : full.processes) {
    if (wanted(process.pid)) {
      out.processes.push_back(process);
      if (kind && *kind != Kind::modules) {
        out.processes.back().modules.clear();
      }
      if (kind && *kind != Kind::heaps && *kind != Kind::heap_blocks) {
        out.processes.back().heaps.clear();
      }
    }
  }
  if (!kind || *kind == Kind::threads) {
    for (const Thread& thread : full.threads) {
      if (wanted(thread.owner_pid)) {
        out.threads.push_back(thread);
      }
    }
  }
  for (const Process& process : out.processes) {
    for (const Module& module : process.modules) {
      if (auto it = full.module_versions.find(module.path()); it != full.module_versions.end()) {
        out.module_versions.insert(*it);
      }
    }
  }
  return out;
}

}  // namespace

HttpResponse snapshot_page(const PageContext& context, const HttpRequest& request) {
  if (!context.enable_snapshot) {
    return {404, "text/plain; charset=utf-8", "not found (web.enable_snapshot is off)\n"};
  }
  const auto aggregate = context.metrics->latest();
  if (!aggregate || !aggregate->snapshot) {
    return {503, "text/plain; charset=utf-8", "no snapshot yet\n"};
  }
  std::optional<std::uint32_t> pid;
  std::optional<std::string> group;
  std::optional<Kind> kind;
  if (auto it = request.query.find("pid"); it != request.query.end()) {
    std::uint32_t value = 0;
    const char* end = it->second.data() + it->second.size();
    const auto result = std::from_chars(it->second.data(), end, value);
    if (result.ec != std::errc() || result.ptr != end) {
      return bad_request("pid: expected a process id, got \"" + it->second + "\"");
    }
    pid = value;
  }
  if (auto it = request.query.find("kind"); it != request.query.end()) {
    kind = kind_from_string(it->second);
    if (!kind) {
      return bad_request("kind: expected processes, threads, modules or heaps, got \"" +
                         it->second + "\"");
    }
  }
  if (auto it = request.query.find("group"); it != request.query.end()) {
    group = it->second;
  }
  Snapshot filtered = filter_snapshot(*aggregate, pid, group, kind);
  if (!context.snapshot_command_lines) {
    for (Process& process : filtered.processes) {
      process.command_line.clear();
    }
  }
  return {200, "application/json", snapshot_to_json(filtered).dump(1) + "\n"};
}

HttpResponse health_page(const PageContext& context) {
  const auto aggregate = context.metrics->latest();
  const double max_age = 3.0 * std::chrono::duration<double>(context.interval).count();
  if (!aggregate || aggregate->last_snapshot_timestamp_seconds == 0.0) {
    return {503, "text/plain; charset=utf-8", "no snapshot yet\n"};
  }
  const double age = now_seconds() - aggregate->last_snapshot_timestamp_seconds;
  if (age > max_age) {
    return {503, "text/plain; charset=utf-8",
            "last snapshot is " + std::to_string(age) + " s old (limit " + std::to_string(max_age) +
                " s)\n"};
  }
  return {200, "text/plain; charset=utf-8", "ok\n"};
}

}  // namespace thx
