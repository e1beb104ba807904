// toolhelp_exporter: parse the command line and hand over to the command.
#include <spdlog/spdlog.h>

#include <exception>
#include <iostream>
#include <string>
#include <vector>

#include "collector/model/snapshot_json.h"
#include "collector/platform_source.h"
#include "config/config.h"
#include "exporter/access/password.h"
#include "exporter/metrics.h"
#include "exporter/openssl/delay_load.h"
#include "exporter/textfile.h"
#include "service/cli.h"
#include "service/logging.h"
#include "service/platform.h"
#include "service/replay.h"
#include "service/run_loop.h"
#include "service/snapshot_command.h"
#include "service/version.h"
#ifdef _WIN32
#include "service/windows_service.h"
#endif

namespace thx {
namespace {

int check_config(const CliOptions& options) {
  if (options.print_defaults) {
    std::cout << default_config_json();
    return 0;
  }
  const ConfigLoadResult result = load_effective_config(options);
  for (const ConfigError& error : result.errors) {
    std::cerr << config_error_line(error, options.config_file) << "\n";
  }
  if (!result.config) {
    std::cerr << result.errors.size() << " error(s)\n";
    return 1;
  }
  for (const std::string& file : {options.config_file, options.web_config_file}) {
    if (!file.empty()) {
      std::cout << file << ": OK\n";
    }
  }
  std::cout << config_summary(*result.config);
  return 0;
}

// `snapshot` and `once`: one cycle with no listener.
int one_snapshot(const CliOptions& options) {
  ConfigLoadResult loaded = load_effective_config(options);
  if (!loaded.config) {
    for (const ConfigError& error : loaded.errors) {
      std::cerr << error.path << ": " << error.message << "\n";
    }
    return 1;
  }
  setup_logging(loaded.config->log, LogMode::foreground);
  if (options.command == CliOptions::Command::snapshot) {
    SnapshotRequest request;
    request.kinds = options.kinds.value_or(loaded.config->collection.kinds);
    request.thread_detail = true;
    request.command_lines = true;
    const Snapshot snapshot = make_platform_source()->take(request, std::stop_token());
    if (options.json) {
      std::cout << snapshot_to_json(snapshot).dump(1) << "\n";
    } else {
      print_snapshot_table(snapshot, std::cout);
    }
    return 0;
  }
  RunLoop exporter(
      *loaded.config, [] { return ConfigLoadResult{}; }, make_platform_source());
  exporter.cycle(std::stop_token());
  try {
    write_textfile(path_from_utf8(options.textfile), to_text_format(exporter.metrics().Collect()));
  } catch (const std::exception& error) {
    std::cerr << error.what() << "\n";
    return 1;
  }
  return 0;
}

// `metrics --from-snapshot FILE`: what a saved snapshot (or recording) gives, on any platform.
int metrics_command(const CliOptions& options) {
  ConfigLoadResult loaded = load_effective_config(options);
  if (!loaded.config) {
    for (const ConfigError& error : loaded.errors) {
      std::cerr << error.path << ": " << error.message << "\n";
    }
    return 1;
  }
  try {
    std::cout << replay_metrics_text(read_snapshots_file(path_from_utf8(options.from_snapshot)),
                                     *loaded.config);
  } catch (const std::exception& error) {
    std::cerr << options.from_snapshot << ": " << error.what() << "\n";
    return 1;
  }
  return 0;
}

// Reads one line (the password) from standard input and prints the hash to store.
int hash_password_command() {
  std::string password;
  std::getline(std::cin, password);
  if (!password.empty() && password.back() == '\r') {
    password.pop_back();
  }
  if (password.empty()) {
    std::cerr << "hash-password: expected a password on standard input\n";
    return 2;
  }
  if (auto problem = load_openssl()) {
    std::cerr << "hash-password: " << *problem << "\n";
    return 1;
  }
  try {
    std::cout << hash_password(password, random_salt()).to_string() << "\n";
  } catch (const std::exception& error) {
    std::cerr << "hash-password: " << error.what() << "\n";
    return 1;
  }
  return 0;
}

int serve(const CliOptions& options) {
  if (options.run_as_service) {
    return run_as_service(options);
  }
  prepare_serving();
  StartResult started = start_run_loop(options, detect_log_mode());
  if (!started.exporter) {
    spdlog::critical("cannot start: {}", started.error);
    return 1;
  }
  return run_foreground(*started.exporter);
}

int run(const std::vector<std::string>& args) {
  const CliParseResult parsed = parse_command_line(args);
  if (!parsed.options) {
    std::cerr << "toolhelp_exporter: " << parsed.error << "\n";
    return 2;
  }
  const CliOptions& options = *parsed.options;
  switch (options.command) {
    case CliOptions::Command::version:
      std::cout << "toolhelp_exporter " << version() << " (revision " << revision() << ", "
                << platform_name() << ")\n";
      return 0;
    case CliOptions::Command::help:
      std::cout << usage_text();
      return 0;
    case CliOptions::Command::check_config:
      return check_config(options);
    case CliOptions::Command::snapshot:
    case CliOptions::Command::once:
      return one_snapshot(options);
    case CliOptions::Command::service:
      return service_command(options);
    case CliOptions::Command::hash_password:
      return hash_password_command();
    case CliOptions::Command::metrics:
      return metrics_command(options);
    case CliOptions::Command::serve:
      return serve(options);
  }
  return 2;
}

}  // namespace
}  // namespace thx

int main([[maybe_unused]] int argc, [[maybe_unused]] char** argv) {
  thx::prepare_process();
  try {
#ifdef _WIN32
    return thx::run(thx::command_line_arguments());  // UTF-8, unlike the ANSI argv
#else
    return thx::run(std::vector<std::string>(argv + 1, argv + argc));
#endif
  } catch (const std::exception& error) {
    std::cerr << "toolhelp_exporter: " << error.what() << "\n";
    return 1;
  }
}
