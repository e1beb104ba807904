// The platform source against the real machine: this test program snapshots itself and a
// thx_sleeper it spawns. Portable: built for Linux and, with mingw-w64, for Windows (run under
// Wine). Platform specifics live in the small helpers at the top, under #ifdef _WIN32.
#include <gtest/gtest.h>

#include <algorithm>
#include <cctype>
#include <chrono>
#include <condition_variable>
#include <cstdio>
#include <filesystem>
#include <mutex>
#include <stdexcept>
#include <string>
#include <thread>
#include <vector>

#include "collector/platform_source.h"

#ifdef _WIN32
#include <windows.h>

#include <cstdint>
#else
#include <fcntl.h>
#include <poll.h>
#include <signal.h>
#include <spawn.h>
#include <sys/wait.h>
#include <unistd.h>

extern char** environ;  // NOLINT: POSIX declares it for the program to define
#endif

namespace thx {
namespace {

namespace fs = std::filesystem;

// ---- Platform helpers ----------------------------------------------------------------------

std::string utf8(const fs::path& path) {
  const std::u8string text = path.u8string();
  return {text.begin(), text.end()};
}

#ifdef _WIN32

constexpr std::string_view kSystemModule = "kernel32.dll";
constexpr std::string_view kSleeperName = "thx_sleeper.exe";

std::uint32_t own_pid() {
  return GetCurrentProcessId();
}

fs::path own_executable() {
  std::wstring buffer(32768, L'\0');
  const DWORD length =
      GetModuleFileNameW(nullptr, buffer.data(), static_cast<DWORD>(buffer.size()));
  buffer.resize(length);
  return fs::path(buffer);
}

// Wine's GetProcessHandleCount always answers 0. Wine hands out the lowest free handle slot
// (4 apart), so there the slot a new handle gets counts the handles held below it instead.
std::size_t open_descriptor_count() {
  DWORD handles = 0;
  if (!GetProcessHandleCount(GetCurrentProcess(), &handles)) {
    throw std::runtime_error("GetProcessHandleCount failed");
  }
  if (handles != 0) {
    return handles;
  }
  const HANDLE probe = CreateEventW(nullptr, FALSE, FALSE, nullptr);
  if (probe == nullptr) {
    throw std::runtime_error("CreateEventW failed");
  }
  const auto slot = reinterpret_cast<std::uintptr_t>(probe) / 4;
  CloseHandle(probe);
  return slot;
}

// Windows paths compare without regard to case.
bool same_path(std::string a, std::string b) {
  const auto lower = [](std::string& text) {
    std::transform(text.begin(), text.end(), text.begin(),
                   [](unsigned char c) { return static_cast<char>(std::tolower(c)); });
  };
  lower(a);
  lower(b);
  return a == b;
}

// A spawned program whose stdout we read, killed and reaped on request or destruction.
class Child {
 public:
  Child(const fs::path& program, const std::vector<std::string>& args) {
    SECURITY_ATTRIBUTES inherit{sizeof(SECURITY_ATTRIBUTES), nullptr, TRUE};
    HANDLE write_end = nullptr;
    if (!CreatePipe(&read_end_, &write_end, &inherit, 0)) {
      throw std::runtime_error("CreatePipe failed");
    }
    SetHandleInformation(read_end_, HANDLE_FLAG_INHERIT, 0);  // only the write end goes over
    std::wstring command_line = L"\"" + program.wstring() + L"\"";
    for (const std::string& arg : args) {
      command_line += L" " + fs::path(arg).wstring();
    }
    STARTUPINFOW startup{};
    startup.cb = sizeof(startup);
    startup.dwFlags = STARTF_USESTDHANDLES;
    startup.hStdInput = GetStdHandle(STD_INPUT_HANDLE);
    startup.hStdOutput = write_end;
    startup.hStdError = GetStdHandle(STD_ERROR_HANDLE);
    const BOOL created = CreateProcessW(program.wstring().c_str(), command_line.data(), nullptr,
                                        nullptr, TRUE, 0, nullptr, nullptr, &startup, &info_);
    CloseHandle(write_end);
    if (!created) {
      CloseHandle(read_end_);
      throw std::runtime_error("CreateProcessW failed");
    }
  }
  ~Child() {
    kill_and_reap();
    CloseHandle(read_end_);
  }
  Child(const Child&) = delete;
  Child& operator=(const Child&) = delete;

  [[nodiscard]] std::uint32_t pid() const { return info_.dwProcessId; }

  // True once the child wrote "ready\n"; false when it exited first or took over 30 s.
  bool wait_ready() {
    const auto deadline = std::chrono::steady_clock::now() + std::chrono::seconds(30);
    std::string seen;
    while (seen.find("ready\n") == std::string::npos) {
      // An anonymous pipe cannot wait with a timeout: peek, and sleep while it is empty.
      DWORD available = 0;
      if (!PeekNamedPipe(read_end_, nullptr, 0, nullptr, &available, nullptr)) {
        return false;  // the child exited and the pipe broke
      }
      if (available == 0) {
        if (std::chrono::steady_clock::now() > deadline) {
          return false;
        }
        std::this_thread::sleep_for(std::chrono::milliseconds(10));
        continue;
      }
      char c = 0;
      DWORD got = 0;
      if (!ReadFile(read_end_, &c, 1, &got, nullptr) || got == 0) {
        return false;
      }
      if (c != '\r') {  // the child's stdout is in text mode: "ready\r\n"
        seen += c;
      }
    }
    return true;
  }

  void kill_and_reap() {
    if (info_.hProcess == nullptr) {
      return;
    }
    TerminateProcess(info_.hProcess, 1);
    WaitForSingleObject(info_.hProcess, INFINITE);
    CloseHandle(info_.hProcess);
    CloseHandle(info_.hThread);
    info_.hProcess = nullptr;
  }

 private:
  HANDLE read_end_ = nullptr;
  PROCESS_INFORMATION info_{};
};

#else  // Linux

constexpr std::string_view kSystemModule = "libc.so.6";
constexpr std::string_view kSleeperName = "thx_sleeper";

std::uint32_t own_pid() {
  return static_cast<std::uint32_t>(::getpid());
}

fs::path own_executable() {
  return fs::read_symlink("/proc/self/exe");
}

std::size_t open_descriptor_count() {
  const auto entries = fs::directory_iterator("/proc/self/fd");
  return static_cast<std::size_t>(std::distance(fs::begin(entries), fs::end(entries)));
}

bool same_path(const std::string& a, const std::string& b) {
  return a == b;
}

class Child {
 public:
  Child(const fs::path& program, const std::vector<std::string>& args) {
    int pipe_fds[2] = {-1, -1};
    if (::pipe2(pipe_fds, O_CLOEXEC) != 0) {
      throw std::runtime_error("pipe2 failed");
    }
    read_end_ = pipe_fds[0];
    posix_spawn_file_actions_t actions;
    posix_spawn_file_actions_init(&actions);
    posix_spawn_file_actions_adddup2(&actions, pipe_fds[1], STDOUT_FILENO);  // clears CLOEXEC
    std::vector<std::string> argv_text = {program.string()};
    argv_text.insert(argv_text.end(), args.begin(), args.end());
    std::vector<char*> argv;
    argv.reserve(argv_text.size() + 1);
    for (std::string& arg : argv_text) {
      argv.push_back(arg.data());
    }
    argv.push_back(nullptr);
    const int error =
        ::posix_spawn(&pid_, program.c_str(), &actions, nullptr, argv.data(), environ);
    posix_spawn_file_actions_destroy(&actions);
    ::close(pipe_fds[1]);
    if (error != 0) {
      ::close(read_end_);
      throw std::runtime_error("posix_spawn failed");
    }
  }
  ~Child() {
    kill_and_reap();
    ::close(read_end_);
  }
  Child(const Child&) = delete;
  Child& operator=(const Child&) = delete;

  [[nodiscard]] std::uint32_t pid() const { return static_cast<std::uint32_t>(pid_); }

  // True once the child wrote "ready\n"; false when it exited first or took over 30 s.
  bool wait_ready() {
    std::string seen;
    while (seen.find("ready\n") == std::string::npos) {
      pollfd readable{read_end_, POLLIN, 0};
      char chunk[64];
      if (::poll(&readable, 1, 30'000) != 1) {
        return false;
      }
      const ssize_t n = ::read(read_end_, chunk, sizeof chunk);
      if (n <= 0) {
        return false;
      }
      seen.append(chunk, static_cast<std::size_t>(n));
    }
    return true;
  }

  void kill_and_reap() {
    if (pid_ <= 0) {
      return;
    }
    ::kill(pid_, SIGKILL);
    int status = 0;
    ::waitpid(pid_, &status, 0);
    pid_ = -1;
  }

 private:
  pid_t pid_ = -1;
  int read_end_ = -1;
};

#endif

// ---- Portable helpers ----------------------------------------------------------------------

// Threads that wait until released, so the thread count is known while a snapshot is taken.
class ParkedThreads {
 public:
  explicit ParkedThreads(std::size_t count) {
    for (std::size_t i = 0; i < count; ++i) {
      threads_.emplace_back([this] {
        std::unique_lock lock(mutex_);
        ++running_;
        changed_.notify_all();
        changed_.wait(lock, [this] { return released_; });
      });
    }
    std::unique_lock lock(mutex_);
    changed_.wait(lock, [this, count] { return running_ == count; });
  }
  ~ParkedThreads() {
    {
      const std::lock_guard lock(mutex_);
      released_ = true;
    }
    changed_.notify_all();
    for (std::thread& thread : threads_) {
      thread.join();
    }
  }
  ParkedThreads(const ParkedThreads&) = delete;
  ParkedThreads& operator=(const ParkedThreads&) = delete;

 private:
  std::mutex mutex_;
  std::condition_variable changed_;
  std::size_t running_ = 0;
  bool released_ = false;
  std::vector<std::thread> threads_;
};

SnapshotRequest full_request() {
  SnapshotRequest request;
  request.kinds = {Kind::processes, Kind::threads, Kind::modules};
  return request;
}

std::size_t threads_listed(const Snapshot& snapshot, std::uint32_t pid) {
  return static_cast<std::size_t>(
      std::count_if(snapshot.threads.begin(), snapshot.threads.end(),
                    [pid](const Thread& thread) { return thread.owner_pid == pid; }));
}

bool iequals(std::string_view a, std::string_view b) {
  return std::equal(a.begin(), a.end(), b.begin(), b.end(), [](char x, char y) {
    return std::tolower(static_cast<unsigned char>(x)) ==
           std::tolower(static_cast<unsigned char>(y));
  });
}

const Module* find_module(const Process& process, std::string_view name) {
  auto it = std::find_if(process.modules.begin(), process.modules.end(),
                         [name](const Module& module) { return iequals(module.name(), name); });
  return it == process.modules.end() ? nullptr : &*it;
}

// Whether a sanitizer or runtime of this build runs threads of its own.
constexpr bool kRuntimeAddsThreads =
#if defined(__SANITIZE_THREAD__)
    true;
#else
    false;
#endif

// ---- Tests ---------------------------------------------------------------------------------

TEST(SelfSnapshot, FindsItselfWithItsThreadsPathAndModules) {
  const auto source = make_platform_source();
  const std::uint32_t pid = own_pid();
  const Snapshot before = source->take(full_request(), {});
  const Process* baseline = before.find_process(pid);
  ASSERT_NE(baseline, nullptr);

  constexpr std::size_t kExtraThreads = 3;
  const ParkedThreads parked(kExtraThreads);
  const Snapshot snapshot = source->take(full_request(), {});
  EXPECT_EQ(snapshot.platform, platform_name());
  const Process* self = snapshot.find_process(pid);
  ASSERT_NE(self, nullptr);

  EXPECT_EQ(self->thread_count, baseline->thread_count + kExtraThreads);
  EXPECT_EQ(threads_listed(snapshot, pid), self->thread_count);
#ifndef _WIN32
  if (!kRuntimeAddsThreads) {  // gtest starts no threads: main plus ours
    EXPECT_EQ(self->thread_count, kExtraThreads + 1);
  }
#endif

  EXPECT_TRUE(same_path(self->path, utf8(own_executable())))
      << self->path << " vs " << utf8(own_executable());
  ASSERT_TRUE(self->modules_read);
  const Module* system = find_module(*self, kSystemModule);
  ASSERT_NE(system, nullptr) << "no " << kSystemModule << " among " << self->modules.size();
  EXPECT_NE(system->base_address, 0U);
  EXPECT_GT(system->size, 64U * 1024);
  EXPECT_LT(system->size, 256U * 1024 * 1024);
  const Module* exe = find_module(*self, utf8(own_executable().filename()));
  ASSERT_NE(exe, nullptr);
  EXPECT_GT(exe->size, 4096U);
}

TEST(SelfSnapshot, SeesASpawnedSleeperAndItsExit) {
  const fs::path sleeper = own_executable().parent_path() / kSleeperName;
  ASSERT_TRUE(fs::exists(sleeper)) << sleeper;
  const auto source = make_platform_source();
  Child child(sleeper, {"--threads", "5", "--seconds", "600"});
  ASSERT_TRUE(child.wait_ready());

  const Snapshot running = source->take(full_request(), {});
  const Process* process = running.find_process(child.pid());
  ASSERT_NE(process, nullptr);
  EXPECT_EQ(process->parent_pid, own_pid());
  EXPECT_TRUE(iequals(process->name, kSleeperName)) << process->name;
  EXPECT_TRUE(same_path(process->path, utf8(sleeper))) << process->path;
  EXPECT_EQ(process->thread_count, 5U);
  EXPECT_EQ(threads_listed(running, child.pid()), 5U);

  child.kill_and_reap();
  const Snapshot after = source->take(full_request(), {});
  const Process* again = after.find_process(process->pid);
  // A reused pid would be a different process: a different start time.
  EXPECT_TRUE(again == nullptr || again->start_time_ns != process->start_time_ns);
}

TEST(SelfSnapshot, NoDescriptorLeaksOverUpToAThousandSnapshots) {
  const auto source = make_platform_source();
  SnapshotRequest request = full_request();
  request.kinds.insert(Kind::heaps);
  request.thread_detail = true;
  request.command_lines = true;
  // Modules are re-read every tenth snapshot: every code path runs a hundred times, and the
  // test stays quick in sanitizer builds and under Wine.
  const auto take = [&](int i) {
    request.module_interval = std::chrono::seconds(i % 10 == 0 ? 0 : 3600);
    return source->take(request, {}).processes.size();
  };
  std::size_t processes_at_ten = 0;
  for (int i = 0; i < 10; ++i) {
    processes_at_ten = take(i);
  }
  const std::size_t after_ten = open_descriptor_count();
  // A machine crowded with processes (a benchmark's thousands) makes each snapshot slow: past
  // two minutes the run ends early, after at least 200 snapshots, and says so.
  const auto give_up_at = std::chrono::steady_clock::now() + std::chrono::minutes(2);
  int taken = 10;
  std::size_t processes_now = processes_at_ten;
  for (; taken < 1000 && (taken < 200 || std::chrono::steady_clock::now() < give_up_at); ++taken) {
    processes_now = take(taken);
  }
  std::printf("%d snapshots\n", taken);
  // The Windows source holds a handle per live process: a changed process list explains a change.
  EXPECT_EQ(open_descriptor_count(), after_ten)
      << "processes listed after ten snapshots: " << processes_at_ten << ", at the end "
      << processes_now;
}

}  // namespace
}  // namespace thx
