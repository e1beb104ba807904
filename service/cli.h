// The command line. Flags follow exporter conventions (--config.file, --web.listen-address, ...)
// and win over the configuration file.
#pragma once

#include <optional>
#include <string>
#include <vector>

#include "collector/model/snapshot.h"
#include "config/config.h"

namespace thx {

struct CliOptions {
  enum class Command {
    serve,
    version,
    help,
    snapshot,
    once,
    check_config,
    service,
    hash_password,
    metrics
  };
  Command command = Command::serve;

  std::string config_file;      // --config.file; empty: the embedded defaults
  std::string web_config_file;  // --web.config.file: exporter-toolkit YAML; empty: none
  std::optional<std::string> listen_address;  // --web.listen-address
  std::optional<std::string> telemetry_path;  // --web.telemetry-path
  std::optional<std::string> log_level;       // --log.level
  bool enable_lifecycle = false;              // --web.enable-lifecycle: POST /-/reload

  bool json = false;                      // snapshot --json
  std::optional<KindSet> kinds;           // snapshot/once --kinds processes,threads,...
  std::string textfile;                   // once --textfile PATH
  std::string from_snapshot;              // metrics --from-snapshot FILE
  bool print_defaults = false;            // check-config --defaults
  std::vector<std::string> service_args;  // service <verb> [options]: Windows only
  bool run_as_service = false;            // --service: started by the Service Control Manager
};

struct CliParseResult {
  std::optional<CliOptions> options;
  std::string error;  // names the argument that was wrong
};

CliParseResult parse_command_line(const std::vector<std::string>& args);
std::string usage_text();

// The configuration flags as overrides of the file's values (config/config.h).
ConfigOverrides config_overrides(const CliOptions& options);

// The file (or the defaults) with the command-line flags laid over it, then the web
// configuration file (--web.config.file) over its web section, validated once: a flag's value
// passes the same checks as the file's. Errors name the JSON path, the flag, or the web
// configuration file's name, line and key path.
ConfigLoadResult load_effective_config(const CliOptions& options);

// One line a setting, for the landing page and the startup log.
std::string config_summary(const Config& config);

}  // namespace thx
