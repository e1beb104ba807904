// Logging set-up in one place (spdlog sinks as interchangeable parts): a console in the
// foreground, stderr for journald under systemd, the Event Log plus a size-rotated file as a
// Windows service.
#pragma once

#include <string>

#include "service/settings.h"

namespace thx {

enum class LogMode {
  foreground,       // a person at a console: colours and timestamps
  journald,         // systemd captures stderr and adds its own timestamps
  windows_service,  // Event Log (errors and warnings) plus the log file
};

// Picks journald when systemd started us (JOURNAL_STREAM is set), else foreground.
LogMode detect_log_mode();

// Installs the default logger. Returns an error message when the log file cannot be opened (the
// console or Event Log sink still works then).
std::string setup_logging(const LogSettings& config, LogMode mode);

}  // namespace thx
