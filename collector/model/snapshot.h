// The snapshot model: one consistent, read-only copy of the machine's processes, threads, modules
// and heaps, in the Tool Help sense. Plain values; every platform source fills the same fields.
#pragma once

#include <array>
#include <cstdint>
#include <map>
#include <memory>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "collector/model/shared_list.h"

namespace thx {

// What a snapshot can contain. The caller chooses; each kind gets its own status.
// `resources` is what each process costs the host (CPU, memory, handles, I/O: ProcessResources).
enum class Kind : std::uint8_t { processes, threads, modules, heaps, heap_blocks, resources };
inline constexpr std::size_t kKindCount = 6;
inline constexpr std::array<Kind, kKindCount> kAllKinds = {
    Kind::processes, Kind::threads, Kind::modules, Kind::heaps, Kind::heap_blocks, Kind::resources};

std::string_view to_string(Kind kind);
std::optional<Kind> kind_from_string(std::string_view name);

// A small set of kinds (a bit mask), so requests and statuses stay cheap to copy.
class KindSet {
 public:
  constexpr KindSet() = default;
  constexpr KindSet(std::initializer_list<Kind> kinds) {
    for (Kind kind : kinds) {
      insert(kind);
    }
  }
  constexpr void insert(Kind kind) { bits_ |= bit(kind); }
  constexpr void erase(Kind kind) { bits_ &= static_cast<std::uint8_t>(~bit(kind)); }
  [[nodiscard]] constexpr bool contains(Kind kind) const { return (bits_ & bit(kind)) != 0; }
  [[nodiscard]] constexpr bool empty() const { return bits_ == 0; }
  constexpr bool operator==(const KindSet&) const = default;

 private:
  static constexpr std::uint8_t bit(Kind kind) {
    return static_cast<std::uint8_t>(1U << static_cast<unsigned>(kind));
  }
  std::uint8_t bits_ = 0;
};

// Why something could not be read. Partial failure is normal on a real machine; each reason is
// counted and exported, never logged per process.
enum class ErrorReason : std::uint8_t {
  access_denied,      // ERROR_ACCESS_DENIED, EACCES/EPERM: protected or other users' processes
  vanished,           // the process or thread exited between listing and reading
  partial_copy,       // ERROR_PARTIAL_COPY: a 32/64-bit or mid-start process
  retries_exhausted,  // ERROR_BAD_LENGTH kept coming back
  malformed,          // the OS answered with content we could not parse
  limit_reached,      // a configured bound (heap blocks per process, ...) cut the read short
  other,              // anything else; the log names the error code once per cycle
};
inline constexpr std::size_t kErrorReasonCount = 7;
inline constexpr std::array<ErrorReason, kErrorReasonCount> kAllErrorReasons = {
    ErrorReason::access_denied, ErrorReason::vanished,
    ErrorReason::partial_copy,  ErrorReason::retries_exhausted,
    ErrorReason::malformed,     ErrorReason::limit_reached,
    ErrorReason::other};

std::string_view to_string(ErrorReason reason);
std::optional<ErrorReason> error_reason_from_string(std::string_view name);

struct KindStatus {
  enum class State : std::uint8_t {
    not_requested,  // the caller did not ask for this kind
    complete,       // everything asked for was read
    partial,        // read, with failures counted in `errors`
    unsupported,    // the platform does not provide this kind (heaps under Wine)
    failed,         // nothing could be read at all (the snapshot call itself failed)
  };
  State state = State::not_requested;
  std::array<std::uint64_t, kErrorReasonCount> errors{};  // indexed by ErrorReason
  double duration_seconds = 0.0;

  void count(ErrorReason reason, std::uint64_t n = 1) {
    errors.at(static_cast<std::size_t>(reason)) += n;
  }
  [[nodiscard]] std::uint64_t error_count(ErrorReason reason) const {
    return errors.at(static_cast<std::size_t>(reason));
  }
  [[nodiscard]] std::uint64_t total_errors() const;
  bool operator==(const KindStatus&) const = default;
};

std::string_view to_string(KindStatus::State state);
std::optional<KindStatus::State> state_from_string(std::string_view name);

// What names a module file. Immutable and shared: the sources intern one per path (see
// ModuleFilePool), so the thousands of processes that load libc.so.6 or kernel32.dll hold one
// copy of its names between them.
struct ModuleFile {
  std::string name;  // base name: kernel32.dll, libc.so.6
  std::string path;  // full path, UTF-8; Windows paths keep their backslashes
};

// One module loaded in one process: the file and where it sits in the process.
struct Module {
  Module() = default;
  Module(std::shared_ptr<const ModuleFile> shared_file, std::uint64_t start, std::uint64_t length);
  // A module with names of its own, not shared with others (replayed snapshots, tests).
  Module(std::string file_name, std::string file_path, std::uint64_t start = 0,
         std::uint64_t length = 0);

  [[nodiscard]] const std::string& name() const;
  [[nodiscard]] const std::string& path() const;
  bool operator==(const Module& other) const;

  std::shared_ptr<const ModuleFile> file;  // null only in a default-constructed Module
  std::uint64_t base_address = 0;
  std::uint64_t size = 0;  // bytes the module spans in the process's address space
};

struct Heap {
  std::uint64_t id = 0;  // Tool Help heap id; the [heap] mapping's start address on Linux
  std::uint32_t flags = 0;
  std::optional<std::uint64_t> block_count;  // only when heap blocks were asked for
  std::optional<std::uint64_t> bytes;        // committed bytes, where the platform knows them
  bool operator==(const Heap&) const = default;
};

struct Thread {
  std::uint32_t tid = 0;
  std::uint32_t owner_pid = 0;
  std::int32_t base_priority = 0;  // Windows base priority; Linux: nice-derived, see procfs source
  bool operator==(const Thread&) const = default;
};

// What a process costs the host, read in the same cycle as the snapshot. A field is empty when the
// platform does not give it, its collection switch is off, or the read was refused.
struct ProcessResources {
  std::optional<double> cpu_user_seconds;       // since the process started
  std::optional<double> cpu_system_seconds;     // since the process started
  std::optional<std::uint64_t> resident_bytes;  // working set (Windows), RSS (Linux)
  std::optional<std::uint64_t> private_bytes;   // PrivateUsage (Windows), private pages (Linux)
  std::optional<std::uint64_t> virtual_bytes;
  std::optional<std::uint64_t> handles;         // Windows handles; Linux open file descriptors
  std::optional<std::uint64_t> io_read_bytes;   // since the process started
  std::optional<std::uint64_t> io_write_bytes;  // since the process started
  bool operator==(const ProcessResources&) const = default;
};

struct Process {
  std::uint32_t pid = 0;
  std::uint32_t parent_pid = 0;  // may name a reused pid: compare start times before trusting it
  std::string name;              // base name of the executable (szExeFile, /proc/<pid>/stat comm)
  std::string path;              // full executable path; empty when it could not be read
  std::string command_line;      // only when asked for; empty otherwise
  // Creation time in nanoseconds since the Unix epoch. With the pid it is the process's identity.
  std::int64_t start_time_ns = 0;
  std::uint32_t thread_count = 0;
  std::int32_t base_priority = 0;
  // Linux: a kernel thread (kthreadd and its children: PF_KTHREAD in stat, or parent pid 2). Its
  // name changes as it works (kworker/0:1-events, kworker/0:1-mm_percpu_wq), so grouping puts
  // them in one group by default (GroupingSettings::kernel_threads_group).
  bool kernel_thread = false;
  // Modules and heaps are filled only when those kinds were asked for and could be read;
  // `modules_read` / `heaps_read` tell an empty list from an unread one. A module list is shared
  // with the source's cache and with earlier snapshots of the same process (see SharedList).
  SharedList<Module> modules;
  std::vector<Heap> heaps;
  bool modules_read = false;
  bool heaps_read = false;
  ProcessResources resources;
  bool operator==(const Process&) const = default;
};

// A process's identity: pids are reused, (pid, creation time) is not.
struct ProcessIdentity {
  std::uint32_t pid = 0;
  std::int64_t start_time_ns = 0;
  // clang-tidy 14 mistakes the defaulted <=>'s comparisons with 0 for null pointers.
  auto operator<=>(const ProcessIdentity&) const = default;  // NOLINT(modernize-use-nullptr)
};

inline ProcessIdentity identity_of(const Process& process) {
  return {process.pid, process.start_time_ns};
}

// A module file's version resource (Windows); read once per path, size and modification time.
struct ModuleVersion {
  std::string file_version;
  std::string product_version;
  std::string company;
  bool operator==(const ModuleVersion&) const = default;
};

struct Snapshot {
  std::string platform;            // "windows", "linux", or whatever a replayed file says
  double taken_at_seconds = 0.0;   // Unix time when the snapshot finished
  KindSet kinds;                   // what was asked for
  std::vector<Process> processes;  // sorted by pid
  std::vector<Thread> threads;     // sorted by (owner pid, tid); only with Kind::threads
  std::array<KindStatus, kKindCount> status{};  // indexed by Kind
  // Version resources of the module files seen in this snapshot, by module path. Windows only;
  // filled with Kind::modules.
  std::map<std::string, ModuleVersion> module_versions;

  KindStatus& status_of(Kind kind) { return status.at(static_cast<std::size_t>(kind)); }
  [[nodiscard]] const KindStatus& status_of(Kind kind) const {
    return status.at(static_cast<std::size_t>(kind));
  }
  [[nodiscard]] const Process* find_process(std::uint32_t pid) const;
  bool operator==(const Snapshot&) const = default;
};

}  // namespace thx
