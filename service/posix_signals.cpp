// Linux: SIGTERM and SIGINT stop, SIGHUP reloads. The signals are blocked in every thread and
// taken synchronously by one waiting loop, so no work happens in a signal handler. Also the
// process-wide settings made before any thread starts (SIGPIPE, glibc's malloc arenas).
#include <signal.h>
#ifdef __GLIBC__
#include <malloc.h>  // mallopt
#endif

#include <spdlog/spdlog.h>

#include <ctime>
#include <iostream>
#include <thread>

#include "service/platform.h"

namespace thx {
namespace {

sigset_t handled_signals() {
  sigset_t set;
  sigemptyset(&set);
  sigaddset(&set, SIGTERM);
  sigaddset(&set, SIGINT);
  sigaddset(&set, SIGHUP);
  return set;
}

}  // namespace

void prepare_process() {
  (void)signal(SIGPIPE, SIG_IGN);  // a scraper hanging up mid-response is not fatal
#ifdef __GLIBC__
  // glibc gives threads that allocate at once arenas of their own, up to 8 a core, and each
  // keeps the pages it once used. The HTTP workers that render a cycle's text and drop the last
  // reference to an aggregate would each hold one: two arenas bound that (measured at 1,000
  // processes, scraped every 300 ms cycle for 30 s: peak RSS 15.1 MB with glibc's default,
  // 10.6 MB with two arenas, 10.2 MB with one).
  mallopt(M_ARENA_MAX, 2);
  // glibc serves blocks from 128 KiB up with mmap, but raises that threshold to the size of every
  // such block freed, so after the first cycle the large transient buffers (the process list, the
  // rendered text) come from the arena and leave holes between long-lived entries there. A fixed
  // threshold keeps them out of the arena: a few mmap calls a cycle, and at 1,000 processes x 10
  // threads the arena stopped growing (docs/performance.md).
  mallopt(M_MMAP_THRESHOLD, 64 * 1024);
  mallopt(M_TRIM_THRESHOLD, 128 * 1024);
#endif
}

void prepare_serving() {
  const sigset_t set = handled_signals();
  pthread_sigmask(SIG_BLOCK, &set, nullptr);
}

int run_foreground(RunLoop& exporter) {
  std::jthread loop([&exporter](const std::stop_token& stop) { exporter.run(stop); });
  const sigset_t set = handled_signals();
  for (;;) {
    const int signal_number = sigwaitinfo(&set, nullptr);
    if (signal_number == SIGHUP) {
      spdlog::info("SIGHUP: reloading the configuration");
      exporter.request_reload();
    } else if (signal_number == SIGTERM || signal_number == SIGINT) {
      spdlog::info("{}: stopping", signal_number == SIGTERM ? "SIGTERM" : "SIGINT");
      break;
    }
  }
  loop.request_stop();
  loop.join();  // the snapshot checks the stop token between processes
  spdlog::info("stopped");
  return 0;
}

int run_as_service(const CliOptions& /*options*/) {
  std::cerr << "--service is for the Windows Service Control Manager; under systemd run the "
               "program in the foreground (see deploy/linux/)\n";
  return 2;
}

int service_command(const CliOptions& /*options*/) {
  std::cerr << "service: installing a service is for Windows; on Linux use the systemd unit in "
               "deploy/linux/\n";
  return 2;
}

}  // namespace thx
