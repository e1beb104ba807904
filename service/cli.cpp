#include "service/cli.h"

#include <sstream>
#include <string_view>

#include "exporter/openssl/delay_load.h"

namespace thx {
namespace {

// Splits "--flag=value" or takes the next argument as the value.
bool take_value(const std::vector<std::string>& args, std::size_t& i, std::string_view flag,
                std::string& value, std::string& error) {
  const std::string& arg = args[i];
  if (arg.size() > flag.size() && arg.compare(0, flag.size(), flag) == 0 &&
      arg[flag.size()] == '=') {
    value = arg.substr(flag.size() + 1);
    return true;
  }
  if (arg == flag) {
    if (i + 1 >= args.size()) {
      error = std::string(flag) + ": expected a value";
      return false;
    }
    value = args[++i];
    return true;
  }
  return false;
}

std::optional<KindSet> parse_kinds(std::string_view text, std::string& error) {
  KindSet kinds;
  while (!text.empty()) {
    const std::size_t comma = text.find(',');
    const std::string_view name = text.substr(0, comma);
    auto kind = kind_from_string(name);
    if (!kind) {
      error = "--kinds: unknown kind \"" + std::string(name) +
              "\" (expected processes, threads, modules, heaps, heap_blocks, resources)";
      return std::nullopt;
    }
    kinds.insert(*kind);
    text = comma == std::string_view::npos ? std::string_view() : text.substr(comma + 1);
  }
  kinds.insert(Kind::processes);
  return kinds;
}

std::optional<CliOptions::Command> command_named(std::string_view word) {
  using Command = CliOptions::Command;
  if (word == "serve")
    return Command::serve;
  if (word == "snapshot")
    return Command::snapshot;
  if (word == "once")
    return Command::once;
  if (word == "check-config")
    return Command::check_config;
  if (word == "service")
    return Command::service;
  if (word == "version")
    return Command::version;
  if (word == "help")
    return Command::help;
  if (word == "hash-password")
    return Command::hash_password;
  if (word == "metrics")
    return Command::metrics;
  return std::nullopt;
}

}  // namespace

CliParseResult parse_command_line(const std::vector<std::string>& args) {
  CliOptions options;
  std::string error;
  std::size_t i = 0;
  if (!args.empty() && !args[0].empty() && args[0][0] != '-') {
    auto command = command_named(args[0]);
    if (!command) {
      return {std::nullopt, "unknown command \"" + args[0] + "\" (see --help)"};
    }
    options.command = *command;
    i = 1;
  }
  if (options.command == CliOptions::Command::service) {
    options.service_args.assign(args.begin() + static_cast<std::ptrdiff_t>(i), args.end());
    return {options, ""};
  }
  for (; i < args.size(); ++i) {
    const std::string& arg = args[i];
    std::string value;
    if (arg == "--version") {
      options.command = CliOptions::Command::version;
    } else if (arg == "--help" || arg == "-h") {
      options.command = CliOptions::Command::help;
    } else if (arg == "--json") {
      options.json = true;
    } else if (arg == "--defaults") {
      options.print_defaults = true;
    } else if (arg == "--service") {
      options.run_as_service = true;
    } else if (arg == "--web.enable-lifecycle") {
      options.enable_lifecycle = true;
    } else if (take_value(args, i, "--config.file", value, error)) {
      options.config_file = value;
    } else if (take_value(args, i, "--web.config.file", value, error)) {
      if (value.empty()) {
        error = "--web.config.file: expected a file name";
      }
      options.web_config_file = value;
    } else if (take_value(args, i, "--web.listen-address", value, error)) {
      options.listen_address = value;
    } else if (take_value(args, i, "--web.telemetry-path", value, error)) {
      options.telemetry_path = value;
    } else if (take_value(args, i, "--log.level", value, error)) {
      options.log_level = value;
    } else if (take_value(args, i, "--from-snapshot", value, error)) {
      options.from_snapshot = value;
    } else if (take_value(args, i, "--textfile", value, error)) {
      options.textfile = value;
    } else if (take_value(args, i, "--kinds", value, error)) {
      options.kinds = parse_kinds(value, error);
    } else if (error.empty() && options.command == CliOptions::Command::check_config &&
               arg[0] != '-' && options.config_file.empty()) {
      options.config_file = arg;
    } else if (error.empty()) {
      error = "unknown argument \"" + arg + "\" (see --help)";
    }
    if (!error.empty()) {
      return {std::nullopt, error};
    }
  }
  if (options.command == CliOptions::Command::once && options.textfile.empty()) {
    return {std::nullopt, "once: --textfile PATH is required"};
  }
  if (options.command == CliOptions::Command::metrics && options.from_snapshot.empty()) {
    return {std::nullopt, "metrics: --from-snapshot FILE is required"};
  }
  if (options.command == CliOptions::Command::check_config && options.config_file.empty() &&
      options.web_config_file.empty() && !options.print_defaults) {
    return {std::nullopt, "check-config: expected a FILE, --web.config.file=FILE or --defaults"};
  }
  return {options, ""};
}

std::string usage_text() {
  return R"(Usage: toolhelp_exporter [COMMAND] [FLAGS]

Takes periodic snapshots of processes, threads, modules and heaps and serves them as
Prometheus metrics.

Commands:
  serve (default)          run in the foreground (under the Service Control Manager with --service)
  snapshot [--json] [--kinds K,...]
                           print one snapshot: a table, or JSON with --json
  once --textfile PATH     take one snapshot and write its metrics to PATH atomically
  metrics --from-snapshot FILE [--config.file=F]
                           print the metrics (text format) that a saved snapshot JSON (from
                           `snapshot --json` or /snapshot, any platform) gives under the
                           configuration; build_info's platform is the file's
  check-config [FILE] [--web.config.file=WEBFILE]
                           validate a configuration file and/or a web configuration file;
                           print every error; exit 1 if any
  check-config --defaults  print the embedded default configuration
  hash-password            read a password from standard input, print its salted hash for
                           web.basic_auth_users
  service install [--config.file=FILE] [--web.config.file=WEBFILE]
                  [--web.listen-address=ADDR] [--start auto|delayed|manual] [--no-start]
                           install the Windows service (delayed start by default) and start it
                           (Windows only)
  service configure [--start auto|delayed|manual]
                           apply the service settings again to an installed service (the MSI
                           runs this)
  service uninstall|start|stop|status
                           manage the installed service (Windows only)
  version                  print the version

Flags (they win over the configuration file):
  --config.file=FILE       JSON configuration (default: the embedded defaults)
  --web.config.file=FILE   exporter-toolkit web configuration (YAML): tls_server_config,
                           http_server_config.headers, basic_auth_users (bcrypt); re-read on
                           reload
  --web.listen-address=ADDR
                           host:port to listen on (default :9835)
  --web.telemetry-path=PATH
                           path of the metrics (default /metrics)
  --web.enable-lifecycle   accept POST /-/reload
  --log.level=LEVEL        trace, debug, info, warn, error, critical, off
  --kinds=K,...            processes, threads, modules, heaps, heap_blocks, resources
)";
}

ConfigOverrides config_overrides(const CliOptions& options) {
  ConfigOverrides overrides;
  if (options.listen_address) {
    overrides.push_back(
        {"--web.listen-address", {"web", "listen_address"}, *options.listen_address});
  }
  if (options.telemetry_path) {
    overrides.push_back(
        {"--web.telemetry-path", {"web", "telemetry_path"}, *options.telemetry_path});
  }
  if (options.enable_lifecycle) {
    overrides.push_back({"--web.enable-lifecycle", {"web", "enable_lifecycle"}, true});
  }
  if (options.log_level) {
    overrides.push_back({"--log.level", {"log", "level"}, *options.log_level});
  }
  if (options.kinds) {
    std::vector<std::string> names;
    for (Kind kind : kAllKinds) {
      if (options.kinds->contains(kind)) {
        names.emplace_back(to_string(kind));
      }
    }
    overrides.push_back({"--kinds", {"collection", "kinds"}, std::move(names)});
  }
  return overrides;
}

namespace {

// TLS and password hashes need OpenSSL, which Linux builds load only now
// (exporter/openssl/delay_load.h): a configuration that uses them is refused here, at start,
// reload and check-config alike, when the library cannot be loaded.
void require_openssl_if_used(ConfigLoadResult& result) {
  if (!result.config) {
    return;
  }
  const WebSettings& web = result.config->web;
  if (web.tls_cert_file.empty() && web.basic_auth_users.empty()) {
    return;
  }
  if (auto problem = load_openssl()) {
    const auto named = web.tls_setting_names.find("tls_cert_file");
    const std::string path =
        !web.tls_cert_file.empty()
            ? (named != web.tls_setting_names.end() ? named->second : "$.web.tls_cert_file")
            : "$.web.basic_auth_users";
    result.errors.push_back({path, "needs OpenSSL, which cannot be used: " + *problem});
    result.config.reset();
  }
}

}  // namespace

ConfigLoadResult load_effective_config(const CliOptions& options) {
  const ConfigOverrides overrides = config_overrides(options);
  ConfigLoadResult result = options.config_file.empty()
                                ? load_config_text(default_config_json(), "<defaults>", overrides)
                                : load_config_file(path_from_utf8(options.config_file), overrides);
  if (!options.web_config_file.empty()) {
    apply_web_config_file(path_from_utf8(options.web_config_file),
                          options.config_file.empty() ? "<defaults>" : options.config_file, result);
  }
  require_openssl_if_used(result);
  return result;
}

std::string config_summary(const Config& config) {
  std::ostringstream out;
  auto ms = [](std::chrono::milliseconds d) { return std::to_string(d.count()) + "ms"; };
  out << "listen_address: " << config.web.listen_address << "\n"
      << "telemetry_path: " << config.web.telemetry_path << "\n"
      << "interval: " << ms(config.collection.interval) << "\n"
      << "module_interval: " << ms(config.collection.module_interval) << "\n"
      << "kinds:";
  for (Kind kind : kAllKinds) {
    if (config.collection.kinds.contains(kind)) {
      out << " " << to_string(kind);
    }
  }
  out << "\n"
      << "group rules: " << config.grouping.rules.size() << " (unmatched: \""
      << config.grouping.unmatched_group << "\")\n"
      << "module series: at most " << config.modules.max_series << "\n"
      << "per-process series: " << config.per_process.include.size() << " patterns, at most "
      << config.per_process.max_series << "\n"
      << "lifecycle API: " << (config.web.enable_lifecycle ? "on" : "off") << "\n";
  return out.str();
}

}  // namespace thx
