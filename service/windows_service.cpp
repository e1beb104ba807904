// Windows: the console (Ctrl+C), the Service Control Manager (ServiceMain and its control
// handler) and `service install|uninstall|start|stop|status`. Like PostgreSQL's pg_ctl, it reports
// only states that are true and bounds every wait, its own stop included.
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
#include <future>
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

#include "collector/windows/win32_util.h"
#include "config/config.h"
#include "service/logging.h"
#include "service/platform.h"
#include "service/sc_handle.h"

namespace thx {
namespace {

using namespace std::chrono_literals;
using win32::to_utf8;
using win32::to_wide;
using win32::UniqueHandle;

constexpr const wchar_t* kServiceName = L"toolhelp_exporter";
constexpr const wchar_t* kDisplayName = L"toolhelp_exporter (Prometheus exporter)";
constexpr const wchar_t* kDescription =
    L"Takes Tool Help snapshots of processes, threads and modules at a fixed interval and serves "
    L"them as Prometheus metrics over HTTP.";
constexpr const wchar_t* kEventSourceKey =
    L"SYSTEM\\CurrentControlSet\\Services\\EventLog\\Application\\toolhelp_exporter";

// dwServiceSpecificExitCode values: failure actions fire on any of them.
constexpr DWORD kExitStartFailed = 1;  // configuration, log file or listener: see the log
constexpr DWORD kExitLoopFailed = 2;   // the run loop threw
constexpr DWORD kExitStopTimedOut = 3;

constexpr DWORD kStartWaitHintMs = 10'000;
constexpr DWORD kStopWaitHintMs = 3'000;
constexpr auto kStartCheckpointInterval = 500ms;
constexpr auto kStartBound = 60s;
// From a stop request to STOPPED at most; past it the process ends with whatever still runs.
constexpr auto kStopBound = 1500ms;
constexpr auto kCommandStopWait = 10s;
constexpr auto kCommandStartWait = 30s;

// "5 (Access is denied)": the code and the system's text for it.
std::string error_text(DWORD error) {
  wchar_t* buffer = nullptr;
  const DWORD length = FormatMessageW(
      FORMAT_MESSAGE_ALLOCATE_BUFFER | FORMAT_MESSAGE_FROM_SYSTEM | FORMAT_MESSAGE_IGNORE_INSERTS,
      nullptr, error, 0, reinterpret_cast<wchar_t*>(&buffer), 0, nullptr);
  std::wstring text = length > 0 && buffer != nullptr ? std::wstring(buffer, length) : L"";
  LocalFree(buffer);
  while (!text.empty() && (text.back() == L'\r' || text.back() == L'\n' || text.back() == L' ' ||
                           text.back() == L'.')) {
    text.pop_back();
  }
  return std::to_string(error) + (text.empty() ? "" : " (" + to_utf8(text) + ")");
}

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

// One run of ServiceMain. The SCM callbacks take no context of ours except the handler's, so
// ServiceMain finds this object through g_service.
class ServiceRun {
 public:
  explicit ServiceRun(const CliOptions& options)
      : options_(options), wake_(CreateEventW(nullptr, TRUE, FALSE, nullptr)) {}

  void main();
  DWORD control(DWORD code);
  [[nodiscard]] int exit_code() const { return static_cast<int>(specific_exit_code_); }

 private:
  void report(DWORD state, DWORD wait_hint_ms = 0, DWORD specific_exit_code = 0);
  std::unique_ptr<RunLoop> start();
  DWORD run_and_tear_down(std::unique_ptr<RunLoop> exporter);
  void request_stop(std::string_view why);
  [[noreturn]] void end_process_stopped(DWORD specific_exit_code);

  const CliOptions& options_;
  SERVICE_STATUS_HANDLE status_handle_ = nullptr;
  std::mutex status_mutex_;
  SERVICE_STATUS status_{};
  DWORD specific_exit_code_ = 0;
  std::stop_source stop_;
  UniqueHandle wake_;  // set on a stop request, and when the run ends by itself
  std::atomic<bool> loop_finished_{false};
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

// Every report goes through here; the checkpoint grows while a pending state lasts.
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
  report(SERVICE_STOP_PENDING, kStopWaitHintMs);
  stop_.request_stop();
  SetEvent(wake_.get());
}

// Starts on another thread so that START_PENDING can go on reporting progress meanwhile.
std::unique_ptr<RunLoop> ServiceRun::start() {
  auto starting = std::async(std::launch::async,
                             [this] { return start_run_loop(options_, LogMode::windows_service); });
  const auto deadline = std::chrono::steady_clock::now() + kStartBound;
  while (starting.wait_for(kStartCheckpointInterval) != std::future_status::ready) {
    if (std::chrono::steady_clock::now() > deadline) {  // progress reports must not go on forever
      spdlog::critical("cannot start: still starting after {} s", kStartBound.count());
      end_process_stopped(kExitStartFailed);
    }
    report(SERVICE_START_PENDING, kStartWaitHintMs);
  }
  StartResult started;
  try {
    started = starting.get();
  } catch (const std::exception& error) {
    started.error = error.what();
  }
  if (!started.exporter) {
    spdlog::critical("cannot start: {}", started.error);
  }
  return std::move(started.exporter);
}

// On the worker thread: the loop until a stop, then the exporter's teardown. Returns the
// service-specific exit code.
DWORD ServiceRun::run_and_tear_down(std::unique_ptr<RunLoop> exporter) {
  DWORD exit_code = 0;
  try {
    exporter->run(stop_.get_token());  // the snapshot checks the token between processes
  } catch (const std::exception& error) {
    spdlog::critical("the run loop failed: {}", error.what());
    exit_code = kExitLoopFailed;
  }
  loop_exit_code_ = exit_code;
  loop_finished_ = true;
  SetEvent(wake_.get());  // a loop that failed ends the service without a stop request
  {
    std::lock_guard lock(exporter_mutex_);
    exporter_ = nullptr;
  }
  exporter.reset();  // closes the listener
  return exit_code;
}

// Reports STOPPED and ends the process at once: what is still running (the HTTP server's
// teardown, or a snapshot stuck in the OS) ends with it, and the listener closes with it.
void ServiceRun::end_process_stopped(DWORD specific_exit_code) {
  spdlog::default_logger()->flush();
  report(SERVICE_STOPPED, 0, specific_exit_code);
  TerminateProcess(GetCurrentProcess(), specific_exit_code);
  std::abort();  // not reached: TerminateProcess on ourselves does not return
}

void ServiceRun::main() {
  // First, before anything can fail: without a status handle the SCM hears nothing from us.
  status_handle_ = RegisterServiceCtrlHandlerExW(kServiceName, service_control_handler, this);
  if (status_handle_ == nullptr) {
    specific_exit_code_ = kExitStartFailed;
    return;
  }
  report(SERVICE_START_PENDING, kStartWaitHintMs);
  std::unique_ptr<RunLoop> exporter = start();
  if (!exporter) {
    spdlog::default_logger()->flush();
    report(SERVICE_STOPPED, 0, kExitStartFailed);
    return;
  }
  {
    std::lock_guard lock(exporter_mutex_);
    exporter_ = exporter.get();
  }
  report(SERVICE_RUNNING);
  spdlog::info("running as the {} service", to_utf8(kServiceName));
  std::packaged_task<DWORD()> work(
      [this, &exporter] { return run_and_tear_down(std::move(exporter)); });
  std::future<DWORD> finished = work.get_future();
  std::thread worker(std::move(work));
  WaitForSingleObject(wake_.get(), INFINITE);
  if (finished.wait_for(kStopBound) != std::future_status::ready) {
    worker.detach();  // the process ends below, with the thread in it
    if (!loop_finished_) {
      spdlog::error("the snapshot did not stop within {} ms; ending the process",
                    kStopBound.count());
      end_process_stopped(kExitStopTimedOut);
    }
    spdlog::info("stopped (the HTTP server closes with the process)");
    end_process_stopped(loop_exit_code_);
  }
  worker.join();
  const DWORD exit_code = finished.get();
  spdlog::info("stopped");
  spdlog::default_logger()->flush();
  report(SERVICE_STOPPED, 0, exit_code);
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

// ---------------------------------------------------------------------------------------------
// `service install|uninstall|start|stop|status`

int fail(std::string_view what, DWORD error) {
  std::cerr << "toolhelp_exporter service: " << what << " failed: " << error_text(error) << "\n";
  return 1;
}

void warn(std::string_view what, DWORD error) {
  std::cerr << "warning: " << what << " failed: " << error_text(error) << "\n";
}

// Quoted for CommandLineToArgvW when it holds blanks or quotes (backslashes before a quote double).
std::wstring quote_argument(const std::wstring& argument) {
  if (!argument.empty() && argument.find_first_of(L" \t\n\v\"") == std::wstring::npos) {
    return argument;
  }
  std::wstring quoted = L"\"";
  std::size_t backslashes = 0;
  for (wchar_t c : argument) {
    if (c == L'\\') {
      ++backslashes;
      continue;
    }
    quoted.append(c == L'"' ? backslashes * 2 + 1 : backslashes, L'\\');
    backslashes = 0;
    quoted += c;
  }
  quoted.append(backslashes * 2, L'\\');
  return quoted + L"\"";
}

std::wstring this_executable() {
  std::wstring path(MAX_PATH, L'\0');
  for (;;) {
    const DWORD length = GetModuleFileNameW(nullptr, path.data(), static_cast<DWORD>(path.size()));
    if (length < path.size()) {
      path.resize(length);
      return path;
    }
    path.resize(path.size() * 2);
  }
}

std::wstring absolute_path(const std::wstring& path) {
  const DWORD size = GetFullPathNameW(path.c_str(), 0, nullptr, nullptr);
  if (size == 0) {
    return path;
  }
  std::wstring full(size, L'\0');
  full.resize(GetFullPathNameW(path.c_str(), size, full.data(), nullptr));
  return full;
}

struct InstallOptions {
  std::wstring config_file;  // absolute; empty: the embedded defaults
  std::string listen_address;
  std::string start = "auto";  // auto, delayed, manual
  bool start_now = true;       // --no-start: install only
};

std::optional<InstallOptions> parse_install(const std::vector<std::string>& args,
                                            std::string& error) {
  InstallOptions options;
  for (std::size_t i = 1; i < args.size(); ++i) {
    std::string flag = args[i];
    if (flag == "--no-start") {
      options.start_now = false;
      continue;
    }
    std::string value;
    if (const std::size_t equals = flag.find('='); equals != std::string::npos) {
      value = flag.substr(equals + 1);
      flag.resize(equals);
    } else if (i + 1 < args.size()) {
      value = args[++i];
    } else {
      error = flag + ": expected a value";
      return std::nullopt;
    }
    if (flag == "--config") {
      options.config_file = absolute_path(to_wide(value));
    } else if (flag == "--listen") {
      options.listen_address = value;
    } else if (flag == "--start") {
      options.start = value;
      if (value != "auto" && value != "delayed" && value != "manual") {
        error = "--start: expected auto, delayed or manual, got \"" + value + "\"";
        return std::nullopt;
      }
    } else {
      error = "unknown option \"" + flag +
              "\" (install [--config FILE] [--start auto|delayed|manual] [--listen ADDR] "
              "[--no-start])";
      return std::nullopt;
    }
  }
  return options;
}

std::wstring service_command_line(const InstallOptions& options) {
  std::wstring line = L"\"" + this_executable() + L"\" --service";
  if (!options.config_file.empty()) {
    line += L" " + quote_argument(L"--config.file=" + options.config_file);
  }
  if (!options.listen_address.empty()) {
    line += L" " + quote_argument(L"--web.listen-address=" + to_wide(options.listen_address));
  }
  return line;
}

// A bad configuration does not stop the install, but the administrator hears of it now.
void check_config_file(const std::wstring& file) {
  const ConfigLoadResult result = load_config_file(std::filesystem::path(file));
  for (const ConfigError& error : result.errors) {
    std::cerr << "warning: " << to_utf8(file) << ": " << error.path << ": " << error.message
              << "\n";
  }
  if (!result.config) {
    std::cerr << "warning: the service will not start until the configuration is fixed\n";
  }
}

// One optional setting: a platform that refuses it (Wine: ERROR_INVALID_LEVEL) gets a warning.
void change_config(SC_HANDLE service, DWORD level, void* info, std::string_view what) {
  if (!ChangeServiceConfig2W(service, level, info)) {
    warn("ChangeServiceConfig2W(" + std::string(what) + ")", GetLastError());
  }
}

void configure_service(SC_HANDLE service, const InstallOptions& options) {
  std::wstring description = kDescription;
  SERVICE_DESCRIPTIONW about{description.data()};
  change_config(service, SERVICE_CONFIG_DESCRIPTION, &about, "description");

  // Restart after 5 s, three times; the count resets after a day without failures.
  std::array<SC_ACTION, 3> actions{
      {{SC_ACTION_RESTART, 5000}, {SC_ACTION_RESTART, 5000}, {SC_ACTION_RESTART, 5000}}};
  SERVICE_FAILURE_ACTIONSW failure{};
  failure.dwResetPeriod = 24 * 60 * 60;
  failure.cActions = static_cast<DWORD>(actions.size());
  failure.lpsaActions = actions.data();
  change_config(service, SERVICE_CONFIG_FAILURE_ACTIONS, &failure, "failure actions");
  // Also when the service stops itself with an exit code, not only when it crashes.
  SERVICE_FAILURE_ACTIONS_FLAG on_exit_code{TRUE};
  change_config(service, SERVICE_CONFIG_FAILURE_ACTIONS_FLAG, &on_exit_code,
                "failure actions flag");

  if (options.start == "delayed") {
    SERVICE_DELAYED_AUTO_START_INFO delayed{TRUE};
    change_config(service, SERVICE_CONFIG_DELAYED_AUTO_START_INFO, &delayed, "delayed auto-start");
  }
  SERVICE_SID_INFO sid{SERVICE_SID_TYPE_UNRESTRICTED};  // lets ACLs name NT SERVICE\<name>
  change_config(service, SERVICE_CONFIG_SERVICE_SID_INFO, &sid, "service SID type");
  // Only what reading other processes' modules needs (a multi-string: two NULs at the end).
  std::wstring privileges(L"SeDebugPrivilege\0\0", 18);
  SERVICE_REQUIRED_PRIVILEGES_INFOW required{privileges.data()};
  change_config(service, SERVICE_CONFIG_REQUIRED_PRIVILEGES_INFO, &required, "required privileges");
  SERVICE_PRESHUTDOWN_INFO preshutdown{10'000};
  change_config(service, SERVICE_CONFIG_PRESHUTDOWN_INFO, &preshutdown, "preshutdown timeout");
}

void set_registry_value(HKEY key, const wchar_t* name, DWORD type, const void* data,
                        std::size_t bytes) {
  const LSTATUS status =
      RegSetValueExW(key, name, 0, type, static_cast<const BYTE*>(data), static_cast<DWORD>(bytes));
  if (status != ERROR_SUCCESS) {
    warn("RegSetValueExW(" + to_utf8(name) + ")", static_cast<DWORD>(status));
  }
}

// The Event Log source: messages and categories come from the table compiled into this program.
void register_event_source() {
  HKEY key = nullptr;
  const LSTATUS status = RegCreateKeyExW(HKEY_LOCAL_MACHINE, kEventSourceKey, 0, nullptr, 0,
                                         KEY_SET_VALUE, nullptr, &key, nullptr);
  if (status != ERROR_SUCCESS) {
    warn("RegCreateKeyExW(Event Log source)", static_cast<DWORD>(status));
    return;
  }
  const std::wstring exe = this_executable();
  const std::size_t exe_bytes = (exe.size() + 1) * sizeof(wchar_t);
  const DWORD types = EVENTLOG_ERROR_TYPE | EVENTLOG_WARNING_TYPE | EVENTLOG_INFORMATION_TYPE;
  const DWORD categories = 5;  // spdlog's levels debug..critical, see messages.mc
  set_registry_value(key, L"EventMessageFile", REG_EXPAND_SZ, exe.c_str(), exe_bytes);
  set_registry_value(key, L"CategoryMessageFile", REG_EXPAND_SZ, exe.c_str(), exe_bytes);
  set_registry_value(key, L"TypesSupported", REG_DWORD, &types, sizeof types);
  set_registry_value(key, L"CategoryCount", REG_DWORD, &categories, sizeof categories);
  RegCloseKey(key);
}

ScHandle open_manager(DWORD access) {
  return ScHandle(OpenSCManagerW(nullptr, nullptr, access));
}

std::optional<SERVICE_STATUS_PROCESS> query_status(SC_HANDLE service) {
  SERVICE_STATUS_PROCESS status{};
  DWORD needed = 0;
  if (!QueryServiceStatusEx(service, SC_STATUS_PROCESS_INFO, reinterpret_cast<BYTE*>(&status),
                            sizeof status, &needed)) {
    return std::nullopt;
  }
  return status;
}

// Polls until `done` holds or `timeout` passes; the last status seen (nullopt: query failed).
std::optional<SERVICE_STATUS_PROCESS> wait_for(
    SC_HANDLE service, const std::function<bool(const SERVICE_STATUS_PROCESS&)>& done,
    std::chrono::milliseconds timeout) {
  const auto deadline = std::chrono::steady_clock::now() + timeout;
  for (;;) {
    const std::optional<SERVICE_STATUS_PROCESS> status = query_status(service);
    if (!status || done(*status) || std::chrono::steady_clock::now() >= deadline) {
      return status;
    }
    std::this_thread::sleep_for(50ms);
  }
}

bool is_stopped(const SERVICE_STATUS_PROCESS& status) {
  return status.dwCurrentState == SERVICE_STOPPED;
}

const char* state_name(DWORD state) {
  switch (state) {
    case SERVICE_STOPPED:
      return "STOPPED";
    case SERVICE_START_PENDING:
      return "START_PENDING";
    case SERVICE_STOP_PENDING:
      return "STOP_PENDING";
    case SERVICE_RUNNING:
      return "RUNNING";
    case SERVICE_CONTINUE_PENDING:
      return "CONTINUE_PENDING";
    case SERVICE_PAUSE_PENDING:
      return "PAUSE_PENDING";
    case SERVICE_PAUSED:
      return "PAUSED";
    default:
      return "UNKNOWN";
  }
}

void print_exit_codes(const SERVICE_STATUS_PROCESS& status) {
  std::cout << "exit code: " << error_text(status.dwWin32ExitCode) << "\n";
  if (status.dwWin32ExitCode == ERROR_SERVICE_SPECIFIC_ERROR) {
    std::cout << "service-specific exit code: " << status.dwServiceSpecificExitCode
              << " (see the log file and the Event Log)\n";
  }
}

// Opens the service; on failure prints why (a missing service plainly) and returns no handle.
ScHandle open_service(DWORD access) {
  const ScHandle manager = open_manager(SC_MANAGER_CONNECT);
  if (!manager) {
    fail("OpenSCManagerW", GetLastError());
    return ScHandle();
  }
  ScHandle service(OpenServiceW(manager.get(), kServiceName, access));
  if (!service) {
    const DWORD error = GetLastError();
    if (error == ERROR_SERVICE_DOES_NOT_EXIST) {
      std::cerr << "toolhelp_exporter service: the service is not installed\n";
    }
    fail("OpenServiceW", error);
  }
  return service;
}

// Sends STOP (unless already stopped) and waits for STOPPED. Returns whether it stopped.
bool stop_and_wait(SC_HANDLE service) {
  SERVICE_STATUS ignored{};
  if (!ControlService(service, SERVICE_CONTROL_STOP, &ignored)) {
    const DWORD error = GetLastError();
    if (error != ERROR_SERVICE_NOT_ACTIVE) {
      warn("ControlService(STOP)", error);
    }
  }
  const auto status = wait_for(service, is_stopped, kCommandStopWait);
  return status && is_stopped(*status);
}

void delete_event_source() {
  const LSTATUS status = RegDeleteKeyW(HKEY_LOCAL_MACHINE, kEventSourceKey);
  if (status != ERROR_SUCCESS && status != ERROR_FILE_NOT_FOUND) {
    warn("RegDeleteKeyW(Event Log source)", static_cast<DWORD>(status));
  }
}

int uninstall() {
  const ScHandle manager = open_manager(SC_MANAGER_CONNECT);
  if (!manager) {
    return fail("OpenSCManagerW", GetLastError());
  }
  const ScHandle service(
      OpenServiceW(manager.get(), kServiceName, SERVICE_STOP | SERVICE_QUERY_STATUS | DELETE));
  if (!service) {
    const DWORD error = GetLastError();
    if (error != ERROR_SERVICE_DOES_NOT_EXIST) {
      return fail("OpenServiceW", error);
    }
    delete_event_source();  // a half-finished earlier uninstall may have left it
    std::cout << "service " << to_utf8(kServiceName) << " is not installed\n";
    return 0;
  }
  if (!stop_and_wait(service.get())) {
    std::cerr << "warning: the service did not stop within " << kCommandStopWait.count()
              << " s; it is deleted once it stops\n";
  }
  if (!DeleteService(service.get())) {
    return fail("DeleteService", GetLastError());
  }
  delete_event_source();
  std::cout << "uninstalled service " << to_utf8(kServiceName) << "\n";
  return 0;
}

// Starts the service (already running is fine) and waits until it leaves START_PENDING.
int start_and_report(SC_HANDLE service) {
  if (!StartServiceW(service, 0, nullptr)) {
    const DWORD error = GetLastError();
    if (error != ERROR_SERVICE_ALREADY_RUNNING) {
      return fail("StartServiceW", error);
    }
  }
  const auto status = wait_for(
      service,
      [](const SERVICE_STATUS_PROCESS& s) { return s.dwCurrentState != SERVICE_START_PENDING; },
      kCommandStartWait);
  if (!status) {
    return fail("QueryServiceStatusEx", GetLastError());
  }
  std::cout << "state: " << state_name(status->dwCurrentState) << "\n";
  if (status->dwCurrentState != SERVICE_RUNNING) {
    print_exit_codes(*status);
    return 1;
  }
  std::cout << "pid: " << status->dwProcessId << "\n";
  return 0;
}

int start_service() {
  const ScHandle service = open_service(SERVICE_START | SERVICE_QUERY_STATUS);
  if (!service) {
    return 1;
  }
  return start_and_report(service.get());
}

int install(const std::vector<std::string>& args) {
  std::string error;
  const std::optional<InstallOptions> options = parse_install(args, error);
  if (!options) {
    std::cerr << "toolhelp_exporter service install: " << error << "\n";
    return 2;
  }
  if (!options->config_file.empty()) {
    check_config_file(options->config_file);
  }
  const ScHandle manager = open_manager(SC_MANAGER_CONNECT | SC_MANAGER_CREATE_SERVICE);
  if (!manager) {
    return fail("OpenSCManagerW", GetLastError());
  }
  const std::wstring command_line = service_command_line(*options);
  const DWORD start_type = options->start == "manual" ? SERVICE_DEMAND_START : SERVICE_AUTO_START;
  const ScHandle service(CreateServiceW(
      // SERVICE_START: failure actions that restart need it on the handle that sets them.
      manager.get(), kServiceName, kDisplayName,
      SERVICE_CHANGE_CONFIG | SERVICE_START | SERVICE_QUERY_STATUS, SERVICE_WIN32_OWN_PROCESS,
      start_type, SERVICE_ERROR_NORMAL, command_line.c_str(), nullptr, nullptr, nullptr,
      nullptr /* LocalSystem */, nullptr));
  if (!service) {
    const DWORD code = GetLastError();
    if (code == ERROR_SERVICE_EXISTS) {
      std::cerr << "toolhelp_exporter service install: already installed (run `service "
                   "uninstall` first)\n";
    }
    return fail("CreateServiceW", code);
  }
  configure_service(service.get(), *options);
  register_event_source();
  std::cout << "installed service " << to_utf8(kServiceName) << " (start: " << options->start
            << ")\n  " << to_utf8(command_line) << "\n";
  if (!options->start_now) {
    return 0;
  }
  // Installed means serving: the administrator scrapes next, with no other step.
  return start_and_report(service.get());
}

int stop_service() {
  const ScHandle service = open_service(SERVICE_STOP | SERVICE_QUERY_STATUS);
  if (!service) {
    return 1;
  }
  if (!stop_and_wait(service.get())) {
    std::cerr << "toolhelp_exporter service stop: not STOPPED after " << kCommandStopWait.count()
              << " s\n";
    return 1;
  }
  std::cout << "state: STOPPED\n";
  return 0;
}

std::string start_type_name(DWORD start_type) {
  switch (start_type) {
    case SERVICE_AUTO_START:
      return "auto";
    case SERVICE_DEMAND_START:
      return "manual";
    case SERVICE_DISABLED:
      return "disabled";
    default:
      return std::to_string(start_type);
  }
}

void print_config(SC_HANDLE service) {
  DWORD needed = 0;
  QueryServiceConfigW(service, nullptr, 0, &needed);
  std::vector<BYTE> buffer(needed);
  auto* config = reinterpret_cast<QUERY_SERVICE_CONFIGW*>(buffer.data());
  if (needed == 0 || !QueryServiceConfigW(service, config, needed, &needed)) {
    warn("QueryServiceConfigW", GetLastError());
    return;
  }
  std::cout << "start: " << start_type_name(config->dwStartType) << "\n"
            << "command line: " << to_utf8(config->lpBinaryPathName) << "\n";
}

int status_command() {
  const ScHandle service = open_service(SERVICE_QUERY_STATUS | SERVICE_QUERY_CONFIG);
  if (!service) {
    return 1;
  }
  const auto status = query_status(service.get());
  if (!status) {
    return fail("QueryServiceStatusEx", GetLastError());
  }
  std::cout << "service: " << to_utf8(kServiceName) << "\n"
            << "state: " << state_name(status->dwCurrentState) << "\n";
  if (status->dwProcessId != 0) {
    std::cout << "pid: " << status->dwProcessId << "\n";
  }
  print_exit_codes(*status);
  print_config(service.get());
  return 0;
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
  SetConsoleOutputCP(CP_UTF8);  // everything we print is UTF-8
  SetConsoleCP(CP_UTF8);
  // No "insert a disk" or "cannot open file" boxes: a service has nobody to click them.
  SetErrorMode(SEM_FAILCRITICALERRORS | SEM_NOOPENFILEERRORBOX);
}

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
  ServiceRun service(options);
  g_service = &service;
  std::wstring name = kServiceName;  // the table wants a mutable string
  const std::array<SERVICE_TABLE_ENTRYW, 2> table{
      {{name.data(), service_main}, {nullptr, nullptr}}};
  // Blocks until the service has stopped; ServiceMain runs on a thread of its own.
  const bool dispatched = StartServiceCtrlDispatcherW(table.data()) != FALSE;
  const DWORD error = dispatched ? NO_ERROR : GetLastError();
  g_service = nullptr;
  if (error == ERROR_FAILED_SERVICE_CONTROLLER_CONNECT) {
    std::cerr << "toolhelp_exporter: --service: not started by the Service Control Manager; "
                 "running in the foreground\n";
    return serve_in_foreground(options);
  }
  if (!dispatched) {
    return fail("StartServiceCtrlDispatcherW", error);
  }
  return service.exit_code();
}

int service_command(const CliOptions& options) {
  const std::vector<std::string>& args = options.service_args;
  const std::string verb = args.empty() ? "" : args[0];
  if (verb == "install") {
    return install(args);
  }
  if (args.size() == 1) {
    if (verb == "uninstall") {
      return uninstall();
    }
    if (verb == "start") {
      return start_service();
    }
    if (verb == "stop") {
      return stop_service();
    }
    if (verb == "status") {
      return status_command();
    }
  }
  std::cerr << "usage: toolhelp_exporter service install [--config FILE] [--no-start] "
               "[--start auto|delayed|manual] [--listen ADDR]\n"
               "       toolhelp_exporter service uninstall|start|stop|status\n";
  return 2;
}

}  // namespace thx
