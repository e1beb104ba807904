// The Windows run time: the console (Ctrl+C) and the Service Control Manager (ServiceMain, its
// control handler, status reports). Like PostgreSQL's pg_ctl, it reports only states that are
// true. The service controller (`service install|configure|...`) is service_control.cpp.
#include "service/windows_service.h"

// windows.h first: shellapi.h builds on its types.
#include <windows.h>

#include <shellapi.h>

#include <spdlog/spdlog.h>

#include <array>
#include <atomic>
#include <chrono>
#include <cstdlib>
#include <filesystem>
#include <functional>
#include <iostream>
#include <memory>
#include <mutex>
#include <optional>
#include <stop_token>
#include <string>
#include <string_view>
#include <thread>
#include <utility>
#include <vector>

#include "collector/platform_source.h"
#include "collector/windows/win32_util.h"
#include "config/config.h"
#include "service/logging.h"
#include "service/platform.h"
#include "service/version.h"
#include "service/windows_common.h"
#include "service/windows_security.h"

namespace thx {
namespace {

using namespace std::chrono_literals;
using win32::to_utf8;
using win32::UniqueHandle;
using winsvc::error_text;
using winsvc::kServiceName;

// dwServiceSpecificExitCode values: failure actions fire on any of them. An administrator's stop
// always ends with NO_ERROR, however long it took, so the SCM never restarts what was stopped.
constexpr DWORD kExitStartFailed = 1;  // configuration, folder, log file or listener: see the log
constexpr DWORD kExitLoopFailed = 2;   // the run loop threw

// Wait hints: how long the next step may take before the SCM should worry. Checkpoints advance
// only when a step is done, never on a timer.
constexpr DWORD kStartStepHintMs = 10'000;     // a start step (the first one starts the prefix)
constexpr DWORD kCloseListenerHintMs = 3'000;  // civetweb's teardown polls every second or two
constexpr DWORD kLoopStopHintMs = 5'000;       // the snapshot checks the stop token per process
constexpr DWORD kTeardownHintMs = 2'000;
// A stop that takes longer is logged; past kStopGiveUp (a snapshot stuck inside the OS) the
// service reports STOPPED, its listener already closed, and ends the process.
constexpr auto kStopSlow = 5s;
constexpr auto kStopGiveUp = 30s;

// ---------------------------------------------------------------------------------------------
// The console: Ctrl+C, Ctrl+Break and closing the window stop the loop.

UniqueHandle g_console_stop;  // set by the handler thread the system creates
UniqueHandle g_console_done;  // set once the loop has joined

BOOL WINAPI on_console_control(DWORD type) {
  switch (type) {
    case CTRL_C_EVENT:
    case CTRL_BREAK_EVENT:
      SetEvent(g_console_stop.get());
      return TRUE;
    case CTRL_CLOSE_EVENT:
    case CTRL_SHUTDOWN_EVENT:
      SetEvent(g_console_stop.get());
      // The process ends when this returns: give the loop its moment to stop first.
      WaitForSingleObject(g_console_done.get(), 4000);
      return TRUE;
    default:
      return FALSE;
  }
}

// ---------------------------------------------------------------------------------------------
// Under the Service Control Manager.

// One run of ServiceMain. Made once per process and never destroyed: the SCM may call the handler
// and ServiceMain may report until the process ends, so the object outlives every report.
class ServiceRun {
 public:
  explicit ServiceRun(CliOptions options)
      : options_(std::move(options)), wake_(CreateEventW(nullptr, TRUE, FALSE, nullptr)) {}

  void main();
  DWORD control(DWORD code);
  [[nodiscard]] int exit_code() const { return static_cast<int>(specific_exit_code_.load()); }

 private:
  void report(DWORD state, DWORD wait_hint_ms = 0, DWORD specific_exit_code = 0);
  std::unique_ptr<RunLoop> start();
  void request_stop(std::string_view why);
  DWORD stop(std::unique_ptr<RunLoop> exporter, std::thread& worker);

  const CliOptions options_;
  SERVICE_STATUS_HANDLE status_handle_ = nullptr;
  std::mutex status_mutex_;
  SERVICE_STATUS status_{};
  std::atomic<DWORD> specific_exit_code_{0};
  std::atomic<bool> stop_requested_{false};
  std::stop_source stop_;
  UniqueHandle wake_;  // set on a stop request, and when the loop ends by itself
  UniqueHandle loop_done_{CreateEventW(nullptr, TRUE, FALSE, nullptr)};
  std::atomic<DWORD> loop_exit_code_{0};
  std::mutex exporter_mutex_;  // the handler may reload only while the exporter lives
  RunLoop* exporter_ = nullptr;
};

ServiceRun* g_service = nullptr;

DWORD WINAPI service_control_handler(DWORD code, DWORD /*event_type*/, void* /*event_data*/,
                                     void* context) {
  return static_cast<ServiceRun*>(context)->control(code);
}

void WINAPI service_main(DWORD /*argc*/, wchar_t** /*argv*/) {
  g_service->main();
}

// Every report goes through here. A pending state's checkpoint grows by one a report, and the
// callers report only when a step is done.
void ServiceRun::report(DWORD state, DWORD wait_hint_ms, DWORD specific_exit_code) {
  std::lock_guard lock(status_mutex_);
  const bool pending = state == SERVICE_START_PENDING || state == SERVICE_STOP_PENDING;
  const bool same = state == status_.dwCurrentState;
  status_.dwCheckPoint = !pending ? 0 : same ? status_.dwCheckPoint + 1 : 1;
  status_.dwServiceType = SERVICE_WIN32_OWN_PROCESS;
  status_.dwCurrentState = state;
  status_.dwControlsAccepted = state == SERVICE_RUNNING
                                   ? SERVICE_ACCEPT_STOP | SERVICE_ACCEPT_SHUTDOWN |
                                         SERVICE_ACCEPT_PRESHUTDOWN | SERVICE_ACCEPT_PARAMCHANGE
                                   : 0;
  status_.dwWin32ExitCode = specific_exit_code != 0 ? ERROR_SERVICE_SPECIFIC_ERROR : NO_ERROR;
  status_.dwServiceSpecificExitCode = specific_exit_code;
  status_.dwWaitHint = wait_hint_ms;
  specific_exit_code_ = specific_exit_code;
  if (!SetServiceStatus(status_handle_, &status_)) {
    spdlog::warn("SetServiceStatus failed: {}", error_text(GetLastError()));
  }
}

// The handler runs on the dispatcher thread and must return at once: it only signals.
DWORD ServiceRun::control(DWORD code) {
  switch (code) {
    case SERVICE_CONTROL_STOP:
      request_stop("stop requested");
      return NO_ERROR;
    case SERVICE_CONTROL_SHUTDOWN:
    case SERVICE_CONTROL_PRESHUTDOWN:
      request_stop("the system is shutting down");
      return NO_ERROR;
    case SERVICE_CONTROL_PARAMCHANGE: {
      std::lock_guard lock(exporter_mutex_);
      if (exporter_ != nullptr) {
        spdlog::info("PARAMCHANGE: reloading the configuration");
        exporter_->request_reload();
      }
      return NO_ERROR;
    }
    case SERVICE_CONTROL_INTERROGATE:
      return NO_ERROR;
    default:
      return ERROR_CALL_NOT_IMPLEMENTED;
  }
}

void ServiceRun::request_stop(std::string_view why) {
  {
    std::lock_guard lock(status_mutex_);
    if (status_.dwCurrentState != SERVICE_RUNNING) {
      return;  // already stopping
    }
  }
  spdlog::info("{}: stopping", why);
  stop_requested_ = true;
  report(SERVICE_STOP_PENDING, kCloseListenerHintMs);  // checkpoint 1: the stop is under way
  stop_.request_stop();
  SetEvent(wake_.get());
}

// The start, one step a checkpoint: the folders and files the service trusts, the configuration,
// the log, the listener. On failure the reason is logged (Event Log, and the log file when it
// is open) and nothing is returned.
std::unique_ptr<RunLoop> ServiceRun::start() {
  auto failed = [](const std::string& why) -> std::unique_ptr<RunLoop> {
    spdlog::critical("cannot start: {}", why);
    return nullptr;
  };
  setup_logging(LogSettings{}, LogMode::windows_service);  // until the configuration's own
  const std::string folder_problem = winsec::prepare_data_folder(winsec::data_folder());
  if (!folder_problem.empty()) {
    return failed(folder_problem);
  }
  for (const std::string& name : {options_.config_file, options_.web_config_file}) {
    if (name.empty()) {
      continue;
    }
    const std::filesystem::path file = path_from_utf8(name);
    std::error_code ignored;  // a missing file is the configuration's error, below
    if (std::filesystem::exists(file, ignored)) {
      for (const auto& checked : {std::filesystem::absolute(file, ignored).parent_path(), file}) {
        if (std::string problem = winsec::untrusted_reason(checked); !problem.empty()) {
          return failed(problem);
        }
      }
    }
  }
  report(SERVICE_START_PENDING, kStartStepHintMs);

  ConfigLoadResult loaded = load_effective_config(options_);
  if (!loaded.config) {
    std::string error = "invalid configuration:";
    for (const ConfigError& e : loaded.errors) {
      error += "\n  " + e.path + ": " + e.message;
    }
    return failed(error);
  }
  if (const std::string log_error = setup_logging(loaded.config->log, LogMode::windows_service);
      !log_error.empty()) {
    spdlog::warn("{}", log_error);
  }
  spdlog::info("toolhelp_exporter {} ({}) on {}", version(), revision(), platform_name());
  report(SERVICE_START_PENDING, kStartStepHintMs);

  auto exporter = std::make_unique<RunLoop>(
      *loaded.config, [options = options_] { return load_effective_config(options); },
      make_platform_source());
  try {
    exporter->listen();
  } catch (const HttpServerError& error) {
    return failed(error.what());
  }
  return exporter;
}

// From a stop request to the moment STOPPED may be reported: the listener closes first (a
// restart can bind at once), then the loop returns, then the rest is torn down. Returns the
// service-specific exit code (0 for any stop an administrator or the system asked for).
DWORD ServiceRun::stop(std::unique_ptr<RunLoop> exporter, std::thread& worker) {
  const auto began = std::chrono::steady_clock::now();
  exporter->close_listener();
  spdlog::debug("stopping: listener closed");
  report(SERVICE_STOP_PENDING, kLoopStopHintMs);

  bool logged_slow = false;
  while (WaitForSingleObject(loop_done_.get(), 1000) != WAIT_OBJECT_0) {
    const auto waited = std::chrono::steady_clock::now() - began;
    if (waited >= kStopSlow && !logged_slow) {
      spdlog::warn("stopping: the snapshot has not returned after {} s; still waiting",
                   std::chrono::duration_cast<std::chrono::seconds>(waited).count());
      logged_slow = true;
    }
    if (waited >= kStopGiveUp) {
      // Stuck inside the OS. The listener is closed; what remains ends with the process. A
      // stop the administrator asked for is still no failure.
      spdlog::error("stopping: the snapshot did not return within {} s; ending the process",
                    kStopGiveUp.count());
      spdlog::default_logger()->flush();
      report(SERVICE_STOPPED, 0, 0);
      TerminateProcess(GetCurrentProcess(), 0);
    }
  }
  worker.join();
  report(SERVICE_STOP_PENDING, kTeardownHintMs);
  {
    std::lock_guard lock(exporter_mutex_);
    exporter_ = nullptr;
  }
  exporter.reset();
  const auto took = std::chrono::steady_clock::now() - began;
  const auto ms = std::chrono::duration_cast<std::chrono::milliseconds>(took).count();
  if (took >= kStopSlow) {
    spdlog::warn("stopped, slowly: {} ms from the request", ms);
  } else {
    spdlog::info("stopped in {} ms", ms);
  }
  return stop_requested_ ? 0 : loop_exit_code_.load();
}

void ServiceRun::main() {
  // First, before anything can fail: without a status handle the SCM hears nothing from us.
  status_handle_ = RegisterServiceCtrlHandlerExW(kServiceName, service_control_handler, this);
  if (status_handle_ == nullptr) {
    specific_exit_code_ = kExitStartFailed;
    return;
  }
  report(SERVICE_START_PENDING, kStartStepHintMs);
  std::unique_ptr<RunLoop> exporter = start();
  if (!exporter) {
    spdlog::default_logger()->flush();
    report(SERVICE_STOPPED, 0, kExitStartFailed);
    return;  // nothing runs after STOPPED
  }
  {
    std::lock_guard lock(exporter_mutex_);
    exporter_ = exporter.get();
  }
  report(SERVICE_RUNNING);
  spdlog::info("running as the {} service", to_utf8(kServiceName));
  std::thread worker([this, loop = exporter.get()] {
    try {
      loop->run(stop_.get_token());  // the snapshot checks the token between processes
    } catch (const std::exception& error) {
      spdlog::critical("the run loop failed: {}", error.what());
      loop_exit_code_ = kExitLoopFailed;
    }
    SetEvent(loop_done_.get());
    SetEvent(wake_.get());  // a loop that failed ends the service without a stop request
  });
  WaitForSingleObject(wake_.get(), INFINITE);
  if (!stop_requested_) {
    report(SERVICE_STOP_PENDING, kCloseListenerHintMs);  // the loop ended by itself
  }
  const DWORD exit_code = stop(std::move(exporter), worker);
  spdlog::default_logger()->flush();
  report(SERVICE_STOPPED, 0, exit_code);
  // Nothing runs after STOPPED: ServiceMain returns, the dispatcher returns in main().
}

// `--service` from a console: what `serve` does.
int serve_in_foreground(const CliOptions& options) {
  StartResult started = start_run_loop(options, detect_log_mode());
  if (!started.exporter) {
    spdlog::critical("cannot start: {}", started.error);
    return 1;
  }
  return run_foreground(*started.exporter);
}

}  // namespace

std::vector<std::string> command_line_arguments() {
  int count = 0;
  wchar_t** argv = CommandLineToArgvW(GetCommandLineW(), &count);
  std::vector<std::string> arguments;
  for (int i = 1; argv != nullptr && i < count; ++i) {
    arguments.push_back(to_utf8(argv[i]));
  }
  LocalFree(argv);
  return arguments;
}

void prepare_process() {
  // DLLs that are not KnownDLLs (version.dll, delay-loaded) come from System32 only, never from
  // the folder the .exe runs from.
  SetDefaultDllDirectories(LOAD_LIBRARY_SEARCH_SYSTEM32);
  SetConsoleOutputCP(CP_UTF8);  // everything we print is UTF-8
  SetConsoleCP(CP_UTF8);
  // No "insert a disk" or "cannot open file" boxes: a service has nobody to click them.
  SetErrorMode(SEM_FAILCRITICALERRORS | SEM_NOOPENFILEERRORBOX);
}

void prepare_serving() {}  // Ctrl+C and the console's close are taken by run_foreground's handler

int run_foreground(RunLoop& exporter) {
  g_console_stop.reset(CreateEventW(nullptr, TRUE, FALSE, nullptr));
  g_console_done.reset(CreateEventW(nullptr, TRUE, FALSE, nullptr));
  if (!SetConsoleCtrlHandler(on_console_control, TRUE)) {
    spdlog::warn("SetConsoleCtrlHandler failed: {}", error_text(GetLastError()));
  }
  {
    std::jthread loop([&exporter](const std::stop_token& stop) { exporter.run(stop); });
    spdlog::info("running; press Ctrl+C to stop");
    WaitForSingleObject(g_console_stop.get(), INFINITE);
    spdlog::info("stopping");
  }  // request_stop and join: the snapshot checks the stop token between processes
  spdlog::info("stopped");
  SetEvent(g_console_done.get());
  return 0;
}

int run_as_service(const CliOptions& options) {
  // Never destroyed (see ServiceRun): the process ends with it.
  g_service = new ServiceRun(options);
  std::wstring name = kServiceName;  // the table wants a mutable string
  const std::array<SERVICE_TABLE_ENTRYW, 2> table{
      {{name.data(), service_main}, {nullptr, nullptr}}};
  // Blocks until the service has stopped; ServiceMain runs on a thread of its own.
  const bool dispatched = StartServiceCtrlDispatcherW(table.data()) != FALSE;
  const DWORD error = dispatched ? NO_ERROR : GetLastError();
  if (error == ERROR_FAILED_SERVICE_CONTROLLER_CONNECT) {
    std::cerr << "toolhelp_exporter: --service: not started by the Service Control Manager; "
                 "running in the foreground\n";
    return serve_in_foreground(options);
  }
  if (!dispatched) {
    std::cerr << "toolhelp_exporter: StartServiceCtrlDispatcherW failed: " << error_text(error)
              << "\n";
    return 1;
  }
  return g_service->exit_code();
}

}  // namespace thx
