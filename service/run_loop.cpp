#include "service/run_loop.h"

#include <spdlog/spdlog.h>

#include <chrono>
#include <exception>
#include <sstream>
#include <utility>

#include "collector/platform_source.h"
#include "exporter/routes.h"
#include "service/cli.h"
#include "service/version.h"

namespace thx {
namespace {

double unix_now() {
  using namespace std::chrono;
  return duration<double>(system_clock::now().time_since_epoch()).count();
}

AggregatorSettings aggregator_settings(const Config& config) {
  return {config.grouping, config.modules, config.per_process};
}

// "modules: access_denied=12 vanished=3; threads: vanished=1"
std::string failure_summary(const Snapshot& snapshot) {
  std::ostringstream out;
  for (Kind kind : kAllKinds) {
    const KindStatus& status = snapshot.status_of(kind);
    if (status.total_errors() == 0) {
      continue;
    }
    out << (out.tellp() > 0 ? "; " : "") << to_string(kind) << ":";
    for (ErrorReason reason : kAllErrorReasons) {
      if (status.error_count(reason) > 0) {
        out << " " << to_string(reason) << "=" << status.error_count(reason);
      }
    }
  }
  return out.str();
}

// What the pages (/, /snapshot, /healthz) need to know of the running configuration.
std::shared_ptr<const PageContext> page_context_for(const MetricsCollectable* metrics,
                                                    const Config& config) {
  return std::make_shared<const PageContext>(PageContext{
      metrics, config.web.telemetry_path, config.collection.interval, config_summary(config),
      config.web.enable_snapshot, config.web.snapshot_command_lines});
}

}  // namespace

BuildInfo build_info() {
  return {std::string(version()), std::string(revision()), std::string(platform_name())};
}

RunLoop::RunLoop(Config config, ConfigLoader load_config, std::unique_ptr<SnapshotSource> source)
    : config_(std::move(config)),
      load_config_(std::move(load_config)),
      source_(std::move(source)),
      aggregator_(aggregator_settings(config_)),
      metrics_(std::make_shared<MetricsCollectable>(build_info())) {
  metrics_->set_reload_status({true, unix_now()});
  page_context_ = page_context_for(metrics_.get(), config_);
}

RunLoop::~RunLoop() = default;

std::shared_ptr<const PageContext> RunLoop::page_context() const {
  std::lock_guard lock(page_mutex_);
  return page_context_;
}

std::map<std::string, HttpRoute> RunLoop::routes() {
  std::map<std::string, HttpRoute> handlers;
  auto context = [this] { return page_context(); };
  handlers[config_.web.telemetry_path] = [metrics = metrics_](const HttpRequest&) {
    return metrics_page(*metrics);
  };
  handlers[std::string(routes::kLanding)] = [context](const HttpRequest&) {
    return landing_page(*context());
  };
  handlers[std::string(routes::kSnapshot)] = [context](const HttpRequest& request) {
    return snapshot_page(*context(), request);
  };
  handlers[std::string(routes::kHealth)] = [context](const HttpRequest&) {
    return health_page(*context());
  };
  // POST only: the server answers other methods with 405 and an Allow header.
  handlers[std::string(routes::kReload)] =
      HttpRoute::action([this](const HttpRequest&) -> HttpResponse {
        bool enabled = false;
        {
          std::lock_guard lock(config_mutex_);
          enabled = config_.web.enable_lifecycle;
        }
        if (!enabled) {
          return {403, "text/plain; charset=utf-8",
                  "lifecycle API is not enabled (start with --web.enable-lifecycle)\n"};
        }
        const std::vector<ConfigError> errors = reload();
        if (errors.empty()) {
          return {200, "text/plain; charset=utf-8", "configuration reloaded\n"};
        }
        std::string body = "failed to reload configuration; keeping the running one:\n";
        for (const ConfigError& error : errors) {
          body += error.path + ": " + error.message + "\n";
        }
        return {500, "text/plain; charset=utf-8", body};
      });
  return handlers;
}

void RunLoop::listen() {
  WebSettings web;
  {
    std::lock_guard lock(config_mutex_);
    web = config_.web;
  }
  http_ = std::make_unique<HttpServer>(web, routes());
  spdlog::info("listening on {} (metrics at {})", web.listen_address, web.telemetry_path);
}

std::vector<int> RunLoop::listening_ports() const {
  std::lock_guard lock(config_mutex_);
  return http_ ? http_->listening_ports() : std::vector<int>{};
}

void RunLoop::close_listener() {
  std::unique_ptr<HttpServer> closing;
  {
    std::lock_guard lock(config_mutex_);  // reload() uses http_ under the same lock
    closing = std::move(http_);
  }
  closing.reset();  // outside the lock: a /-/reload request being served may still need it
}

SnapshotRequest RunLoop::snapshot_request() const {
  std::lock_guard lock(config_mutex_);
  SnapshotRequest request;
  request.kinds = config_.collection.kinds;
  request.module_interval =
      std::chrono::duration_cast<std::chrono::seconds>(config_.collection.module_interval);
  request.resources = config_.collection.resources;
  request.thread_detail = config_.collection.thread_detail;
  request.command_lines = config_.grouping.uses_command_line();
  request.max_heap_blocks_per_process = config_.collection.max_heap_blocks_per_process;
  return request;
}

bool RunLoop::cycle(const std::stop_token& stop) {
  Snapshot snapshot = source_->take(snapshot_request(), stop);
  if (stop.stop_requested()) {
    return false;  // cut short: publishing it would show a mass exit that did not happen
  }
  log_cycle(snapshot);
  std::shared_ptr<const Aggregate> aggregate;
  {
    std::lock_guard lock(aggregation_mutex_);  // reconfigure() and update() take turns
    aggregate = aggregator_.update(std::make_shared<const Snapshot>(std::move(snapshot)));
  }
  metrics_->publish(std::move(aggregate));
  return true;
}

// One line a cycle at most, and a warning only when a kind starts failing for a new reason:
// partial failure is normal and must not flood the log.
void RunLoop::log_cycle(const Snapshot& snapshot) {
  const std::string summary = failure_summary(snapshot);
  bool news = false;
  for (Kind kind : kAllKinds) {
    const KindStatus& status = snapshot.status_of(kind);
    std::uint64_t mask = 0;
    for (ErrorReason reason : kAllErrorReasons) {
      if (reason != ErrorReason::vanished && status.error_count(reason) > 0) {
        mask |= 1ULL << static_cast<unsigned>(reason);
      }
    }
    auto& last = last_logged_failures_.at(static_cast<std::size_t>(kind));
    news = news || (mask & ~last) != 0;
    last = mask;
  }
  if (news) {
    spdlog::warn(
        "snapshot of {} processes was partial: {} (counted in "
        "toolhelp_snapshot_errors_total; repeats are logged at debug level)",
        snapshot.processes.size(), summary);
  } else {
    spdlog::debug("snapshot: {} processes, {} threads{}{}", snapshot.processes.size(),
                  snapshot.threads.size(), summary.empty() ? "" : "; ", summary);
  }
}

void RunLoop::run(const std::stop_token& stop) {
  while (!stop.stop_requested()) {
    if (reload_requested_.exchange(false)) {
      reload();
    }
    const auto started = std::chrono::steady_clock::now();
    cycle(stop);
    std::chrono::milliseconds interval;
    {
      std::lock_guard lock(config_mutex_);
      interval = config_.collection.interval;
    }
    std::unique_lock lock(wake_mutex_);
    wake_.wait_until(lock, stop, started + interval, [this] { return reload_requested_.load(); });
  }
}

void RunLoop::request_reload() {
  {
    std::lock_guard lock(wake_mutex_);
    reload_requested_ = true;
  }
  wake_.notify_all();
}

std::vector<ConfigError> RunLoop::reload() {
  std::lock_guard reloading(reload_mutex_);
  ConfigLoadResult result;
  // A reload never ends the process: whatever loading throws (std::bad_alloc from a hostile file
  // included) is a failed reload that keeps the running configuration.
  try {
    result = load_config_();
  } catch (const std::exception& error) {
    result = {std::nullopt, {{"<reload>", std::string("loading failed: ") + error.what()}}};
  } catch (...) {
    result = {std::nullopt, {{"<reload>", "loading failed with an unknown exception"}}};
  }
  if (!result.config) {
    for (const ConfigError& error : result.errors) {
      spdlog::error("reload: {}: {}", error.path, error.message);
    }
    spdlog::error("reload failed with {} error(s); keeping the running configuration",
                  result.errors.size());
    metrics_->set_reload_status({false, metrics_->reload_status().last_success_timestamp_seconds});
    return result.errors;
  }
  std::unique_lock lock(config_mutex_);
  const Config& next = *result.config;
  // An HTTPS listener reads its certificate, key and client CA file again (renewed in place, or
  // other files) with the TLS settings: a file it cannot use fails the whole reload, and the
  // running context and configuration stay.
  const bool serves_tls = !config_.web.tls_cert_file.empty();
  const bool tls_stays = serves_tls == !next.web.tls_cert_file.empty();
  if (http_ && serves_tls && tls_stays) {
    if (auto problem = http_->reload_tls(next.web)) {
      const ConfigError error{problem->where, problem->message};
      spdlog::error("reload: {}: {}", error.path, error.message);
      spdlog::error("reload failed; keeping the running configuration and certificates");
      metrics_->set_reload_status(
          {false, metrics_->reload_status().last_success_timestamp_seconds});
      return {error};
    }
  }
  // The listener is not restarted: of `web`, who may ask, the response headers, whether
  // /-/reload answers, what /snapshot shows and the TLS context change now; the address, path,
  // limits, timeouts and whether HTTPS is served at all wait for a restart.
  WebSettings web = config_.web;
  web.allowed_networks = next.web.allowed_networks;
  web.basic_auth_users = next.web.basic_auth_users;
  web.response_headers = next.web.response_headers;
  web.enable_lifecycle = next.web.enable_lifecycle;
  web.enable_snapshot = next.web.enable_snapshot;
  web.snapshot_command_lines = next.web.snapshot_command_lines;
  if (tls_stays) {
    web.tls_cert_file = next.web.tls_cert_file;
    web.tls_key_file = next.web.tls_key_file;
    web.tls_min_version = next.web.tls_min_version;
    web.tls_max_version = next.web.tls_max_version;
    web.tls_client_auth_type = next.web.tls_client_auth_type;
    web.tls_client_ca_file = next.web.tls_client_ca_file;
    web.tls_setting_names = next.web.tls_setting_names;
  }
  if (web != next.web) {
    spdlog::warn(
        "reload: web settings other than allowed_networks, basic_auth_users, response headers, "
        "enable_lifecycle, enable_snapshot, snapshot_command_lines and the TLS files and "
        "settings take effect after a restart (so does turning HTTPS on or off)");
  }
  config_ = next;
  config_.web = std::move(web);
  if (http_) {
    http_->set_access(config_.web);  // allowed networks and users apply to the next request
  }
  AggregatorSettings settings = aggregator_settings(config_);
  auto context = page_context_for(metrics_.get(), config_);
  const std::string log_level = config_.log.level;
  lock.unlock();  // a cycle may be aggregating: wait for it without holding the configuration
  {
    std::lock_guard aggregating(aggregation_mutex_);
    aggregator_.reconfigure(std::move(settings));
  }
  {
    std::lock_guard publishing(page_mutex_);
    page_context_ = std::move(context);
  }
  metrics_->set_reload_status({true, unix_now()});
  if (auto level = spdlog::level::from_str(log_level);
      level != spdlog::level::off || log_level == "off") {
    spdlog::set_level(level);
  }
  spdlog::info("configuration reloaded");
  return {};
}

}  // namespace thx

#include "service/logging.h"

namespace thx {

StartResult start_run_loop(const CliOptions& options, LogMode mode) {
  ConfigLoadResult loaded = load_effective_config(options);
  if (!loaded.config) {
    std::string error = "invalid configuration:";
    for (const ConfigError& e : loaded.errors) {
      error += "\n  " + e.path + ": " + e.message;
    }
    setup_logging(LogSettings{}, mode);  // so the reason reaches the console, journal or Event Log
    return {nullptr, error};
  }
  const std::string log_error = setup_logging(loaded.config->log, mode);
  if (!log_error.empty()) {
    spdlog::warn("{}", log_error);
  }
  spdlog::info("toolhelp_exporter {} ({}) on {}", version(), revision(), platform_name());
  auto exporter = std::make_unique<RunLoop>(
      *loaded.config, [options] { return load_effective_config(options); }, make_platform_source());
  try {
    exporter->listen();
  } catch (const HttpServerError& error) {
    return {nullptr, error.what()};
  }
  return {std::move(exporter), ""};
}

}  // namespace thx
