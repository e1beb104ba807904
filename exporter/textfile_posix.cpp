// The textfile writer's POSIX calls (textfile_os.h).
#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cerrno>
#include <cstdio>
#include <system_error>

#include "exporter/textfile_os.h"

namespace thx::textfile_os {
namespace {

[[noreturn]] void fail(int error) {
  throw OsError{std::generic_category().message(error)};
}

std::string kind_of(mode_t mode) {
  if (S_ISREG(mode)) {
    return "";
  }
  if (S_ISDIR(mode)) {
    return "a directory";
  }
  if (S_ISFIFO(mode)) {
    return "a FIFO";
  }
  if (S_ISCHR(mode)) {
    return "a character device";
  }
  if (S_ISBLK(mode)) {
    return "a block device";
  }
  if (S_ISSOCK(mode)) {
    return "a socket";
  }
  return "not a regular file";
}

}  // namespace

std::optional<std::string> what_is_at(const std::filesystem::path& path) {
  struct stat link {};
  if (::lstat(path.c_str(), &link) != 0) {
    if (errno == ENOENT) {
      return std::nullopt;
    }
    fail(errno);
  }
  if (!S_ISLNK(link.st_mode)) {
    return kind_of(link.st_mode);
  }
  struct stat target {};
  if (::stat(path.c_str(), &target) != 0) {
    if (errno == ENOENT) {
      return std::nullopt;  // a dangling link: the rename replaces the link, nothing else
    }
    fail(errno);
  }
  std::string kind = kind_of(target.st_mode);
  return kind.empty() ? kind : "a symbolic link to " + kind;
}

std::optional<NewFile> NewFile::create(const std::filesystem::path& path) {
  // 0666 less the umask, like any file a program writes: the collector may run as another user.
  // O_EXCL with O_CREAT also refuses a symbolic link of that name.
  const int fd = ::open(path.c_str(), O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC,  // NOLINT
                        S_IRUSR | S_IWUSR | S_IRGRP | S_IWGRP | S_IROTH | S_IWOTH);
  if (fd < 0) {
    if (errno == EEXIST) {
      return std::nullopt;
    }
    fail(errno);
  }
  return NewFile(fd);
}

NewFile::NewFile(NewFile&& other) noexcept : handle_(other.handle_) {
  other.handle_ = -1;
}

NewFile::~NewFile() {
  if (handle_ >= 0) {
    ::close(static_cast<int>(handle_));
  }
}

void NewFile::write(std::string_view data) {
  while (!data.empty()) {
    const ssize_t written = ::write(static_cast<int>(handle_), data.data(), data.size());
    if (written < 0) {
      if (errno == EINTR) {
        continue;
      }
      fail(errno);
    }
    data.remove_prefix(static_cast<std::size_t>(written));
  }
}

void NewFile::sync() {
  if (::fsync(static_cast<int>(handle_)) != 0) {
    fail(errno);
  }
}

void NewFile::close() {
  const int fd = static_cast<int>(handle_);
  handle_ = -1;  // closed whatever close() says: retrying could close another file
  if (::close(fd) != 0) {
    fail(errno);
  }
}

void replace(const std::filesystem::path& from, const std::filesystem::path& to) {
  if (::rename(from.c_str(), to.c_str()) != 0) {
    fail(errno);
  }
}

void remove(const std::filesystem::path& path) noexcept {
  ::unlink(path.c_str());
}

}  // namespace thx::textfile_os
