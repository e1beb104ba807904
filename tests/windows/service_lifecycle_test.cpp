// The Windows service end to end, the way the Service Control Manager runs it: install with the
// program's own `service install`, start, scrape, reload with PARAMCHANGE, stop in bounded time,
// uninstall; and the failed starts (a broken configuration, a port already taken) that must end
// STOPPED with a service-specific exit code and their reason in the log. The service name is
// fixed, so the cases run one after another and each removes the service even when it fails.
// Under Wine this program is also what keeps the Wine server, and so the service, alive.

// winsock2.h before windows.h, which would otherwise pull in the old winsock.h; shlobj.h after.
#include <winsock2.h>

#include <windows.h>

#include <shlobj.h>

#include <gtest/gtest.h>

#include <chrono>
#include <cstdio>
#include <filesystem>
#include <fstream>
#include <optional>
#include <sstream>
#include <string>
#include <thread>

#include "collector/windows/win32_util.h"
#include "service/sc_handle.h"
#include "tests/support/http_client.h"

namespace thx {
namespace {

using namespace std::chrono_literals;
using win32::to_utf8;
using win32::UniqueHandle;
namespace fs = std::filesystem;

constexpr const wchar_t* kServiceName = L"toolhelp_exporter";
constexpr const wchar_t* kEventSourceKey =
    L"SYSTEM\\CurrentControlSet\\Services\\EventLog\\Application\\toolhelp_exporter";

// Under Wine a second services.exe in the prefix (`wineboot --init` on a running prefix starts
// one) splits the SCM: a service created through one is unknown to the other.
constexpr const char* kScmHint =
    " (under Wine: is there more than one services.exe in this prefix?)";

// Every program of the build is in one folder.
std::wstring exporter_program() {
  std::wstring self(32768, L'\0');
  self.resize(GetModuleFileNameW(nullptr, self.data(), static_cast<DWORD>(self.size())));
  return self.substr(0, self.find_last_of(L"\\/") + 1) + L"toolhelp_exporter.exe";
}

std::wstring quoted(const fs::path& path) {
  return L"\"" + path.wstring() + L"\"";
}

std::string read_file(const fs::path& file, std::uintmax_t from = 0) {
  std::ifstream in(file, std::ios::binary);
  in.seekg(static_cast<std::streamoff>(from));
  std::ostringstream text;
  text << in.rdbuf();
  return text.str();
}

std::uintmax_t file_size_or_zero(const fs::path& file) {
  std::error_code error;
  const std::uintmax_t size = fs::file_size(file, error);
  return error ? 0 : size;
}

// The ProgramData known folder (C:\ProgramData), where the service logs by default.
fs::path program_data() {
  wchar_t* path = nullptr;
  fs::path folder;
  if (SHGetKnownFolderPath(FOLDERID_ProgramData, 0, nullptr, &path) >= 0) {
    folder = path;
  }
  CoTaskMemFree(path);
  return folder;
}

// A JSON string literal for `text` (paths carry backslashes).
std::string json_string(const std::string& text) {
  std::string out = "\"";
  for (char c : text) {
    if (c == '\\' || c == '"') {
      out += '\\';
    }
    out += c;
  }
  return out + "\"";
}

std::string config_json(const std::string& unmatched_group, const fs::path& log_file) {
  return R"({"collection": {"interval": "1s", "kinds": ["processes", "threads"]},
             "groups": {"rules": [], "unmatched_group": )" +
         json_string(unmatched_group) + R"(},
             "log": {"level": "debug", "file": )" +
         json_string(to_utf8(log_file.wstring())) + "}}";
}

void write_file(const fs::path& file, const std::string& text) {
  std::ofstream out(file, std::ios::binary | std::ios::trunc);
  out << text;
}

struct ProcessResult {
  DWORD exit_code = 0;
  std::string output;  // stdout and stderr together
};

// Runs toolhelp_exporter.exe with `arguments` to its end.
ProcessResult run_exporter(const std::wstring& arguments) {
  SECURITY_ATTRIBUTES inherit{sizeof(SECURITY_ATTRIBUTES), nullptr, TRUE};
  HANDLE read_end = nullptr;
  HANDLE write_end = nullptr;
  if (!CreatePipe(&read_end, &write_end, &inherit, 0)) {
    return {~DWORD{0}, "CreatePipe failed"};
  }
  UniqueHandle reader(read_end);
  UniqueHandle writer(write_end);
  SetHandleInformation(read_end, HANDLE_FLAG_INHERIT, 0);
  STARTUPINFOW startup{};
  startup.cb = sizeof startup;
  startup.dwFlags = STARTF_USESTDHANDLES;
  startup.hStdOutput = write_end;
  startup.hStdError = write_end;
  const std::wstring program = exporter_program();
  std::wstring command = L"\"" + program + L"\" " + arguments;
  PROCESS_INFORMATION info{};
  if (!CreateProcessW(program.c_str(), command.data(), nullptr, nullptr, TRUE, 0, nullptr, nullptr,
                      &startup, &info)) {
    return {~DWORD{0}, "CreateProcessW failed: " + std::to_string(GetLastError())};
  }
  UniqueHandle process(info.hProcess);
  UniqueHandle thread(info.hThread);
  writer.reset();  // so that reading ends when the child does
  ProcessResult result;
  char buffer[4096];
  DWORD got = 0;
  while (ReadFile(read_end, buffer, sizeof buffer, &got, nullptr) && got > 0) {
    result.output.append(buffer, got);
  }
  WaitForSingleObject(process.get(), 60'000);
  GetExitCodeProcess(process.get(), &result.exit_code);
  return result;
}

// The service, or no handle with GetLastError() saying why.
ScHandle open_service(DWORD access) {
  const ScHandle manager(OpenSCManagerW(nullptr, nullptr, SC_MANAGER_CONNECT));
  if (!manager) {
    return ScHandle();
  }
  return ScHandle(OpenServiceW(manager.get(), kServiceName, access));
}

SERVICE_STATUS_PROCESS query(SC_HANDLE service) {
  SERVICE_STATUS_PROCESS status{};
  DWORD needed = 0;
  QueryServiceStatusEx(service, SC_STATUS_PROCESS_INFO, reinterpret_cast<BYTE*>(&status),
                       sizeof status, &needed);
  return status;
}

// Polls until the service is in `state` or `timeout` passed; the last status.
SERVICE_STATUS_PROCESS wait_for_state(SC_HANDLE service, DWORD state,
                                      std::chrono::milliseconds timeout) {
  const auto deadline = std::chrono::steady_clock::now() + timeout;
  SERVICE_STATUS_PROCESS status = query(service);
  while (status.dwCurrentState != state && std::chrono::steady_clock::now() < deadline) {
    std::this_thread::sleep_for(10ms);
    status = query(service);
  }
  return status;
}

std::string describe(const SERVICE_STATUS_PROCESS& status) {
  return "state " + std::to_string(status.dwCurrentState) + ", win32 exit code " +
         std::to_string(status.dwWin32ExitCode) + ", service-specific exit code " +
         std::to_string(status.dwServiceSpecificExitCode);
}

std::string binary_path(SC_HANDLE service) {
  DWORD needed = 0;
  QueryServiceConfigW(service, nullptr, 0, &needed);
  std::vector<BYTE> buffer(needed);
  auto* config = reinterpret_cast<QUERY_SERVICE_CONFIGW*>(buffer.data());
  if (needed == 0 || !QueryServiceConfigW(service, config, needed, &needed)) {
    return {};
  }
  return to_utf8(config->lpBinaryPathName);
}

// Stops and deletes the service and its Event Log source with the SCM directly, so that cleaning
// up does not depend on the program under test.
void remove_service() {
  const ScHandle service = open_service(SERVICE_STOP | SERVICE_QUERY_STATUS | DELETE);
  if (service) {
    SERVICE_STATUS ignored{};
    ControlService(service.get(), SERVICE_CONTROL_STOP, &ignored);
    wait_for_state(service.get(), SERVICE_STOPPED, 10s);
    DeleteService(service.get());
  }
  RegDeleteKeyW(HKEY_LOCAL_MACHINE, kEventSourceKey);
}

std::optional<DWORD> registry_dword(HKEY key, const wchar_t* name) {
  DWORD value = 0;
  DWORD size = sizeof value;
  DWORD type = 0;
  if (RegQueryValueExW(key, name, nullptr, &type, reinterpret_cast<BYTE*>(&value), &size) !=
          ERROR_SUCCESS ||
      type != REG_DWORD) {
    return std::nullopt;
  }
  return value;
}

// EventMessageFile (REG_EXPAND_SZ), or nullopt.
std::optional<std::wstring> registry_expand_string(HKEY key, const wchar_t* name) {
  std::wstring value(1024, L'\0');
  DWORD size = static_cast<DWORD>(value.size() * sizeof(wchar_t));
  DWORD type = 0;
  if (RegQueryValueExW(key, name, nullptr, &type, reinterpret_cast<BYTE*>(value.data()), &size) !=
          ERROR_SUCCESS ||
      type != REG_EXPAND_SZ) {
    return std::nullopt;
  }
  value.resize(size / sizeof(wchar_t));
  while (!value.empty() && value.back() == L'\0') {
    value.pop_back();
  }
  return value;
}

LSTATUS open_event_source_key(HKEY& key) {
  return RegOpenKeyExW(HKEY_LOCAL_MACHINE, kEventSourceKey, 0, KEY_QUERY_VALUE, &key);
}

// Scrapes until `needle` shows up in the metrics or `timeout` passed; the last body.
std::string scrape_until(int port, const std::string& needle, std::chrono::milliseconds timeout) {
  const auto deadline = std::chrono::steady_clock::now() + timeout;
  std::string body;
  do {
    if (auto response = test::http_request(port, "GET", "/metrics")) {
      body = response->body;
      if (response->status == 200 && body.find(needle) != std::string::npos) {
        break;
      }
    }
    std::this_thread::sleep_for(100ms);
  } while (std::chrono::steady_clock::now() < deadline);
  return body;
}

class ServiceLifecycleTest : public ::testing::Test {
 protected:
  void SetUp() override {
    remove_service();  // a run that died half-way must not fail this one
    dir_ =
        fs::temp_directory_path() / ("thx_service_test_" + std::to_string(GetCurrentProcessId()));
    fs::create_directories(dir_);
  }

  void TearDown() override {
    remove_service();
    std::error_code ignored;
    fs::remove_all(dir_, ignored);
  }

  // Installs with the program's own command, which also starts the service unless told not to;
  // the output shows what the platform refused.
  ProcessResult install_and_start(const fs::path& config, int port, const wchar_t* extra = L"") {
    const ProcessResult installed =
        run_exporter(L"service install --start manual --config.file " + quoted(config) +
                     L" --web.listen-address=127.0.0.1:" + std::to_wstring(port) + extra);
    std::printf("service install said:\n%s", installed.output.c_str());
    return installed;
  }
  void install(const fs::path& config, int port) {
    const ProcessResult installed = install_and_start(config, port, L" --no-start");
    ASSERT_EQ(installed.exit_code, 0U) << installed.output;
    EXPECT_EQ(installed.output.find("state:"), std::string::npos) << installed.output;
  }

  // Starts the service and waits for it to end by itself (a start that fails).
  SERVICE_STATUS_PROCESS start_and_wait_stopped() {
    const ScHandle service = open_service(SERVICE_START | SERVICE_QUERY_STATUS);
    EXPECT_TRUE(service) << GetLastError() << kScmHint;
    if (!StartServiceW(service.get(), 0, nullptr)) {
      std::printf("StartServiceW failed with %lu\n", GetLastError());  // it may already be gone
    }
    return wait_for_state(service.get(), SERVICE_STOPPED, 20s);
  }

  fs::path dir_;
};

void expect_event_source_registered() {
  HKEY key = nullptr;
  ASSERT_EQ(open_event_source_key(key), ERROR_SUCCESS);
  EXPECT_EQ(registry_expand_string(key, L"EventMessageFile"), exporter_program());
  EXPECT_EQ(registry_dword(key, L"TypesSupported"), 7U);
  RegCloseKey(key);
}

// The quoted program, then --service, then the configuration made absolute.
void expect_command_line(SC_HANDLE service, const fs::path& config) {
  const std::string command_line = binary_path(service);
  EXPECT_EQ(command_line.rfind("\"" + to_utf8(exporter_program()) + "\" --service", 0), 0U)
      << command_line;
  EXPECT_NE(command_line.find(to_utf8(config.wstring())), std::string::npos) << command_line;
}

void start_running(SC_HANDLE service, const fs::path& log_file) {
  ASSERT_TRUE(StartServiceW(service, 0, nullptr)) << GetLastError();
  const SERVICE_STATUS_PROCESS status = wait_for_state(service, SERVICE_RUNNING, 10s);
  ASSERT_EQ(status.dwCurrentState, static_cast<DWORD>(SERVICE_RUNNING)) << describe(status) << "\n"
                                                                        << read_file(log_file);
  EXPECT_NE(status.dwProcessId, 0U);
}

// A changed configuration and PARAMCHANGE: the new group shows up in the metrics.
void scrape_and_reload(SC_HANDLE service, int port, const fs::path& config,
                       const fs::path& log_file) {
  std::string metrics = scrape_until(port, "group=\"before-reload\"", 15s);
  EXPECT_NE(metrics.find("toolhelp_build_info{"), std::string::npos) << metrics;
  EXPECT_NE(metrics.find("group=\"before-reload\""), std::string::npos) << metrics;

  write_file(config, config_json("after-reload", log_file));
  SERVICE_STATUS control_status{};
  ASSERT_TRUE(ControlService(service, SERVICE_CONTROL_PARAMCHANGE, &control_status))
      << GetLastError();
  metrics = scrape_until(port, "group=\"after-reload\"", 15s);
  EXPECT_NE(metrics.find("group=\"after-reload\""), std::string::npos) << metrics;
  EXPECT_TRUE(ControlService(service, SERVICE_CONTROL_INTERROGATE, &control_status))
      << GetLastError();
}

// Whether anything accepts a connection on 127.0.0.1:port.
bool port_answers(int port) {
  const SOCKET probe = socket(AF_INET, SOCK_STREAM, IPPROTO_TCP);
  sockaddr_in address{};
  address.sin_family = AF_INET;
  address.sin_port = htons(static_cast<u_short>(port));
  address.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  const bool connected =
      connect(probe, reinterpret_cast<const sockaddr*>(&address), sizeof address) == 0;
  closesocket(probe);
  return connected;
}

// STOP reaches STOPPED with no exit code of any kind, the listener already closed when STOPPED
// is first seen, and STOP_PENDING checkpoints that only grow. The time it took is printed, not
// judged.
void stop_honestly(SC_HANDLE service, int port) {
  WSADATA wsa{};
  ASSERT_EQ(WSAStartup(MAKEWORD(2, 2), &wsa), 0);
  SERVICE_STATUS control_status{};
  const auto stop_sent = std::chrono::steady_clock::now();
  ASSERT_TRUE(ControlService(service, SERVICE_CONTROL_STOP, &control_status)) << GetLastError();
  SERVICE_STATUS_PROCESS status = query(service);
  DWORD last_checkpoint = 0;
  int reports = 0;
  const auto deadline = stop_sent + 60s;
  while (status.dwCurrentState != SERVICE_STOPPED && std::chrono::steady_clock::now() < deadline) {
    if (status.dwCurrentState == SERVICE_STOP_PENDING) {
      EXPECT_GE(status.dwCheckPoint, last_checkpoint) << "checkpoints went back";
      reports += status.dwCheckPoint != last_checkpoint ? 1 : 0;
      last_checkpoint = status.dwCheckPoint;
      EXPECT_GT(status.dwWaitHint, 0U);
    }
    status = query(service);
  }
  const bool answers = port_answers(port);  // at once: the listener must already be closed
  const double seconds =
      std::chrono::duration<double>(std::chrono::steady_clock::now() - stop_sent).count();
  WSACleanup();
  std::printf("STOP to STOPPED: %.3f s, STOP_PENDING checkpoints seen up to %lu (%d changes)\n",
              seconds, last_checkpoint, reports);
  ASSERT_EQ(status.dwCurrentState, static_cast<DWORD>(SERVICE_STOPPED)) << describe(status);
  EXPECT_EQ(status.dwWin32ExitCode, static_cast<DWORD>(NO_ERROR)) << describe(status);
  EXPECT_EQ(status.dwServiceSpecificExitCode, 0U) << describe(status);
  EXPECT_FALSE(answers) << "port " << port << " still accepts connections when STOPPED is seen";
}

TEST_F(ServiceLifecycleTest, InstallStartScrapeReloadStopUninstall) {
  const int port = test::free_port();
  const fs::path log_file = dir_ / "exporter.log";
  const fs::path config = dir_ / "config.json";
  write_file(config, config_json("before-reload", log_file));
  ASSERT_NO_FATAL_FAILURE(install(config, port));
  ASSERT_NO_FATAL_FAILURE(expect_event_source_registered());
  {
    const ScHandle service =
        open_service(SERVICE_START | SERVICE_STOP | SERVICE_QUERY_STATUS | SERVICE_QUERY_CONFIG |
                     SERVICE_INTERROGATE | SERVICE_PAUSE_CONTINUE);
    ASSERT_TRUE(service) << GetLastError() << kScmHint;
    expect_command_line(service.get(), config);
    ASSERT_NO_FATAL_FAILURE(start_running(service.get(), log_file));

    const ProcessResult status = run_exporter(L"service status");
    EXPECT_EQ(status.exit_code, 0U) << status.output;
    EXPECT_NE(status.output.find("state: RUNNING"), std::string::npos) << status.output;

    ASSERT_NO_FATAL_FAILURE(scrape_and_reload(service.get(), port, config, log_file));
    ASSERT_NO_FATAL_FAILURE(stop_honestly(service.get(), port));
  }  // a deleted service goes once no handle to it is open
  const std::string log = read_file(log_file);
  EXPECT_NE(log.find("PARAMCHANGE"), std::string::npos) << log;
  EXPECT_NE(log.find("configuration reloaded"), std::string::npos) << log;

  const ProcessResult uninstalled = run_exporter(L"service uninstall");
  EXPECT_EQ(uninstalled.exit_code, 0U) << uninstalled.output;
  const ScHandle gone = open_service(SERVICE_QUERY_STATUS);
  EXPECT_FALSE(gone);
  EXPECT_EQ(GetLastError(), static_cast<DWORD>(ERROR_SERVICE_DOES_NOT_EXIST));
  HKEY key = nullptr;
  EXPECT_EQ(open_event_source_key(key), ERROR_FILE_NOT_FOUND);
}

TEST_F(ServiceLifecycleTest, BrokenConfigurationStopsWithExitCodeAndNamesThePath) {
  // No log.file in a configuration that cannot be read: the default file under ProgramData.
  const fs::path default_log = program_data() / "toolhelp_exporter" / "toolhelp_exporter.log";
  const std::uintmax_t log_before = file_size_or_zero(default_log);

  const fs::path config = dir_ / "broken.json";
  write_file(config, R"({"collection": {"interval": "soon"}})");
  // The install warns about the configuration, installs, starts, and says the start failed.
  const ProcessResult installed = install_and_start(config, test::free_port());
  EXPECT_EQ(installed.exit_code, 1U) << installed.output;
  EXPECT_NE(installed.output.find("$.collection.interval"), std::string::npos) << installed.output;
  EXPECT_NE(installed.output.find("installed service"), std::string::npos) << installed.output;
  EXPECT_NE(installed.output.find("state: STOPPED"), std::string::npos) << installed.output;

  const SERVICE_STATUS_PROCESS status = start_and_wait_stopped();
  ASSERT_EQ(status.dwCurrentState, static_cast<DWORD>(SERVICE_STOPPED)) << describe(status);
  EXPECT_EQ(status.dwWin32ExitCode, static_cast<DWORD>(ERROR_SERVICE_SPECIFIC_ERROR))
      << describe(status);
  EXPECT_NE(status.dwServiceSpecificExitCode, 0U) << describe(status);
  const std::string log = read_file(default_log, log_before);
  EXPECT_NE(log.find("$.collection.interval"), std::string::npos) << default_log << ":\n" << log;

  // `service start` says the start failed, with the exit codes.
  const ProcessResult started = run_exporter(L"service start");
  EXPECT_EQ(started.exit_code, 1U) << started.output;
  EXPECT_NE(started.output.find("service-specific exit code"), std::string::npos) << started.output;
}

TEST_F(ServiceLifecycleTest, PortTakenStopsWithExitCodeAndNamesTheAddress) {
  // Hold the port: a listening socket on 127.0.0.1:port.
  WSADATA wsa{};
  ASSERT_EQ(WSAStartup(MAKEWORD(2, 2), &wsa), 0);
  const int port = test::free_port();
  const SOCKET holder = socket(AF_INET, SOCK_STREAM, IPPROTO_TCP);
  sockaddr_in address{};
  address.sin_family = AF_INET;
  address.sin_port = htons(static_cast<u_short>(port));
  address.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  ASSERT_EQ(bind(holder, reinterpret_cast<const sockaddr*>(&address), sizeof address), 0)
      << WSAGetLastError();
  ASSERT_EQ(listen(holder, 1), 0);

  const fs::path log_file = dir_ / "port.log";
  const fs::path config = dir_ / "config.json";
  write_file(config, config_json("{name}", log_file));
  ASSERT_NO_FATAL_FAILURE(install(config, port));

  const SERVICE_STATUS_PROCESS status = start_and_wait_stopped();
  closesocket(holder);
  WSACleanup();
  ASSERT_EQ(status.dwCurrentState, static_cast<DWORD>(SERVICE_STOPPED)) << describe(status);
  EXPECT_EQ(status.dwWin32ExitCode, static_cast<DWORD>(ERROR_SERVICE_SPECIFIC_ERROR))
      << describe(status);
  EXPECT_NE(status.dwServiceSpecificExitCode, 0U) << describe(status);
  const std::string log = read_file(log_file);
  EXPECT_NE(log.find("cannot start"), std::string::npos) << log;
  EXPECT_NE(log.find("127.0.0.1:" + std::to_string(port)), std::string::npos) << log;
}

// A stop while the service cycles back to back (every 100 ms, modules and thread detail on):
// STOPPED with exit code 0, the port closed by then, and a start right after binds the same
// port again (what Restart-Service does).
TEST_F(ServiceLifecycleTest, StopDuringCyclesEndsStoppedWithNoErrorAndFreesThePort) {
  const int port = test::free_port();
  const fs::path log_file = dir_ / "cycling.log";
  const fs::path config = dir_ / "config.json";
  write_file(config, R"({"collection": {"interval": "100ms", "module_interval": "100ms",
                         "kinds": ["processes", "threads", "modules"], "thread_detail": true},
                         "log": {"level": "debug", "file": )" +
                         json_string(to_utf8(log_file.wstring())) + "}}");
  ASSERT_NO_FATAL_FAILURE(install(config, port));
  const ScHandle service = open_service(SERVICE_START | SERVICE_STOP | SERVICE_QUERY_STATUS);
  ASSERT_TRUE(service) << GetLastError() << kScmHint;
  for (int round = 0; round < 2; ++round) {
    ASSERT_NO_FATAL_FAILURE(start_running(service.get(), log_file));
    const std::string metrics = scrape_until(port, "toolhelp_processes ", 15s);
    ASSERT_NE(metrics.find("toolhelp_processes "), std::string::npos) << read_file(log_file);
    ASSERT_NO_FATAL_FAILURE(stop_honestly(service.get(), port));
  }
  const std::string log = read_file(log_file);
  EXPECT_NE(log.find("stopping: listener closed"), std::string::npos) << log;
  EXPECT_NE(log.find("stopped"), std::string::npos) << log;
}

// The old spellings stay as aliases of the flags `serve` takes.
TEST_F(ServiceLifecycleTest, InstallAcceptsTheShortAliases) {
  const int port = test::free_port();
  const fs::path config = dir_ / "config.json";
  write_file(config, config_json("{name}", dir_ / "alias.log"));
  const ProcessResult installed =
      run_exporter(L"service install --start manual --no-start --config " + quoted(config) +
                   L" --listen 127.0.0.1:" + std::to_wstring(port));
  ASSERT_EQ(installed.exit_code, 0U) << installed.output;
  const ScHandle service = open_service(SERVICE_QUERY_CONFIG);
  ASSERT_TRUE(service) << GetLastError() << kScmHint;
  expect_command_line(service.get(), config);
  EXPECT_NE(
      binary_path(service.get()).find("--web.listen-address=127.0.0.1:" + std::to_string(port)),
      std::string::npos)
      << binary_path(service.get());
}

// `service install --web.config.file`: the exporter-toolkit file, made absolute, is on the
// service's command line, and the running service asks for its user and sends its headers.
TEST_F(ServiceLifecycleTest, InstallWithWebConfigFileServesItsUsersAndHeaders) {
  const int port = test::free_port();
  const fs::path log_file = dir_ / "exporter.log";
  const fs::path config = dir_ / "config.json";
  write_file(config, config_json("{name}", log_file));
  // crypt_blowfish's published vector (password "U*U", cost 5) as htpasswd writes it ($2y$).
  const fs::path web_config = dir_ / "web-config.yml";
  write_file(web_config,
             "basic_auth_users:\n"
             "  prometheus: $2y$05$CCCCCCCCCCCCCCCCCCCCC.E5YPO9kmyuRGyh0XouQYb4YMJKvyOeW\n"
             "http_server_config:\n"
             "  headers:\n"
             "    X-Frame-Options: deny\n");
  const std::wstring relative = L"web-config.yml";  // made absolute by the install
  const fs::path previous = fs::current_path();
  fs::current_path(dir_);
  const ProcessResult installed =
      run_exporter(L"service install --start manual --no-start --config.file " + quoted(config) +
                   L" --web.config.file=" + relative + L" --web.listen-address=127.0.0.1:" +
                   std::to_wstring(port));
  fs::current_path(previous);
  ASSERT_EQ(installed.exit_code, 0U) << installed.output;
  EXPECT_EQ(installed.output.find("warning: $"), std::string::npos) << installed.output;
  const ScHandle service =
      open_service(SERVICE_START | SERVICE_STOP | SERVICE_QUERY_STATUS | SERVICE_QUERY_CONFIG);
  ASSERT_TRUE(service) << GetLastError() << kScmHint;
  const std::string command_line = binary_path(service.get());
  EXPECT_NE(command_line.find("--web.config.file=" + to_utf8(web_config.wstring())),
            std::string::npos)
      << command_line;
  ASSERT_NO_FATAL_FAILURE(start_running(service.get(), log_file));

  const std::string credentials = "Authorization: Basic cHJvbWV0aGV1czpVKlU=\r\n";  // U*U
  std::optional<test::HttpResult> answer;
  const auto deadline = std::chrono::steady_clock::now() + 15s;
  do {
    answer = test::http_request(port, "GET", "/metrics", credentials);
    if (answer && answer->status == 200) {
      break;
    }
    std::this_thread::sleep_for(100ms);
  } while (std::chrono::steady_clock::now() < deadline);
  ASSERT_TRUE(answer) << read_file(log_file);
  EXPECT_EQ(answer->status, 200) << answer->headers << read_file(log_file);
  EXPECT_NE(answer->body.find("toolhelp_build_info{"), std::string::npos) << answer->body;
  EXPECT_NE(answer->headers.find("X-Frame-Options: deny"), std::string::npos) << answer->headers;
  const auto refused = test::http_request(port, "GET", "/metrics");
  ASSERT_TRUE(refused);
  EXPECT_EQ(refused->status, 401) << refused->headers;
  ASSERT_NO_FATAL_FAILURE(stop_honestly(service.get(), port));
}

// `service install` refuses a listen address `check-config` refuses, with the same message, and
// installs nothing.
TEST_F(ServiceLifecycleTest, InstallRefusesWhatCheckConfigRefuses) {
  for (const char* address : {"19818,19819", "garbage", ":9835s", "::1:9835", "[::1]"}) {
    const fs::path config = dir_ / "listen.json";
    write_file(config, std::string(R"({"web": {"listen_address": ")") + address + R"("}})");
    const ProcessResult checked = run_exporter(L"check-config " + quoted(config));
    EXPECT_EQ(checked.exit_code, 1U) << checked.output;
    // "...: $.web.listen_address: <message>" -> <message>
    const std::size_t at = checked.output.find("listen_address: ");
    ASSERT_NE(at, std::string::npos) << checked.output;
    const std::size_t from = at + std::string("listen_address: ").size();
    std::string message = checked.output.substr(from, checked.output.find('\n', from) - from);
    if (!message.empty() && message.back() == '\r') {
      message.pop_back();
    }

    const ProcessResult installed = run_exporter(L"service install --web.listen-address=" +
                                                 win32::to_wide(address) + L" --no-start");
    EXPECT_EQ(installed.exit_code, 2U) << installed.output;
    EXPECT_NE(installed.output.find("--web.listen-address: " + message), std::string::npos)
        << address << "\ncheck-config: " << message << "\ninstall: " << installed.output;
    EXPECT_FALSE(open_service(SERVICE_QUERY_STATUS)) << address;
  }
}

// Event 1000 (what spdlog's Event Log sink reports) is the inserted line itself; the categories
// name spdlog's levels.
TEST(MessageTableTest, Event1000IsTheLoggedLine) {
  const HMODULE program = LoadLibraryExW(exporter_program().c_str(), nullptr,
                                         LOAD_LIBRARY_AS_DATAFILE | LOAD_LIBRARY_AS_IMAGE_RESOURCE);
  ASSERT_NE(program, nullptr) << GetLastError();
  auto format = [program](DWORD id, const wchar_t* insert) {
    DWORD_PTR arguments[] = {reinterpret_cast<DWORD_PTR>(insert)};
    wchar_t buffer[256] = {};
    const DWORD length =
        FormatMessageW(FORMAT_MESSAGE_FROM_HMODULE | FORMAT_MESSAGE_ARGUMENT_ARRAY, program, id, 0,
                       buffer, 256, reinterpret_cast<va_list*>(arguments));
    return std::wstring(buffer, length);
  };
  EXPECT_EQ(format(1000, L"[warning] snapshot was partial"), L"[warning] snapshot was partial");
  EXPECT_EQ(format(4, nullptr).rfind(L"Error", 0), 0U);
  FreeLibrary(program);
}

// `--service` from a console (no Service Control Manager behind it): the program says so and
// serves in the foreground.
TEST_F(ServiceLifecycleTest, ServiceFlagFromAConsoleFallsBackToTheForeground) {
  const int port = test::free_port();
  const fs::path config = dir_ / "config.json";
  write_file(config, config_json("{name}", dir_ / "foreground.log"));
  const fs::path output_file = dir_ / "foreground.out";
  SECURITY_ATTRIBUTES inherit{sizeof(SECURITY_ATTRIBUTES), nullptr, TRUE};
  UniqueHandle output(CreateFileW(output_file.c_str(), GENERIC_WRITE, FILE_SHARE_READ, &inherit,
                                  CREATE_ALWAYS, 0, nullptr));
  ASSERT_TRUE(output);
  STARTUPINFOW startup{};
  startup.cb = sizeof startup;
  startup.dwFlags = STARTF_USESTDHANDLES;
  startup.hStdOutput = output.get();
  startup.hStdError = output.get();
  const std::wstring program = exporter_program();
  std::wstring command = L"\"" + program + L"\" --service --config.file=" + quoted(config) +
                         L" --web.listen-address=127.0.0.1:" + std::to_wstring(port);
  PROCESS_INFORMATION info{};
  ASSERT_TRUE(CreateProcessW(program.c_str(), command.data(), nullptr, nullptr, TRUE,
                             CREATE_NEW_PROCESS_GROUP, nullptr, nullptr, &startup, &info))
      << GetLastError();
  UniqueHandle process(info.hProcess);
  UniqueHandle thread(info.hThread);
  output.reset();

  const std::string metrics = scrape_until(port, "toolhelp_build_info{", 15s);
  EXPECT_NE(metrics.find("toolhelp_build_info{"), std::string::npos) << read_file(output_file);
  // Ctrl+Break stops it gracefully where the console allows; otherwise end it.
  GenerateConsoleCtrlEvent(CTRL_BREAK_EVENT, info.dwProcessId);
  if (WaitForSingleObject(process.get(), 5000) != WAIT_OBJECT_0) {
    std::printf("Ctrl+Break did not reach the program; terminating it\n");
    TerminateProcess(process.get(), 1);
    WaitForSingleObject(process.get(), 5000);
  }
  const std::string said = read_file(output_file);
  EXPECT_NE(said.find("not started by the Service Control Manager"), std::string::npos) << said;
}

}  // namespace
}  // namespace thx
