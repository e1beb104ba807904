#include "service/logging.h"

#include <spdlog/sinks/rotating_file_sink.h>
#include <spdlog/sinks/stdout_color_sinks.h>
#include <spdlog/sinks/stdout_sinks.h>
#include <spdlog/spdlog.h>

#include <cstdlib>
#include <filesystem>
#include <vector>

#ifdef _WIN32
#include <spdlog/sinks/win_eventlog_sink.h>

#include "service/windows_security.h"
#endif

namespace thx {
namespace {

// The Windows service's log file when log.file is empty, so that a failed start leaves its reason
// somewhere readable: <ProgramData>\toolhelp_exporter\toolhelp_exporter.log. The known folder
// rather than %ProgramData%, which Wine sets differently for services.
std::string log_file_for(const LogSettings& config, LogMode mode) {
#ifdef _WIN32
  if (config.file.empty() && mode == LogMode::windows_service) {
    // Created with a protected ACL, and refused when a user made it first or made it a junction:
    // SYSTEM must not write where a user points it. The service's start reports the problem.
    const std::filesystem::path folder = winsec::data_folder();
    if (folder.empty() || !winsec::prepare_data_folder(folder).empty()) {
      return {};
    }
    return (folder / "toolhelp_exporter.log").string();  // spdlog opens narrow names
  }
#endif
  static_cast<void>(mode);
  return config.file;
}

}  // namespace

LogMode detect_log_mode() {
  return std::getenv("JOURNAL_STREAM") != nullptr ? LogMode::journald : LogMode::foreground;
}

std::string setup_logging(const LogSettings& config, LogMode mode) {
  std::vector<spdlog::sink_ptr> sinks;
  std::string error;
  if (mode == LogMode::journald) {
    auto sink = std::make_shared<spdlog::sinks::stderr_sink_mt>();
    sink->set_pattern("%l: %v");  // journald timestamps each line itself
    sinks.push_back(sink);
  } else if (mode == LogMode::foreground) {
    sinks.push_back(std::make_shared<spdlog::sinks::stderr_color_sink_mt>());
  }
#ifdef _WIN32
  if (mode == LogMode::windows_service) {
    auto sink = std::make_shared<spdlog::sinks::win_eventlog_sink_mt>("toolhelp_exporter");
    sink->set_level(spdlog::level::warn);  // the Event Log is for what an administrator must see
    sinks.push_back(sink);
  }
#endif
  const std::string file = log_file_for(config, mode);
  if (!file.empty()) {
    try {
      sinks.push_back(std::make_shared<spdlog::sinks::rotating_file_sink_mt>(
          file, config.file_max_bytes, config.file_max_files));
    } catch (const spdlog::spdlog_ex& e) {
      error = "cannot open log file " + file + ": " + e.what();
    }
  }
  auto logger = std::make_shared<spdlog::logger>("toolhelp_exporter", sinks.begin(), sinks.end());
  logger->set_level(spdlog::level::from_str(config.level));
  logger->flush_on(spdlog::level::info);  // a service's log must be on disk when it dies
  spdlog::set_default_logger(logger);
  return error;
}

}  // namespace thx
