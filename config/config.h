// The configuration value: everything the service can be told, with embedded defaults so it runs
// with no file at all. Each section is a settings type its consumer owns; this library only reads
// JSON into them. Loading validates everything and names each error by its JSON path.
//
// Inside: config/json_reader.h (parsing, JSON paths, typed reads), config/validators.h (one
// function a rule, also used by the command line's neighbours), config/sections.h (one reader a
// section).
#pragma once

#include <chrono>
#include <cstddef>
#include <filesystem>
#include <map>
#include <optional>
#include <string>
#include <string_view>
#include <variant>
#include <vector>

#include "collector/aggregate/settings.h"
#include "collector/model/source.h"
#include "config/validators.h"
#include "exporter/web_settings.h"
#include "service/settings.h"

namespace thx {

struct Config {
  WebSettings web;
  CollectionSettings collection;
  GroupingSettings grouping;
  ModuleInventorySettings modules;
  PerProcessSettings per_process;
  LogSettings log;
};

struct ConfigError {
  std::string path;     // JSON path ($.groups.rules[2].name), a flag (--web.listen-address), or the
                        // file name for I/O and syntax errors
  std::string message;  // what was wrong and what was expected
};

struct ConfigLoadResult {
  std::optional<Config> config;     // set only when errors is empty
  std::vector<ConfigError> errors;  // every error found, not just the first
};

// The embedded defaults, as JSON text (also what `toolhelp_exporter check-config --defaults`
// prints).
std::string_view default_config_json();

// A value given on the command line instead of the file's. It is laid over the parsed document
// before the document is read, so it passes exactly the checks the file's value would; errors at
// its path (or inside it) are reported under `flag` instead of the JSON path.
struct ConfigOverride {
  std::string flag;               // "--web.listen-address"
  std::vector<std::string> keys;  // {"web", "listen_address"}
  std::variant<bool, std::string, std::vector<std::string>> value;
};
using ConfigOverrides = std::vector<ConfigOverride>;

// Parses, overlays and validates JSON text. `source` names it in messages (a file name).
ConfigLoadResult load_config_text(std::string_view text, std::string_view source = "<config>",
                                  const ConfigOverrides& overrides = {});
ConfigLoadResult load_config_file(const std::filesystem::path& file,
                                  const ConfigOverrides& overrides = {});

// An error as one line of text for a person, naming `file` once: "FILE: $.log.level: ..." for
// an error inside the file, "FILE: invalid JSON at ..." for one of the file itself (a syntax or
// I/O error, whose path is already the file's name); "PATH: ..." when `file` is empty.
std::string config_error_line(const ConfigError& error, std::string_view file);
// --web.config.file: the exporter-toolkit web configuration (YAML: tls_server_config,
// http_server_config, basic_auth_users) laid over `result`, the JSON configuration as loaded.
// Setting the same thing in both is an error naming both; `json_source` names the JSON file in
// that message. Errors are added to `result` (its config is dropped then) with the path
// "FILE:LINE: key.path"; what the toolkit offers and this exporter does not is refused by name.
// Relative file names inside are relative to the web configuration's folder, as in the toolkit.
void apply_web_config_file(const std::filesystem::path& file, std::string_view json_source,
                           ConfigLoadResult& result);
// The same from text: `source` names it, `base_dir` anchors relative file names.
void apply_web_config_text(std::string_view text, std::string_view source,
                           const std::filesystem::path& base_dir, std::string_view json_source,
                           ConfigLoadResult& result);

// A path from UTF-8 text (command-line arguments are UTF-8 on both platforms; a plain
// std::string would be read in the ANSI code page on Windows).
std::filesystem::path path_from_utf8(std::string_view text);

}  // namespace thx
