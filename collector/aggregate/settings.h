// What the aggregation is told: grouping rules, the module inventory's bounds, the opt-in
// per-process series. Owned here; config/ reads JSON into these types.
#pragma once

#include <cstddef>
#include <optional>
#include <string>
#include <vector>

#include "collector/aggregate/regex.h"

namespace thx {

// A rule puts the processes it matches into a group. Every matcher that is set must match (a rule
// with none matches everything). The group name is a template: `{capture}` is a named capture of
// any of the rule's matchers; `{name}` and `{path}` are the process name and executable path when
// no capture has that name.
struct GroupRule {
  std::string group;  // the template
  std::optional<Regex> name;
  std::optional<Regex> path;
  std::optional<Regex> command_line;
};

struct GroupingSettings {
  std::vector<GroupRule> rules;  // first match wins
  // Template for processes no rule matched; empty: leave them out of the groups.
  std::string unmatched_group = "{name}";
  // Where Linux kernel threads go when no rule matched them (a rule naming them still wins);
  // empty: like any other unmatched process.
  std::string kernel_threads_group = "kernel";
  [[nodiscard]] bool uses_command_line() const;
};

struct ModuleInventorySettings {
  std::vector<Regex> include;  // on the module path; empty: everything
  std::vector<Regex> exclude;  // on the module path; wins over include
  std::size_t max_series = 2000;
};

// Per-process series (pid and name labels) only for processes named here: opt-in and bounded.
struct PerProcessSettings {
  std::vector<Regex> include;  // on the process name
  std::size_t max_series = 50;
};

struct AggregatorSettings {
  GroupingSettings grouping;
  ModuleInventorySettings modules;
  PerProcessSettings per_process;
};

}  // namespace thx
