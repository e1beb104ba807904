// The Windows snapshot source. Tool Help gives the lists: processes and threads from one system
// snapshot per cycle, modules and heap lists from one snapshot per process. What Tool Help lacks
// comes from the process itself, through one handle per live process that the source keeps:
//
// - Identity. A process is (pid, creation time). The source holds a SYNCHRONIZE |
//   PROCESS_QUERY_LIMITED_INFORMATION handle per live process; while it is held the pid cannot
//   be given to another process (Windows and Wine both keep a pid until its last handle closes).
//   The creation time is read through it every cycle (GetProcessTimes, which also gives the CPU
//   times); modules, heaps and the command line are read only while such a handle is held, so a
//   per-pid read can never land in a successor. Handles of processes that left the list are
//   closed at the end of every complete cycle.
// - Exact module paths. Tool Help says which modules are loaded; their paths come from the
//   loader through a process handle (K32GetModuleFileNameExW on the module base), because
//   Module32NextW's paths went through a 256-byte ANSI buffer. Module files are keyed the way
//   Windows compares paths (ordinal, upper-cased with the file system's rules), so one file
//   spelled two ways is one series under the first spelling seen.
// - Spread work. Modules and heaps of a process are re-read once per module interval, the first
//   re-read at a random point of the interval (so a burst of starts does not become a burst of
//   re-reads every interval); a refusal is remembered per identity and counted once; the Idle
//   process and the minimal processes (Registry, Memory Compression, Secure System) are known to
//   have no modules. Heap support is probed once against this process.
//
// Errors counted in a snapshot are the reads of that cycle that failed; remembered results,
// refusals included, are not counted again.

// windows.h first: tlhelp32.h, psapi.h and winternl.h build on its types.
#include <windows.h>

#include <psapi.h>
#include <tlhelp32.h>
#include <winternl.h>

#include <algorithm>
#include <array>
#include <cstddef>
#include <optional>
#include <random>
#include <set>
#include <string>
#include <string_view>
#include <unordered_map>
#include <unordered_set>
#include <utility>

#include "collector/platform_source.h"
#include "collector/snapshot_builder.h"
#include "collector/windows/win32_util.h"

namespace thx {
namespace {

using win32::UniqueHandle;
using Clock = std::chrono::steady_clock;

constexpr int kSnapshotAttempts = 5;  // CreateToolhelp32Snapshot retries on ERROR_BAD_LENGTH
constexpr DWORD kIdlePid = 0;         // System Idle: not a real process, no image, no modules
constexpr DWORD kSystemPid = 4;       // the kernel: no user-mode modules
constexpr std::size_t kMaxCommandLineUnits = 32 * 1024 / sizeof(wchar_t);  // 32 KiB of UTF-16
constexpr DWORD kHeldAccess = SYNCHRONIZE | PROCESS_QUERY_LIMITED_INFORMATION;
// What K32GetModuleFileNameExW needs (Windows 10: PROCESS_QUERY_LIMITED_INFORMATION suffices
// with PROCESS_VM_READ; earlier: PROCESS_QUERY_INFORMATION).
constexpr DWORD kLoaderAccess = PROCESS_QUERY_INFORMATION | PROCESS_VM_READ;
// A heap walk re-queries the target on every block: bounded in blocks (the request) and time.
constexpr double kHeapWalkSecondsPerProcess = 0.25;
constexpr DWORD kMaxPathUnits = 32768;  // the longest path Windows has

// ---- Tool Help snapshots ------------------------------------------------------------------------

struct ToolhelpSnapshot {
  UniqueHandle handle;
  DWORD error = ERROR_SUCCESS;  // why `handle` is empty
};

// CreateToolhelp32Snapshot, retried while it answers ERROR_BAD_LENGTH (the module list of the
// process changed while it was being copied), at most kSnapshotAttempts times.
ToolhelpSnapshot create_snapshot(DWORD flags, DWORD pid) {
  for (int attempt = 0; attempt < kSnapshotAttempts; ++attempt) {
    UniqueHandle handle(CreateToolhelp32Snapshot(flags, pid));
    if (handle) {
      return {std::move(handle), ERROR_SUCCESS};
    }
    const DWORD error = GetLastError();
    if (error != ERROR_BAD_LENGTH) {
      return {UniqueHandle(), error};
    }
  }
  return {UniqueHandle(), ERROR_BAD_LENGTH};
}

bool has_exited(HANDLE process) {
  return WaitForSingleObject(process, 0) == WAIT_OBJECT_0;
}

// The reason to count when reading a process we hold `held` for failed with `error`. The held
// handle tells an exit apart; a refusal of a live process that let us open it for reading is a
// process still starting (Wine says ERROR_ACCESS_DENIED or ERROR_NOACCESS then, Windows
// ERROR_PARTIAL_COPY).
ErrorReason failure_reason(HANDLE held, DWORD error) {
  if (has_exited(held)) {
    return ErrorReason::vanished;
  }
  if (error == ERROR_ACCESS_DENIED || error == ERROR_NOACCESS) {
    return ErrorReason::partial_copy;
  }
  return win32::reason_from_error(error);
}

// The error a *32Next walk ended with: ERROR_NO_MORE_FILES is the normal end of the list.
std::optional<ErrorReason> walk_end_error() {
  const DWORD error = GetLastError();
  if (error == ERROR_NO_MORE_FILES) {
    return std::nullopt;
  }
  return win32::reason_from_error(error);
}

Process to_process(const PROCESSENTRY32W& entry) {
  Process process;
  process.pid = entry.th32ProcessID;
  process.parent_pid = entry.th32ParentProcessID;
  process.name = win32::to_utf8(entry.szExeFile);
  process.thread_count = entry.cntThreads;
  process.base_priority = entry.pcPriClassBase;
  return process;
}

std::optional<ErrorReason> read_processes(HANDLE snapshot, std::vector<Process>& processes) {
  PROCESSENTRY32W entry{};
  entry.dwSize = sizeof(entry);
  for (BOOL more = Process32FirstW(snapshot, &entry); more;
       more = Process32NextW(snapshot, &entry)) {
    processes.push_back(to_process(entry));
  }
  return walk_end_error();
}

std::optional<ErrorReason> read_threads(HANDLE snapshot, std::vector<Thread>& threads) {
  THREADENTRY32 entry{};
  entry.dwSize = sizeof(entry);
  for (BOOL more = Thread32First(snapshot, &entry); more; more = Thread32Next(snapshot, &entry)) {
    threads.push_back({entry.th32ThreadID, entry.th32OwnerProcessID, entry.tpBasePri});
  }
  return walk_end_error();
}

// The Idle process and the minimal processes the kernel keeps (no image, no user-mode loader):
// they have no modules anyone could list, which is a fact, not an error.
bool has_no_modules(const Process& process) {
  if (process.pid == kIdlePid || process.pid == kSystemPid) {
    return true;
  }
  static constexpr std::array<std::string_view, 4> kMinimal = {"Registry", "Memory Compression",
                                                               "Secure System", "MemCompression"};
  return process.parent_pid == kSystemPid &&
         std::ranges::find(kMinimal, process.name) != kMinimal.end();
}

// ---- Identity, image path and resources through the held handle --------------------------------

std::int64_t unix_ns_now() {
  FILETIME now{};
  GetSystemTimePreciseAsFileTime(&now);
  return win32::filetime_to_unix_ns(now);
}

double filetime_seconds(const FILETIME& time) {
  const std::uint64_t ticks =
      (std::uint64_t{time.dwHighDateTime} << 32U) | std::uint64_t{time.dwLowDateTime};
  return static_cast<double>(ticks) / 1e7;
}

struct ProcessTimes {
  std::int64_t created_ns = 0;
  double user_seconds = 0.0;
  double system_seconds = 0.0;
};

std::optional<ProcessTimes> read_times(HANDLE process) {
  FILETIME created{};
  FILETIME exited{};
  FILETIME kernel{};
  FILETIME user{};
  if (!GetProcessTimes(process, &created, &exited, &kernel, &user)) {
    return std::nullopt;
  }
  return ProcessTimes{win32::filetime_to_unix_ns(created), filetime_seconds(user),
                      filetime_seconds(kernel)};
}

std::string image_path(HANDLE process) {
  // MAX_PATH covers nearly every image; long-path images get a second try with the largest size.
  for (DWORD capacity : {DWORD{MAX_PATH}, kMaxPathUnits}) {
    std::wstring buffer(capacity, L'\0');
    DWORD length = capacity;
    if (QueryFullProcessImageNameW(process, 0, buffer.data(), &length)) {
      buffer.resize(length);
      return win32::to_utf8(buffer);
    }
    if (GetLastError() != ERROR_INSUFFICIENT_BUFFER) {
      break;
    }
  }
  return {};
}

// ---- Command lines ------------------------------------------------------------------------------

using NtQueryInformationProcessFn = LONG(NTAPI*)(HANDLE, ULONG, PVOID, ULONG, PULONG);
constexpr ULONG kProcessBasicInformation = 0;
constexpr ULONG kProcessCommandLineInformation = 60;  // Windows 8.1 and later

// ntdll's NtQueryInformationProcess, looked up at run time as Microsoft documents it.
NtQueryInformationProcessFn nt_query_information_process() {
  static const NtQueryInformationProcessFn function = [] {
    const HMODULE ntdll = GetModuleHandleW(L"ntdll.dll");
    const FARPROC address =
        ntdll == nullptr ? nullptr : GetProcAddress(ntdll, "NtQueryInformationProcess");
    // void(*)() converts to and from every function pointer type without a warning.
    return reinterpret_cast<NtQueryInformationProcessFn>(reinterpret_cast<void (*)()>(address));
  }();
  return function;
}

// Keeps at most kMaxCommandLineUnits, without splitting a surrogate pair.
std::wstring capped(std::wstring text) {
  if (text.size() > kMaxCommandLineUnits) {
    std::size_t length = kMaxCommandLineUnits;
    if (IS_HIGH_SURROGATE(text[length - 1])) {
      --length;
    }
    text.resize(length);
  }
  return text;
}

// The cheap way: ProcessCommandLineInformation through the held (limited) handle, which answers
// a UNICODE_STRING followed by its characters. Empty when this way does not work.
std::optional<std::wstring> command_line_by_query(HANDLE held) {
  const auto query = nt_query_information_process();
  if (query == nullptr) {
    return std::nullopt;
  }
  ULONG needed = 2048;
  for (int attempt = 0; attempt < 2; ++attempt) {
    // UNICODE_STRING holds a pointer: the buffer must be aligned for it.
    std::vector<UNICODE_STRING> buffer(1 + needed / sizeof(UNICODE_STRING));
    const auto size = static_cast<ULONG>(buffer.size() * sizeof(UNICODE_STRING));
    if (query(held, kProcessCommandLineInformation, buffer.data(), size, &needed) >= 0) {
      const UNICODE_STRING& text = buffer.front();
      return capped(std::wstring(text.Buffer, text.Length / sizeof(wchar_t)));
    }
    if (needed <= size) {
      break;  // not a size problem: the information class is not supported or refused
    }
  }
  return std::nullopt;
}

template <typename T>
bool read_remote(HANDLE process, std::uintptr_t address, T& value) {
  return ReadProcessMemory(process, reinterpret_cast<const void*>(address), &value, sizeof(T),
                           nullptr) != FALSE;
}

// A second handle to the process we hold `held` for, with `access`. While `held` is open the
// pid cannot name another process; the creation time is compared all the same.
UniqueHandle open_same_process(DWORD pid, std::int64_t created_ns, DWORD access, DWORD& error) {
  UniqueHandle process = win32::open_process(pid, access);
  if (!process) {
    error = GetLastError();
    return process;
  }
  const auto times = read_times(process.get());
  if (!times || times->created_ns != created_ns) {
    error = ERROR_INVALID_PARAMETER;  // another process: ours is gone
    return UniqueHandle();
  }
  return process;
}

// The fallback (Windows 8, Wine): read PEB -> ProcessParameters -> CommandLine out of the
// process's memory, which needs PROCESS_QUERY_INFORMATION | PROCESS_VM_READ.
std::optional<std::wstring> command_line_from_peb(HANDLE process, DWORD& error) {
  const auto query = nt_query_information_process();
  PROCESS_BASIC_INFORMATION basic{};
  ULONG ignored = 0;
  if (query == nullptr ||
      query(process, kProcessBasicInformation, &basic, sizeof(basic), &ignored) < 0) {
    error = ERROR_PARTIAL_COPY;  // the PEB address is out of reach
    return std::nullopt;
  }
  const auto peb = reinterpret_cast<std::uintptr_t>(basic.PebBaseAddress);
  PRTL_USER_PROCESS_PARAMETERS parameters = nullptr;
  UNICODE_STRING text{};
  if (!read_remote(process, peb + offsetof(PEB, ProcessParameters), parameters) ||
      !read_remote(process,
                   reinterpret_cast<std::uintptr_t>(parameters) +
                       offsetof(RTL_USER_PROCESS_PARAMETERS, CommandLine),
                   text)) {
    error = GetLastError();
    return std::nullopt;
  }
  std::wstring line(std::min<std::size_t>(text.Length / sizeof(wchar_t), kMaxCommandLineUnits),
                    L'\0');
  if (!ReadProcessMemory(process, text.Buffer, line.data(), line.size() * sizeof(wchar_t),
                         nullptr)) {
    error = GetLastError();
    return std::nullopt;
  }
  return capped(std::move(line));
}

struct CommandLineRead {
  std::string text;
  std::optional<ErrorReason> error;
};

CommandLineRead read_command_line(DWORD pid, HANDLE held, std::int64_t created_ns) {
  if (auto line = command_line_by_query(held)) {
    return {win32::to_utf8(*line), std::nullopt};
  }
  DWORD error = ERROR_SUCCESS;
  const UniqueHandle reader = open_same_process(pid, created_ns, kLoaderAccess, error);
  if (!reader) {
    return {
        {},
        error == ERROR_ACCESS_DENIED ? ErrorReason::access_denied : failure_reason(held, error)};
  }
  if (auto line = command_line_from_peb(reader.get(), error)) {
    return {win32::to_utf8(*line), std::nullopt};
  }
  return {{}, failure_reason(held, error)};
}

// ---- Modules ------------------------------------------------------------------------------------

// The key Windows compares paths by: upper-cased with the file system's rules (LCMapStringEx
// without LCMAP_LINGUISTIC_CASING), compared ordinally.
std::string path_key(std::wstring_view path) {
  if (path.empty()) {
    return {};
  }
  std::wstring upper(path.size(), L'\0');
  const int length = LCMapStringEx(LOCALE_NAME_INVARIANT, LCMAP_UPPERCASE, path.data(),
                                   static_cast<int>(path.size()), upper.data(),
                                   static_cast<int>(upper.size()), nullptr, nullptr, 0);
  if (length <= 0) {
    return win32::to_utf8(path);
  }
  upper.resize(static_cast<std::size_t>(length));
  return win32::to_utf8(upper);
}

std::wstring_view base_name(std::wstring_view path) {
  const std::size_t slash = path.find_last_of(L"\\/");
  return slash == std::wstring_view::npos ? path : path.substr(slash + 1);
}

// Which file a Tool Help module entry is. Tool Help's path may be lossy; the loader's answer for
// the same (Tool Help path, base, size) is remembered across processes, so the loader is asked
// once per loaded image, not once per process and module. Two different files that share a
// lossy Tool Help path, a base address and a size would share an entry: a risk accepted for a
// read that would otherwise walk every process's loader list once per module.
class ModuleResolver {
 public:
  // The interned file of `entry`, asking the loader of `process` (a handle with kLoaderAccess;
  // null when none could be opened) for the exact path when this image was not seen before.
  std::shared_ptr<const ModuleFile> resolve(const MODULEENTRY32W& entry, HANDLE process,
                                            ModuleFilePool& files) {
    Key key{entry.szExePath, reinterpret_cast<std::uintptr_t>(entry.modBaseAddr),
            entry.modBaseSize};
    if (auto known = known_.find(key); known != known_.end()) {
      return known->second;
    }
    std::wstring_view path = entry.szExePath;
    if (process != nullptr) {
      buffer_.resize(kMaxPathUnits);
      const DWORD length = K32GetModuleFileNameExW(
          process, reinterpret_cast<HMODULE>(entry.modBaseAddr), buffer_.data(), kMaxPathUnits);
      if (length > 0 && length < kMaxPathUnits) {
        path = std::wstring_view(buffer_.data(), length);
      }
    }
    std::shared_ptr<const ModuleFile> file = files.intern(path_key(path), [path] {
      return ModuleFile{win32::to_utf8(base_name(path)), win32::to_utf8(path)};
    });
    known_.emplace(std::move(key), file);
    return file;
  }

  // Forgets the images that none of the `live` files (those of the module lists kept) is.
  void prune(const std::unordered_set<const ModuleFile*>& live) {
    std::erase_if(known_, [&live](const auto& item) { return !live.contains(item.second.get()); });
  }

 private:
  struct Key {
    std::wstring toolhelp_path;
    std::uintptr_t base = 0;
    std::uint64_t size = 0;
    bool operator==(const Key&) const = default;
  };
  struct Hash {
    std::size_t operator()(const Key& key) const {
      return std::hash<std::wstring>{}(key.toolhelp_path) ^ (key.base * 0x9E3779B97F4A7C15ULL) ^
             key.size;
    }
  };
  std::unordered_map<Key, std::shared_ptr<const ModuleFile>, Hash> known_;
  std::wstring buffer_;
};

struct ModuleRead {
  std::vector<Module> modules;
  std::optional<ErrorReason> error;
  bool refused = false;  // the process does not let us read it at all: final for its identity
};

ModuleRead read_modules(DWORD pid, HANDLE held, std::int64_t created_ns, ModuleResolver& resolver,
                        ModuleFilePool& files) {
  ModuleRead read;
  DWORD error = ERROR_SUCCESS;
  const UniqueHandle loader = open_same_process(pid, created_ns, kLoaderAccess, error);
  if (!loader) {
    read.refused = error == ERROR_ACCESS_DENIED && !has_exited(held);
    read.error = read.refused ? ErrorReason::access_denied : failure_reason(held, error);
    return read;
  }
  // SNAPMODULE32 adds the 32-bit modules of a WOW64 process.
  const ToolhelpSnapshot snapshot = create_snapshot(TH32CS_SNAPMODULE | TH32CS_SNAPMODULE32, pid);
  if (!snapshot.handle) {
    read.error = failure_reason(held, snapshot.error);
    return read;
  }
  MODULEENTRY32W entry{};
  entry.dwSize = sizeof(entry);
  std::set<const ModuleFile*> seen;  // a file counts once per process, however it is spelled
  for (BOOL more = Module32FirstW(snapshot.handle.get(), &entry); more;
       more = Module32NextW(snapshot.handle.get(), &entry)) {
    auto file = resolver.resolve(entry, loader.get(), files);
    if (seen.insert(file.get()).second) {
      read.modules.emplace_back(
          std::move(file), reinterpret_cast<std::uintptr_t>(entry.modBaseAddr), entry.modBaseSize);
    }
  }
  read.error = walk_end_error();
  return read;
}

// ---- Heaps --------------------------------------------------------------------------------------

struct HeapBudget {
  std::size_t blocks = 0;
  Clock::time_point deadline;
  const std::stop_token* stop = nullptr;
  [[nodiscard]] bool spent() const {
    return blocks == 0 || Clock::now() >= deadline || stop->stop_requested();
  }
};

// Counts the used blocks and bytes of one heap within `budget` (Heap32Next re-walks the heap on
// every call, so a walk is quadratic). Fills block_count and bytes only when the whole heap was
// walked.
std::optional<ErrorReason> count_heap_blocks(DWORD pid, Heap& heap, HeapBudget& budget) {
  HEAPENTRY32 block{};
  block.dwSize = sizeof(block);
  if (budget.spent()) {
    return ErrorReason::limit_reached;
  }
  std::uint64_t used_blocks = 0;
  std::uint64_t used_bytes = 0;
  if (!Heap32First(&block, pid, heap.id)) {
    if (auto error = walk_end_error()) {
      return error;
    }
    heap.block_count = 0;  // ERROR_NO_MORE_FILES: an empty heap
    heap.bytes = 0;
    return std::nullopt;
  }
  do {
    if (budget.spent()) {
      return ErrorReason::limit_reached;
    }
    --budget.blocks;
    if (block.dwFlags != LF32_FREE) {
      ++used_blocks;
      used_bytes += block.dwBlockSize;
    }
  } while (Heap32Next(&block));
  if (auto error = walk_end_error()) {
    return error;
  }
  heap.block_count = used_blocks;
  heap.bytes = used_bytes;
  return std::nullopt;
}

struct HeapRead {
  std::vector<Heap> heaps;
  std::optional<ErrorReason> error;        // the heap list could not be read
  std::optional<ErrorReason> block_error;  // some heap's blocks could not be counted
  bool unsupported = false;                // the platform has no heap lists (Wine)
  double block_seconds = 0.0;
};

// The heap lists of `pid`. Windows sets an error whenever Heap32ListFirst fails
// (ERROR_NO_MORE_FILES: an empty list); Wine's stub fails without one, and there
// Heap32ListNext, Heap32First and Heap32Next abort the program: nothing else is called unless
// Heap32ListFirst succeeded.
HeapRead read_heaps(DWORD pid, HANDLE held, bool blocks, HeapBudget budget) {
  HeapRead read;
  const ToolhelpSnapshot snapshot = create_snapshot(TH32CS_SNAPHEAPLIST, pid);
  if (!snapshot.handle) {
    // Wine refuses a heap-list-only snapshot with ERROR_CALL_NOT_IMPLEMENTED.
    read.unsupported =
        snapshot.error == ERROR_CALL_NOT_IMPLEMENTED || snapshot.error == ERROR_NOT_SUPPORTED;
    if (!read.unsupported) {
      read.error = failure_reason(held, snapshot.error);
    }
    return read;
  }
  HEAPLIST32 list{};
  list.dwSize = sizeof(list);
  SetLastError(ERROR_SUCCESS);
  if (!Heap32ListFirst(snapshot.handle.get(), &list)) {
    const DWORD error = GetLastError();
    read.unsupported = error == ERROR_SUCCESS;
    if (!read.unsupported && error != ERROR_NO_MORE_FILES) {
      read.error = failure_reason(held, error);
    }
    return read;
  }
  do {
    Heap heap;
    heap.id = list.th32HeapID;
    heap.flags = list.dwFlags;
    if (blocks) {
      const Stopwatch watch;
      if (auto error = count_heap_blocks(pid, heap, budget)) {
        read.block_error = error;
      }
      read.block_seconds += watch.seconds();
    }
    read.heaps.push_back(heap);
  } while (Heap32ListNext(snapshot.handle.get(), &list));
  return read;
}

// Whether this platform gives heap lists at all, asked once of this very process (which always
// has a heap): one process refusing says nothing about the others.
bool heaps_supported_here() {
  const ToolhelpSnapshot snapshot = create_snapshot(TH32CS_SNAPHEAPLIST, GetCurrentProcessId());
  if (!snapshot.handle) {
    return snapshot.error != ERROR_CALL_NOT_IMPLEMENTED && snapshot.error != ERROR_NOT_SUPPORTED;
  }
  HEAPLIST32 list{};
  list.dwSize = sizeof(list);
  SetLastError(ERROR_SUCCESS);
  return Heap32ListFirst(snapshot.handle.get(), &list) != FALSE || GetLastError() != ERROR_SUCCESS;
}

// ---- The source ---------------------------------------------------------------------------------

// What a request asks of the per-process details; cached details are only reused for the same.
struct DetailRequest {
  bool modules = false;
  bool heaps = false;
  bool blocks = false;
  std::size_t max_blocks = 0;
  bool operator==(const DetailRequest&) const = default;
};

DetailRequest detail_request_of(const SnapshotRequest& request) {
  return {request.kinds.contains(Kind::modules),
          request.kinds.contains(Kind::heaps) || request.kinds.contains(Kind::heap_blocks),
          request.kinds.contains(Kind::heap_blocks), request.max_heap_blocks_per_process};
}

class ToolhelpSource final : public SnapshotSource {
 public:
  ToolhelpSource() : random_(std::random_device{}()), under_wine_(win32::running_under_wine()) {
    // Lets an administrator's exporter read other users' processes; not holding it is normal.
    win32::enable_privilege(SE_DEBUG_NAME);
  }

  Snapshot take(const SnapshotRequest& request, std::stop_token stop) override;

 private:
  // One live process as the source knows it, by pid. With a handle, the identity is
  // (pid, start_time_ns) and everything below belongs to it; without one (the process refused
  // even limited access), its Tool Help parent and name stand in, and the refusal is remembered.
  struct Tracked {
    UniqueHandle handle;  // kHeldAccess
    std::int64_t start_time_ns = 0;
    std::string path;
    std::uint32_t parent_pid = 0;
    std::string name;
    bool refused = false;  // could not be opened: counted once
    std::uint64_t last_seen_cycle = 0;
    // Per-identity details.
    bool resources_refused = false;  // memory counters refused: counted once
    bool command_line_read = false;
    std::string command_line;
    bool details_read = false;     // modules/heaps below are valid for the current request
    bool details_refused = false;  // the process refuses module reads: counted once
    Clock::time_point details_read_at{};
    double details_spread = 1.0;  // re-read after this fraction of the module interval
    SharedList<Module> modules;   // shared with the snapshots that show them
    std::vector<Heap> heaps;
    bool heaps_read = false;
  };

  static bool read_lists(SnapshotBuilder& builder);
  bool identify_all(SnapshotBuilder& builder, std::int64_t listed_at_ns,
                    const std::stop_token& stop);
  bool identify(Process& process, SnapshotBuilder& builder, std::int64_t listed_at_ns);
  bool open_identity(Process& process, Tracked& tracked, SnapshotBuilder& builder,
                     std::int64_t listed_at_ns);
  void read_resources(Tracked& tracked, const ProcessTimes& times, Process& process,
                      SnapshotBuilder& builder);
  void resolve_command_line(Process& process, Tracked& tracked, SnapshotBuilder& builder);
  bool read_all_details(SnapshotBuilder& builder, const std::stop_token& stop);
  void read_details(Process& process, Tracked& tracked, const DetailRequest& detail,
                    SnapshotBuilder& builder, const std::stop_token& stop);
  void refresh_details(Process& process, Tracked& tracked, const DetailRequest& detail,
                       SnapshotBuilder& builder, const std::stop_token& stop);
  bool refresh_heaps(Process& process, Tracked& tracked, const DetailRequest& detail,
                     SnapshotBuilder& builder, const std::stop_token& stop);
  double next_details_spread(bool first);

  std::unordered_map<std::uint32_t, Tracked> tracked_;
  SourceCaches caches_;
  ModuleResolver resolver_;
  win32::ModuleVersionCache versions_;
  std::optional<DetailRequest> last_detail_request_;
  std::optional<bool> heaps_supported_;  // probed once, against this process
  std::minstd_rand random_;
  bool under_wine_;  // where some resource answers are known to be wrong (see read_resources)
  std::uint64_t cycle_ = 0;
};

// Processes and, when asked, threads from one system-wide snapshot. False when nothing could be
// read at all.
bool ToolhelpSource::read_lists(SnapshotBuilder& builder) {
  const bool threads = builder.wants(Kind::threads);
  Snapshot& snapshot = builder.snapshot();
  builder.restart_lap();
  const ToolhelpSnapshot system =
      create_snapshot(TH32CS_SNAPPROCESS | (threads ? TH32CS_SNAPTHREAD : 0), 0);
  if (!system.handle) {
    builder.fail(win32::reason_from_error(system.error));
    return false;
  }
  if (auto error = read_processes(system.handle.get(), snapshot.processes)) {
    builder.count(Kind::processes, *error);
  }
  builder.lap({Kind::processes});
  if (threads) {
    if (auto error = read_threads(system.handle.get(), snapshot.threads)) {
      builder.count(Kind::threads, *error);
    }
    builder.lap({Kind::threads});
  }
  return true;
}

// Confirms the identity of every listed process (opening a handle for new ones), fills path,
// start time, resources and, when asked, the command line. Processes that exited before their
// identity could be confirmed are dropped from the snapshot with their threads (`vanished`).
bool ToolhelpSource::identify_all(SnapshotBuilder& builder, std::int64_t listed_at_ns,
                                  const std::stop_token& stop) {
  builder.restart_lap();
  Snapshot& snapshot = builder.snapshot();
  std::set<std::uint32_t> vanished;
  bool completed = true;
  for (Process& process : snapshot.processes) {
    if (stop.stop_requested()) {
      completed = false;
      break;
    }
    if (!identify(process, builder, listed_at_ns)) {
      vanished.insert(process.pid);
    }
  }
  if (!vanished.empty()) {
    std::erase_if(snapshot.processes,
                  [&vanished](const Process& process) { return vanished.contains(process.pid); });
    std::erase_if(snapshot.threads, [&vanished](const Thread& thread) {
      return vanished.contains(thread.owner_pid);
    });
  }
  builder.lap({Kind::processes});
  return completed;
}

bool ToolhelpSource::identify(Process& process, SnapshotBuilder& builder,
                              std::int64_t listed_at_ns) {
  if (process.pid == kIdlePid) {
    return true;  // no process object to open; start time unknown (0)
  }
  auto [it, inserted] = tracked_.try_emplace(process.pid);
  Tracked& tracked = it->second;
  if (!inserted && tracked.handle) {
    const auto times = read_times(tracked.handle.get());
    if (times && times->created_ns == tracked.start_time_ns) {
      tracked.last_seen_cycle = cycle_;
      if (tracked.path.empty()) {
        tracked.path = image_path(tracked.handle.get());  // a process still starting last time
      }
      process.path = tracked.path;
      process.start_time_ns = tracked.start_time_ns;
      read_resources(tracked, *times, process, builder);
      resolve_command_line(process, tracked, builder);
      return true;
    }
    // The handle names another process than the one listed now (cannot happen while it is
    // held, on Windows or Wine); start over with a fresh handle.
    tracked = Tracked{};
  } else if (!inserted && tracked.refused && tracked.last_seen_cycle + 1 >= cycle_ &&
             tracked.parent_pid == process.parent_pid && tracked.name == process.name) {
    tracked.last_seen_cycle = cycle_;  // still the process that refused us: not asked again
    return true;
  } else if (!inserted) {
    tracked = Tracked{};
  }
  return open_identity(process, tracked, builder, listed_at_ns);
}

// A process seen for the first time: open the handle the source keeps, read the creation time
// through it and check that it is the process that was listed (created before the listing).
bool ToolhelpSource::open_identity(Process& process, Tracked& tracked, SnapshotBuilder& builder,
                                   std::int64_t listed_at_ns) {
  UniqueHandle handle = win32::open_process(process.pid, kHeldAccess);
  if (!handle) {
    const DWORD error = GetLastError();
    if (error == ERROR_INVALID_PARAMETER) {  // no such pid any more
      builder.count(Kind::processes, ErrorReason::vanished);
      tracked_.erase(process.pid);
      return false;
    }
    builder.count(Kind::processes, win32::reason_from_error(error));
    tracked.refused = true;
    tracked.parent_pid = process.parent_pid;
    tracked.name = process.name;
    tracked.last_seen_cycle = cycle_;
    return true;
  }
  const auto times = read_times(handle.get());
  if (!times || times->created_ns > listed_at_ns) {
    // The listed process exited and its pid went to a process created after the listing.
    builder.count(Kind::processes, ErrorReason::vanished);
    tracked_.erase(process.pid);
    return false;
  }
  tracked.handle = std::move(handle);
  tracked.start_time_ns = times->created_ns;
  tracked.path = image_path(tracked.handle.get());
  tracked.parent_pid = process.parent_pid;
  tracked.name = process.name;
  tracked.last_seen_cycle = cycle_;
  process.path = tracked.path;
  process.start_time_ns = tracked.start_time_ns;
  read_resources(tracked, *times, process, builder);
  resolve_command_line(process, tracked, builder);
  return true;
}

// CPU times (from the identity check), memory, handles and I/O, all through the held handle.
void ToolhelpSource::read_resources(Tracked& tracked, const ProcessTimes& times, Process& process,
                                    SnapshotBuilder& builder) {
  ProcessResources& resources = process.resources;
  HANDLE handle = tracked.handle.get();
  if (!under_wine_) {
    // Wine 8.0 answers this program's own CPU times for any process handle.
    resources.cpu_user_seconds = times.user_seconds;
    resources.cpu_system_seconds = times.system_seconds;
  }
  if (!tracked.resources_refused) {
    PROCESS_MEMORY_COUNTERS_EX memory{};
    memory.cb = sizeof(memory);
    const auto query = [&memory](HANDLE target) {
      return K32GetProcessMemoryInfo(target, reinterpret_cast<PROCESS_MEMORY_COUNTERS*>(&memory),
                                     sizeof(memory)) != FALSE;
    };
    bool read = query(handle);
    DWORD error = read ? ERROR_SUCCESS : GetLastError();
    bool refused = false;
    if (!read && error == ERROR_ACCESS_DENIED) {
      // The documentation asks for PROCESS_VM_READ besides query access: a second handle with
      // it, for this read only. A process that refuses that handle refuses for good; one that
      // grants it and still fails is starting (Wine) and is asked again next cycle.
      const UniqueHandle reader =
          open_same_process(process.pid, tracked.start_time_ns,
                            PROCESS_QUERY_LIMITED_INFORMATION | PROCESS_VM_READ, error);
      refused = !reader && error == ERROR_ACCESS_DENIED;
      read = reader && query(reader.get());
      if (reader && !read) {
        error = GetLastError();
      }
    }
    if (read) {
      resources.resident_bytes = memory.WorkingSetSize;
      // Both are the commit charge; Wine fills only PagefileUsage.
      resources.private_bytes =
          memory.PrivateUsage > 0 ? memory.PrivateUsage : memory.PagefileUsage;
    } else if (refused) {
      tracked.resources_refused = true;  // remembered for this identity, counted once
      builder.count(Kind::processes, ErrorReason::access_denied);
    } else {
      builder.count(Kind::processes, failure_reason(handle, error));
    }
  }
  // Wine answers 0 for every process; a live Windows process always holds some handle.
  if (DWORD count = 0; GetProcessHandleCount(handle, &count) && count > 0) {
    resources.handles = count;
  }
  // Wine 8.0 answers zeros for every process.
  if (IO_COUNTERS io{}; !under_wine_ && GetProcessIoCounters(handle, &io)) {
    resources.io_read_bytes = io.ReadTransferCount;
    resources.io_write_bytes = io.WriteTransferCount;
  }
}

// The command line, read once per process identity through the held handle.
void ToolhelpSource::resolve_command_line(Process& process, Tracked& tracked,
                                          SnapshotBuilder& builder) {
  if (!builder.request().command_lines || has_no_modules(process)) {
    return;
  }
  if (!tracked.command_line_read) {
    CommandLineRead read =
        read_command_line(process.pid, tracked.handle.get(), tracked.start_time_ns);
    if (read.error) {
      builder.count(Kind::processes, *read.error);
    }
    // An empty answer comes from a process still starting: ask again next cycle.
    tracked.command_line_read =
        read.error ? *read.error == ErrorReason::access_denied : !read.text.empty();
    tracked.command_line = std::move(read.text);
  }
  process.command_line = tracked.command_line;
}

// When a process's details are due again: the first re-read at a random point between a tenth
// of the interval and the whole (a burst of starts spreads out), later ones a jittered interval
// apart (0.9 to 1.1).
double ToolhelpSource::next_details_spread(bool first) {
  std::uniform_real_distribution<double> fraction(first ? 0.1 : 0.9, first ? 1.0 : 1.1);
  return fraction(random_);
}

bool ToolhelpSource::read_all_details(SnapshotBuilder& builder, const std::stop_token& stop) {
  const DetailRequest detail = detail_request_of(builder.request());
  // Details cached for another request (say, without heaps) do not answer this one.
  if (last_detail_request_ != detail) {
    for (auto& [pid, tracked] : tracked_) {
      tracked.details_read = false;
    }
  }
  last_detail_request_ = detail;
  if (detail.heaps && !heaps_supported_) {
    heaps_supported_ = heaps_supported_here();
  }
  for (Process& process : builder.snapshot().processes) {
    if (stop.stop_requested()) {
      return false;
    }
    const auto tracked = tracked_.find(process.pid);
    if (has_no_modules(process)) {
      process.modules_read = detail.modules;  // known to be empty
      continue;
    }
    if (tracked == tracked_.end() || !tracked->second.handle) {
      continue;  // no confirmed identity: nothing may be read by pid (counted at the open)
    }
    read_details(process, tracked->second, detail, builder, stop);
  }
  if (detail.modules) {
    builder.restart_lap();
    const bool completed =
        versions_.fill(builder.snapshot(), stop, builder.request().module_interval);
    builder.lap({Kind::modules});
    return completed;
  }
  return !stop.stop_requested();
}

// Modules and heaps of one process: read again when due, else copied from what was read.
void ToolhelpSource::read_details(Process& process, Tracked& tracked, const DetailRequest& detail,
                                  SnapshotBuilder& builder, const std::stop_token& stop) {
  if (tracked.details_refused) {
    return;  // refused once for this identity: shown as unreadable, not asked again
  }
  const auto interval = std::chrono::duration<double>(builder.request().module_interval);
  if (!tracked.details_read ||
      builder.now() - tracked.details_read_at >=
          std::chrono::duration_cast<Clock::duration>(interval * tracked.details_spread)) {
    refresh_details(process, tracked, detail, builder, stop);
    return;
  }
  process.modules = tracked.modules;
  process.modules_read = detail.modules;
  process.heaps = tracked.heaps;
  process.heaps_read = tracked.heaps_read;
}

void ToolhelpSource::refresh_details(Process& process, Tracked& tracked,
                                     const DetailRequest& detail, SnapshotBuilder& builder,
                                     const std::stop_token& stop) {
  bool complete = true;
  if (detail.modules) {
    builder.restart_lap();
    ModuleRead read = read_modules(process.pid, tracked.handle.get(), tracked.start_time_ns,
                                   resolver_, builder.module_files());
    builder.lap({Kind::modules});
    if (read.error) {
      builder.count(Kind::modules, *read.error);
      if (read.refused) {
        tracked.details_refused = true;
        return;
      }
      read.modules.clear();
      complete = false;
    }
    // An empty list is a process still starting: shown as it is, read again next cycle.
    complete = complete && !read.modules.empty();
    process.modules = std::move(read.modules);
    process.modules_read = !read.error;
  }
  if (detail.heaps && heaps_supported_.value_or(false)) {
    complete = refresh_heaps(process, tracked, detail, builder, stop) && complete;
  }
  if (complete) {
    tracked.details_read_at = builder.now();
    tracked.details_spread = next_details_spread(!tracked.details_read);
    tracked.details_read = true;
    tracked.modules = process.modules;  // shared, not copied
    tracked.heaps = process.heaps;
    tracked.heaps_read = process.heaps_read;
  }
}

bool ToolhelpSource::refresh_heaps(Process& process, Tracked& tracked, const DetailRequest& detail,
                                   SnapshotBuilder& builder, const std::stop_token& stop) {
  const Stopwatch watch;
  const HeapBudget budget{
      detail.max_blocks,
      Clock::now() + std::chrono::duration_cast<Clock::duration>(
                         std::chrono::duration<double>(kHeapWalkSecondsPerProcess)),
      &stop};
  HeapRead read = read_heaps(process.pid, tracked.handle.get(), detail.blocks, budget);
  builder.charge(Kind::heaps, watch.seconds() - read.block_seconds);
  builder.charge(Kind::heap_blocks, read.block_seconds);
  if (read.unsupported) {
    return true;  // this process has no heap lists to give: nothing to retry
  }
  if (read.error) {
    builder.count(Kind::heaps, *read.error);
    return false;
  }
  if (read.block_error) {
    builder.count(Kind::heap_blocks, *read.block_error);
  }
  process.heaps = std::move(read.heaps);
  process.heaps_read = true;
  // A limit cut is final for this identity; other block errors are worth another try.
  return !read.block_error || *read.block_error == ErrorReason::limit_reached;
}

Snapshot ToolhelpSource::take(const SnapshotRequest& request, std::stop_token stop) {
  SnapshotBuilder builder(request, caches_, platform_name());
  const std::int64_t listed_at_ns = unix_ns_now();  // every listed process was created before
  bool completed = !request.kinds.empty() && read_lists(builder);
  if (completed) {
    ++cycle_;
    completed = identify_all(builder, listed_at_ns, stop);
    if (completed && builder.wants_details()) {
      completed = read_all_details(builder, stop);
    }
  }
  if (heaps_supported_ == false) {
    builder.mark_unsupported(Kind::heaps);
    builder.mark_unsupported(Kind::heap_blocks);
  }
  SnapshotBuilder::Finished finished = builder.finish(!completed);
  if (finished.complete_cycle) {
    // Only a full cycle saw every live process; a stopped one must not forget the rest. Erasing
    // an entry closes its handle, which lets the OS give the pid out again.
    std::erase_if(tracked_,
                  [this](const auto& item) { return item.second.last_seen_cycle != cycle_; });
    std::unordered_set<const ModuleFile*> live;
    for (const auto& [pid, tracked] : tracked_) {
      for (const Module& module : tracked.modules) {
        live.insert(module.file.get());
      }
    }
    resolver_.prune(live);
    versions_.prune();
  }
  return std::move(finished.snapshot);
}

}  // namespace

std::unique_ptr<SnapshotSource> make_platform_source(const PlatformSourceOptions& /*options*/) {
  return std::make_unique<ToolhelpSource>();
}

std::string_view platform_name() {
  return "windows";
}

}  // namespace thx
