// The service controller: `service install|configure|uninstall|start|stop|status`, what sc.exe
// would do, with the flags `serve` reads (--config.file, --web.config.file, --web.listen-address)
// checked by the same code as `serve` and `check-config`. The service run time is
// windows_service.cpp. windows.h first: shellapi.h builds on its types.
#include <windows.h>

#include <shellapi.h>

#include <nlohmann/json.hpp>

#include <array>
#include <chrono>
#include <filesystem>
#include <functional>
#include <iostream>
#include <optional>
#include <string>
#include <string_view>
#include <thread>
#include <vector>

#include "collector/platform_source.h"
#include "collector/windows/win32_util.h"
#include "config/config.h"
#include "exporter/http_server.h"
#include "service/platform.h"
#include "service/run_loop.h"
#include "service/sc_handle.h"
#include "service/windows_common.h"
#include "service/windows_security.h"

namespace thx {
namespace {

using namespace std::chrono_literals;
using win32::to_utf8;
using win32::to_wide;
using winsvc::error_text;
using winsvc::kDisplayName;
using winsvc::kEventSourceKey;
using winsvc::kServiceName;
using winsvc::this_executable;

constexpr const wchar_t* kDescription =
    L"Takes Tool Help snapshots of processes, threads and modules at a fixed interval and serves "
    L"them as Prometheus metrics over HTTP.";

constexpr auto kCommandStopWait = 10s;
constexpr auto kCommandStartWait = 30s;
constexpr DWORD kPreshutdownTimeoutMs = 10'000;

constexpr std::string_view kUsage =
    "usage: toolhelp_exporter service install [--config.file FILE] [--web.config.file FILE]\n"
    "                                         [--web.listen-address ADDR]\n"
    "                                         [--start auto|delayed|manual] [--no-start]\n"
    "       toolhelp_exporter service configure [--start auto|delayed|manual]\n"
    "       toolhelp_exporter service uninstall|start|stop|status\n"
    "(--config and --listen are accepted for --config.file and --web.listen-address)\n";

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

std::wstring absolute_path(const std::wstring& path) {
  const DWORD size = GetFullPathNameW(path.c_str(), 0, nullptr, nullptr);
  if (size == 0) {
    return path;
  }
  std::wstring full(size, L'\0');
  full.resize(GetFullPathNameW(path.c_str(), size, full.data(), nullptr));
  return full;
}

// ---------------------------------------------------------------------------------------------
// Flags

struct ControlFlags {
  std::string config_file;                    // --config.file, made absolute; empty: defaults
  std::string web_config_file;                // --web.config.file, made absolute; empty: none
  std::optional<std::string> listen_address;  // --web.listen-address
  std::optional<std::string> start;           // --start auto|delayed|manual
  bool start_now = true;                      // --no-start: install only
};

// The check-config message for a listen address: the configuration reader's own rule, applied to
// the address as if it stood in the file.
std::optional<std::string> listen_address_problem(const std::string& address) {
  const std::string overlay =
      R"({"web": {"listen_address": )" + nlohmann::json(address).dump() + "}}";
  for (const ConfigError& error : load_config_text(overlay, "--web.listen-address").errors) {
    if (error.path.find("listen_address") != std::string::npos) {
      return error.message;
    }
  }
  return std::nullopt;
}

// The serve flags go through parse_command_line, as `serve` reads them; --start and --no-start
// are the controller's own. `verb` decides which flags it takes.
std::optional<ControlFlags> parse_flags(const std::string& verb,
                                        const std::vector<std::string>& args, std::string& error) {
  const bool install = verb == "install";
  ControlFlags flags;
  std::vector<std::string> serve_args = {"serve"};
  for (std::size_t i = 1; i < args.size(); ++i) {
    std::string flag = args[i];
    std::optional<std::string> inline_value;
    if (const std::size_t equals = flag.find('='); equals != std::string::npos) {
      inline_value = flag.substr(equals + 1);
      flag.resize(equals);
    }
    auto value = [&]() -> std::optional<std::string> {
      if (inline_value) {
        return inline_value;
      }
      if (i + 1 < args.size()) {
        return args[++i];
      }
      error = flag + ": expected a value";
      return std::nullopt;
    };
    if (install && flag == "--no-start" && !inline_value) {
      flags.start_now = false;
    } else if (flag == "--start") {
      flags.start = value();
      if (!flags.start) {
        return std::nullopt;
      }
      if (*flags.start != "auto" && *flags.start != "delayed" && *flags.start != "manual") {
        error = "--start: expected auto, delayed or manual, got \"" + *flags.start + "\"";
        return std::nullopt;
      }
    } else if (install &&
               (flag == "--config.file" || flag == "--config" || flag == "--web.config.file" ||
                flag == "--web.listen-address" || flag == "--listen")) {
      const std::optional<std::string> given = value();
      if (!given) {
        return std::nullopt;
      }
      const bool config = flag == "--config.file" || flag == "--config";
      const bool web_config = flag == "--web.config.file";
      serve_args.push_back((config       ? "--config.file="
                            : web_config ? "--web.config.file="
                                         : "--web.listen-address=") +
                           *given);
    } else {
      error = "unknown option \"" + args[i] + "\" for service " + verb;
      return std::nullopt;
    }
  }
  const CliParseResult parsed = parse_command_line(serve_args);
  if (!parsed.options) {
    error = parsed.error;
    return std::nullopt;
  }
  if (!parsed.options->config_file.empty()) {
    flags.config_file =
        to_utf8(absolute_path(path_from_utf8(parsed.options->config_file).wstring()));
  }
  if (!parsed.options->web_config_file.empty()) {
    flags.web_config_file =
        to_utf8(absolute_path(path_from_utf8(parsed.options->web_config_file).wstring()));
  }
  flags.listen_address = parsed.options->listen_address;
  if (flags.listen_address) {
    if (auto problem = listen_address_problem(*flags.listen_address)) {
      error = "--web.listen-address: " + *problem;
      return std::nullopt;
    }
  }
  return flags;
}

std::wstring service_command_line(const ControlFlags& flags) {
  std::wstring line = L"\"" + this_executable() + L"\" --service";
  if (!flags.config_file.empty()) {
    line += L" " + quote_argument(L"--config.file=" + to_wide(flags.config_file));
  }
  if (!flags.web_config_file.empty()) {
    line += L" " + quote_argument(L"--web.config.file=" + to_wide(flags.web_config_file));
  }
  if (flags.listen_address) {
    line += L" " + quote_argument(L"--web.listen-address=" + to_wide(*flags.listen_address));
  }
  return line;
}

// A bad configuration does not stop the install, but the administrator hears of it now. Checked
// as the service will load it: the JSON file, then the web configuration file over it.
void check_config_files(const ControlFlags& flags) {
  CliOptions options;
  options.config_file = flags.config_file;
  options.web_config_file = flags.web_config_file;
  const ConfigLoadResult result = load_effective_config(options);
  for (const ConfigError& error : result.errors) {
    std::cerr << "warning: " << config_error_line(error, flags.config_file) << "\n";
  }
  if (!result.config) {
    std::cerr << "warning: the service will not start until the configuration is fixed\n";
  }
}

// What the service will trust, checked as an administrator installs it: its ProgramData folder
// (created here with its protected ACL), the configuration files and their folders. A problem
// refuses the install; a program folder that users can write gets a warning (a DLL or a
// replaced .exe there would run as SYSTEM).
bool check_trust(const std::string& config_file, const std::string& web_config_file) {
  std::vector<std::string> problems;
  if (std::string problem = winsec::prepare_data_folder(winsec::data_folder()); !problem.empty()) {
    problems.push_back(problem);
  }
  for (const std::string& name : {config_file, web_config_file}) {
    if (name.empty()) {
      continue;
    }
    const std::filesystem::path file = path_from_utf8(name);
    std::error_code ignored;  // a missing file is the configuration's warning
    if (std::filesystem::exists(file, ignored)) {
      for (const auto& checked : {file.parent_path(), file}) {
        if (std::string problem = winsec::untrusted_reason(checked); !problem.empty()) {
          problems.push_back(problem);
        }
      }
    }
  }
  for (const std::string& problem : problems) {
    std::cerr << "toolhelp_exporter service: " << problem << "\n";
  }
  const std::filesystem::path program_folder =
      std::filesystem::path(this_executable()).parent_path();
  if (std::string problem = winsec::untrusted_reason(program_folder); !problem.empty()) {
    std::cerr << "warning: " << problem
              << "\nwarning: the service runs this program as SYSTEM: keep it in a folder only "
                 "administrators can write, such as Program Files\n";
  }
  return problems.empty();
}

// ---------------------------------------------------------------------------------------------
// What `install` sets beyond CreateService, and all that `configure` does.

// One optional setting: a platform that refuses it (Wine: ERROR_INVALID_LEVEL) gets a warning.
void change_config(SC_HANDLE service, DWORD level, void* info, std::string_view what) {
  if (!ChangeServiceConfig2W(service, level, info)) {
    const DWORD error = GetLastError();
    std::cerr << "warning: ChangeServiceConfig2W(" << what << ") failed: " << error_text(error)
              << (error == ERROR_INVALID_LEVEL ? " (not supported here; Wine does not)" : "")
              << "\n";
  }
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

void delete_event_source() {
  const LSTATUS status = RegDeleteKeyW(HKEY_LOCAL_MACHINE, kEventSourceKey);
  if (status != ERROR_SUCCESS && status != ERROR_FILE_NOT_FOUND) {
    warn("RegDeleteKeyW(Event Log source)", static_cast<DWORD>(status));
  }
}

// The start type: auto and delayed start with Windows, manual on request.
void set_start(SC_HANDLE service, const std::string& start) {
  const DWORD start_type = start == "manual" ? SERVICE_DEMAND_START : SERVICE_AUTO_START;
  if (!ChangeServiceConfigW(service, SERVICE_NO_CHANGE, start_type, SERVICE_NO_CHANGE, nullptr,
                            nullptr, nullptr, nullptr, nullptr, nullptr, nullptr)) {
    warn("ChangeServiceConfigW(start type)", GetLastError());
  }
  if (start != "manual") {
    SERVICE_DELAYED_AUTO_START_INFO delayed{start == "delayed" ? TRUE : FALSE};
    change_config(service, SERVICE_CONFIG_DELAYED_AUTO_START_INFO, &delayed, "delayed auto-start");
  }
}

// The service's QUERY_SERVICE_CONFIGW in its buffer; empty when it cannot be read.
std::vector<BYTE> query_config(SC_HANDLE service) {
  DWORD needed = 0;
  QueryServiceConfigW(service, nullptr, 0, &needed);
  std::vector<BYTE> buffer(needed);
  if (needed == 0 ||
      !QueryServiceConfigW(service, reinterpret_cast<QUERY_SERVICE_CONFIGW*>(buffer.data()), needed,
                           &needed)) {
    warn("QueryServiceConfigW", GetLastError());
    return {};
  }
  return buffer;
}

// An unquoted image path with a blank in it ("C:\Program Files\x\toolhelp_exporter.exe --service")
// lets Windows try C:\Program.exe first. Installers write it unquoted at times (Wine's msiexec
// does): quote this program's path in place, keeping the arguments.
void ensure_quoted_image_path(SC_HANDLE service) {
  const std::vector<BYTE> buffer = query_config(service);
  if (buffer.empty()) {
    return;
  }
  const std::wstring line =
      reinterpret_cast<const QUERY_SERVICE_CONFIGW*>(buffer.data())->lpBinaryPathName;
  if (line.starts_with(L'"')) {
    return;
  }
  const std::wstring exe = this_executable();
  const bool ours = line.size() >= exe.size() &&
                    CompareStringOrdinal(line.c_str(), static_cast<int>(exe.size()), exe.c_str(),
                                         static_cast<int>(exe.size()), TRUE) == CSTR_EQUAL &&
                    (line.size() == exe.size() || line[exe.size()] == L' ');
  if (!ours) {
    if (line.find(L' ') != std::wstring::npos) {
      std::cerr << "warning: the service's image path is not quoted and does not start with this "
                   "program ("
                << to_utf8(exe) << "): " << to_utf8(line) << "\n";
    }
    return;
  }
  const std::wstring quoted = L"\"" + exe + L"\"" + line.substr(exe.size());
  if (!ChangeServiceConfigW(service, SERVICE_NO_CHANGE, SERVICE_NO_CHANGE, SERVICE_NO_CHANGE,
                            quoted.c_str(), nullptr, nullptr, nullptr, nullptr, nullptr, nullptr)) {
    warn("ChangeServiceConfigW(quoted image path)", GetLastError());
    return;
  }
  std::cout << "quoted the image path: " << to_utf8(quoted) << "\n";
}

// Everything beyond CreateService: what `install` sets and `configure` applies again.
void configure_service(SC_HANDLE service, const std::optional<std::string>& start) {
  std::wstring description = kDescription;
  SERVICE_DESCRIPTIONW about{description.data()};
  change_config(service, SERVICE_CONFIG_DESCRIPTION, &about, "description");
  if (start) {
    set_start(service, *start);
  }

  // Restart after 5 s, three times; the count resets after a day without failures.
  std::array<SC_ACTION, 3> actions{
      {{SC_ACTION_RESTART, 5000}, {SC_ACTION_RESTART, 5000}, {SC_ACTION_RESTART, 5000}}};
  SERVICE_FAILURE_ACTIONSW failure{};
  failure.dwResetPeriod = 24 * 60 * 60;
  failure.cActions = static_cast<DWORD>(actions.size());
  failure.lpsaActions = actions.data();
  change_config(service, SERVICE_CONFIG_FAILURE_ACTIONS, &failure, "failure actions");
  // Also when the service stops itself with an exit code, not only when it crashes. An
  // administrator's stop always ends with NO_ERROR, so it is never taken for a failure.
  SERVICE_FAILURE_ACTIONS_FLAG on_exit_code{TRUE};
  change_config(service, SERVICE_CONFIG_FAILURE_ACTIONS_FLAG, &on_exit_code,
                "failure actions flag");

  SERVICE_SID_INFO sid{SERVICE_SID_TYPE_UNRESTRICTED};  // lets ACLs name NT SERVICE\<name>
  change_config(service, SERVICE_CONFIG_SERVICE_SID_INFO, &sid, "service SID type");
  // Only what reading other processes' modules needs (a multi-string: two NULs at the end).
  std::wstring privileges(L"SeDebugPrivilege\0\0", 18);
  SERVICE_REQUIRED_PRIVILEGES_INFOW required{privileges.data()};
  change_config(service, SERVICE_CONFIG_REQUIRED_PRIVILEGES_INFO, &required, "required privileges");
  SERVICE_PRESHUTDOWN_INFO preshutdown{kPreshutdownTimeoutMs};
  change_config(service, SERVICE_CONFIG_PRESHUTDOWN_INFO, &preshutdown, "preshutdown timeout");

  ensure_quoted_image_path(service);
  register_event_source();
}

// ---------------------------------------------------------------------------------------------
// Talking to the Service Control Manager

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

// After a start that failed: the same start steps, from here, with the service's own command
// line, so that whoever started it (an administrator, the MSI's log) reads why. The service
// logged the same reason to its log file and the Event Log.
void explain_failed_start(SC_HANDLE service) {
  const std::vector<BYTE> buffer = query_config(service);
  if (buffer.empty()) {
    return;
  }
  int count = 0;
  wchar_t** argv = CommandLineToArgvW(
      reinterpret_cast<const QUERY_SERVICE_CONFIGW*>(buffer.data())->lpBinaryPathName, &count);
  std::vector<std::string> args;
  for (int i = 1; argv != nullptr && i < count; ++i) {
    if (std::wstring_view(argv[i]) != L"--service") {
      args.push_back(to_utf8(argv[i]));
    }
  }
  LocalFree(argv);
  const CliParseResult parsed = parse_command_line(args);
  if (!parsed.options) {
    std::cout << "reason: the service's command line: " << parsed.error << "\n";
    return;
  }
  if (!check_trust(parsed.options->config_file, parsed.options->web_config_file)) {
    std::cout << "reason: see above\n";
    return;
  }
  const ConfigLoadResult loaded = load_effective_config(*parsed.options);
  if (!loaded.config) {
    for (const ConfigError& error : loaded.errors) {
      std::cout << "reason: invalid configuration: " << error.path << ": " << error.message << "\n";
    }
    return;
  }
  try {
    RunLoop trial(
        *loaded.config, [] { return ConfigLoadResult{}; }, make_platform_source());
    trial.listen();
  } catch (const HttpServerError& error) {
    std::cout << "reason: " << error.what() << "\n";
    return;
  }
  std::cout << "reason: not found from here; see the service's log file and the Event Log\n";
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
    if (status->dwCurrentState == SERVICE_STOPPED) {
      explain_failed_start(service);
    }
    return 1;
  }
  std::cout << "pid: " << status->dwProcessId << "\n";
  return 0;
}

// ---------------------------------------------------------------------------------------------
// The verbs

int install(const ControlFlags& flags) {
  if (!check_trust(flags.config_file, flags.web_config_file)) {
    std::cerr << "toolhelp_exporter service install: refused; nothing was installed\n";
    return 1;
  }
  if (!flags.config_file.empty() || !flags.web_config_file.empty()) {
    check_config_files(flags);
  }
  const ScHandle manager = open_manager(SC_MANAGER_CONNECT | SC_MANAGER_CREATE_SERVICE);
  if (!manager) {
    return fail("OpenSCManagerW", GetLastError());
  }
  const std::wstring command_line = service_command_line(flags);
  const std::string start = flags.start.value_or("delayed");
  const DWORD start_type = start == "manual" ? SERVICE_DEMAND_START : SERVICE_AUTO_START;
  const ScHandle service(CreateServiceW(
      // SERVICE_START: failure actions that restart need it on the handle that sets them.
      manager.get(), kServiceName, kDisplayName,
      SERVICE_CHANGE_CONFIG | SERVICE_START | SERVICE_QUERY_STATUS | SERVICE_QUERY_CONFIG,
      SERVICE_WIN32_OWN_PROCESS, start_type, SERVICE_ERROR_NORMAL, command_line.c_str(), nullptr,
      nullptr, nullptr, nullptr /* LocalSystem */, nullptr));
  if (!service) {
    const DWORD code = GetLastError();
    if (code == ERROR_SERVICE_EXISTS) {
      std::cerr << "toolhelp_exporter service install: already installed (run `service "
                   "uninstall` first, or `service configure` to apply the settings again)\n";
    }
    return fail("CreateServiceW", code);
  }
  configure_service(service.get(), start);
  std::cout << "installed service " << to_utf8(kServiceName) << " (start: " << start << ")\n  "
            << to_utf8(command_line) << "\n";
  if (!flags.start_now) {
    return 0;
  }
  // Installed means serving: the administrator scrapes next, with no other step.
  return start_and_report(service.get());
}

int configure(const ControlFlags& flags) {
  const ScHandle service = open_service(SERVICE_CHANGE_CONFIG | SERVICE_START |
                                        SERVICE_QUERY_STATUS | SERVICE_QUERY_CONFIG);
  if (!service) {
    return 1;
  }
  if (!check_trust({}, {})) {
    return 1;
  }
  configure_service(service.get(), flags.start);
  std::cout << "configured service " << to_utf8(kServiceName) << "\n";
  return 0;
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

int start_service() {
  const ScHandle service =
      open_service(SERVICE_START | SERVICE_QUERY_STATUS | SERVICE_QUERY_CONFIG);
  if (!service) {
    return 1;
  }
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
  const std::vector<BYTE> buffer = query_config(service);
  if (buffer.empty()) {
    return;
  }
  const auto* config = reinterpret_cast<const QUERY_SERVICE_CONFIGW*>(buffer.data());
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

int service_command(const CliOptions& options) {
  const std::vector<std::string>& args = options.service_args;
  const std::string verb = args.empty() ? "" : args[0];
  if (verb == "install" || verb == "configure") {
    std::string error;
    const std::optional<ControlFlags> flags = parse_flags(verb, args, error);
    if (!flags) {
      std::cerr << "toolhelp_exporter service " << verb << ": " << error << "\n" << kUsage;
      return 2;
    }
    return verb == "install" ? install(*flags) : configure(*flags);
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
  std::cerr << kUsage;
  return 2;
}

}  // namespace thx
