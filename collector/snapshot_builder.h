// The bookkeeping every platform source does the same way, in one place: the snapshot's platform
// and time, time spent per kind, failures counted by kind and reason, the state of each kind, the
// order of the lists, and the per-identity detail cache's cycle. A platform source makes the OS
// calls and reports what they gave through a builder; a new kind or reason is added here once.
#pragma once

#include <chrono>
#include <initializer_list>
#include <utility>

#include "collector/model/snapshot.h"
#include "collector/model/source.h"
#include "collector/module_files.h"
#include "collector/process_cache.h"

namespace thx {

// What outlives one snapshot: the expensive per-identity details and the interned module files
// they refer to. A source owns one and lends it to each take()'s builder.
struct SourceCaches {
  ProcessDetailCache details;
  ModuleFilePool module_files;  // the names of every module file in `details`, once each
};

// Seconds since a start point on the steady clock.
class Stopwatch {
 public:
  using Clock = std::chrono::steady_clock;
  [[nodiscard]] double seconds() const {
    return std::chrono::duration<double>(Clock::now() - start_).count();
  }

 private:
  Clock::time_point start_ = Clock::now();
};

// Unix time now, in seconds.
double unix_seconds_now();

// One take(): build it at the start, report through it, finish() it once.
class SnapshotBuilder {
 public:
  using Clock = std::chrono::steady_clock;

  // Starts a snapshot for `request` and a new cycle of the detail cache.
  SnapshotBuilder(const SnapshotRequest& request, SourceCaches& caches, std::string_view platform);

  [[nodiscard]] const SnapshotRequest& request() const { return request_; }
  [[nodiscard]] bool wants(Kind kind) const { return request_.kinds.contains(kind); }
  // Whether any of the per-process details (modules, heaps, heap blocks) was asked for.
  [[nodiscard]] bool wants_details() const {
    return wants(Kind::modules) || wants(Kind::heaps) || wants(Kind::heap_blocks);
  }
  // When this take() started; the detail cache's due times are measured against it.
  [[nodiscard]] Clock::time_point now() const { return now_; }

  Snapshot& snapshot() { return snapshot_; }
  SourceCaches& caches() { return caches_; }
  ModuleFilePool& module_files() { return caches_.module_files; }
  // The cached entry of this identity, marked as seen in this cycle.
  ProcessDetailCache::Entry& touch(ProcessIdentity identity) {
    return caches_.details.touch(identity);
  }
  // Whether this entry's modules and heaps must be read again in this take().
  [[nodiscard]] bool details_due(const ProcessDetailCache::Entry& entry) const {
    return ProcessDetailCache::details_due(entry, now_, request_.module_interval);
  }

  // ---- Failures ----
  void count(Kind kind, ErrorReason reason, std::uint64_t n = 1) {
    snapshot_.status_of(kind).count(reason, n);
  }
  // A failed read of the per-process details (one read behind modules and heaps, as procfs maps),
  // counted on whichever of the two was asked for.
  void count_details(ErrorReason reason);
  // Nothing could be listed at all: every requested kind failed; `reason` is counted once, on
  // the process list.
  void fail(ErrorReason reason);
  // The platform does not provide this kind (heap blocks from procfs, heaps under Wine).
  void mark_unsupported(Kind kind) { unsupported_.insert(kind); }

  // ---- Time per kind ----
  // Charges the time since the last lap (or the start) to each of `kinds`; work shared by two
  // kinds is charged in full to both. Only requested kinds are reported.
  void lap(std::initializer_list<Kind> kinds);
  // Starts the next lap now without charging the time since the last one to any kind.
  void restart_lap() { last_lap_ = Clock::now(); }
  // Adds measured time to a kind (work timed apart, such as heap block walks inside a heap read).
  void charge(Kind kind, double seconds) { snapshot_.status_of(kind).duration_seconds += seconds; }

  // Ends the take(): sorts processes by pid and threads by (owner, tid), sets each kind's state
  // and time, stamps the snapshot. A cycle that listed everything (not stopped, not failed) ends
  // the detail cache's cycle: the entries and module files of exited processes are dropped. A
  // stopped or failed one never prunes. Returns whether it pruned, so a source prunes its own
  // caches on the same condition.
  struct Finished {
    Snapshot snapshot;
    bool complete_cycle = false;  // every live process was seen: caches may forget the rest
  };
  Finished finish(bool stopped);

 private:
  const SnapshotRequest& request_;
  SourceCaches& caches_;
  Snapshot snapshot_;
  Clock::time_point now_;
  Clock::time_point last_lap_;
  KindSet unsupported_;
  bool failed_ = false;
};

}  // namespace thx
