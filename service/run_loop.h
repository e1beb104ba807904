// The run loop: every interval, snapshot -> aggregate -> publish; reload on request; stop
// promptly. The HTTP server only ever reads what was published.
#pragma once

#include <atomic>
#include <condition_variable>
#include <functional>
#include <memory>
#include <mutex>
#include <stop_token>
#include <string>

#include "collector/aggregate/aggregator.h"
#include "collector/model/source.h"
#include "config/config.h"
#include "exporter/http_server.h"
#include "exporter/metrics.h"
#include "exporter/pages.h"

namespace thx {

class RunLoop {
 public:
  using ConfigLoader = std::function<ConfigLoadResult()>;

  // Builds the pipeline; does not listen yet. `load_config` re-reads the configuration on reload.
  RunLoop(Config config, ConfigLoader load_config, std::unique_ptr<SnapshotSource> source);
  ~RunLoop();
  RunLoop(const RunLoop&) = delete;
  RunLoop& operator=(const RunLoop&) = delete;
  RunLoop(RunLoop&&) = delete;
  RunLoop& operator=(RunLoop&&) = delete;

  // Binds the listener. Throws HttpServerError naming the address and the reason.
  void listen();
  [[nodiscard]] std::vector<int> listening_ports() const;
  // Any thread: closes the listener now (a stop frees the port before the loop has returned).
  void close_listener();

  // Snapshot, aggregate, publish once. Returns false when `stop` cut the snapshot short (nothing
  // is published then).
  bool cycle(const std::stop_token& stop);

  // Cycles every interval until `stop` is requested; returns within a moment of it.
  void run(const std::stop_token& stop);

  // Any thread: reload at the next opportunity (SIGHUP, PARAMCHANGE).
  void request_reload();
  // Reloads now; on failure keeps the running configuration. Returns the errors, if any.
  std::vector<ConfigError> reload();

  [[nodiscard]] const MetricsCollectable& metrics() const { return *metrics_; }

  // Holds the aggregation as a long cycle or a reload would (both wait until the lock is
  // released). Tests use it to show that the pages never wait on aggregation.
  [[nodiscard]] std::unique_lock<std::mutex> hold_aggregation() {
    return std::unique_lock(aggregation_mutex_);
  }

 private:
  SnapshotRequest snapshot_request() const;
  void log_cycle(const Snapshot& snapshot);
  std::map<std::string, HttpRoute> routes();

  std::shared_ptr<const PageContext> page_context() const;

  // Lock order: reload_mutex_, then config_mutex_ or aggregation_mutex_ (never both), then
  // page_mutex_. The pages take only page_mutex_, for as long as a pointer copy takes.
  std::mutex reload_mutex_;          // one reload at a time
  mutable std::mutex config_mutex_;  // guards config_ against reloads
  Config config_;
  mutable std::mutex page_mutex_;  // guards the pointer page_context_, never held for long
  std::shared_ptr<const PageContext> page_context_;  // immutable; replaced by a reload
  ConfigLoader load_config_;
  std::unique_ptr<SnapshotSource> source_;
  std::mutex aggregation_mutex_;  // update() and reconfigure() take turns; no page takes it
  Aggregator aggregator_;
  std::shared_ptr<MetricsCollectable> metrics_;
  std::unique_ptr<HttpServer> http_;

  std::mutex wake_mutex_;
  std::condition_variable_any wake_;
  std::atomic<bool> reload_requested_{false};
  std::array<std::uint64_t, kKindCount> last_logged_failures_{};
};

BuildInfo build_info();

}  // namespace thx

namespace thx {

struct CliOptions;
enum class LogMode;

// Everything a start can fail at, in order: the configuration, the log file, the listener.
// On failure `exporter` is empty and `error` says what was wrong and where.
struct StartResult {
  std::unique_ptr<RunLoop> exporter;
  std::string error;
};
StartResult start_run_loop(const CliOptions& options, LogMode mode);

}  // namespace thx
