// Linux: SIGTERM and SIGINT stop, SIGHUP reloads. The signals are blocked in every thread and
// taken synchronously by one waiting loop, so no work happens in a signal handler.
#include <signal.h>

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
  const sigset_t set = handled_signals();
  pthread_sigmask(SIG_BLOCK, &set, nullptr);
  (void)signal(SIGPIPE, SIG_IGN);  // a scraper hanging up mid-response is not fatal
}

int run_foreground(Exporter& exporter) {
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
