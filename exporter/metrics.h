// Aggregate -> Prometheus metric families. The collectable holds the latest immutable aggregate,
// swapped once per cycle: a scrape never sees half a cycle, two scrapes of one cycle return the
// same numbers, and the series of a vanished group disappear with the aggregate that had them.
#pragma once

#include <memory>
#include <mutex>
#include <string>
#include <vector>

#include <prometheus/collectable.h>
#include <prometheus/metric_family.h>

#include "collector/aggregate/aggregator.h"

namespace thx {

struct BuildInfo {
  std::string version;
  std::string revision;
  std::string platform;
};

// Prometheus' own convention for configuration reloads.
struct ReloadStatus {
  bool last_successful = true;
  double last_success_timestamp_seconds = 0.0;
};

// Everything /metrics shows, as families. Pure: the same input gives the same text. Without an
// aggregate (before the first snapshot) only the exporter's own information.
std::vector<prometheus::MetricFamily> to_metric_families(const Aggregate* aggregate,
                                                         const BuildInfo& build,
                                                         const ReloadStatus& reload);

// The text exposition format (what /metrics and the textfile writer emit).
// `expected_size`: the size of the previous text, to reserve once instead of growing.
std::string to_text_format(const std::vector<prometheus::MetricFamily>& families,
                           std::size_t expected_size = 0);

class MetricsCollectable : public prometheus::Collectable {
 public:
  explicit MetricsCollectable(BuildInfo build);

  void publish(std::shared_ptr<const Aggregate> aggregate);
  void set_reload_status(const ReloadStatus& reload);

  [[nodiscard]] std::shared_ptr<const Aggregate> latest() const;
  [[nodiscard]] ReloadStatus reload_status() const;
  [[nodiscard]] const BuildInfo& build() const { return build_; }

  [[nodiscard]] std::vector<prometheus::MetricFamily> Collect() const override;

  // The text exposition of the latest aggregate and its gzip form, both made once per publish
  // (by the publisher, never by a scrape) and shared by every scrape of that cycle.
  struct Exposition {
    std::shared_ptr<const std::string> text;
    std::shared_ptr<const std::string> gzip;
  };
  [[nodiscard]] Exposition exposition() const;
  [[nodiscard]] std::shared_ptr<const std::string> text() const { return exposition().text; }

 private:
  const BuildInfo build_;
  std::mutex publish_mutex_;  // held by publish and set_reload_status while they render
  mutable std::mutex mutex_;  // guards the fields below; written under both mutexes
  std::shared_ptr<const Aggregate> latest_;
  ReloadStatus reload_;
  Exposition exposition_;
};

}  // namespace thx
