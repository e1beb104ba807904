// `toolhelp_exporter metrics --from-snapshot FILE`: the metrics a saved snapshot (or a recording
// of several) gives, on any platform. A Windows user's bug-report snapshot replayed on Linux
// shows what their exporter served: same grouping, same module inventory, and the platform
// label of build_info taken from the file, not from the machine that replays it.
#pragma once

#include <string>
#include <vector>

#include "collector/model/snapshot.h"
#include "config/config.h"
#include "exporter/metrics.h"

namespace thx {

// The build_info of a replay: this program's version and revision, the recording's platform
// (this program's when the file names none).
BuildInfo replay_build_info(const std::vector<Snapshot>& snapshots);

// Folds every snapshot, in order, into one aggregator set up by `config` (as the run loop's
// cycles would), and returns the text exposition of the last one. Throws std::invalid_argument
// when `snapshots` is empty.
std::string replay_metrics_text(const std::vector<Snapshot>& snapshots, const Config& config);

}  // namespace thx
