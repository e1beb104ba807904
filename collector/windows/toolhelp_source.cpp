// The Windows snapshot source. Tool Help gives the lists: processes and threads from one system
// snapshot per cycle, modules and heap lists from one snapshot per process. What Tool Help lacks
// (full image path, creation time, command line) comes from the process itself, read once per
// process identity (pid + creation time) and cached.
//
// Errors counted in a snapshot are the reads of that cycle that failed; cached results, refusals
// included, are not counted again. Module reads that failed are retried next cycle.

// windows.h first: tlhelp32.h and winternl.h build on its types.
#include <windows.h>

#include <tlhelp32.h>
#include <winternl.h>

#include <algorithm>
#include <cstddef>
#include <optional>
#include <unordered_map>
#include <utility>

#include "collector/platform_source.h"
#include "collector/snapshot_builder.h"
#include "collector/windows/win32_util.h"

namespace thx {
namespace {

using win32::UniqueHandle;

constexpr int kSnapshotAttempts = 5;  // CreateToolhelp32Snapshot retries on ERROR_BAD_LENGTH
constexpr DWORD kIdlePid = 0;         // System Idle: not a real process, no image, no modules
constexpr DWORD kSystemPid = 4;       // the kernel: no image file, modules refused
constexpr std::size_t kMaxCommandLineUnits = 32 * 1024 / sizeof(wchar_t);  // 32 KiB of UTF-16

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

// The reason to count when reading `pid` failed with `error`. A refused read is not always
// `access_denied`: Windows and Wine also refuse to read a process that exited meanwhile
// (`vanished`) or is still starting (`partial_copy`; Wine says ERROR_ACCESS_DENIED then, although
// the process grants us the rights to read it).
ErrorReason failure_reason(DWORD pid, DWORD error) {
  if (error != ERROR_ACCESS_DENIED && error != ERROR_PARTIAL_COPY && error != ERROR_NOACCESS) {
    return win32::reason_from_error(error);
  }
  if (win32::process_has_exited(pid)) {
    return ErrorReason::vanished;
  }
  if (error == ERROR_ACCESS_DENIED &&
      !win32::open_process(pid, PROCESS_QUERY_INFORMATION | PROCESS_VM_READ)) {
    return ErrorReason::access_denied;
  }
  return ErrorReason::partial_copy;
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

// ---- Modules and heaps of one process -----------------------------------------------------------

Module to_module(const MODULEENTRY32W& entry, ModuleFilePool& files) {
  std::string path = win32::to_utf8(entry.szExePath);
  const auto& file = files.intern(path, [&entry, &path] {
    return ModuleFile{win32::to_utf8(entry.szModule), std::move(path)};
  });
  return {file, reinterpret_cast<std::uintptr_t>(entry.modBaseAddr), entry.modBaseSize};
}

std::optional<ErrorReason> read_modules(DWORD pid, std::vector<Module>& modules,
                                        ModuleFilePool& files) {
  if (pid == kIdlePid) {
    // Tool Help reads pid 0 as "the calling process"; the Idle process itself has no modules
    // anyone may read.
    return ErrorReason::access_denied;
  }
  // SNAPMODULE32 adds the 32-bit modules of a WOW64 process.
  const ToolhelpSnapshot snapshot = create_snapshot(TH32CS_SNAPMODULE | TH32CS_SNAPMODULE32, pid);
  if (!snapshot.handle) {
    return failure_reason(pid, snapshot.error);
  }
  MODULEENTRY32W entry{};
  entry.dwSize = sizeof(entry);
  for (BOOL more = Module32FirstW(snapshot.handle.get(), &entry); more;
       more = Module32NextW(snapshot.handle.get(), &entry)) {
    modules.push_back(to_module(entry, files));
  }
  return walk_end_error();
}

// Counts the used blocks and bytes of one heap, walking at most `budget` blocks (Heap32Next
// re-walks the heap on every call, so a walk is quadratic). Fills block_count and bytes only when
// the whole heap was walked.
std::optional<ErrorReason> count_heap_blocks(DWORD pid, Heap& heap, std::size_t& budget) {
  HEAPENTRY32 block{};
  block.dwSize = sizeof(block);
  if (budget == 0) {
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
    if (budget == 0) {
      return ErrorReason::limit_reached;
    }
    --budget;
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

void walk_heap_list(DWORD pid, HANDLE snapshot, HEAPLIST32& list, std::size_t max_blocks,
                    bool blocks, HeapRead& read) {
  std::size_t budget = max_blocks;
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
  } while (Heap32ListNext(snapshot, &list));
}

HeapRead read_heaps(DWORD pid, bool blocks, std::size_t max_blocks) {
  HeapRead read;
  const ToolhelpSnapshot snapshot = create_snapshot(TH32CS_SNAPHEAPLIST, pid);
  if (!snapshot.handle) {
    // Wine refuses a heap-list-only snapshot with ERROR_CALL_NOT_IMPLEMENTED.
    read.unsupported =
        snapshot.error == ERROR_CALL_NOT_IMPLEMENTED || snapshot.error == ERROR_NOT_SUPPORTED;
    if (!read.unsupported) {
      read.error = failure_reason(pid, snapshot.error);
    }
    return read;
  }
  HEAPLIST32 list{};
  list.dwSize = sizeof(list);
  // Windows sets an error whenever Heap32ListFirst fails (ERROR_NO_MORE_FILES: an empty list).
  // Wine's stub fails without one; there Heap32ListNext, Heap32First and Heap32Next abort the
  // program, so nothing else may be called.
  SetLastError(ERROR_SUCCESS);
  if (!Heap32ListFirst(snapshot.handle.get(), &list)) {
    const DWORD error = GetLastError();
    read.unsupported = error == ERROR_SUCCESS;
    if (!read.unsupported && error != ERROR_NO_MORE_FILES) {
      read.error = failure_reason(pid, error);
    }
    return read;
  }
  walk_heap_list(pid, snapshot.handle.get(), list, max_blocks, blocks, read);
  return read;
}

// ---- Facts Tool Help does not give --------------------------------------------------------------

std::string image_path(HANDLE process) {
  // MAX_PATH covers nearly every image; long-path images get a second try with the largest size.
  for (DWORD capacity : {DWORD{MAX_PATH}, DWORD{32768}}) {
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

struct ProcessFacts {
  std::string path;
  std::int64_t start_time_ns = 0;
  std::optional<ErrorReason> error;  // why the process could not be opened
};

// Full image path and creation time, with the least access that gives them.
ProcessFacts read_process_facts(DWORD pid) {
  ProcessFacts facts;
  const UniqueHandle process = win32::open_process(pid, PROCESS_QUERY_LIMITED_INFORMATION);
  if (!process) {
    facts.error = win32::reason_from_error(GetLastError());
    return facts;
  }
  facts.path = image_path(process.get());
  FILETIME created{};
  FILETIME exited{};
  FILETIME kernel{};
  FILETIME user{};
  if (GetProcessTimes(process.get(), &created, &exited, &kernel, &user)) {
    facts.start_time_ns = win32::filetime_to_unix_ns(created);
  }
  return facts;
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

// The cheap way: PROCESS_QUERY_LIMITED_INFORMATION and ProcessCommandLineInformation, which
// answers a UNICODE_STRING followed by its characters. Empty when this way does not work.
std::optional<std::wstring> command_line_by_query(DWORD pid) {
  const auto query = nt_query_information_process();
  const UniqueHandle process = win32::open_process(pid, PROCESS_QUERY_LIMITED_INFORMATION);
  if (query == nullptr || !process) {
    return std::nullopt;
  }
  ULONG needed = 2048;
  for (int attempt = 0; attempt < 2; ++attempt) {
    // UNICODE_STRING holds a pointer: the buffer must be aligned for it.
    std::vector<UNICODE_STRING> buffer(1 + needed / sizeof(UNICODE_STRING));
    const auto size = static_cast<ULONG>(buffer.size() * sizeof(UNICODE_STRING));
    if (query(process.get(), kProcessCommandLineInformation, buffer.data(), size, &needed) >= 0) {
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

// The fallback (Windows 8, Wine): read PEB -> ProcessParameters -> CommandLine out of the
// process's memory, which needs PROCESS_QUERY_INFORMATION | PROCESS_VM_READ.
std::optional<std::wstring> command_line_from_peb(DWORD pid, DWORD& error) {
  const UniqueHandle process =
      win32::open_process(pid, PROCESS_QUERY_INFORMATION | PROCESS_VM_READ);
  if (!process) {
    error = GetLastError();
    return std::nullopt;
  }
  const auto query = nt_query_information_process();
  PROCESS_BASIC_INFORMATION basic{};
  ULONG ignored = 0;
  if (query == nullptr ||
      query(process.get(), kProcessBasicInformation, &basic, sizeof(basic), &ignored) < 0) {
    error = ERROR_PARTIAL_COPY;  // the PEB address is out of reach
    return std::nullopt;
  }
  const auto peb = reinterpret_cast<std::uintptr_t>(basic.PebBaseAddress);
  PRTL_USER_PROCESS_PARAMETERS parameters = nullptr;
  UNICODE_STRING text{};
  if (!read_remote(process.get(), peb + offsetof(PEB, ProcessParameters), parameters) ||
      !read_remote(process.get(),
                   reinterpret_cast<std::uintptr_t>(parameters) +
                       offsetof(RTL_USER_PROCESS_PARAMETERS, CommandLine),
                   text)) {
    error = GetLastError();
    return std::nullopt;
  }
  std::wstring line(std::min<std::size_t>(text.Length / sizeof(wchar_t), kMaxCommandLineUnits),
                    L'\0');
  if (!ReadProcessMemory(process.get(), text.Buffer, line.data(), line.size() * sizeof(wchar_t),
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

CommandLineRead read_command_line(DWORD pid) {
  if (auto line = command_line_by_query(pid)) {
    return {win32::to_utf8(*line), std::nullopt};
  }
  DWORD error = ERROR_SUCCESS;
  if (auto line = command_line_from_peb(pid, error)) {
    return {win32::to_utf8(*line), std::nullopt};
  }
  return {{}, failure_reason(pid, error)};
}

// ---- The source ---------------------------------------------------------------------------------

bool is_kernel_pid(DWORD pid) {
  return pid == kIdlePid || pid == kSystemPid;
}

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
  ToolhelpSource() {
    // Lets an administrator's exporter read other users' processes; not holding it is normal.
    win32::enable_privilege(SE_DEBUG_NAME);
  }

  Snapshot take(const SnapshotRequest& request, std::stop_token stop) override;

 private:
  // What one OpenProcess told about a pid, kept while the pid keeps its parent and name.
  struct KnownProcess {
    std::uint32_t parent_pid = 0;
    std::string name;
    std::string path;
    std::int64_t start_time_ns = 0;
    std::uint64_t last_seen_cycle = 0;
  };

  static bool read_lists(SnapshotBuilder& builder);
  void resolve_facts(Process& process, SnapshotBuilder& builder);
  static void resolve_command_line(Process& process, SnapshotBuilder& builder);
  bool read_all_facts(SnapshotBuilder& builder, const std::stop_token& stop);
  bool read_all_details(SnapshotBuilder& builder, const std::stop_token& stop);
  void read_details(Process& process, ProcessDetailCache::Entry& entry, const DetailRequest& detail,
                    bool refresh, SnapshotBuilder& builder);
  bool refresh_details(Process& process, const DetailRequest& detail, SnapshotBuilder& builder);
  bool refresh_heaps(Process& process, const DetailRequest& detail, SnapshotBuilder& builder);

  std::unordered_map<std::uint32_t, KnownProcess> known_;
  SourceCaches caches_;
  win32::ModuleVersionCache versions_;
  std::optional<DetailRequest> last_detail_request_;
  std::uint64_t cycle_ = 0;
  bool heaps_unsupported_ = false;  // learned once: Wine never grows heap lists
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

// Whether facts read once can stand for this process until it exits. A refusal is as final as an
// answer; a missing path (a process still starting) or another error is tried again next cycle.
bool worth_caching(const ProcessFacts& facts, DWORD pid) {
  if (facts.error) {
    return *facts.error == ErrorReason::access_denied;
  }
  return !facts.path.empty() || is_kernel_pid(pid);
}

// Path and start time: read when the pid is new, was gone last cycle, or changed parent or name
// (then the pid was reused); otherwise taken from the cache.
void ToolhelpSource::resolve_facts(Process& process, SnapshotBuilder& builder) {
  const auto known = known_.find(process.pid);
  if (known != known_.end() && known->second.last_seen_cycle + 1 >= cycle_ &&
      known->second.parent_pid == process.parent_pid && known->second.name == process.name) {
    known->second.last_seen_cycle = cycle_;
    process.path = known->second.path;
    process.start_time_ns = known->second.start_time_ns;
    return;
  }
  const ProcessFacts facts =
      is_kernel_pid(process.pid) ? ProcessFacts{} : read_process_facts(process.pid);
  if (facts.error) {
    builder.count(Kind::processes, *facts.error);
  }
  process.path = facts.path;
  process.start_time_ns = facts.start_time_ns;
  if (worth_caching(facts, process.pid)) {
    known_.insert_or_assign(process.pid, KnownProcess{process.parent_pid, process.name, facts.path,
                                                      facts.start_time_ns, cycle_});
  } else {
    known_.erase(process.pid);
  }
}

// The command line, read once per process identity.
void ToolhelpSource::resolve_command_line(Process& process, SnapshotBuilder& builder) {
  ProcessDetailCache::Entry& entry = builder.touch(identity_of(process));
  if (!entry.command_line_read && !is_kernel_pid(process.pid)) {
    CommandLineRead read = read_command_line(process.pid);
    if (read.error) {
      builder.count(Kind::processes, *read.error);
    }
    // An empty answer comes from a process still starting: ask again next cycle.
    entry.command_line_read =
        read.error ? *read.error == ErrorReason::access_denied : !read.text.empty();
    entry.command_line = std::move(read.text);
  }
  process.command_line = entry.command_line;
}

bool ToolhelpSource::read_all_facts(SnapshotBuilder& builder, const std::stop_token& stop) {
  builder.restart_lap();
  bool completed = true;
  for (Process& process : builder.snapshot().processes) {
    if (stop.stop_requested()) {
      completed = false;
      break;
    }
    resolve_facts(process, builder);
    if (builder.request().command_lines) {
      resolve_command_line(process, builder);
    }
  }
  builder.lap({Kind::processes});
  return completed;
}

bool ToolhelpSource::read_all_details(SnapshotBuilder& builder, const std::stop_token& stop) {
  const DetailRequest detail = detail_request_of(builder.request());
  // Details cached for another request (say, without heaps) do not answer this one.
  const bool refresh_all = last_detail_request_ != detail;
  last_detail_request_ = detail;
  for (Process& process : builder.snapshot().processes) {
    if (stop.stop_requested()) {
      return false;
    }
    ProcessDetailCache::Entry& entry = builder.touch(identity_of(process));
    const bool refresh = refresh_all || builder.details_due(entry);
    read_details(process, entry, detail, refresh, builder);
  }
  if (detail.modules) {
    builder.restart_lap();
    const bool completed =
        versions_.fill(builder.snapshot(), stop, builder.request().module_interval);
    builder.lap({Kind::modules});
    return completed;
  }
  return true;
}

// Modules and heaps of one process: read again when due, else copied from the cache.
void ToolhelpSource::read_details(Process& process, ProcessDetailCache::Entry& entry,
                                  const DetailRequest& detail, bool refresh,
                                  SnapshotBuilder& builder) {
  if (refresh) {
    entry.details_read = refresh_details(process, detail, builder);
    entry.details_read_at = builder.now();
    entry.modules = process.modules;  // shared, not copied
    entry.heaps = process.heaps;
    return;
  }
  process.modules = entry.modules;
  process.heaps = entry.heaps;
  process.modules_read = detail.modules;
  process.heaps_read = detail.heaps && !heaps_unsupported_;
}

// Reads modules and heaps into `process`, counting failures. True when everything asked for was
// read, so the result may be cached.
bool ToolhelpSource::refresh_details(Process& process, const DetailRequest& detail,
                                     SnapshotBuilder& builder) {
  bool complete = true;
  if (detail.modules) {
    builder.restart_lap();
    std::vector<Module> modules;
    const auto error = read_modules(process.pid, modules, builder.module_files());
    builder.lap({Kind::modules});
    if (error) {
      builder.count(Kind::modules, *error);
      modules.clear();
      complete = false;
    }
    process.modules = std::move(modules);
    process.modules_read = !error;
    // An empty list is a process still starting: shown as it is, read again next cycle.
    complete = complete && !process.modules.empty();
  }
  if (detail.heaps && !heaps_unsupported_) {
    complete = refresh_heaps(process, detail, builder) && complete;
  }
  return complete;
}

bool ToolhelpSource::refresh_heaps(Process& process, const DetailRequest& detail,
                                   SnapshotBuilder& builder) {
  const Stopwatch watch;
  HeapRead read = read_heaps(process.pid, detail.blocks, detail.max_blocks);
  builder.charge(Kind::heaps, watch.seconds() - read.block_seconds);
  builder.charge(Kind::heap_blocks, read.block_seconds);
  if (read.unsupported) {
    heaps_unsupported_ = true;
    return true;  // nothing to retry
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
  bool completed = !request.kinds.empty() && read_lists(builder);
  if (completed) {
    ++cycle_;
    completed = read_all_facts(builder, stop);
    if (completed && builder.wants_details()) {
      completed = read_all_details(builder, stop);
    }
  }
  if (heaps_unsupported_) {
    builder.mark_unsupported(Kind::heaps);
    builder.mark_unsupported(Kind::heap_blocks);
  }
  SnapshotBuilder::Finished finished = builder.finish(!completed);
  if (finished.complete_cycle) {
    // Only a full cycle saw every live process; a stopped one must not forget the rest.
    std::erase_if(known_,
                  [this](const auto& item) { return item.second.last_seen_cycle != cycle_; });
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
