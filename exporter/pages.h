// The routes beside /metrics: a landing page, the latest snapshot as JSON, and a health check.
// They read the latest published aggregate only: nothing here touches the OS.
#pragma once

#include <chrono>
#include <string>

#include "exporter/http_server.h"
#include "exporter/metrics.h"

namespace thx {

struct PageContext {
  const MetricsCollectable* metrics = nullptr;
  std::string telemetry_path = "/metrics";
  std::chrono::milliseconds interval{15'000};
  std::string config_summary;           // one line a setting, shown on the landing page
  bool enable_snapshot = true;          // /snapshot is 404 when off
  bool snapshot_command_lines = false;  // /snapshot leaves command lines out unless on
};

// GET <telemetry path>: the text of the latest aggregate, rendered once per cycle and shared by
// every scrape of that cycle (MetricsCollectable::text), not copied per request.
HttpResponse metrics_page(const MetricsCollectable& metrics);
HttpResponse landing_page(const PageContext& context);
// GET /snapshot[?pid=N][&group=G][&kind=processes|threads|modules|heaps]: 404 when turned off;
// command lines left out unless the context allows them.
HttpResponse snapshot_page(const PageContext& context, const HttpRequest& request);
// 200 while the last snapshot is younger than three intervals, else 503.
HttpResponse health_page(const PageContext& context);

}  // namespace thx
