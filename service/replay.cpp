#include "service/replay.h"

#include <memory>
#include <stdexcept>

#include "collector/aggregate/aggregator.h"
#include "collector/platform_source.h"
#include "service/version.h"

namespace thx {

BuildInfo replay_build_info(const std::vector<Snapshot>& snapshots) {
  std::string platform = snapshots.empty() ? "" : snapshots.back().platform;
  if (platform.empty()) {
    platform = platform_name();
  }
  return {std::string(version()), std::string(revision()), std::move(platform)};
}

std::string replay_metrics_text(const std::vector<Snapshot>& snapshots, const Config& config) {
  if (snapshots.empty()) {
    throw std::invalid_argument("the file holds no snapshot");
  }
  Aggregator aggregator({config.grouping, config.modules, config.per_process});
  std::shared_ptr<const Aggregate> aggregate;
  for (const Snapshot& snapshot : snapshots) {
    aggregate = aggregator.update(std::make_shared<const Snapshot>(snapshot));
  }
  // The configuration was loaded (successfully) when the recording started.
  const ReloadStatus reload{true, snapshots.front().taken_at_seconds};
  return to_text_format(to_metric_families(aggregate.get(), replay_build_info(snapshots), reload));
}

}  // namespace thx
