#include "collector/windows/win32_util.h"

namespace thx::win32 {

UniqueHandle& UniqueHandle::operator=(UniqueHandle&& other) noexcept {
  if (this != &other) {
    reset(std::exchange(other.handle_, nullptr));
  }
  return *this;
}

bool UniqueHandle::valid() const {
  return handle_ != nullptr && handle_ != INVALID_HANDLE_VALUE;
}

void UniqueHandle::reset(HANDLE handle) {
  if (valid()) {
    CloseHandle(handle_);
  }
  handle_ = handle;
}

std::string to_utf8(std::wstring_view text) {
  if (text.empty()) {
    return {};
  }
  const int length = static_cast<int>(text.size());
  const int bytes =
      WideCharToMultiByte(CP_UTF8, 0, text.data(), length, nullptr, 0, nullptr, nullptr);
  std::string result(static_cast<std::size_t>(bytes), '\0');
  WideCharToMultiByte(CP_UTF8, 0, text.data(), length, result.data(), bytes, nullptr, nullptr);
  return result;
}

std::wstring to_wide(std::string_view text) {
  if (text.empty()) {
    return {};
  }
  const int length = static_cast<int>(text.size());
  const int units = MultiByteToWideChar(CP_UTF8, 0, text.data(), length, nullptr, 0);
  std::wstring result(static_cast<std::size_t>(units), L'\0');
  MultiByteToWideChar(CP_UTF8, 0, text.data(), length, result.data(), units);
  return result;
}

std::int64_t filetime_to_unix_ns(const FILETIME& time) {
  // 100 ns ticks between 1601-01-01 and 1970-01-01.
  constexpr std::int64_t kTicksTo1970 = 116'444'736'000'000'000;
  const std::uint64_t ticks =
      (std::uint64_t{time.dwHighDateTime} << 32U) | std::uint64_t{time.dwLowDateTime};
  if (ticks == 0) {
    return 0;  // unknown stays unknown rather than becoming 1601
  }
  return (static_cast<std::int64_t>(ticks) - kTicksTo1970) * 100;
}

ErrorReason reason_from_error(DWORD error) {
  switch (error) {
    case ERROR_ACCESS_DENIED:
      return ErrorReason::access_denied;
    case ERROR_INVALID_PARAMETER:
      return ErrorReason::vanished;
    case ERROR_PARTIAL_COPY:
    case ERROR_NOACCESS:  // Wine's answer for the memory of a process still starting
      return ErrorReason::partial_copy;
    case ERROR_BAD_LENGTH:
      return ErrorReason::retries_exhausted;
    default:
      return ErrorReason::other;
  }
}

UniqueHandle open_process(DWORD pid, DWORD access) {
  return UniqueHandle(OpenProcess(access, FALSE, pid));
}

bool process_has_exited(DWORD pid) {
  const UniqueHandle process = open_process(pid, PROCESS_QUERY_LIMITED_INFORMATION | SYNCHRONIZE);
  if (!process) {
    return GetLastError() == ERROR_INVALID_PARAMETER;  // no such pid
  }
  // A process object outlives its process while someone holds a handle to it. The exit code is
  // set as soon as termination starts, a little before the object is signaled.
  DWORD exit_code = STILL_ACTIVE;
  GetExitCodeProcess(process.get(), &exit_code);
  return exit_code != STILL_ACTIVE || WaitForSingleObject(process.get(), 0) == WAIT_OBJECT_0;
}

bool running_under_wine() {
  const HMODULE ntdll = GetModuleHandleW(L"ntdll.dll");
  return ntdll != nullptr && GetProcAddress(ntdll, "wine_get_version") != nullptr;
}

bool enable_privilege(const wchar_t* name) {
  HANDLE raw_token = nullptr;
  if (!OpenProcessToken(GetCurrentProcess(), TOKEN_ADJUST_PRIVILEGES | TOKEN_QUERY, &raw_token)) {
    return false;
  }
  const UniqueHandle token(raw_token);
  TOKEN_PRIVILEGES privileges{};
  privileges.PrivilegeCount = 1;
  privileges.Privileges[0].Attributes = SE_PRIVILEGE_ENABLED;
  if (!LookupPrivilegeValueW(nullptr, name, &privileges.Privileges[0].Luid)) {
    return false;
  }
  // AdjustTokenPrivileges succeeds even when the token lacks the privilege; only the last error
  // (ERROR_NOT_ALL_ASSIGNED) tells.
  if (!AdjustTokenPrivileges(token.get(), FALSE, &privileges, sizeof(privileges), nullptr,
                             nullptr)) {
    return false;
  }
  return GetLastError() == ERROR_SUCCESS;
}

}  // namespace thx::win32
