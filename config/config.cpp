// Loading the configuration: JSON text (plus the command-line overrides) -> a validated Config.
// Reading and checking happen in one pass that never stops at the first problem, so a user fixes
// every mistake in one round; each error names its JSON path ($.groups.rules[2].name), or the
// flag that set the value, and what was expected.
#include "config/config.h"

#include "config/file_text.h"

#include <array>
#include <cerrno>
#include <fstream>
#include <system_error>
#include <utility>

#include "config/json_reader.h"
#include "config/sections.h"

namespace thx {
namespace {

using config_json::Json;
using config_json::Reader;

constexpr std::size_t kMaxConfigBytes = std::size_t{16} * 1024 * 1024;

// The defaults, written out. A test loads this text and compares it with Config{} field by field.
constexpr std::string_view kDefaultConfigJson = R"({
  "web": {
    "listen_address": ":9835",
    "telemetry_path": "/metrics",
    "enable_lifecycle": false,
    "allowed_networks": [],
    "basic_auth_users": {},
    "max_connections": 64,
    "max_connections_per_client": 8,
    "request_timeout": "10s",
    "idle_timeout": "2m",
    "enable_snapshot": true,
    "snapshot_command_lines": false,
    "tls_cert_file": "",
    "tls_key_file": "",
    "tls_min_version": "TLS1.2",
    "tls_max_version": "TLS1.3",
    "tls_client_auth_type": "NoClientCert",
    "tls_client_ca_file": ""
  },
  "collection": {
    "interval": "15s",
    "module_interval": "5m",
    "kinds": ["processes", "threads", "modules", "resources"],
    "resources": {"private_memory": true, "handles": true, "io": true},
    "thread_detail": false,
    "max_heap_blocks_per_process": 10000
  },
  "groups": {
    "rules": [],
    "unmatched_group": "{name}",
    "kernel_threads": "kernel"
  },
  "modules": {
    "include": [],
    "exclude": [],
    "max_series": 2000
  },
  "per_process": {
    "include": [],
    "max_series": 50
  },
  "log": {
    "level": "info",
    "file": "",
    "file_max_bytes": 10485760,
    "file_max_files": 3
  }
}
)";

// Lays each override over the parsed document, creating the objects on its way; where the
// document has something else than an object on the way, the section reports that and the
// override has nowhere to go. Returns the JSON path of each override, in order.
std::vector<std::string> apply(const ConfigOverrides& overrides, Json& document) {
  std::vector<std::string> paths;
  for (const ConfigOverride& override : overrides) {
    std::string path = "$";
    Json* node = &document;
    for (const std::string& key : override.keys) {
      path = config_json::child_path(path, key);
      if (node != nullptr && node->is_object()) {
        node = &(*node)[key];
        if (&key != &override.keys.back() && node->is_null()) {
          *node = Json::object();
        }
      } else {
        node = nullptr;
      }
    }
    if (node != nullptr) {
      std::visit([node](const auto& value) { *node = value; }, override.value);
    }
    paths.push_back(std::move(path));
  }
  return paths;
}

// An error at an overridden value (or inside it) is the flag's: "--web.listen-address: ...".
void name_flags(const ConfigOverrides& overrides, const std::vector<std::string>& paths,
                std::vector<ConfigError>& errors) {
  for (ConfigError& error : errors) {
    for (std::size_t i = 0; i < overrides.size(); ++i) {
      const std::string& path = paths[i];
      if (error.path.starts_with(path) &&
          (error.path.size() == path.size() || error.path[path.size()] == '[' ||
           error.path[path.size()] == '.')) {
        error.path = overrides[i].flag + error.path.substr(path.size());
      }
    }
  }
}

}  // namespace

namespace config_json {

void read_config(Reader& reader, const Json& root, Config& config) {
  Fields top(reader, root, "$", {"web", "collection", "groups", "modules", "per_process", "log"});
  if (const Json* web = top.find("web")) {
    read_web(reader, *web, top.path("web"), config.web);
  }
  if (const Json* collection = top.find("collection")) {
    read_collection(reader, *collection, top.path("collection"), config.collection);
  }
  if (const Json* groups = top.find("groups")) {
    read_groups(reader, *groups, top.path("groups"), config.grouping);
  }
  if (const Json* modules = top.find("modules")) {
    read_modules(reader, *modules, top.path("modules"), config.modules);
  }
  if (const Json* per_process = top.find("per_process")) {
    read_per_process(reader, *per_process, top.path("per_process"), config.per_process);
  }
  if (const Json* log = top.find("log")) {
    read_log(reader, *log, top.path("log"), config.log);
  }
}

}  // namespace config_json

std::string_view default_config_json() {
  return kDefaultConfigJson;
}

ConfigLoadResult load_config_text(std::string_view text, std::string_view source,
                                  const ConfigOverrides& overrides) {
  Reader reader;
  ConfigLoadResult result;
  if (auto document = config_json::parse(text, source, reader)) {
    const std::vector<std::string> paths = apply(overrides, *document);
    Config config;
    config_json::read_config(reader, *document, config);
    if (reader.error_count() == 0) {
      result.config = std::move(config);
    }
    result.errors = reader.take_errors();
    name_flags(overrides, paths, result.errors);
    return result;
  }
  result.errors = reader.take_errors();
  return result;
}

ConfigLoadResult load_config_file(const std::filesystem::path& file,
                                  const ConfigOverrides& overrides) {
  std::string problem;
  auto text =
      read_file_text(file, kMaxConfigBytes,
                     "it is larger than 16 MiB, far more than any configuration needs", problem);
  if (!text) {
    return {std::nullopt, {{utf8_name(file), "cannot read the configuration file: " + problem}}};
  }
  return load_config_text(*text, utf8_name(file), overrides);
}

std::string config_error_line(const ConfigError& error, std::string_view file) {
  std::string line;
  // Only the JSON file's own errors (a JSON path, or a flag laid over the file) get its name:
  // a syntax or I/O error's path already is the name, and the web configuration file's errors
  // name their own file ("web.yml:3: basic_auth_users.bob").
  if (!file.empty() && (error.path.starts_with('$') || error.path.starts_with("--"))) {
    line.append(file).append(": ");
  }
  return line.append(error.path).append(": ").append(error.message);
}

std::filesystem::path path_from_utf8(std::string_view text) {
  const std::u8string utf8(text.begin(), text.end());
  return std::filesystem::path(utf8);
}

}  // namespace thx
