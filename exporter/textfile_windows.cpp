// The textfile writer's Win32 calls (textfile_os.h).
#include <windows.h>

#include <string>

#include "exporter/textfile_os.h"

namespace thx::textfile_os {
namespace {

std::string to_utf8(std::wstring_view text) {
  if (text.empty()) {
    return {};
  }
  const int size = WideCharToMultiByte(CP_UTF8, 0, text.data(), static_cast<int>(text.size()),
                                       nullptr, 0, nullptr, nullptr);
  std::string out(static_cast<std::size_t>(size > 0 ? size : 0), '\0');
  if (size > 0) {
    WideCharToMultiByte(CP_UTF8, 0, text.data(), static_cast<int>(text.size()), out.data(), size,
                        nullptr, nullptr);
  }
  return out;
}

// "5 (Access is denied)": the number a search finds, and the system's words for it.
[[noreturn]] void fail(DWORD error) {
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
  throw OsError{std::to_string(error) + (text.empty() ? "" : " (" + to_utf8(text) + ")")};
}

HANDLE handle_of(std::intptr_t handle) {
  return reinterpret_cast<HANDLE>(handle);  // NOLINT(performance-no-int-to-ptr)
}

}  // namespace

std::optional<std::string> what_is_at(const std::filesystem::path& path) {
  // Opened for its attributes only, following links (no FILE_FLAG_OPEN_REPARSE_POINT); backup
  // semantics open a directory too. Devices (NUL, CON, COM1, \\.\...) open as themselves.
  const HANDLE handle = CreateFileW(path.c_str(), FILE_READ_ATTRIBUTES,
                                    FILE_SHARE_READ | FILE_SHARE_WRITE | FILE_SHARE_DELETE, nullptr,
                                    OPEN_EXISTING, FILE_FLAG_BACKUP_SEMANTICS, nullptr);
  if (handle == INVALID_HANDLE_VALUE) {
    const DWORD error = GetLastError();
    if (error == ERROR_FILE_NOT_FOUND || error == ERROR_PATH_NOT_FOUND) {
      return std::nullopt;
    }
    fail(error);
  }
  std::string kind;
  const DWORD type = GetFileType(handle);
  BY_HANDLE_FILE_INFORMATION info{};
  if (type == FILE_TYPE_CHAR) {
    kind = "a character device";
  } else if (type == FILE_TYPE_PIPE) {
    kind = "a pipe";
  } else if (type != FILE_TYPE_DISK) {
    kind = "not a regular file";
  } else if (GetFileInformationByHandle(handle, &info) == 0) {
    const DWORD error = GetLastError();
    CloseHandle(handle);
    fail(error);
  } else if ((info.dwFileAttributes & FILE_ATTRIBUTE_DIRECTORY) != 0) {
    kind = "a directory";
  }
  CloseHandle(handle);
  const DWORD attributes = GetFileAttributesW(path.c_str());
  const bool link =
      attributes != INVALID_FILE_ATTRIBUTES && (attributes & FILE_ATTRIBUTE_REPARSE_POINT) != 0;
  return link && !kind.empty() ? "a symbolic link to " + kind : kind;
}

std::optional<NewFile> NewFile::create(const std::filesystem::path& path) {
  const HANDLE handle = CreateFileW(path.c_str(), GENERIC_WRITE, 0, nullptr, CREATE_NEW,
                                    FILE_ATTRIBUTE_NORMAL, nullptr);
  if (handle == INVALID_HANDLE_VALUE) {
    const DWORD error = GetLastError();
    if (error == ERROR_FILE_EXISTS || error == ERROR_ALREADY_EXISTS) {
      return std::nullopt;
    }
    fail(error);
  }
  return NewFile(reinterpret_cast<std::intptr_t>(handle));
}

NewFile::NewFile(NewFile&& other) noexcept : handle_(other.handle_) {
  other.handle_ = -1;
}

NewFile::~NewFile() {
  if (handle_ != -1) {
    CloseHandle(handle_of(handle_));
  }
}

void NewFile::write(std::string_view data) {
  constexpr std::size_t kChunk = std::size_t{1} << 30;
  while (!data.empty()) {
    DWORD written = 0;
    const auto size = static_cast<DWORD>(data.size() < kChunk ? data.size() : kChunk);
    if (WriteFile(handle_of(handle_), data.data(), size, &written, nullptr) == 0) {
      fail(GetLastError());
    }
    data.remove_prefix(written);
  }
}

void NewFile::sync() {
  if (FlushFileBuffers(handle_of(handle_)) == 0) {
    fail(GetLastError());
  }
}

void NewFile::close() {
  const HANDLE handle = handle_of(handle_);
  handle_ = -1;
  if (CloseHandle(handle) == 0) {
    fail(GetLastError());
  }
}

void replace(const std::filesystem::path& from, const std::filesystem::path& to) {
  if (MoveFileExW(from.c_str(), to.c_str(), MOVEFILE_REPLACE_EXISTING | MOVEFILE_WRITE_THROUGH) ==
      0) {
    fail(GetLastError());
  }
}

void remove(const std::filesystem::path& path) noexcept {
  DeleteFileW(path.c_str());
}

}  // namespace thx::textfile_os
