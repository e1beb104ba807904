// thx_bench_load: a machine's worth of sleeping processes for the benchmarks.
//
//   thx_bench_load [--processes N] [--threads T] [--heavy-percent P] [--libs M] [--names G]
//                  [--churn R]
//
// Forks N processes of T threads each (the main thread included) that sleep until killed. P% of
// them ("heavy") also have M shared libraries loaded: system .so files from the directory libc
// was loaded from, each first tried alone in a throw-away child (it must load, start no thread
// and survive a fork), then all loaded once by a template process that forks the heavy ones, so
// they share the pages. Processes are named thxload-NN / thxheavy-NN with G distinct NN, so the
// exporters see a bounded number of groups whatever N is. With --churn, R light processes a
// second are killed and replaced by new ones.
//
// Prints "ready processes=N threads=X libs=M" once every process runs all its threads. Every
// child dies with its parent (PR_SET_PDEATHSIG), and on SIGTERM, SIGINT or SIGHUP this program
// kills them all and exits; a harness should still start it in a process group of its own.
#include <dirent.h>
#include <dlfcn.h>
#include <fcntl.h>
#include <poll.h>
#include <pthread.h>
#include <signal.h>
#include <sys/prctl.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include <algorithm>
#include <array>
#include <cerrno>
#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <ctime>
#include <deque>
#include <string>
#include <string_view>
#include <vector>

namespace {

struct Options {
  long processes = 100;
  long threads = 10;
  long heavy_percent = 10;
  long libs = 150;
  long names = 20;
  double churn_per_second = 0.0;
};

[[noreturn]] void usage() {
  std::fprintf(stderr,
               "usage: thx_bench_load [--processes N] [--threads T] [--heavy-percent P] "
               "[--libs M] [--names G] [--churn R]\n");
  std::exit(2);
}

Options parse_options(int argc, char** argv) {
  Options options;
  if (argc % 2 != 1) {
    usage();
  }
  for (int i = 1; i + 1 < argc; i += 2) {
    const std::string_view flag = argv[i];
    char* end = nullptr;
    const double value = std::strtod(argv[i + 1], &end);
    if (end == argv[i + 1] || *end != '\0' || value < 0) {
      usage();
    }
    const auto whole = static_cast<long>(value);
    if (flag == "--processes") {
      options.processes = whole;
    } else if (flag == "--threads") {
      options.threads = std::max(whole, 1L);
    } else if (flag == "--heavy-percent") {
      options.heavy_percent = std::min(whole, 100L);
    } else if (flag == "--libs") {
      options.libs = whole;
    } else if (flag == "--names") {
      options.names = std::max(whole, 1L);
    } else if (flag == "--churn") {
      options.churn_per_second = value;
    } else {
      usage();
    }
  }
  return options;
}

void die(const char* what) {
  std::fprintf(stderr, "thx_bench_load: %s: %s\n", what, std::strerror(errno));
  std::exit(1);
}

// ---------------------------------------------------------------------------------------------
// The children.

void* sleep_forever(void*) {
  while (true) {
    ::pause();
  }
}

// Becomes a sleeping process: named, dying with its parent, `threads` threads, one byte written
// to `ready_fd` when all of them run. Never returns.
[[noreturn]] void become_sleeper(const std::string& name, long threads, int ready_fd) {
  ::prctl(PR_SET_PDEATHSIG, SIGKILL);
  ::prctl(PR_SET_NAME, name.c_str());
  sigset_t none;
  sigemptyset(&none);
  ::sigprocmask(SIG_SETMASK, &none, nullptr);
  pthread_attr_t attr;
  pthread_attr_init(&attr);
  pthread_attr_setstacksize(&attr, std::size_t{64} * 1024);
  for (long i = 1; i < threads; ++i) {
    pthread_t thread{};
    if (pthread_create(&thread, &attr, sleep_forever, nullptr) != 0) {
      _exit(3);
    }
  }
  const char byte = 'r';
  if (ready_fd >= 0 && ::write(ready_fd, &byte, 1) != 1) {
    _exit(3);
  }
  while (true) {
    ::pause();
  }
}

std::string numbered(const char* prefix, long index, long names) {
  std::array<char, 64> text{};
  std::snprintf(text.data(), text.size(), "%s-%02ld", prefix, index % names);
  return text.data();
}

// ---------------------------------------------------------------------------------------------
// Choosing libraries.

// The directory the C library was loaded from: where the system's shared libraries are.
std::string system_library_dir() {
  Dl_info info{};
  if (::dladdr(reinterpret_cast<void*>(&std::printf), &info) == 0 || info.dli_fname == nullptr) {
    return {};
  }
  std::string path = info.dli_fname;
  const std::size_t slash = path.rfind('/');
  return slash == std::string::npos ? std::string{} : path.substr(0, slash);
}

// Regular files named lib*.so* (symbolic links left out: one file, one module), sorted.
std::vector<std::string> library_candidates(const std::string& dir) {
  std::vector<std::string> names;
  DIR* stream = ::opendir(dir.c_str());
  if (stream == nullptr) {
    return names;
  }
  while (const dirent* entry = ::readdir(stream)) {
    const std::string_view name = entry->d_name;
    if (!name.starts_with("lib") || name.find(".so") == std::string_view::npos ||
        name.starts_with("libc.so") || name.starts_with("libpthread") ||
        name.starts_with("libdl")) {
      continue;
    }
    struct stat info {};
    const std::string path = dir + "/" + std::string(name);
    if (::lstat(path.c_str(), &info) == 0 && S_ISREG(info.st_mode)) {
      names.push_back(path);
    }
  }
  ::closedir(stream);
  std::sort(names.begin(), names.end());
  return names;
}

long count_own_threads() {
  DIR* task = ::opendir("/proc/self/task");
  long count = 0;
  if (task == nullptr) {
    return -1;
  }
  while (const dirent* entry = ::readdir(task)) {
    count += entry->d_name[0] != '.' ? 1 : 0;
  }
  ::closedir(task);
  return count;
}

// In a throw-away child: loads, starts no thread, and a fork afterwards still works.
bool library_is_harmless(const std::string& path) {
  const pid_t child = ::fork();
  if (child < 0) {
    return false;
  }
  if (child == 0) {
    ::alarm(5);
    const int null_fd = ::open("/dev/null", O_WRONLY);
    ::dup2(null_fd, STDOUT_FILENO);
    ::dup2(null_fd, STDERR_FILENO);
    if (::dlopen(path.c_str(), RTLD_LAZY | RTLD_LOCAL) == nullptr) {
      _exit(1);
    }
    if (count_own_threads() != 1) {
      _exit(2);
    }
    const pid_t grandchild = ::fork();
    if (grandchild < 0) {
      _exit(3);
    }
    if (grandchild == 0) {
      _exit(0);
    }
    int status = 0;
    _exit(::waitpid(grandchild, &status, 0) == grandchild && WIFEXITED(status) &&
                  WEXITSTATUS(status) == 0
              ? 0
              : 4);
  }
  int status = 0;
  while (::waitpid(child, &status, 0) < 0 && errno == EINTR) {
  }
  return WIFEXITED(status) && WEXITSTATUS(status) == 0;
}

std::vector<std::string> choose_libraries(long wanted) {
  std::vector<std::string> chosen;
  if (wanted <= 0) {
    return chosen;
  }
  for (const std::string& path : library_candidates(system_library_dir())) {
    if (static_cast<long>(chosen.size()) >= wanted) {
      break;
    }
    if (library_is_harmless(path)) {
      chosen.push_back(path);
    }
  }
  return chosen;
}

// The template of the heavy processes: loads the libraries, forks `count` sleepers, then waits
// (SIGTERM, SIGINT, SIGHUP, SIGCHLD are blocked, inherited from the parent) for SIGTERM to kill
// and reap them all. Never returns.
[[noreturn]] void run_heavy_template(const std::vector<std::string>& libraries, long count,
                                     long first_index, const Options& options, int ready_fd) {
  ::prctl(PR_SET_PDEATHSIG, SIGKILL);
  ::prctl(PR_SET_NAME, "thxheavy-tmpl");
  for (const std::string& path : libraries) {
    ::dlopen(path.c_str(), RTLD_LAZY | RTLD_LOCAL);  // one that fails together is skipped
  }
  std::vector<pid_t> children;
  for (long i = 0; i < count; ++i) {
    const pid_t child = ::fork();
    if (child < 0) {
      break;  // the parent times out waiting for readiness and cleans up
    }
    if (child == 0) {
      become_sleeper(numbered("thxheavy", first_index + i, options.names), options.threads,
                     ready_fd);
    }
    children.push_back(child);
  }
  sigset_t wanted;
  sigemptyset(&wanted);
  sigaddset(&wanted, SIGTERM);
  sigaddset(&wanted, SIGCHLD);
  while (true) {
    int signal = 0;
    if (::sigwait(&wanted, &signal) != 0 || signal == SIGTERM) {
      break;
    }
    while (::waitpid(-1, nullptr, WNOHANG) > 0) {
    }
  }
  for (pid_t child : children) {
    ::kill(child, SIGKILL);
  }
  while (::wait(nullptr) > 0 || errno == EINTR) {
  }
  _exit(0);
}

// ---------------------------------------------------------------------------------------------
// The parent.

class Parent {
 public:
  explicit Parent(const Options& options) : options_(options) {}

  int run() {
    check_headroom();
    // Orphans (heavy sleepers whose template died) come back to us to be reaped: no zombie is
    // left to an init that may not reap.
    ::prctl(PR_SET_CHILD_SUBREAPER, 1);
    sigset_t handled;
    sigemptyset(&handled);
    for (int signal : {SIGTERM, SIGINT, SIGHUP, SIGCHLD}) {
      sigaddset(&handled, signal);
    }
    ::sigprocmask(SIG_BLOCK, &handled, nullptr);

    std::array<int, 2> ready{};
    if (::pipe2(ready.data(), O_CLOEXEC) != 0) {
      die("pipe");
    }
    const long heavy = options_.libs > 0 ? options_.processes * options_.heavy_percent / 100 : 0;
    const std::vector<std::string> libraries =
        heavy > 0 ? choose_libraries(options_.libs) : std::vector<std::string>{};
    if (heavy > 0) {
      template_ = ::fork();
      if (template_ < 0) {
        die("fork");
      }
      if (template_ == 0) {
        ::close(ready[0]);
        run_heavy_template(libraries, heavy, 0, options_, ready[1]);
      }
    }
    for (long i = heavy; i < options_.processes; ++i) {
      spawn_light(i, ready[1]);
    }
    wait_ready(ready[0], options_.processes);
    ::close(ready[0]);
    ::close(ready[1]);
    std::printf("ready processes=%ld threads=%ld libs=%zu heavy=%ld\n", options_.processes,
                options_.processes * options_.threads, libraries.size(), heavy);
    std::fflush(stdout);
    return loop(handled, heavy);
  }

 private:
  // Threads count against pid_max: refuse a load that would starve the machine of pids.
  void check_headroom() const {
    FILE* file = std::fopen("/proc/sys/kernel/pid_max", "r");
    long pid_max = 0;
    if (file != nullptr) {
      if (std::fscanf(file, "%ld", &pid_max) != 1) {
        pid_max = 0;
      }
      std::fclose(file);
    }
    long in_use = 0;
    if (DIR* proc = ::opendir("/proc")) {
      while (const dirent* entry = ::readdir(proc)) {
        const std::string task = std::string("/proc/") + entry->d_name + "/task";
        if (entry->d_name[0] < '0' || entry->d_name[0] > '9') {
          continue;
        }
        if (DIR* tasks = ::opendir(task.c_str())) {
          while (const dirent* t = ::readdir(tasks)) {
            in_use += t->d_name[0] != '.' ? 1 : 0;
          }
          ::closedir(tasks);
        }
      }
      ::closedir(proc);
    }
    const long wanted = options_.processes * options_.threads + 2;
    constexpr long kSpare = 512;  // for everyone else on the machine
    if (pid_max > 0 && in_use + wanted + kSpare > pid_max) {
      std::fprintf(stderr,
                   "thx_bench_load: %ld threads wanted, %ld in use, pid_max %ld: not enough "
                   "pids left (raise kernel.pid_max)\n",
                   wanted, in_use, pid_max);
      std::exit(3);
    }
  }

  void spawn_light(long index, int ready_fd) {
    const pid_t child = ::fork();
    if (child < 0) {
      kill_all();
      die("fork");
    }
    if (child == 0) {
      become_sleeper(numbered("thxload", index, options_.names), options_.threads, ready_fd);
    }
    light_.push_back(child);
  }

  void wait_ready(int fd, long expected) {
    const auto deadline = std::chrono::steady_clock::now() + std::chrono::minutes(5);
    long seen = 0;
    std::array<char, 4096> bytes{};
    while (seen < expected) {
      const auto left = std::chrono::duration_cast<std::chrono::milliseconds>(
          deadline - std::chrono::steady_clock::now());
      pollfd entry{fd, POLLIN, 0};
      if (left.count() <= 0 || ::poll(&entry, 1, static_cast<int>(left.count())) <= 0) {
        std::fprintf(stderr, "thx_bench_load: only %ld of %ld processes became ready\n", seen,
                     expected);
        kill_all();
        std::exit(1);
      }
      const ssize_t n = ::read(fd, bytes.data(), bytes.size());
      if (n <= 0) {
        continue;
      }
      seen += n;
    }
  }

  int loop(const sigset_t& handled, long heavy) {
    const bool churn = options_.churn_per_second > 0 && !light_.empty();
    const double period = churn ? 1.0 / options_.churn_per_second : 3600.0;
    long next_index = options_.processes;
    timespec timeout{};
    timeout.tv_sec = static_cast<time_t>(period);
    timeout.tv_nsec = static_cast<long>((period - static_cast<double>(timeout.tv_sec)) * 1e9);
    while (true) {
      siginfo_t info{};
      const int signal = ::sigtimedwait(&handled, &info, &timeout);
      if (signal == SIGTERM || signal == SIGINT || signal == SIGHUP) {
        kill_all();
        return 0;
      }
      if (signal == SIGCHLD) {
        reap();
        continue;
      }
      if (churn && signal < 0 && errno == EAGAIN) {
        const pid_t victim = light_.front();
        light_.pop_front();
        ::kill(victim, SIGKILL);
        ::waitpid(victim, nullptr, 0);
        spawn_light(heavy + next_index++, -1);
      }
    }
  }

  void reap() {
    while (true) {
      int status = 0;
      const pid_t pid = ::waitpid(-1, &status, WNOHANG);
      if (pid <= 0) {
        return;
      }
      if (pid == template_) {
        std::fprintf(stderr, "thx_bench_load: the heavy template exited\n");
        template_ = 0;
      }
      std::erase(light_, pid);
    }
  }

  void kill_all() {
    for (pid_t pid : light_) {
      ::kill(pid, SIGKILL);
    }
    if (template_ > 0) {
      ::kill(template_, SIGTERM);  // it kills and reaps its own children
    }
    // Every child, adopted orphans included (we are their subreaper).
    while (::wait(nullptr) > 0 || errno == EINTR) {
    }
    light_.clear();
  }

  Options options_;
  std::deque<pid_t> light_;
  pid_t template_ = 0;
};

}  // namespace

int main(int argc, char** argv) {
  const Options options = parse_options(argc, argv);
  return Parent(options).run();
}
