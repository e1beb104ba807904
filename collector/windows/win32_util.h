// Small Win32 helpers for the Tool Help source: handle ownership, UTF-16 to UTF-8, time and error
// conversion, privileges, and the cache of module version resources. Windows only.
#pragma once

#include <windows.h>

#include <chrono>
#include <cstdint>
#include <map>
#include <optional>
#include <stop_token>
#include <string>
#include <string_view>
#include <utility>

#include "collector/model/snapshot.h"

namespace thx::win32 {

// Owns one HANDLE and closes it exactly once. Both null and INVALID_HANDLE_VALUE mean "no
// handle", because OpenProcess reports failure with the first and CreateToolhelp32Snapshot with
// the second.
class UniqueHandle {
 public:
  UniqueHandle() = default;
  explicit UniqueHandle(HANDLE handle) : handle_(handle) {}
  ~UniqueHandle() { reset(); }
  UniqueHandle(const UniqueHandle&) = delete;
  UniqueHandle& operator=(const UniqueHandle&) = delete;
  UniqueHandle(UniqueHandle&& other) noexcept : handle_(std::exchange(other.handle_, nullptr)) {}
  UniqueHandle& operator=(UniqueHandle&& other) noexcept;

  [[nodiscard]] HANDLE get() const { return handle_; }
  [[nodiscard]] bool valid() const;
  explicit operator bool() const { return valid(); }
  void reset(HANDLE handle = nullptr);

 private:
  HANDLE handle_ = nullptr;
};

// UTF-16 (what Windows returns) to UTF-8 (what the snapshot holds), and back for API calls.
std::string to_utf8(std::wstring_view text);
std::wstring to_wide(std::string_view text);

// A FILETIME (100 ns ticks since 1601-01-01 UTC) as nanoseconds since the Unix epoch.
std::int64_t filetime_to_unix_ns(const FILETIME& time);

// The snapshot's reason for a Win32 error code. ERROR_INVALID_PARAMETER means a process id that no
// longer exists, so it maps to `vanished`.
ErrorReason reason_from_error(DWORD error);

// Opens a process with exactly `access`; an empty handle (and GetLastError) on failure.
UniqueHandle open_process(DWORD pid, DWORD access);

// Whether `pid` names no running process any more (or one being terminated). Used to tell a
// process that exited while we read it from one that refuses us: Wine answers
// ERROR_ACCESS_DENIED for both.
bool process_has_exited(DWORD pid);

// Whether this program runs under Wine (ntdll exports wine_get_version), where a few process
// queries answer wrong values instead of failing: the source leaves those facts empty there.
bool running_under_wine();

// Enables a privilege the process token already holds (SeDebugPrivilege, ...). False when the
// account does not hold it, which is normal for a non-administrator.
bool enable_privilege(const wchar_t* name);

// Version resources of module files, keyed by path. A file is opened only when its size or
// last-write time changed since it was last read. Defined in module_version_windows.cpp.
class ModuleVersionCache {
 public:
  using Clock = std::chrono::steady_clock;
  static constexpr std::chrono::minutes kRetryMissingAfter{10};

  // Adds the version resource of every distinct module path in `snapshot` to
  // snapshot.module_versions (files without one are left out). A path checked (size and time)
  // less than `recheck_after` ago is trusted without looking at the file: a loaded module's file
  // rarely changes, and thousands of paths are common. A file that could not be looked at (gone,
  // refused, an unreachable share) is not tried again for `recheck_after` or kRetryMissingAfter,
  // whichever is longer. Returns false when `stop` cut it short.
  bool fill(Snapshot& snapshot, const std::stop_token& stop,
            std::chrono::seconds recheck_after = std::chrono::seconds(0));

  // Forgets the files that the last fill() did not see, so the cache follows the loaded modules.
  // Not called after a stopped cycle, which saw only part of them.
  void prune();

  // How many files were opened for their version resource so far (tests and benchmarks).
  [[nodiscard]] std::uint64_t files_read() const { return files_read_; }
  // How many times a file's attributes were asked for, found or not (tests and benchmarks).
  [[nodiscard]] std::uint64_t files_looked_up() const { return files_looked_up_; }
  [[nodiscard]] std::size_t size() const { return entries_.size(); }

 private:
  struct Entry {
    std::uint64_t size = 0;
    std::uint64_t write_time = 0;
    std::optional<ModuleVersion> version;  // empty: the file has no version resource
    Clock::time_point checked_at{};
    std::uint64_t last_seen_fill = 0;
    bool missing = false;  // the file could not be looked at: not tried again before retry_at
    Clock::time_point retry_at{};
  };
  const Entry* lookup(const std::string& path, Clock::time_point now,
                      std::chrono::seconds recheck_after);

  std::map<std::string, Entry> entries_;
  std::uint64_t fill_count_ = 0;
  std::uint64_t files_read_ = 0;
  std::uint64_t files_looked_up_ = 0;
};

// A path as Windows file APIs take it whatever its length: `\\?\` before a drive path of
// MAX_PATH or more, `\\?\UNC\` for such a share path; shorter paths unchanged.
std::wstring extended_path(std::wstring path);

}  // namespace thx::win32
