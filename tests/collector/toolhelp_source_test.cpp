// The Tool Help source against the real Windows API (under Wine on the build machine): this test
// program itself, thx_sleeper children it spawns, and the platform limits Wine has.

// windows.h first: the Win32 headers below build on its types.
#include <windows.h>

#include <gtest/gtest.h>

#include <algorithm>
#include <array>
#include <atomic>
#include <chrono>
#include <cstdint>
#include <cwctype>
#include <memory>
#include <optional>
#include <regex>
#include <stop_token>
#include <string>
#include <thread>
#include <vector>

#include "collector/aggregate/aggregator.h"
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

// A thx_win_child child: started with `arguments` and a ready event it sets once its work is
// done; ended (TerminateProcess and wait) when the object goes.
class WinChild {
 public:
  explicit WinChild(const std::wstring& arguments) {
    static std::atomic<int> serial = 0;
    const std::wstring event_name = L"thx_win_child_ready_" +
                                    std::to_wstring(GetCurrentProcessId()) + L"_" +
                                    std::to_wstring(++serial);
    ready_.reset(CreateEventW(nullptr, TRUE, FALSE, event_name.c_str()));
    const std::wstring program = beside_this_program(L"thx_win_child.exe");
    std::wstring command_line = L"\"" + program + L"\" " + arguments + L" --ready " + event_name;
    STARTUPINFOW startup{};
    startup.cb = sizeof(startup);
    PROCESS_INFORMATION info{};
    if (CreateProcessW(program.c_str(), command_line.data(), nullptr, nullptr, FALSE, 0, nullptr,
                       nullptr, &startup, &info)) {
      process_.reset(info.hProcess);
      UniqueHandle thread(info.hThread);
      pid_ = info.dwProcessId;
    }
  }

  // Whether the child did its work (within two minutes: a loaded machine is slow).
  [[nodiscard]] bool wait_ready() const {
    const std::array<HANDLE, 2> handles = {ready_.get(), process_.get()};
    return process_ && WaitForMultipleObjects(2, handles.data(), FALSE, 120'000) == WAIT_OBJECT_0;
  }
  [[nodiscard]] std::uint32_t pid() const { return pid_; }
  [[nodiscard]] std::int64_t start_time_ns() const {
    FILETIME created{};
    FILETIME exited{};
    FILETIME kernel{};
    FILETIME user{};
    GetProcessTimes(process_.get(), &created, &exited, &kernel, &user);
    return win32::filetime_to_unix_ns(created);
  }
  void terminate() {
    if (process_) {
      TerminateProcess(process_.get(), 1);
      WaitForSingleObject(process_.get(), INFINITE);
      process_.reset();
    }
  }
  ~WinChild() { terminate(); }
  WinChild(const WinChild&) = delete;
  WinChild& operator=(const WinChild&) = delete;
  WinChild(WinChild&&) = delete;
  WinChild& operator=(WinChild&&) = delete;

 private:
  UniqueHandle ready_;
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

// ---- Identity by creation time, with a handle held ----------------------------------------------

// Wine hands out process and thread ids from one table and gives a freed id out again only once
// a few hundred are free, oldest first (about 230 short-lived children here). Threads move the
// ids round faster than processes: each thread below ends after the one before it and the
// handles are closed in creation order, so the ids go back in the order they were handed out.
DWORD WINAPI end_after_previous(void* previous) {
  if (previous != nullptr) {
    WaitForSingleObject(previous, INFINITE);
  }
  return 0;
}

void rotate_ids(std::size_t count, std::vector<DWORD>& ids) {
  constexpr std::size_t kBatch = 32;
  for (std::size_t done = 0; done < count;) {
    const std::size_t batch = std::min(kBatch, count - done);
    std::vector<UniqueHandle> threads;
    HANDLE previous = nullptr;
    for (std::size_t i = 0; i < batch; ++i) {
      DWORD id = 0;
      HANDLE thread = CreateThread(nullptr, 64 * 1024, end_after_previous, previous,
                                   STACK_SIZE_PARAM_IS_A_RESERVATION, &id);
      ASSERT_NE(thread, nullptr);
      threads.emplace_back(thread);
      ids.push_back(id);
      previous = thread;
    }
    WaitForSingleObject(threads.back().get(), INFINITE);
    for (UniqueHandle& thread : threads) {
      thread.reset();
    }
    done += batch;
  }
}

std::vector<std::size_t> positions_of(const std::vector<DWORD>& ids, DWORD id) {
  std::vector<std::size_t> found;
  for (std::size_t i = 0; i < ids.size(); ++i) {
    if (ids[i] == id) {
      found.push_back(i);
    }
  }
  return found;
}

TEST(ToolhelpSource, APidIsNotReusedWhileHeldAndItsReuseIsOneExitAndOneStart) {
  if (!running_under_wine()) {
    GTEST_SKIP() << "steers Wine's id allocation; Windows reuses pids on its own schedule";
  }
  auto source = make_platform_source();
  Aggregator aggregator{AggregatorSettings{}};  // groups by process name
  const std::string group = "thx_win_child.exe";
  const auto update = [&] {
    auto snapshot =
        std::make_shared<const Snapshot>(source->take(request_of({Kind::processes}), {}));
    return std::pair(snapshot, aggregator.update(snapshot));
  };
  const auto churn_of = [&group](const Aggregate& aggregate) {
    const auto found = aggregate.churn.find(group);
    return found == aggregate.churn.end() ? GroupChurn{} : found->second;
  };
  update();
  auto first = std::make_unique<WinChild>(L"");
  ASSERT_TRUE(first->wait_ready());
  const std::uint32_t pid = first->pid();
  const std::int64_t first_start = first->start_time_ns();
  const GroupChurn before = churn_of(*update().second);  // the source now holds a handle

  first.reset();  // ended; this program's handles are closed, the source's is not
  std::vector<DWORD> held_ids;
  rotate_ids(1200, held_ids);
  EXPECT_TRUE(positions_of(held_ids, pid).empty()) << "pid " << pid << " reused while held";
  update();  // the pid is gone from the list: the source closes its handle

  // The pid comes round again once every `period` ids; the child takes it when started right
  // before its turn. Other programs of the prefix may take an id meanwhile: a few attempts.
  std::optional<WinChild> second;
  std::size_t period = 0;
  for (int attempt = 0; attempt < 4 && !second; ++attempt) {
    std::vector<DWORD> ids;
    while (positions_of(ids, pid).size() < 2 && ids.size() < 4000) {
      rotate_ids(64, ids);
    }
    const auto found = positions_of(ids, pid);
    ASSERT_EQ(found.size(), 2U) << "pid " << pid << " did not come round in 4000 ids";
    period = found[1] - found[0];
    std::size_t next = found[1] + period;
    while (next < ids.size()) {
      next += period;
    }
    rotate_ids(next - ids.size(), ids);
    auto& child = second.emplace(L"");
    ASSERT_TRUE(child.wait_ready());
    if (child.pid() != pid) {
      second.reset();
    }
  }
  ASSERT_TRUE(second.has_value()) << "no child got pid " << pid;
  EXPECT_GE(held_ids.size(), period) << "the held rotation went round the whole free list";
  RecordProperty("wine_free_id_period", std::to_string(period));

  const auto [snapshot, aggregate] = update();
  const Process* reused = snapshot->find_process(pid);
  ASSERT_NE(reused, nullptr);
  EXPECT_EQ(reused->start_time_ns, second->start_time_ns());
  EXPECT_NE(reused->start_time_ns, first_start);
  const GroupChurn after = churn_of(*aggregate);
  EXPECT_EQ(after.exits_total - before.exits_total, 1U);
  EXPECT_EQ(after.starts_total - before.starts_total, 1U);
}

TEST(ToolhelpSource, HandlesOfExitedChildrenAreClosedUnderChurn) {
  auto source = make_platform_source();
  SnapshotRequest request = request_of({Kind::processes, Kind::threads, Kind::modules});
  request.command_lines = true;
  source->take(request, {});
  const HandleUse before = handle_use();
  constexpr int kRounds = 6;
  constexpr int kChildrenPerRound = 10;
  std::size_t seen = 0;
  for (int round = 0; round < kRounds; ++round) {
    std::vector<std::unique_ptr<WinChild>> children;
    for (int i = 0; i < kChildrenPerRound; ++i) {
      children.push_back(std::make_unique<WinChild>(L""));
    }
    for (const auto& child : children) {
      ASSERT_TRUE(child->wait_ready());
    }
    const Snapshot snapshot = source->take(request, {});  // holds a handle to each child
    seen += static_cast<std::size_t>(std::ranges::count_if(children, [&](const auto& child) {
      return snapshot.find_process(child->pid()) != nullptr;
    }));
  }
  source->take(request, {});  // every child has exited: their handles are closed
  EXPECT_EQ(seen, std::size_t{kRounds * kChildrenPerRound});
  EXPECT_EQ(handle_use(), before);
}

// ---- Exact module paths, one series per file
// -----------------------------------------------------

std::wstring temp_folder() {
  std::wstring temp(MAX_PATH + 1, L'\0');
  temp.resize(GetTempPathW(static_cast<DWORD>(temp.size()), temp.data()));
  return temp;
}

std::wstring upper(std::wstring text) {
  for (wchar_t& c : text) {
    c = static_cast<wchar_t>(towupper(c));
  }
  return text;
}

// A folder tree for the module path tests, removed (files first) when the object goes.
class ModuleFolders {
 public:
  ModuleFolders()
      : root_(temp_folder() + L"thx_modules_" + std::to_wstring(GetCurrentProcessId())) {}
  // Copies the test module into `folder` (created with its parents below the root).
  std::wstring place(const std::wstring& folder) {
    std::wstring path = root_;
    create(path);
    for (std::size_t start = 0; start < folder.size();) {
      const std::size_t end = folder.find(L'\\', start);
      path += L"\\" + folder.substr(start, end - start);
      create(path);
      start = end == std::wstring::npos ? folder.size() : end + 1;
    }
    const std::wstring file = path + L"\\thx_test_module.dll";
    EXPECT_TRUE(CopyFileW(beside_this_program(L"thx_test_module.dll").c_str(),
                          win32::extended_path(file).c_str(), FALSE))
        << GetLastError();
    files_.push_back(file);
    return file;
  }
  ~ModuleFolders() {
    for (const std::wstring& file : files_) {
      DeleteFileW(win32::extended_path(file).c_str());
    }
    for (auto it = folders_.rbegin(); it != folders_.rend(); ++it) {
      RemoveDirectoryW(win32::extended_path(*it).c_str());
    }
  }
  ModuleFolders(const ModuleFolders&) = delete;
  ModuleFolders& operator=(const ModuleFolders&) = delete;
  ModuleFolders(ModuleFolders&&) = delete;
  ModuleFolders& operator=(ModuleFolders&&) = delete;

 private:
  void create(const std::wstring& folder) {
    if (CreateDirectoryW(win32::extended_path(folder).c_str(), nullptr)) {
      folders_.push_back(folder);
    }
  }
  std::wstring root_;
  std::vector<std::wstring> folders_;
  std::vector<std::wstring> files_;
};

const Module* test_module_of(const Snapshot& snapshot, std::uint32_t pid) {
  const Process* process = snapshot.find_process(pid);
  return process == nullptr ? nullptr : find_module(*process, "thx_test_module.dll");
}

TEST(ToolhelpSource, AModuleLoadedByTwoSpellingsOfOnePathIsOneFile) {
  ModuleFolders folders;
  const std::wstring path = folders.place(L"spelling");
  WinChild lower_case(L"--load \"" + path + L"\"");
  WinChild upper_case(L"--load \"" + upper(path) + L"\"");
  ASSERT_TRUE(lower_case.wait_ready());
  ASSERT_TRUE(upper_case.wait_ready());
  auto source = make_platform_source();
  const auto snapshot = std::make_shared<const Snapshot>(
      source->take(request_of({Kind::processes, Kind::modules}), {}));
  const Module* one = test_module_of(*snapshot, lower_case.pid());
  const Module* other = test_module_of(*snapshot, upper_case.pid());
  ASSERT_NE(one, nullptr);
  ASSERT_NE(other, nullptr);
  RecordProperty("spelling_one", one->path());
  RecordProperty("spelling_other", other->path());
  EXPECT_EQ(one->file, other->file);
  Aggregator aggregator{AggregatorSettings{}};
  const auto aggregate = aggregator.update(snapshot);
  const auto series = std::ranges::count_if(aggregate->modules, [](const ModuleSeries& module) {
    return ends_with_nocase(module.path, "\\spelling\\thx_test_module.dll");
  });
  EXPECT_EQ(series, 1);
  for (const ModuleSeries& module : aggregate->modules) {
    if (ends_with_nocase(module.path, "\\spelling\\thx_test_module.dll")) {
      EXPECT_EQ(module.processes, 2U);
    }
  }
}

TEST(ToolhelpSource, NonAsciiAndLongModulePathsAreReportedExactly) {
  ModuleFolders folders;
  const std::wstring unicode =
      folders.place(L"m\u00f6dule \u043c\u043e\u0434\u0443\u043b\u044c \u6a21\u5757");
  std::wstring deep;
  while (deep.size() < 300) {
    deep += (deep.empty() ? L"" : L"\\") + std::wstring(60, L'd');
  }
  const std::wstring long_path = folders.place(deep);
  ASSERT_GT(long_path.size(), std::size_t{MAX_PATH});
  WinChild unicode_child(L"--load \"" + unicode + L"\"");
  WinChild long_child(L"--load \"" + win32::extended_path(long_path) + L"\"");
  ASSERT_TRUE(unicode_child.wait_ready());
  const bool long_loaded = long_child.wait_ready();
  auto source = make_platform_source();
  const Snapshot snapshot = source->take(request_of({Kind::processes, Kind::modules}), {});
  const Module* unicode_module = test_module_of(snapshot, unicode_child.pid());
  ASSERT_NE(unicode_module, nullptr);
  EXPECT_EQ(unicode_module->path(), win32::to_utf8(unicode));
  ASSERT_TRUE(long_loaded) << "the child could not load a DLL from a path of " << long_path.size()
                           << " characters";
  const Module* long_module = test_module_of(snapshot, long_child.pid());
  ASSERT_NE(long_module, nullptr);
  EXPECT_EQ(long_module->path(), win32::to_utf8(long_path));
  for (const std::string& path : {unicode_module->path(), long_module->path()}) {
    const auto version = snapshot.module_versions.find(path);
    ASSERT_NE(version, snapshot.module_versions.end()) << path;
    EXPECT_EQ(version->second.file_version, "1.2.3.4") << path;
  }
}

// ---- Resources
// -----------------------------------------------------------------------------------

TEST(ToolhelpSource, ResourcesShowWhatAChildBurnedTouchedOpenedAndWrote) {
  const std::wstring file =
      temp_folder() + L"thx_written_" + std::to_wstring(GetCurrentProcessId()) + L".bin";
  // Burning CPU under Wine would show nothing (see below): only on Windows.
  const std::wstring burn = running_under_wine() ? L"0" : L"2000";
  WinChild child(L"--burn-ms " + burn +
                 L" --touch-mb 256 --open-files 500 --write-mb 64 --write-to \"" + file + L"\"");
  ASSERT_TRUE(child.wait_ready());
  auto source = make_platform_source();
  const Snapshot snapshot = source->take(request_of({Kind::processes}), {});
  const Process* process = snapshot.find_process(child.pid());
  ASSERT_NE(process, nullptr);
  const ProcessResources& used = process->resources;
  constexpr std::uint64_t kMiB = 1024 * 1024;
  ASSERT_TRUE(used.resident_bytes && used.private_bytes);
  EXPECT_GE(*used.resident_bytes, 256 * kMiB);
  EXPECT_GE(*used.private_bytes, 256 * kMiB);
  if (running_under_wine()) {
    // Wine 8.0 answers the caller's own CPU times for any process, zero I/O and zero handles:
    // the source leaves those facts empty rather than export them.
    EXPECT_FALSE(used.cpu_user_seconds.has_value());
    EXPECT_FALSE(used.io_write_bytes.has_value());
    EXPECT_FALSE(used.handles.has_value());
  } else {
    ASSERT_TRUE(used.cpu_user_seconds && used.cpu_system_seconds);
    const double cpu = *used.cpu_user_seconds + *used.cpu_system_seconds;
    EXPECT_GE(cpu, 2.0 * 0.75);
    EXPECT_LE(cpu, 2.0 * 1.25);
    ASSERT_TRUE(used.handles.has_value());
    EXPECT_GE(*used.handles, 500U);
    ASSERT_TRUE(used.io_write_bytes.has_value());
    EXPECT_GE(*used.io_write_bytes, 64 * kMiB);
  }
  child.terminate();
  DeleteFileW(file.c_str());
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

TEST(ModuleVersionCache, AFileThatCannotBeFoundIsNotLookedUpAgainBeforeItsRetryTime) {
  win32::ModuleVersionCache cache;
  for (int i = 0; i < 3; ++i) {
    Snapshot snapshot = snapshot_with_module(temp_folder() + L"thx_no_such_module.dll");
    ASSERT_TRUE(cache.fill(snapshot, {}));
    EXPECT_TRUE(snapshot.module_versions.empty());
  }
  EXPECT_EQ(cache.files_looked_up(), 1U);
}

}  // namespace
}  // namespace thx
