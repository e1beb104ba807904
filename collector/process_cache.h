// Per-process facts that are expensive to read (modules, heaps, command line), kept per process
// identity between snapshots and dropped when the process exits. Both platform sources use it, so
// the re-read policy lives in one place.
#pragma once

#include <chrono>
#include <cstdint>
#include <map>
#include <string>
#include <vector>

#include "collector/model/snapshot.h"

namespace thx {

class ProcessDetailCache {
 public:
  using Clock = std::chrono::steady_clock;

  struct Entry {
    SharedList<Module> modules;  // shared with the snapshots that show them
    std::vector<Heap> heaps;
    std::string command_line;
    Clock::time_point details_read_at{};
    bool details_read = false;  // modules/heaps were read at details_read_at
    bool command_line_read = false;
    std::uint64_t last_seen_cycle = 0;
    // The program the details above were read for (Linux: the executable path). exec() keeps the
    // identity (pid and start time) but replaces modules and command line, so a source that sees
    // a different program drops the cached details with forget_details().
    std::string program;

    void forget_details() {
      details_read = false;
      command_line_read = false;
    }
  };

  // Starts a cycle: entries not touched before end_cycle() belong to exited processes.
  void begin_cycle() { ++cycle_; }

  // The entry for this identity, created empty for a process not seen before.
  Entry& touch(ProcessIdentity identity) {
    Entry& entry = entries_[identity];
    entry.last_seen_cycle = cycle_;
    return entry;
  }

  // Whether modules and heaps of this entry must be read again.
  static bool details_due(const Entry& entry, Clock::time_point now,
                          std::chrono::seconds interval) {
    return !entry.details_read || now - entry.details_read_at >= interval;
  }

  // Drops the entries of processes that were not seen this cycle. Keeps the cache bounded by the
  // number of live processes. A stopped (partial) cycle must not call this.
  void end_cycle() {
    std::erase_if(entries_,
                  [this](const auto& item) { return item.second.last_seen_cycle != cycle_; });
  }

  [[nodiscard]] std::size_t size() const { return entries_.size(); }

 private:
  std::map<ProcessIdentity, Entry> entries_;
  std::uint64_t cycle_ = 0;
};

}  // namespace thx
