// thx_wine_cycle_bench: the Tool Help source's cycle cost with N extra processes (a benchmark,
// not a test: it measures and prints, it asserts nothing).
//
//   thx_wine_cycle_bench [--processes N] [--cycles K] [--module-interval S]
//
// Starts N thx_win_child sleepers from this program's folder, waits until each runs, then takes
// K cycles of the Tool Help source (processes, threads, modules, resources; command lines off;
// module interval S, default 300) alternating with K cycles of the floor: only the Windows calls
// such a cycle needs (BareCycle below). Prints one JSON object: for each, the first (cold) cycle
// and the steady ones, wall and this process's CPU seconds, and how many processes were listed.
// Built for Windows; run under Wine on the build machine.
#include <windows.h>
// Tool Help and PSAPI after windows.h, which they need.
#include <psapi.h>
#include <tlhelp32.h>

#include <algorithm>
#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <string>
#include <unordered_map>
#include <vector>

#include "collector/platform_source.h"
#include "collector/windows/win32_util.h"

namespace {

double cpu_seconds() {
  FILETIME created{};
  FILETIME exited{};
  FILETIME kernel{};
  FILETIME user{};
  GetProcessTimes(GetCurrentProcess(), &created, &exited, &kernel, &user);
  const auto ticks = [](const FILETIME& time) {
    return static_cast<double>((static_cast<unsigned long long>(time.dwHighDateTime) << 32U) |
                               time.dwLowDateTime);
  };
  return (ticks(kernel) + ticks(user)) / 1e7;
}

std::wstring beside_this_program(const wchar_t* name) {
  std::wstring path(32768, L'\0');
  path.resize(GetModuleFileNameW(nullptr, path.data(), static_cast<DWORD>(path.size())));
  return path.substr(0, path.find_last_of(L"\\/") + 1) + name;
}

struct Stats {
  double median = 0.0;
  double max = 0.0;
};

// One kind of cycle's timings: the first (cold) and the steady ones after it.
struct Timings {
  double first_wall = 0.0;
  double first_cpu = 0.0;
  std::vector<double> walls;
  std::vector<double> cpus;
  std::size_t listed = 0;

  template <typename Cycle>
  void measure(Cycle&& cycle) {
    const double cpu_before = cpu_seconds();
    const auto start = std::chrono::steady_clock::now();
    listed = cycle();
    const double wall =
        std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count();
    const double cpu = cpu_seconds() - cpu_before;
    if (walls.empty() && first_wall == 0.0) {
      first_wall = wall;
      first_cpu = cpu;
    } else {
      walls.push_back(wall);
      cpus.push_back(cpu);
    }
  }
};

Stats stats_of(std::vector<double> values) {
  if (values.empty()) {
    return {};
  }
  std::sort(values.begin(), values.end());
  return {values[values.size() / 2], values.back()};
}

// The floor of a cycle: the Tool Help and process API calls a steady cycle makes, keeping
// nothing but one handle per process. One process and thread snapshot walked to its end; per
// process a handle opened once, its image path and module list read once, and every cycle its
// times, memory counters, handle count and I/O counters read through that handle.
class BareCycle {
 public:
  BareCycle() = default;
  BareCycle(const BareCycle&) = delete;
  BareCycle& operator=(const BareCycle&) = delete;
  ~BareCycle() {
    for (const auto& [pid, handle] : handles_) {
      CloseHandle(handle);
    }
  }

  // Returns how many processes the snapshot listed.
  std::size_t run() {
    HANDLE snapshot = CreateToolhelp32Snapshot(TH32CS_SNAPPROCESS | TH32CS_SNAPTHREAD, 0);
    if (snapshot == INVALID_HANDLE_VALUE) {
      return 0;
    }
    std::vector<DWORD> pids;
    PROCESSENTRY32W process{};
    process.dwSize = sizeof(process);
    for (BOOL more = Process32FirstW(snapshot, &process); more;
         more = Process32NextW(snapshot, &process)) {
      pids.push_back(process.th32ProcessID);
    }
    THREADENTRY32 thread{};
    thread.dwSize = sizeof(thread);
    for (BOOL more = Thread32First(snapshot, &thread); more;
         more = Thread32Next(snapshot, &thread)) {
      ++threads_;
    }
    CloseHandle(snapshot);
    for (const DWORD pid : pids) {
      read(pid);
    }
    return pids.size();
  }

 private:
  void read(DWORD pid) {
    auto found = handles_.find(pid);
    if (found == handles_.end()) {
      HANDLE handle = OpenProcess(PROCESS_QUERY_LIMITED_INFORMATION, FALSE, pid);
      if (handle == nullptr) {
        return;
      }
      found = handles_.emplace(pid, handle).first;
      std::wstring path(MAX_PATH, L'\0');
      auto length = static_cast<DWORD>(path.size());
      QueryFullProcessImageNameW(handle, 0, path.data(), &length);
      list_modules(pid);
    }
    HANDLE handle = found->second;
    FILETIME created{};
    FILETIME exited{};
    FILETIME kernel{};
    FILETIME user{};
    GetProcessTimes(handle, &created, &exited, &kernel, &user);
    PROCESS_MEMORY_COUNTERS_EX memory{};
    memory.cb = sizeof(memory);
    K32GetProcessMemoryInfo(handle, reinterpret_cast<PROCESS_MEMORY_COUNTERS*>(&memory),
                            sizeof(memory));
    DWORD handles = 0;
    GetProcessHandleCount(handle, &handles);
    if (!under_wine_) {  // the source leaves it out there too: Wine answers zeros
      IO_COUNTERS io{};
      GetProcessIoCounters(handle, &io);
    }
  }

  void list_modules(DWORD pid) {
    HANDLE snapshot = CreateToolhelp32Snapshot(TH32CS_SNAPMODULE | TH32CS_SNAPMODULE32, pid);
    if (snapshot == INVALID_HANDLE_VALUE) {
      return;
    }
    MODULEENTRY32W module{};
    module.dwSize = sizeof(module);
    for (BOOL more = Module32FirstW(snapshot, &module); more;
         more = Module32NextW(snapshot, &module)) {
      ++modules_;
    }
    CloseHandle(snapshot);
  }

  std::unordered_map<DWORD, HANDLE> handles_;
  bool under_wine_ = thx::win32::running_under_wine();
  std::size_t threads_ = 0;
  std::size_t modules_ = 0;
};

}  // namespace

int main(int argc, char** argv) {
  long processes = 500;
  long cycles = 10;
  long module_interval = 300;
  for (int i = 1; i + 1 < argc; i += 2) {
    const long value = std::strtol(argv[i + 1], nullptr, 10);
    if (std::strcmp(argv[i], "--processes") == 0) {
      processes = value;
    } else if (std::strcmp(argv[i], "--cycles") == 0) {
      cycles = value;
    } else if (std::strcmp(argv[i], "--module-interval") == 0) {
      module_interval = value;
    } else {
      std::fprintf(stderr,
                   "usage: thx_wine_cycle_bench [--processes N] [--cycles K] "
                   "[--module-interval S]\n");
      return 2;
    }
  }
  const std::wstring program = beside_this_program(L"thx_win_child.exe");
  std::vector<PROCESS_INFORMATION> children;
  const auto spawn_start = std::chrono::steady_clock::now();
  for (long i = 0; i < processes; ++i) {
    std::wstring command_line = L"\"" + program + L"\"";
    STARTUPINFOW startup{};
    startup.cb = sizeof(startup);
    PROCESS_INFORMATION info{};
    if (!CreateProcessW(program.c_str(), command_line.data(), nullptr, nullptr, FALSE, 0, nullptr,
                        nullptr, &startup, &info)) {
      std::fprintf(stderr, "CreateProcessW failed: %lu\n", GetLastError());
      break;
    }
    CloseHandle(info.hThread);
    children.push_back(info);
  }
  // Every child has run its loader once its modules can be listed; a short settle is enough.
  Sleep(2000);
  const double spawn_seconds =
      std::chrono::duration<double>(std::chrono::steady_clock::now() - spawn_start).count();

  auto source = thx::make_platform_source();
  thx::SnapshotRequest request;
  request.kinds = {thx::Kind::processes, thx::Kind::threads, thx::Kind::modules,
                   thx::Kind::resources};
  request.module_interval = std::chrono::seconds(module_interval);
  BareCycle bare_cycle;
  Timings source_timings;
  Timings bare_timings;
  for (long cycle = 0; cycle < cycles; ++cycle) {
    source_timings.measure([&] { return source->take(request, {}).processes.size(); });
    bare_timings.measure([&] { return bare_cycle.run(); });
  }
  for (const PROCESS_INFORMATION& child : children) {
    TerminateProcess(child.hProcess, 0);
    CloseHandle(child.hProcess);
  }
  std::printf("{\"children\": %zu, \"spawn_seconds\": %.1f", children.size(), spawn_seconds);
  for (const auto& [name, timings] :
       {std::pair{"source", &source_timings}, std::pair{"bare", &bare_timings}}) {
    const Stats wall = stats_of(timings->walls);
    const Stats cpu = stats_of(timings->cpus);
    std::printf(
        ", \"%s\": {\"processes_listed\": %zu, "
        "\"first_cycle\": {\"wall_seconds\": %.4f, \"cpu_seconds\": %.4f}, "
        "\"steady_cycles\": {\"count\": %zu, \"wall_median_seconds\": %.4f, "
        "\"wall_max_seconds\": %.4f, \"cpu_median_seconds\": %.4f, \"cpu_max_seconds\": %.4f}}",
        name, timings->listed, timings->first_wall, timings->first_cpu, timings->walls.size(),
        wall.median, wall.max, cpu.median, cpu.max);
  }
  std::printf("}\n");
  return 0;
}
