// thx_sleeper: a process of a known shape for tests and benchmarks to find in snapshots.
//
//   thx_sleeper [--threads N] [--seconds S]
//
// Runs with exactly N threads (the main thread and N-1 others; default 1), prints "ready" once
// they all run, and exits after S seconds (default: a day). Portable C++ only: it is built for
// Linux and for Windows (run under Wine).
#include <chrono>
#include <condition_variable>
#include <cstdlib>
#include <iostream>
#include <mutex>
#include <string>
#include <thread>
#include <vector>

namespace {

struct Options {
  long threads = 1;
  long seconds = 24L * 60 * 60;
};

bool parse_number(const char* text, long minimum, long& out) {
  char* end = nullptr;
  const long value = std::strtol(text, &end, 10);
  if (end == text || *end != '\0' || value < minimum) {
    return false;
  }
  out = value;
  return true;
}

bool parse_options(int argc, char** argv, Options& options) {
  for (int i = 1; i + 1 < argc; i += 2) {
    const std::string flag = argv[i];
    const bool ok = flag == "--threads"   ? parse_number(argv[i + 1], 1, options.threads)
                    : flag == "--seconds" ? parse_number(argv[i + 1], 0, options.seconds)
                                          : false;
    if (!ok) {
      return false;
    }
  }
  return argc % 2 == 1;  // flags come in pairs
}

// Counts threads that have started; the main thread waits for all of them.
class StartLatch {
 public:
  explicit StartLatch(long expected) : remaining_(expected) {}
  void arrive() {
    const std::lock_guard lock(mutex_);
    if (--remaining_ == 0) {
      all_arrived_.notify_all();
    }
  }
  void wait() {
    std::unique_lock lock(mutex_);
    all_arrived_.wait(lock, [this] { return remaining_ == 0; });
  }

 private:
  std::mutex mutex_;
  std::condition_variable all_arrived_;
  long remaining_;
};

}  // namespace

int main(int argc, char** argv) {
  Options options;
  if (!parse_options(argc, argv, options)) {
    std::cerr << "usage: thx_sleeper [--threads N] [--seconds S]\n";
    return 2;
  }
  const auto deadline = std::chrono::steady_clock::now() + std::chrono::seconds(options.seconds);
  StartLatch started(options.threads - 1);
  std::vector<std::thread> threads;
  for (long i = 1; i < options.threads; ++i) {
    threads.emplace_back([&started, deadline] {
      started.arrive();
      std::this_thread::sleep_until(deadline);
    });
  }
  if (options.threads > 1) {
    started.wait();
  }
  std::cout << "ready\n" << std::flush;  // the spawner reads this before it snapshots us
  std::this_thread::sleep_until(deadline);
  for (std::thread& thread : threads) {
    thread.join();
  }
  return 0;
}
