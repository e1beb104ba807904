#include "exporter/textfile.h"

#include <cstdint>
#include <optional>
#include <random>
#include <stdexcept>
#include <utility>

#include "exporter/textfile_os.h"

namespace thx {
namespace {

namespace os = textfile_os;

std::string utf8(const std::filesystem::path& path) {
  const std::u8string text = path.u8string();
  return {text.begin(), text.end()};
}

std::runtime_error failed(const std::string& what, const os::OsError& error) {
  return std::runtime_error(what + ": " + error.reason);
}

// "toolhelp.prom.tmp-3f9c0a17d2e4b865": beside the target (a rename is atomic only within one
// file system), and not ending in .prom, so the collectors never read it half-written.
std::filesystem::path temporary_name(const std::filesystem::path& target, std::uint64_t random) {
  constexpr std::string_view kDigits = "0123456789abcdef";
  std::string suffix = ".tmp-";
  for (int shift = 60; shift >= 0; shift -= 4) {
    suffix += kDigits[(random >> static_cast<unsigned>(shift)) & 0xFU];
  }
  std::filesystem::path name = target;
  name += suffix;
  return name;
}

// Closes and removes the temporary file unless it became the target (Windows deletes no open
// file).
class Cleanup {
 public:
  Cleanup(std::filesystem::path path, std::optional<os::NewFile>& file)
      : path_(std::move(path)), file_(file) {}
  Cleanup(const Cleanup&) = delete;
  Cleanup& operator=(const Cleanup&) = delete;
  Cleanup(Cleanup&&) = delete;
  Cleanup& operator=(Cleanup&&) = delete;
  ~Cleanup() {
    if (armed_) {
      file_.reset();
      os::remove(path_);
    }
  }
  void disarm() { armed_ = false; }

 private:
  std::filesystem::path path_;
  std::optional<os::NewFile>& file_;
  bool armed_ = true;
};

}  // namespace

void write_textfile(const std::filesystem::path& path, const std::string& text) {
  // The target is replaced by a rename, so only a regular file (or nothing) may be there: a FIFO,
  // a device or a link to one would silently become a regular file, a directory cannot be.
  std::optional<std::string> what;
  try {
    what = os::what_is_at(path);
  } catch (const os::OsError& error) {
    throw failed("cannot write " + utf8(path) + ": cannot look at it", error);
  }
  if (what && !what->empty()) {
    throw std::runtime_error("refusing to write " + utf8(path) + ": it is " + *what +
                             ", not a regular file (the textfile is replaced by renaming a new "
                             "file over it)");
  }

  // A name nobody else uses, created exclusively: never an existing file, never a planted link.
  std::random_device seed;
  std::mt19937_64 random((std::uint64_t{seed()} << 32U) ^ seed());
  constexpr int kAttempts = 16;
  std::filesystem::path temporary;
  std::optional<os::NewFile> file;
  for (int attempt = 0; attempt < kAttempts && !file; ++attempt) {
    temporary = temporary_name(path, random());
    try {
      if (auto created = os::NewFile::create(temporary)) {
        file.emplace(std::move(*created));
      }
    } catch (const os::OsError& error) {
      throw failed("cannot create " + utf8(temporary), error);
    }
  }
  if (!file) {
    throw std::runtime_error("cannot create a temporary file beside " + utf8(path) + ": " +
                             std::to_string(kAttempts) + " random names were all taken");
  }

  Cleanup cleanup(temporary, file);
  try {
    file->write(text);
    if (text.empty() || text.back() != '\n') {
      file->write("\n");
    }
    file->sync();
    file->close();
  } catch (const os::OsError& error) {
    throw failed("cannot write " + utf8(temporary), error);
  }
  try {
    os::replace(temporary, path);
  } catch (const os::OsError& error) {
    throw failed("cannot rename " + utf8(temporary) + " to " + utf8(path), error);
  }
  cleanup.disarm();
}

}  // namespace thx
