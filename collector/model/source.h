// The one interface between the product and the operating system. Everything above it works on
// Snapshot values; only the platform sources (collector/platform_source.h) make OS calls. The
// interface itself makes none, so recorded snapshots can be replayed through it anywhere.
#pragma once

#include <chrono>
#include <cstddef>
#include <memory>
#include <stop_token>

#include "collector/model/snapshot.h"

namespace thx {

// Which of the per-process resource facts that cost a read of their own are collected (with
// Kind::resources). CPU times and resident and virtual memory come with the process list on both
// platforms and have no switch.
struct ResourceReads {
  bool private_memory = true;  // Linux: statm; Windows: K32GetProcessMemoryInfo
  bool handles = true;         // Linux: stat() of fd/ (a listing before 6.2); Windows: handle count
  bool io = true;              // Linux: io; Windows: GetProcessIoCounters
  bool operator==(const ResourceReads&) const = default;
};

struct SnapshotRequest {
  KindSet kinds{Kind::processes, Kind::threads, Kind::modules, Kind::resources};
  ResourceReads resources;
  // Modules and heaps are the expensive kinds: a process's are re-read only when it is new (by
  // identity) or its cached entry is older than this.
  std::chrono::seconds module_interval{60};
  // Per-thread detail (base priority) costs a read per thread on Linux; thread ids and owners
  // are cheap and always listed with Kind::threads.
  bool thread_detail = false;
  // Command lines feed grouping rules; read once per process identity and cached.
  bool command_lines = false;
  // Heap block walking is quadratic in Tool Help: bounded per process.
  std::size_t max_heap_blocks_per_process = 10'000;
};

// How often and what to collect: the collection section of the configuration.
struct CollectionSettings {
  std::chrono::milliseconds interval{15'000};
  std::chrono::milliseconds module_interval{300'000};
  KindSet kinds{Kind::processes, Kind::threads, Kind::modules, Kind::resources};
  ResourceReads resources;
  bool thread_detail = false;
  std::size_t max_heap_blocks_per_process = 10'000;
};

class SnapshotSource {
 public:
  virtual ~SnapshotSource() = default;
  SnapshotSource() = default;
  SnapshotSource(const SnapshotSource&) = delete;
  SnapshotSource& operator=(const SnapshotSource&) = delete;
  SnapshotSource(SnapshotSource&&) = delete;
  SnapshotSource& operator=(SnapshotSource&&) = delete;

  // Takes one snapshot. Never throws for what the OS refuses: failures are counted in the
  // returned statuses. Checks `stop` between processes and returns early (kinds marked partial)
  // when a stop is requested.
  virtual Snapshot take(const SnapshotRequest& request, std::stop_token stop) = 0;
};

}  // namespace thx
