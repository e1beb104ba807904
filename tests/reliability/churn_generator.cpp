// churn_generator: makes process and thread churn as fast as it can for a bounded time, so a
// test can watch the exporter snapshot a machine whose lists change under it.
//
//   churn_generator [--seconds S] [--workers N] [--batch B] [--child-ms MS]
//   churn_generator --child MS THREADS      (what it spawns: THREADS threads that live MS ms)
//
// Each worker repeats, until the time is up: a batch of short-lived threads of this process,
// and a batch of child processes started at once and then waited for. Children are this program
// with --child (CreateProcessW on Windows, posix_spawn on Linux); on Linux also bare fork()
// children that sleep and _exit, and fork() children that sleep and then exec --child (a process
// whose name changes under the snapshotter). Prints one summary line at the end:
//   churn: processes=N threads=N seconds=S
// Portable C++ and the platform's process API only: it is built for Linux and for Windows.
#include <algorithm>
#include <atomic>
#include <cerrno>
#include <chrono>
#include <cinttypes>
#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <ctime>
#include <random>
#include <string>
#include <thread>
#include <vector>

#ifdef _WIN32
#include <windows.h>
#else
#include <spawn.h>
#include <sys/wait.h>
#include <unistd.h>

extern char** environ;  // POSIX: the environment posix_spawn passes on
#endif

namespace {

using Clock = std::chrono::steady_clock;

struct Options {
  double seconds = 10.0;
  long workers = 2;
  long batch = 8;
  long child_ms = 20;
};

bool parse_long(const char* text, long minimum, long maximum, long& out) {
  char* end = nullptr;
  const long value = std::strtol(text, &end, 10);
  if (end == text || *end != '\0' || value < minimum || value > maximum) {
    return false;
  }
  out = value;
  return true;
}

bool parse_seconds(const char* text, double& out) {
  char* end = nullptr;
  const double value = std::strtod(text, &end);
  if (end == text || *end != '\0' || !(value > 0.0) || value > 86'400.0) {
    return false;
  }
  out = value;
  return true;
}

bool parse_options(int argc, char** argv, Options& options) {
  for (int i = 1; i + 1 < argc; i += 2) {
    const std::string flag = argv[i];
    const char* value = argv[i + 1];
    const bool ok = flag == "--seconds"    ? parse_seconds(value, options.seconds)
                    : flag == "--workers"  ? parse_long(value, 1, 64, options.workers)
                    : flag == "--batch"    ? parse_long(value, 1, 256, options.batch)
                    : flag == "--child-ms" ? parse_long(value, 0, 60'000, options.child_ms)
                                           : false;
    if (!ok) {
      return false;
    }
  }
  return argc % 2 == 1;
}

// --child MS THREADS: the spawned process. Its threads all live about MS milliseconds.
int run_child(long milliseconds, long threads) {
  const auto until = Clock::now() + std::chrono::milliseconds(milliseconds);
  std::vector<std::thread> others;
  for (long i = 1; i < threads; ++i) {
    others.emplace_back([until] { std::this_thread::sleep_until(until); });
  }
  std::this_thread::sleep_until(until);
  for (std::thread& thread : others) {
    thread.join();
  }
  return 0;
}

// What was made, for the summary line.
std::atomic<std::uint64_t> g_processes{0};
std::atomic<std::uint64_t> g_threads{0};

void thread_batch(std::mt19937& random, long batch, long max_ms) {
  std::uniform_int_distribution<long> lifetime(0, std::max(1L, max_ms / 4));
  std::vector<std::thread> threads;
  for (long i = 0; i < batch; ++i) {
    const auto live = std::chrono::milliseconds(lifetime(random));
    threads.emplace_back([live] { std::this_thread::sleep_for(live); });
  }
  for (std::thread& thread : threads) {
    thread.join();
  }
  g_threads += static_cast<std::uint64_t>(batch);
}

#ifdef _WIN32

std::wstring own_path() {
  std::wstring path(32'768, L'\0');
  const DWORD length = GetModuleFileNameW(nullptr, path.data(), static_cast<DWORD>(path.size()));
  path.resize(length);
  return path;
}

// CreateProcessW of this program with --child; all started, then all waited for.
void process_batch(std::mt19937& random, long batch, long max_ms) {
  static const std::wstring self = own_path();
  std::uniform_int_distribution<long> lifetime(0, max_ms);
  std::uniform_int_distribution<long> thread_count(1, 4);
  std::vector<HANDLE> children;
  for (long i = 0; i < batch; ++i) {
    std::wstring command = L"\"" + self + L"\" --child " + std::to_wstring(lifetime(random)) +
                           L" " + std::to_wstring(thread_count(random));
    STARTUPINFOW startup{};
    startup.cb = sizeof(startup);
    PROCESS_INFORMATION info{};
    if (CreateProcessW(self.c_str(), command.data(), nullptr, nullptr, FALSE, CREATE_NO_WINDOW,
                       nullptr, nullptr, &startup, &info) == 0) {
      static_cast<void>(std::fprintf(stderr, "CreateProcessW failed: %lu\n", GetLastError()));
      continue;
    }
    CloseHandle(info.hThread);
    children.push_back(info.hProcess);
  }
  for (HANDLE child : children) {
    WaitForSingleObject(child, INFINITE);
    CloseHandle(child);
  }
  g_processes += children.size();
}

#else

std::string own_path() {
  std::string path(4096, '\0');
  const ssize_t length = readlink("/proc/self/exe", path.data(), path.size() - 1);
  path.resize(length > 0 ? static_cast<std::size_t>(length) : 0);
  return path;
}

timespec to_timespec(long milliseconds) {
  timespec out{};
  out.tv_sec = milliseconds / 1000;
  out.tv_nsec = (milliseconds % 1000) * 1'000'000L;
  return out;
}

// Everything a forked child does must be async-signal-safe: nanosleep, execv, _exit.
pid_t fork_child(long sleep_ms, const char* exec_path, char* const* exec_argv) {
  const timespec pause = to_timespec(sleep_ms);
  const pid_t pid = fork();
  if (pid == 0) {
    nanosleep(&pause, nullptr);
    if (exec_path != nullptr) {
      execv(exec_path, exec_argv);
    }
    _exit(0);
  }
  return pid;
}

enum class Spawn : std::uint8_t { fork_exit, fork_exec, posix_spawn };

void process_batch(std::mt19937& random, long batch, long max_ms) {
  static const std::string self = own_path();
  std::uniform_int_distribution<long> lifetime(0, max_ms);
  std::uniform_int_distribution<long> thread_count(1, 4);
  std::uniform_int_distribution<int> how(0, 2);
  std::vector<pid_t> children;
  for (long i = 0; i < batch; ++i) {
    std::string ms = std::to_string(lifetime(random));
    std::string threads = std::to_string(thread_count(random));
    std::string exe = self;
    std::string child_flag = "--child";
    std::vector<char*> argv = {exe.data(), child_flag.data(), ms.data(), threads.data(), nullptr};
    const auto spawn = self.empty() ? Spawn::fork_exit : static_cast<Spawn>(how(random));
    pid_t pid = -1;
    switch (spawn) {
      case Spawn::fork_exit:
        pid = fork_child(lifetime(random), nullptr, nullptr);
        break;
      case Spawn::fork_exec:
        pid = fork_child(lifetime(random) / 4, self.c_str(), argv.data());
        break;
      case Spawn::posix_spawn:
        if (::posix_spawn(&pid, self.c_str(), nullptr, nullptr, argv.data(), environ) != 0) {
          pid = -1;
        }
        break;
    }
    if (pid > 0) {
      children.push_back(pid);
    }
  }
  for (pid_t child : children) {
    int status = 0;
    while (waitpid(child, &status, 0) < 0 && errno == EINTR) {
    }
  }
  g_processes += children.size();
}

#endif

}  // namespace

int main(int argc, char** argv) {
  if (argc == 4 && std::string(argv[1]) == "--child") {
    long milliseconds = 0;
    long threads = 1;
    if (!parse_long(argv[2], 0, 60'000, milliseconds) || !parse_long(argv[3], 1, 64, threads)) {
      return 2;
    }
    return run_child(milliseconds, threads);
  }
  Options options;
  if (!parse_options(argc, argv, options)) {
    static_cast<void>(std::fputs(
        "usage: churn_generator [--seconds S] [--workers N] [--batch B] [--child-ms MS]\n",
        stderr));
    return 2;
  }
  const auto started = Clock::now();
  const auto deadline = started + std::chrono::duration_cast<Clock::duration>(
                                      std::chrono::duration<double>(options.seconds));
  std::vector<std::thread> workers;
  for (long w = 0; w < options.workers; ++w) {
    workers.emplace_back([&options, deadline, w] {
      std::mt19937 random(static_cast<std::mt19937::result_type>(w + 1));
      while (Clock::now() < deadline) {
        thread_batch(random, options.batch, options.child_ms);
        process_batch(random, options.batch, options.child_ms);
      }
    });
  }
  for (std::thread& worker : workers) {
    worker.join();
  }
  const double elapsed = std::chrono::duration<double>(Clock::now() - started).count();
  std::printf("churn: processes=%" PRIu64 " threads=%" PRIu64 " seconds=%.1f\n", g_processes.load(),
              g_threads.load(), elapsed);
  return 0;
}
