#include "exporter/textfile.h"

#include <cerrno>
#include <cstring>
#include <fstream>
#include <stdexcept>
#include <system_error>

namespace thx {

void write_textfile(const std::filesystem::path& path, const std::string& text) {
  // Same folder as the target: rename() is atomic only within one file system. The collectors
  // read only *.prom files, so the temporary name is never picked up half-written.
  std::filesystem::path temporary = path;
  temporary += ".tmp";
  {
    std::ofstream out(temporary, std::ios::binary | std::ios::trunc);
    if (!out) {
      throw std::runtime_error("cannot write " + temporary.string() + ": " + std::strerror(errno));
    }
    out << text;
    if (text.empty() || text.back() != '\n') {
      out << '\n';
    }
    out.flush();
    if (!out) {
      throw std::runtime_error("cannot write " + temporary.string() + ": " + std::strerror(errno));
    }
  }
  std::error_code error;
  std::filesystem::rename(temporary, path, error);  // replaces an existing file on both platforms
  if (error) {
    std::filesystem::remove(temporary, error);
    throw std::runtime_error("cannot rename " + temporary.string() + " to " + path.string() + ": " +
                             error.message());
  }
}

}  // namespace thx
