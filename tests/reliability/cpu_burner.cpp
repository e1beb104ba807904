// cpu_burner: many short CPU-burning children, for the test that a group's CPU counter adds up
// what its processes used while they come and go.
//
//   cpu_burner [--children N] [--burn-ms B] [--linger-ms L] [--parallel P] [--name NAME]
//
// Forks N children, at most P alive at once. Each child renames itself NAME (so the exporter
// puts it in a group of its own, apart from this parent), burns B ms of its own CPU time, then
// sleeps L ms so that a snapshot sees what it used before it exits. The parent reaps each child
// with wait4 and adds up the CPU time the kernel reports for it. Prints one JSON line at the end:
//   {"children": N, "cpu_seconds": S, "seconds": WALL}
// Linux only: the same check cannot run under Wine, whose GetProcessTimes answers the caller's
// own times for every process handle.
#include <sys/prctl.h>
#include <sys/resource.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cerrno>
#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <ctime>
#include <string>
#include <string_view>

namespace {

struct Options {
  long children = 1000;
  long burn_ms = 10;
  long linger_ms = 400;
  long parallel = 25;
  std::string name = "thx_cpu_child";
};

double seconds_of(const timeval& t) {
  return static_cast<double>(t.tv_sec) + static_cast<double>(t.tv_usec) / 1e6;
}

double own_cpu_seconds() {
  timespec now{};
  ::clock_gettime(CLOCK_PROCESS_CPUTIME_ID, &now);
  return static_cast<double>(now.tv_sec) + static_cast<double>(now.tv_nsec) / 1e9;
}

[[noreturn]] void run_child(const Options& options) {
  ::prctl(PR_SET_NAME, options.name.c_str(), 0, 0, 0);
  const double until = own_cpu_seconds() + static_cast<double>(options.burn_ms) / 1000.0;
  volatile unsigned long sink = 0;
  while (own_cpu_seconds() < until) {
    for (int i = 0; i < 10000; ++i) {
      sink = sink + static_cast<unsigned long>(i);
    }
  }
  const timespec linger{options.linger_ms / 1000, (options.linger_ms % 1000) * 1000000};
  ::nanosleep(&linger, nullptr);
  std::_Exit(0);
}

// Reaps one child; adds the CPU time the kernel accounted to it. False when none is left.
bool reap_one(double& cpu_seconds) {
  int status = 0;
  rusage usage{};
  pid_t pid = 0;
  do {
    pid = ::wait4(-1, &status, 0, &usage);
  } while (pid < 0 && errno == EINTR);
  if (pid < 0) {
    return false;
  }
  if (!WIFEXITED(status) || WEXITSTATUS(status) != 0) {
    std::fprintf(stderr, "cpu_burner: child %d ended with status %d\n", pid, status);
    std::exit(1);
  }
  cpu_seconds += seconds_of(usage.ru_utime) + seconds_of(usage.ru_stime);
  return true;
}

long positive(const char* flag, const char* value) {
  char* end = nullptr;
  const long number = std::strtol(value, &end, 10);
  if (end == value || *end != '\0' || number <= 0) {
    std::fprintf(stderr, "cpu_burner: %s wants a positive number, got '%s'\n", flag, value);
    std::exit(2);
  }
  return number;
}

Options parse(int argc, char** argv) {
  Options options;
  for (int i = 1; i + 1 < argc; i += 2) {
    const std::string_view flag = argv[i];
    const char* value = argv[i + 1];
    if (flag == "--children") {
      options.children = positive(argv[i], value);
    } else if (flag == "--burn-ms") {
      options.burn_ms = positive(argv[i], value);
    } else if (flag == "--linger-ms") {
      options.linger_ms = positive(argv[i], value);
    } else if (flag == "--parallel") {
      options.parallel = positive(argv[i], value);
    } else if (flag == "--name") {
      options.name = value;
    } else {
      std::fprintf(stderr, "cpu_burner: unknown flag '%s'\n", argv[i]);
      std::exit(2);
    }
  }
  if (argc % 2 == 0) {
    std::fprintf(stderr, "cpu_burner: '%s' wants a value\n", argv[argc - 1]);
    std::exit(2);
  }
  return options;
}

}  // namespace

int main(int argc, char** argv) {
  const Options options = parse(argc, argv);
  const auto started = std::chrono::steady_clock::now();
  double cpu_seconds = 0;
  long alive = 0;
  for (long started_children = 0; started_children < options.children; ++started_children) {
    if (alive == options.parallel) {
      reap_one(cpu_seconds);
      --alive;
    }
    const pid_t pid = ::fork();
    if (pid < 0) {
      std::fprintf(stderr, "cpu_burner: fork: %s\n", std::strerror(errno));
      return 1;
    }
    if (pid == 0) {
      run_child(options);
    }
    ++alive;
  }
  while (reap_one(cpu_seconds)) {
  }
  const std::chrono::duration<double> wall = std::chrono::steady_clock::now() - started;
  std::printf("{\"children\": %ld, \"cpu_seconds\": %.6f, \"seconds\": %.3f}\n", options.children,
              cpu_seconds, wall.count());
  return 0;
}
