// The MSI's custom action, in a DLL the installer loads: runs one command line (the deferred
// action's CustomActionData, such as `"...\toolhelp_exporter.exe" service configure`), copies
// every line it prints into the installer's log, and fails the action when the command fails.
// So a rollback (`msiexec /l*v`) carries the reason in the log, which an .exe custom action,
// whose output the installer drops, cannot give.
#include <windows.h>

#include <msi.h>
#include <msiquery.h>

#include <string>
#include <vector>

namespace {

void log_line(MSIHANDLE install, const std::wstring& line) {
  const MSIHANDLE record = MsiCreateRecord(1);
  MsiRecordSetStringW(record, 0, L"[1]");
  MsiRecordSetStringW(record, 1, line.c_str());
  MsiProcessMessage(install, INSTALLMESSAGE_INFO, record);
  MsiCloseHandle(record);
}

std::wstring from_utf8(const std::string& text) {
  if (text.empty()) {
    return {};
  }
  const int size =
      MultiByteToWideChar(CP_UTF8, 0, text.data(), static_cast<int>(text.size()), nullptr, 0);
  std::wstring wide(static_cast<std::size_t>(size), L'\0');
  MultiByteToWideChar(CP_UTF8, 0, text.data(), static_cast<int>(text.size()), wide.data(), size);
  return wide;
}

std::wstring property(MSIHANDLE install, const wchar_t* name) {
  DWORD size = 0;
  wchar_t empty[1] = L"";
  MsiGetPropertyW(install, name, empty, &size);
  std::wstring value(size + 1, L'\0');
  size += 1;
  if (MsiGetPropertyW(install, name, value.data(), &size) != ERROR_SUCCESS) {
    return {};
  }
  value.resize(size);
  return value;
}

}  // namespace

// Runs CustomActionData as a command line; ERROR_INSTALL_FAILURE when it exits non-zero.
extern "C" __declspec(dllexport) UINT __stdcall RunLogged(MSIHANDLE install) {
  std::wstring command = property(install, L"CustomActionData");
  log_line(install, L"toolhelp_exporter custom action: running " + command);
  SECURITY_ATTRIBUTES inherit{sizeof(SECURITY_ATTRIBUTES), nullptr, TRUE};
  HANDLE read_end = nullptr;
  HANDLE write_end = nullptr;
  if (command.empty()) {
    // Wine runs a rollback action once while scheduling it, without its data.
    log_line(install, L"toolhelp_exporter custom action: no command line; nothing to do");
    return ERROR_SUCCESS;
  }
  if (!CreatePipe(&read_end, &write_end, &inherit, 0)) {
    log_line(install, L"toolhelp_exporter custom action: CreatePipe failed with " +
                          std::to_wstring(GetLastError()));
    return ERROR_INSTALL_FAILURE;
  }
  SetHandleInformation(read_end, HANDLE_FLAG_INHERIT, 0);
  STARTUPINFOW startup{};
  startup.cb = sizeof startup;
  startup.dwFlags = STARTF_USESTDHANDLES;
  startup.hStdInput = nullptr;
  startup.hStdOutput = write_end;
  startup.hStdError = write_end;
  PROCESS_INFORMATION process{};
  const BOOL started = CreateProcessW(nullptr, command.data(), nullptr, nullptr, TRUE,
                                      CREATE_NO_WINDOW, nullptr, nullptr, &startup, &process);
  const DWORD start_error = GetLastError();
  CloseHandle(write_end);
  if (!started) {
    CloseHandle(read_end);
    log_line(install, L"toolhelp_exporter custom action: CreateProcess failed with " +
                          std::to_wstring(start_error));
    return ERROR_INSTALL_FAILURE;
  }
  std::string pending;
  std::vector<char> buffer(4096);
  DWORD got = 0;
  while (ReadFile(read_end, buffer.data(), static_cast<DWORD>(buffer.size()), &got, nullptr) &&
         got > 0) {
    pending.append(buffer.data(), got);
    for (std::size_t end = pending.find('\n'); end != std::string::npos; end = pending.find('\n')) {
      std::string line = pending.substr(0, end);
      if (!line.empty() && line.back() == '\r') {
        line.pop_back();
      }
      log_line(install, L"toolhelp_exporter: " + from_utf8(line));
      pending.erase(0, end + 1);
    }
  }
  if (!pending.empty()) {
    log_line(install, L"toolhelp_exporter: " + from_utf8(pending));
  }
  CloseHandle(read_end);
  WaitForSingleObject(process.hProcess, INFINITE);
  DWORD exit_code = 1;
  GetExitCodeProcess(process.hProcess, &exit_code);
  CloseHandle(process.hProcess);
  CloseHandle(process.hThread);
  log_line(install, L"toolhelp_exporter custom action: exit code " + std::to_wstring(exit_code));
  return exit_code == 0 ? ERROR_SUCCESS : ERROR_INSTALL_FAILURE;
}
