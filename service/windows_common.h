// What the Windows service run time (windows_service.cpp) and the service controller
// (service_control.cpp) share: the service's names and a few Win32 helpers. Windows only.
#pragma once

#include <windows.h>

#include <string>

namespace thx::winsvc {

inline constexpr const wchar_t* kServiceName = L"toolhelp_exporter";
inline constexpr const wchar_t* kDisplayName = L"toolhelp_exporter (Prometheus exporter)";
inline constexpr const wchar_t* kEventSourceKey =
    L"SYSTEM\\CurrentControlSet\\Services\\EventLog\\Application\\toolhelp_exporter";

// "5 (Access is denied)": the code and the system's text for it.
std::string error_text(DWORD error);

// The full path of this program.
std::wstring this_executable();

}  // namespace thx::winsvc
