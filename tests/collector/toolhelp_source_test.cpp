// The Tool Help source against the real Windows API (under Wine on the build machine): this test
// program itself, thx_sleeper children it spawns, and the platform limits Wine has.

// windows.h first: the Win32 headers below build on its types.
#include <windows.h>

#include <gtest/gtest.h>

#include <algorithm>
#include <atomic>
#include <chrono>
#include <cstdint>
#include <optional>
#include <regex>
#include <stop_token>
#include <string>
#include <thread>

#include "collector/platform_source.h"
#include "collector/windows/win32_util.h"

namespace thx {
namespace {

using namespace std::chrono_literals;
using win32::UniqueHandle;

bool running_under_wine() {
  const HMODULE ntdll = GetModuleHandleW(L"ntdll.dll");
  return ntdll != nullptr && GetProcAddress(ntdll, "wine_get_version") != nullptr;
}

std::string lower(std::string text) {
  std::ranges::transform(text, text.begin(), [](unsigned char c) {
    return static_cast<char>(c >= 'A' && c <= 'Z' ? c - 'A' + 'a' : c);
  });
  return text;
}

bool ends_with_nocase(const std::string& text, const std::string& suffix) {
  return lower(text).ends_with(lower(suffix));
}

std::wstring this_program() {
  std::wstring path(32768, L'\0');
  path.resize(GetModuleFileNameW(nullptr, path.data(), static_cast<DWORD>(path.size())));
  return path;
}

// A file in the folder of this test program, where the build puts every program.
std::wstring beside_this_program(const std::wstring& file_name) {
  const std::wstring self = this_program();
  return self.substr(0, self.find_last_of(L"\\/") + 1) + file_name;
}

// A thx_sleeper child, ended (TerminateProcess and wait) when the object goes.
class Sleeper {
 public:
  explicit Sleeper(const std::wstring& arguments) {
    const std::wstring program = beside_this_program(L"thx_sleeper.exe");
    std::wstring command_line = L"\"" + program + L"\" " + arguments;
    STARTUPINFOW startup{};
    startup.cb = sizeof(startup);
    PROCESS_INFORMATION info{};
    if (CreateProcessW(program.c_str(), command_line.data(), nullptr, nullptr, FALSE, 0, nullptr,
                       nullptr, &startup, &info)) {
      process_.reset(info.hProcess);
      UniqueHandle thread(info.hThread);  // closed at once: only the process is watched
      pid_ = info.dwProcessId;
    }
  }

  [[nodiscard]] bool started() const { return process_.valid(); }
  [[nodiscard]] std::uint32_t pid() const { return pid_; }

  void terminate() {
    if (process_) {
      TerminateProcess(process_.get(), 1);
      WaitForSingleObject(process_.get(), INFINITE);
      process_.reset();
    }
  }

  ~Sleeper() { terminate(); }
  Sleeper(const Sleeper&) = delete;
  Sleeper& operator=(const Sleeper&) = delete;
  Sleeper(Sleeper&&) = delete;
  Sleeper& operator=(Sleeper&&) = delete;

 private:
  UniqueHandle process_;
  std::uint32_t pid_ = 0;
};

SnapshotRequest request_of(KindSet kinds) {
  SnapshotRequest request;
  request.kinds = kinds;
  return request;
}

// Takes snapshots until `pid` shows up and `ready` holds for it (a child needs a moment to start
// its threads). Empty when that did not happen within 30 s.
template <typename Ready>
std::optional<Snapshot> wait_for(SnapshotSource& source, const SnapshotRequest& request,
                                 std::uint32_t pid, Ready ready) {
  const auto deadline = std::chrono::steady_clock::now() + 30s;
  while (std::chrono::steady_clock::now() < deadline) {
    Snapshot snapshot = source.take(request, {});
    const Process* process = snapshot.find_process(pid);
    if (process != nullptr && ready(snapshot, *process)) {
      return snapshot;
    }
    std::this_thread::sleep_for(50ms);
  }
  return std::nullopt;
}

std::size_t threads_of(const Snapshot& snapshot, std::uint32_t pid) {
  return static_cast<std::size_t>(std::ranges::count(snapshot.threads, pid, &Thread::owner_pid));
}

const Module* find_module(const Process& process, const std::string& name) {
  for (const Module& module : process.modules) {
    if (lower(module.name()) == lower(name)) {
      return &module;
    }
  }
  return nullptr;
}

// The errors a snapshot counted for reasons other than the `allowed` ones, over all kinds.
std::uint64_t errors_except(const Snapshot& snapshot, std::initializer_list<ErrorReason> allowed) {
  std::uint64_t total = 0;
  for (Kind kind : kAllKinds) {
    for (ErrorReason reason : kAllErrorReasons) {
      if (std::ranges::find(allowed, reason) == allowed.end()) {
        total += snapshot.status_of(kind).error_count(reason);
      }
    }
  }
  return total;
}

// "modules/access_denied=2 ..." for failure messages.
std::string describe_errors(const Snapshot& snapshot) {
  std::string text;
  for (Kind kind : kAllKinds) {
    for (ErrorReason reason : kAllErrorReasons) {
      if (const auto n = snapshot.status_of(kind).error_count(reason); n > 0) {
        text += std::string(to_string(kind)) + "/" + std::string(to_string(reason)) + "=" +
                std::to_string(n) + " ";
      }
    }
  }
  return text;
}

TEST(ToolhelpSource, ListsThisProcessWithItsPathAndStartTime) {
  auto source = make_platform_source();
  const Snapshot snapshot = source->take(request_of({Kind::processes, Kind::threads}), {});

  EXPECT_EQ(platform_name(), "windows");
  EXPECT_EQ(snapshot.platform, "windows");
  EXPECT_EQ(snapshot.status_of(Kind::processes).state, KindStatus::State::complete);
  EXPECT_EQ(snapshot.status_of(Kind::threads).state, KindStatus::State::complete);
  EXPECT_EQ(snapshot.status_of(Kind::modules).state, KindStatus::State::not_requested);
  const Process* self = snapshot.find_process(GetCurrentProcessId());
  ASSERT_NE(self, nullptr);
  EXPECT_TRUE(ends_with_nocase(self->path, "\\toolhelp_source_test.exe")) << self->path;
  EXPECT_TRUE(ends_with_nocase(self->name, "toolhelp_source_test.exe")) << self->name;
  const auto now_ns = std::chrono::duration_cast<std::chrono::nanoseconds>(
                          std::chrono::system_clock::now().time_since_epoch())
                          .count();
  EXPECT_LE(self->start_time_ns, now_ns);
  EXPECT_GT(self->start_time_ns, now_ns - std::int64_t{3600} * 1'000'000'000);
  EXPECT_EQ(threads_of(snapshot, self->pid), self->thread_count);
  EXPECT_TRUE(std::ranges::is_sorted(snapshot.processes, {}, &Process::pid));
  EXPECT_TRUE(std::ranges::is_sorted(snapshot.threads, [](const Thread& a, const Thread& b) {
    return std::pair(a.owner_pid, a.tid) < std::pair(b.owner_pid, b.tid);
  }));
}

TEST(ToolhelpSource, HeapKindsAreUnsupportedUnderWineAndTheProgramGoesOn) {
  auto source = make_platform_source();
  SnapshotRequest request =
      request_of({Kind::processes, Kind::modules, Kind::heaps, Kind::heap_blocks});
  request.max_heap_blocks_per_process = 10;
  for (int cycle = 0; cycle < 3; ++cycle) {
    const Snapshot snapshot = source->take(request, {});
    const Process* self = snapshot.find_process(GetCurrentProcessId());
    ASSERT_NE(self, nullptr);
    EXPECT_TRUE(self->modules_read);
    if (running_under_wine()) {
      // Wine's heap list functions are stubs (Heap32ListNext and friends abort the program):
      // reaching this line at all shows they were not called.
      EXPECT_EQ(snapshot.status_of(Kind::heaps).state, KindStatus::State::unsupported);
      EXPECT_EQ(snapshot.status_of(Kind::heap_blocks).state, KindStatus::State::unsupported);
      EXPECT_EQ(snapshot.status_of(Kind::heaps).total_errors(), 0U);
      EXPECT_FALSE(self->heaps_read);
    } else {
      EXPECT_TRUE(self->heaps_read);
      EXPECT_FALSE(self->heaps.empty());
      EXPECT_GT(snapshot.status_of(Kind::heap_blocks).error_count(ErrorReason::limit_reached), 0U);
    }
  }
}

TEST(ToolhelpSource, SleeperChildAppearsWithItsThreadsPathAndModulesThenDisappears) {
  auto source = make_platform_source();
  Sleeper sleeper(L"--threads 5");
  ASSERT_TRUE(sleeper.started()) << "thx_sleeper.exe must sit beside the test program";
  const SnapshotRequest request = request_of({Kind::processes, Kind::threads, Kind::modules});
  const auto snapshot = wait_for(*source, request, sleeper.pid(), [](const auto&, const auto& p) {
    return p.thread_count == 5 && find_module(p, "kernel32.dll") != nullptr;
  });
  ASSERT_TRUE(snapshot.has_value()) << "the sleeper never showed 5 threads and kernel32.dll";

  const Process& child = *snapshot->find_process(sleeper.pid());
  EXPECT_EQ(threads_of(*snapshot, child.pid), 5U);
  EXPECT_EQ(child.parent_pid, GetCurrentProcessId());
  EXPECT_TRUE(ends_with_nocase(child.path, "\\thx_sleeper.exe")) << child.path;
  EXPECT_GT(child.start_time_ns, 0);
  const Module* kernel32 = find_module(child, "kernel32.dll");
  EXPECT_TRUE(ends_with_nocase(kernel32->path(), "\\kernel32.dll")) << kernel32->path();
  EXPECT_GT(kernel32->size, 64U * 1024U);
  EXPECT_LT(kernel32->size, 64U * 1024U * 1024U);
  EXPECT_NE(kernel32->base_address, 0U);

  const ProcessIdentity identity = identity_of(child);
  sleeper.terminate();
  const Snapshot after = source->take(request, {});
  const Process* gone = after.find_process(identity.pid);
  EXPECT_TRUE(gone == nullptr || identity_of(*gone) != identity);
  EXPECT_EQ(threads_of(after, identity.pid), 0U);
}

TEST(ToolhelpSource, ReadsTheCommandLineOfAChild) {
  auto source = make_platform_source();
  Sleeper sleeper(L"--threads 2");
  ASSERT_TRUE(sleeper.started());
  SnapshotRequest request = request_of({Kind::processes});
  request.command_lines = true;
  // The command line lives in the child's memory from its first instruction on.
  const auto snapshot = wait_for(*source, request, sleeper.pid(), [](const auto&, const auto& p) {
    return !p.command_line.empty();
  });
  ASSERT_TRUE(snapshot.has_value());
  const Process& child = *snapshot->find_process(sleeper.pid());
  EXPECT_TRUE(child.command_line.ends_with("thx_sleeper.exe\" --threads 2")) << child.command_line;
  const Process* self = snapshot->find_process(GetCurrentProcessId());
  ASSERT_NE(self, nullptr);
  EXPECT_EQ(self->command_line, win32::to_utf8(GetCommandLineW()));
}

TEST(ToolhelpSource, ProcessesStartingAndExitingDuringSnapshotsNeverStopOne) {
  // Children start and die while the main thread takes snapshots with every per-process read on.
  // A child that exited is `vanished`; one caught before its loader ran is `partial_copy` (Wine
  // refuses reads of it with ERROR_ACCESS_DENIED or ERROR_NOACCESS, Windows with
  // ERROR_PARTIAL_COPY). Nothing may count as access denied or worse.
  std::atomic<int> spawned = 0;
  std::jthread churn([&spawned](const std::stop_token& stop) {
    for (int i = 0; !stop.stop_requested(); ++i) {
      // Every other child ends by itself right after starting its threads.
      Sleeper sleeper(i % 2 == 0 ? L"--threads 3 --seconds 0" : L"--threads 3");
      ++spawned;
      std::this_thread::sleep_for(std::chrono::milliseconds(i % 25));
    }
  });
  auto source = make_platform_source();
  SnapshotRequest request = request_of({Kind::processes, Kind::threads, Kind::modules});
  request.module_interval = 0s;
  request.command_lines = true;
  std::uint64_t expected_failures = 0;
  for (int i = 0; i < 60; ++i) {
    const Snapshot snapshot = source->take(request, {});
    for (Kind kind : kAllKinds) {
      expected_failures += snapshot.status_of(kind).total_errors();
    }
    for (Kind kind : {Kind::processes, Kind::threads, Kind::modules}) {
      EXPECT_NE(snapshot.status_of(kind).state, KindStatus::State::failed) << to_string(kind);
    }
    EXPECT_EQ(errors_except(snapshot, {ErrorReason::vanished, ErrorReason::partial_copy}), 0U)
        << "snapshot " << i << ": " << describe_errors(snapshot);
    ASSERT_NE(snapshot.find_process(GetCurrentProcessId()), nullptr);
  }
  churn.request_stop();
  churn.join();
  EXPECT_GT(spawned.load(), 10);
  RecordProperty("children_spawned", spawned.load());
  RecordProperty("vanished_or_partial_copy", std::to_string(expected_failures));
}

// Under Wine GetProcessHandleCount answers 0; a new handle's value shows leaks there instead,
// because Wine hands out the lowest free handle slot.
struct HandleUse {
  DWORD count = 0;
  std::uintptr_t next_handle = 0;
  bool operator==(const HandleUse&) const = default;
};

HandleUse handle_use() {
  HandleUse use;
  GetProcessHandleCount(GetCurrentProcess(), &use.count);
  if (running_under_wine()) {
    const UniqueHandle probe(CreateEventW(nullptr, FALSE, FALSE, nullptr));
    use.next_handle = reinterpret_cast<std::uintptr_t>(probe.get());
  }
  return use;
}

TEST(ToolhelpSource, AThousandSnapshotsLeakNoHandles) {
  auto source = make_platform_source();
  SnapshotRequest request =
      request_of({Kind::processes, Kind::threads, Kind::modules, Kind::heaps, Kind::heap_blocks});
  request.command_lines = true;
  request.max_heap_blocks_per_process = 100;
  // Every tenth snapshot reads all modules again, the others use the cache: under Wine a module
  // read costs milliseconds a process, and one leaking read shows up the first time.
  const auto take = [&](int i) {
    request.module_interval = i % 10 == 0 ? 0s : 1h;
    source->take(request, {});
  };
  for (int i = 0; i < 10; ++i) {
    take(i);
  }
  const HandleUse after_ten = handle_use();
  for (int i = 10; i < 1000; ++i) {
    take(i);
  }
  EXPECT_EQ(handle_use(), after_ten);
}

TEST(ToolhelpSource, ModuleVersionsGiveKernel32AFileVersion) {
  auto source = make_platform_source();
  const Snapshot snapshot = source->take(request_of({Kind::processes, Kind::modules}), {});
  const auto found = std::ranges::find_if(snapshot.module_versions, [](const auto& item) {
    return ends_with_nocase(item.first, "\\kernel32.dll");
  });
  ASSERT_NE(found, snapshot.module_versions.end());
  const ModuleVersion& version = found->second;
  EXPECT_TRUE(std::regex_match(version.file_version, std::regex(R"(\d+\.\d+\.\d+\.\d+)")))
      << version.file_version;
  EXPECT_FALSE(version.product_version.empty());
  RecordProperty("kernel32_file_version", version.file_version);
  RecordProperty("kernel32_product_version", version.product_version);
  RecordProperty("kernel32_company", version.company);
  // Every path in the map is a module path of this snapshot.
  for (const auto& [path, ignored] : snapshot.module_versions) {
    EXPECT_TRUE(std::ranges::any_of(snapshot.processes, [&path](const Process& process) {
      return std::ranges::any_of(process.modules,
                                 [&path](const Module& m) { return m.path() == path; });
    })) << path;
  }
}

// The first of a few system DLLs that this program has not loaded yet.
std::wstring unloaded_system_dll() {
  for (const wchar_t* name : {L"winmm.dll", L"psapi.dll", L"dbghelp.dll", L"imagehlp.dll"}) {
    if (GetModuleHandleW(name) == nullptr) {
      return name;
    }
  }
  return {};
}

TEST(ToolhelpSource, ModulesAreNotReadAgainWithinTheModuleInterval) {
  const std::wstring dll = unloaded_system_dll();
  ASSERT_FALSE(dll.empty());
  const std::string dll_name = win32::to_utf8(dll);
  auto source = make_platform_source();
  SnapshotRequest request = request_of({Kind::processes, Kind::modules});
  request.module_interval = 1h;
  const Snapshot before = source->take(request, {});
  ASSERT_EQ(find_module(*before.find_process(GetCurrentProcessId()), dll_name), nullptr);

  const HMODULE loaded = LoadLibraryW(dll.c_str());
  ASSERT_NE(loaded, nullptr);
  const Snapshot cached = source->take(request, {});
  const Process* self = cached.find_process(GetCurrentProcessId());
  EXPECT_TRUE(self->modules_read);
  EXPECT_EQ(find_module(*self, dll_name), nullptr) << "modules were read again within the hour";
  EXPECT_EQ(self->modules, before.find_process(GetCurrentProcessId())->modules);

  request.module_interval = 0s;
  const Snapshot fresh = source->take(request, {});
  EXPECT_NE(find_module(*fresh.find_process(GetCurrentProcessId()), dll_name), nullptr);
  FreeLibrary(loaded);
}

TEST(ToolhelpSource, AStopReturnsWhatWasReadWithRequestedKindsPartial) {
  auto source = make_platform_source();
  const SnapshotRequest request = request_of({Kind::processes, Kind::threads, Kind::modules});
  std::stop_source stop;
  stop.request_stop();
  const Snapshot stopped = source->take(request, stop.get_token());
  EXPECT_FALSE(stopped.processes.empty());
  for (Kind kind : {Kind::processes, Kind::threads, Kind::modules}) {
    EXPECT_EQ(stopped.status_of(kind).state, KindStatus::State::partial) << to_string(kind);
  }
  // The next, unstopped snapshot is whole again.
  const Snapshot whole = source->take(request, {});
  EXPECT_EQ(whole.status_of(Kind::modules).state, KindStatus::State::complete);
  EXPECT_TRUE(whole.find_process(GetCurrentProcessId())->modules_read);
}

// ---- The module version cache ------------------------------------------------------------------

std::wstring system_dll_path(const wchar_t* name) {
  std::wstring path(32768, L'\0');
  path.resize(
      GetModuleFileNameW(GetModuleHandleW(name), path.data(), static_cast<DWORD>(path.size())));
  return path;
}

Snapshot snapshot_with_module(const std::wstring& path) {
  Snapshot snapshot;
  Process process;
  process.modules.push_back({"module.dll", win32::to_utf8(path), 0, 0});
  snapshot.processes.push_back(process);
  return snapshot;
}

TEST(ModuleVersionCache, OpensAFileOnlyWhenItChanged) {
  std::wstring temp(MAX_PATH + 1, L'\0');
  temp.resize(GetTempPathW(static_cast<DWORD>(temp.size()), temp.data()));
  const std::wstring copy = temp + L"thx_version_cache_test.dll";
  ASSERT_TRUE(CopyFileW(system_dll_path(L"kernel32.dll").c_str(), copy.c_str(), FALSE));

  win32::ModuleVersionCache cache;
  Snapshot first = snapshot_with_module(copy);
  ASSERT_TRUE(cache.fill(first, {}));
  EXPECT_EQ(cache.files_read(), 1U);
  ASSERT_EQ(first.module_versions.size(), 1U);
  EXPECT_FALSE(first.module_versions.begin()->second.file_version.empty());

  Snapshot second = snapshot_with_module(copy);
  cache.fill(second, {});
  EXPECT_EQ(cache.files_read(), 1U);
  EXPECT_EQ(second.module_versions, first.module_versions);

  {  // Growing the file changes its size: the next fill reads it again.
    const UniqueHandle file(CreateFileW(copy.c_str(), FILE_APPEND_DATA, 0, nullptr, OPEN_EXISTING,
                                        FILE_ATTRIBUTE_NORMAL, nullptr));
    ASSERT_TRUE(file.valid());
    DWORD written = 0;
    ASSERT_TRUE(WriteFile(file.get(), "x", 1, &written, nullptr));
  }
  Snapshot trusted = snapshot_with_module(copy);
  cache.fill(trusted, {}, std::chrono::hours(1));
  EXPECT_EQ(cache.files_read(), 1U) << "checked less than an hour ago: not looked at";
  Snapshot third = snapshot_with_module(copy);
  cache.fill(third, {});
  EXPECT_EQ(cache.files_read(), 2U);

  Snapshot without = snapshot_with_module(system_dll_path(L"ntdll.dll"));
  cache.fill(without, {});
  cache.prune();
  EXPECT_EQ(cache.size(), 1U) << "the copy was not seen by the last fill and is forgotten";
  DeleteFileW(copy.c_str());
}

}  // namespace
}  // namespace thx
