// What differs between platforms at the service level, one implementation a platform:
// posix_signals.cpp (Linux) and windows_service.cpp (Windows).
#pragma once

#include "service/cli.h"
#include "service/run_loop.h"

namespace thx {

// Called first in main(): process-wide settings made before any thread starts.
void prepare_process();

// Called by `serve` before the run loop's threads start (POSIX: block the stop and reload signals
// so that only run_foreground's wait receives them). One-shot commands do not call it, so SIGTERM
// and Ctrl+C end them as they end any program.
void prepare_serving();

// Runs until Ctrl+C / SIGINT / SIGTERM; SIGHUP reloads (POSIX). Returns the exit code.
int run_foreground(RunLoop& exporter);

// Windows: runs under the Service Control Manager (--service). Returns the exit code.
int run_as_service(const CliOptions& options);

// Windows: `service install|uninstall|start|stop|status`. Elsewhere: an error.
int service_command(const CliOptions& options);

}  // namespace thx
