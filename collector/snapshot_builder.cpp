#include "collector/snapshot_builder.h"

#include <algorithm>
#include <string>

namespace thx {

double unix_seconds_now() {
  const auto since_epoch = std::chrono::system_clock::now().time_since_epoch();
  return std::chrono::duration<double>(since_epoch).count();
}

SnapshotBuilder::SnapshotBuilder(const SnapshotRequest& request, SourceCaches& caches,
                                 std::string_view platform)
    : request_(request), caches_(caches), now_(Clock::now()), last_lap_(now_) {
  snapshot_.platform = std::string(platform);
  snapshot_.kinds = request.kinds;
  caches_.details.begin_cycle();
}

void SnapshotBuilder::count_details(ErrorReason reason) {
  for (Kind kind : {Kind::modules, Kind::heaps}) {
    if (wants(kind)) {
      count(kind, reason);
    }
  }
}

void SnapshotBuilder::fail(ErrorReason reason) {
  failed_ = true;
  count(Kind::processes, reason);
}

void SnapshotBuilder::lap(std::initializer_list<Kind> kinds) {
  const Clock::time_point now = Clock::now();
  const double seconds = std::chrono::duration<double>(now - last_lap_).count();
  for (Kind kind : kinds) {
    charge(kind, seconds);
  }
  last_lap_ = now;
}

SnapshotBuilder::Finished SnapshotBuilder::finish(bool stopped) {
  // Sources list in pid order where the OS does; sort only what is not sorted already.
  auto by_pid = [](const Process& a, const Process& b) { return a.pid < b.pid; };
  if (!std::ranges::is_sorted(snapshot_.processes, by_pid)) {
    std::ranges::sort(snapshot_.processes, by_pid);
  }
  auto by_owner_and_tid = [](const Thread& a, const Thread& b) {
    return std::pair(a.owner_pid, a.tid) < std::pair(b.owner_pid, b.tid);
  };
  if (!std::ranges::is_sorted(snapshot_.threads, by_owner_and_tid)) {
    std::ranges::sort(snapshot_.threads, by_owner_and_tid);
  }
  for (Kind kind : kAllKinds) {
    KindStatus& status = snapshot_.status_of(kind);
    if (!wants(kind)) {
      status = KindStatus{};  // e.g. processes listed only to carry modules
    } else if (failed_) {
      status.state = KindStatus::State::failed;
    } else if (unsupported_.contains(kind)) {
      status.state = KindStatus::State::unsupported;
    } else if (stopped || status.total_errors() > 0) {
      status.state = KindStatus::State::partial;
    } else {
      status.state = KindStatus::State::complete;
    }
  }
  const bool complete_cycle = !stopped && !failed_ && !request_.kinds.empty();
  if (complete_cycle) {
    caches_.details.end_cycle();
    caches_.module_files.prune();
  }
  snapshot_.taken_at_seconds = unix_seconds_now();
  return {std::move(snapshot_), complete_cycle};
}

}  // namespace thx
