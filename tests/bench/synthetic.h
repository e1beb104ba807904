// Synthetic snapshots and aggregates of a known shape for the benchmarks: no OS calls, so a
// benchmark of the aggregator or of the exposition measures only that code.
#pragma once

#include <cstddef>
#include <cstdint>
#include <memory>
#include <string>

#include "collector/aggregate/aggregator.h"
#include "collector/model/snapshot.h"
#include "collector/module_files.h"

namespace thx::bench {

struct SyntheticShape {
  std::size_t processes = 3000;
  std::size_t threads_per_process = 10;
  std::size_t names = 50;                // distinct process names (the default groups)
  std::size_t distinct_modules = 400;    // module files to draw from
  std::size_t modules_per_process = 30;  // each process loads this many of them
  std::size_t common_modules = 10;       // loaded by every process (libc, ld.so, ...)
};

// A deterministic snapshot: processes pid 1000.., each with `threads_per_process` threads and
// `modules_per_process` modules (the common ones plus a spread of the others). `generation`
// shifts which processes exist: generation g replaces the first `replaced` processes of
// generation g-1 with new identities (pid and start time), the churn of a busy machine.
class SyntheticMachine {
 public:
  explicit SyntheticMachine(SyntheticShape shape);

  // The next snapshot: `replaced` processes exit and as many new ones start.
  std::shared_ptr<const Snapshot> next(std::size_t replaced);

  [[nodiscard]] const SyntheticShape& shape() const { return shape_; }

 private:
  Process make_process(std::uint32_t pid, std::uint64_t serial);

  SyntheticShape shape_;
  ModuleFilePool files_;       // one ModuleFile per path, as a real source interns them
  std::vector<Process> live_;  // in pid order after every next()
  std::uint64_t serial_ = 0;   // processes made so far
  std::uint32_t next_pid_ = 1000;
};

// The path of synthetic module `index`: /usr/lib/bench/libbench0042.so.1
std::string synthetic_module_path(std::size_t index);

// An aggregate with `series` module series and a few groups, as the exposition sees it.
std::shared_ptr<const Aggregate> synthetic_aggregate(std::size_t module_series, std::size_t groups);

// Resident and peak resident set of this process in bytes (VmRSS, VmHWM); 0 when unknown.
struct MemoryUsage {
  std::uint64_t rss_bytes = 0;
  std::uint64_t peak_rss_bytes = 0;
};
MemoryUsage memory_usage();

}  // namespace thx::bench
