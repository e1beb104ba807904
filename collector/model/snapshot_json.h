// Snapshots as JSON: `snapshot --json`, the /snapshot page, bug reports, and recorded snapshots
// replayed by tests. The round trip is lossless: every field of the model, 64-bit addresses as
// JSON numbers (nlohmann keeps uint64 exact), doubles written with round-trip precision.
//
// Document (format_version 1); kinds, states and error reasons by their to_string names:
//
//   {
//     "format_version": 1,
//     "platform": "linux",
//     "taken_at_seconds": 1700000000.25,
//     "kinds": ["processes", "threads", "modules"],
//     "status": {
//       "processes": {"state": "partial", "duration_seconds": 0.012, "errors": {"vanished": 2}},
//       ...one object per kind, all five written...
//     },
//     "processes": [{
//       "pid": 1234, "parent_pid": 1, "name": "nginx", "path": "/usr/sbin/nginx",
//       "command_line": "nginx -g daemon off;", "start_time_ns": 1700000000123456789,
//       "thread_count": 4, "base_priority": 20,
//       "modules_read": true,
//       "modules": [{"name": "libc.so.6", "path": "/usr/lib/libc.so.6",
//                    "base_address": 139716894359552, "size": 1953792}],
//       "heaps_read": false,
//       "heaps": [{"id": 94000000, "flags": 0, "block_count": 12, "bytes": 135168}]
//     }],
//     "threads": [{"tid": 1235, "owner_pid": 1234, "base_priority": 20}],
//     "module_versions": {"C:\\Windows\\System32\\kernel32.dll":
//                         {"file_version": "10.0.19041.1", "product_version": "10.0.19041.1",
//                          "company": "Microsoft Corporation"}}
//   }
//
// Reading: "pid" (processes), "tid" and "owner_pid" (threads) are required; every other member
// may be missing and then keeps the model's default. "block_count" and "bytes" may be absent or
// null (not known). Unknown members are ignored, so newer writers stay readable.
#pragma once

#include <cstddef>
#include <cstdint>
#include <filesystem>
#include <mutex>
#include <stdexcept>
#include <string>
#include <vector>

#include <nlohmann/json.hpp>

#include "collector/model/snapshot.h"
#include "collector/model/source.h"

namespace thx {

// A document that is not a snapshot. The message starts with the JSON path of the offending
// value: "$.processes[3].pid: expected an unsigned integer".
class SnapshotFormatError : public std::runtime_error {
 public:
  using std::runtime_error::runtime_error;
};

nlohmann::json snapshot_to_json(const Snapshot& snapshot);
Snapshot snapshot_from_json(const nlohmann::json& json);

// The JSON text, 2-space indented; invalid UTF-8 (which the sources never produce) is replaced
// rather than thrown on.
std::string snapshot_to_json_text(const Snapshot& snapshot);

// Files hold one snapshot (an object) or a recording (an array of them). Writing and reading
// throw std::runtime_error when the file cannot be opened or written, SnapshotFormatError when
// its content is not JSON or not snapshots (the message then starts with the file's path).
void write_snapshot_file(const std::filesystem::path& path, const Snapshot& snapshot);
void write_snapshots_file(const std::filesystem::path& path,
                          const std::vector<Snapshot>& snapshots);
std::vector<Snapshot> read_snapshots_file(const std::filesystem::path& path);

// Replays recorded snapshots in order, whatever the request asks for: for tests and for
// reproducing a bug report without the machine it came from. Safe to call from any thread.
class ReplaySource final : public SnapshotSource {
 public:
  enum class AtEnd : std::uint8_t {
    repeat_last,  // after the last snapshot, keep returning it
    cycle,        // start again from the first
  };

  explicit ReplaySource(std::vector<Snapshot> snapshots, AtEnd at_end = AtEnd::repeat_last);

  // The next recorded snapshot. With nothing recorded: an empty snapshot whose requested kinds
  // are `failed`.
  Snapshot take(const SnapshotRequest& request, std::stop_token stop) override;

  // How many times take() was called.
  [[nodiscard]] std::size_t takes() const;

 private:
  std::vector<Snapshot> snapshots_;
  AtEnd at_end_;
  mutable std::mutex mutex_;
  std::size_t takes_ = 0;
};

}  // namespace thx
