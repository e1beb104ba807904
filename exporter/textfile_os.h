// The platform part of the textfile writer (the rule is in textfile.cpp): what is at a path, a
// file created exclusively, a rename that replaces. POSIX in textfile_posix.cpp, Windows in
// textfile_windows.cpp. A failed call throws OsError with the OS's reason, taken right after
// the call (nothing in between can overwrite errno or the last error).
#pragma once

#include <cstdint>
#include <filesystem>
#include <optional>
#include <string>
#include <string_view>

namespace thx::textfile_os {

struct OsError {
  std::string reason;  // "No such file or directory"; on Windows "5 (Access is denied)"
};

// What is at `path`, following symbolic links: nothing (nullopt, a dangling link included), a
// regular file (""), or something else, said as "a directory", "a FIFO", "a character
// device", "a symbolic link to a FIFO"...
std::optional<std::string> what_is_at(const std::filesystem::path& path);

// A file this process created (closed when destroyed).
class NewFile {
 public:
  // Creates `path` exclusively: never opens or truncates what exists, never follows a link.
  // nullopt when something of that name exists.
  static std::optional<NewFile> create(const std::filesystem::path& path);

  NewFile(NewFile&& other) noexcept;
  NewFile& operator=(NewFile&&) = delete;
  NewFile(const NewFile&) = delete;
  NewFile& operator=(const NewFile&) = delete;
  ~NewFile();

  void write(std::string_view data);
  void sync();   // to the disk (fsync, FlushFileBuffers)
  void close();  // closing can report a failed write too

 private:
  explicit NewFile(std::intptr_t handle) : handle_(handle) {}
  std::intptr_t handle_;  // a file descriptor, or a HANDLE; -1 when closed
};

// Renames `from` over `to`, replacing a file there (atomically within one file system).
void replace(const std::filesystem::path& from, const std::filesystem::path& to);

// Best effort: removes the file if it is there.
void remove(const std::filesystem::path& path) noexcept;

}  // namespace thx::textfile_os
