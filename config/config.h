// The configuration value: everything the service can be told, with embedded defaults so it runs
// with no file at all. Loading validates everything and names each error by its JSON path.
#pragma once

#include <chrono>
#include <cstddef>
#include <filesystem>
#include <map>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "collector/snapshot.h"
#include "config/regex.h"

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

struct GroupingConfig {
  std::vector<GroupRule> rules;  // first match wins
  // Template for processes no rule matched; empty: leave them out of the groups.
  std::string unmatched_group = "{name}";
  [[nodiscard]] bool uses_command_line() const;
};

struct ModuleInventoryConfig {
  std::vector<Regex> include;  // on the module path; empty: everything
  std::vector<Regex> exclude;  // on the module path; wins over include
  std::size_t max_series = 2000;
};

// Per-process series (pid and name labels) only for processes named here: opt-in and bounded.
struct PerProcessConfig {
  std::vector<Regex> include;  // on the process name
  std::size_t max_series = 50;
};

struct WebConfig {
  std::string listen_address = ":9835";  // host:port; an empty host means every interface
  std::string telemetry_path = "/metrics";
  bool enable_lifecycle = false;                        // POST /-/reload
  std::vector<std::string> allowed_networks;            // CIDR; empty: everyone
  std::map<std::string, std::string> basic_auth_users;  // user -> salted hash (see exporter/)
  std::size_t max_connections = 8;                      // HTTP worker threads
  std::chrono::milliseconds request_timeout{10'000};
  std::string tls_cert_file;  // both set: serve HTTPS (Linux only)
  std::string tls_key_file;
  std::string tls_min_version = "TLS1.2";  // "TLS1.2" or "TLS1.3"

  bool operator==(const WebConfig&) const = default;
};

struct CollectionConfig {
  std::chrono::milliseconds interval{15'000};
  std::chrono::milliseconds module_interval{300'000};
  KindSet kinds{Kind::processes, Kind::threads, Kind::modules};
  bool thread_detail = false;
  std::size_t max_heap_blocks_per_process = 10'000;
};

struct LogConfig {
  std::string level = "info";  // trace, debug, info, warn, error, critical, off
  std::string file;            // empty: no log file (the Windows service defaults one)
  std::size_t file_max_bytes = std::size_t{10} * 1024 * 1024;
  std::size_t file_max_files = 3;
};

struct Config {
  WebConfig web;
  CollectionConfig collection;
  GroupingConfig grouping;
  ModuleInventoryConfig modules;
  PerProcessConfig per_process;
  LogConfig log;
};

struct ConfigError {
  std::string path;     // JSON path: $.groups.rules[2].name, or the file name for I/O errors
  std::string message;  // what was wrong and what was expected
};

struct ConfigLoadResult {
  std::optional<Config> config;     // set only when errors is empty
  std::vector<ConfigError> errors;  // every error found, not just the first
};

// The embedded defaults, as JSON text (also what `toolhelp_exporter check-config --defaults`
// prints).
std::string_view default_config_json();

// Parses and validates JSON text. `source` names it in messages (a file name).
ConfigLoadResult load_config_text(std::string_view text, std::string_view source = "<config>");
ConfigLoadResult load_config_file(const std::filesystem::path& file);

// A path from UTF-8 text (command-line arguments are UTF-8 on both platforms; a plain
// std::string would be read in the ANSI code page on Windows).
std::filesystem::path path_from_utf8(std::string_view text);

// "15s", "100ms", "5m", "1h" -> milliseconds; nullopt when malformed.
std::optional<std::chrono::milliseconds> parse_duration(std::string_view text);

}  // namespace thx
