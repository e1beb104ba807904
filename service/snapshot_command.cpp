#include "service/snapshot_command.h"

#include <iomanip>
#include <map>
#include <sstream>

namespace thx {
namespace {

std::string hex(std::uint64_t value) {
  std::ostringstream out;
  out << "0x" << std::hex << std::setw(12) << std::setfill('0') << value;
  return out.str();
}

}  // namespace

void print_snapshot_table(const Snapshot& snapshot, std::ostream& out) {
  out << std::left << std::setw(8) << "PID" << std::setw(8) << "PPID" << std::setw(8) << "THREADS"
      << std::setw(6) << "PRIO" << std::setw(26) << "NAME"
      << "PATH\n";
  for (const Process& process : snapshot.processes) {
    out << std::setw(8) << process.pid << std::setw(8) << process.parent_pid << std::setw(8)
        << process.thread_count << std::setw(6) << process.base_priority << std::setw(26)
        << process.name << process.path << "\n";
    for (const Module& module : process.modules) {
      out << "        " << hex(module.base_address) << "  " << std::setw(10) << module.size
          << module.path() << "\n";
    }
    for (const Heap& heap : process.heaps) {
      out << "        heap " << hex(heap.id) << " flags " << heap.flags;
      if (heap.block_count) {
        out << ", " << *heap.block_count << " blocks";
      }
      if (heap.bytes) {
        out << ", " << *heap.bytes << " bytes";
      }
      out << "\n";
    }
  }
  out << "\n" << snapshot.processes.size() << " processes";
  if (snapshot.kinds.contains(Kind::threads)) {
    out << ", " << snapshot.threads.size() << " threads";
  }
  out << "\n";
  for (Kind kind : kAllKinds) {
    const KindStatus& status = snapshot.status_of(kind);
    if (status.state == KindStatus::State::not_requested) {
      continue;
    }
    out << std::setw(12) << to_string(kind) << std::setw(12) << to_string(status.state)
        << std::fixed << std::setprecision(4) << status.duration_seconds << " s";
    for (ErrorReason reason : kAllErrorReasons) {
      if (status.error_count(reason) > 0) {
        out << "  " << to_string(reason) << "=" << status.error_count(reason);
      }
    }
    out << "\n";
  }
}

}  // namespace thx
