// thx_win_child: a Windows process that does a known amount of work, for the Tool Help source's
// tests to find in snapshots.
//
//   thx_win_child [--load DLL]... [--burn-ms N] [--touch-mb N] [--open-files N]
//                 [--write-mb N --write-to FILE] [--ready EVENT]
//
// Loads each DLL (LoadLibraryW, by the path as given), burns N ms of CPU in user mode, touches
// N MiB of private memory, holds N open handles to one file, writes N MiB to FILE; then signals
// the named event EVENT (when given) and sleeps until it is ended. Exits 2 on a bad argument, 3
// when a step failed.
#include <windows.h>

#include <cstdlib>
#include <cwchar>
#include <string>
#include <vector>

namespace {

bool number(const wchar_t* text, unsigned long& out) {
  wchar_t* end = nullptr;
  out = std::wcstoul(text, &end, 10);
  return end != text && *end == L'\0';
}

volatile unsigned long long g_sink = 0;

void burn(unsigned long milliseconds) {
  FILETIME created{};
  FILETIME exited{};
  FILETIME kernel{};
  FILETIME user{};
  const auto user_ms = [&] {
    GetProcessTimes(GetCurrentProcess(), &created, &exited, &kernel, &user);
    return ((static_cast<unsigned long long>(user.dwHighDateTime) << 32U) | user.dwLowDateTime) /
           10'000ULL;
  };
  const unsigned long long start = user_ms();
  while (user_ms() - start < milliseconds) {
    for (int i = 0; i < 100'000; ++i) {
      g_sink = g_sink * 6364136223846793005ULL + 1442695040888963407ULL;
    }
  }
}

}  // namespace

int wmain(int argc, wchar_t** argv) {
  std::vector<std::wstring> dlls;
  unsigned long burn_ms = 0;
  unsigned long touch_mb = 0;
  unsigned long open_files = 0;
  unsigned long write_mb = 0;
  std::wstring write_to;
  std::wstring ready;
  for (int i = 1; i + 1 < argc; i += 2) {
    const std::wstring flag = argv[i];
    const wchar_t* value = argv[i + 1];
    bool ok = true;
    if (flag == L"--load") {
      dlls.emplace_back(value);
    } else if (flag == L"--burn-ms") {
      ok = number(value, burn_ms);
    } else if (flag == L"--touch-mb") {
      ok = number(value, touch_mb);
    } else if (flag == L"--open-files") {
      ok = number(value, open_files);
    } else if (flag == L"--write-mb") {
      ok = number(value, write_mb);
    } else if (flag == L"--write-to") {
      write_to = value;
    } else if (flag == L"--ready") {
      ready = value;
    } else {
      ok = false;
    }
    if (!ok) {
      return 2;
    }
  }
  if (argc % 2 == 0 || (write_mb > 0 && write_to.empty())) {
    return 2;
  }
  for (const std::wstring& dll : dlls) {
    if (LoadLibraryW(dll.c_str()) == nullptr) {
      return 3;
    }
  }
  burn(burn_ms);
  if (touch_mb > 0) {
    const std::size_t bytes = std::size_t{touch_mb} << 20U;
    auto* memory = static_cast<volatile char*>(
        VirtualAlloc(nullptr, bytes, MEM_COMMIT | MEM_RESERVE, PAGE_READWRITE));
    if (memory == nullptr) {
      return 3;
    }
    for (std::size_t offset = 0; offset < bytes; offset += 4096) {
      memory[offset] = 1;
    }
  }
  if (write_mb > 0 || open_files > 0) {
    const HANDLE file = CreateFileW(
        write_to.empty() ? argv[0] : write_to.c_str(), write_mb > 0 ? GENERIC_WRITE : GENERIC_READ,
        FILE_SHARE_READ | FILE_SHARE_WRITE, nullptr, write_mb > 0 ? CREATE_ALWAYS : OPEN_EXISTING,
        FILE_ATTRIBUTE_NORMAL, nullptr);
    if (file == INVALID_HANDLE_VALUE) {
      return 3;
    }
    const std::vector<char> chunk(std::size_t{1} << 20U, 'x');
    for (unsigned long i = 0; i < write_mb; ++i) {
      DWORD written = 0;
      if (!WriteFile(file, chunk.data(), static_cast<DWORD>(chunk.size()), &written, nullptr)) {
        return 3;
      }
    }
    for (unsigned long i = 0; i < open_files; ++i) {
      HANDLE copy = nullptr;
      if (!DuplicateHandle(GetCurrentProcess(), file, GetCurrentProcess(), &copy, 0, FALSE,
                           DUPLICATE_SAME_ACCESS)) {
        return 3;
      }
    }
  }
  if (!ready.empty()) {
    const HANDLE event = OpenEventW(EVENT_MODIFY_STATE, FALSE, ready.c_str());
    if (event == nullptr || !SetEvent(event)) {
      return 3;
    }
  }
  Sleep(INFINITE);
  return 0;
}
