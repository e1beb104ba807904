#include "config/file_text.h"

#include <array>
#include <cerrno>
#include <fstream>
#include <system_error>

namespace thx {

std::string utf8_name(const std::filesystem::path& file) {
  const std::u8string name = file.u8string();
  return {name.begin(), name.end()};
}

std::optional<std::string> read_file_text(const std::filesystem::path& file, std::size_t max_bytes,
                                          std::string_view too_large, std::string& problem) {
  std::error_code status_error;
  if (std::filesystem::is_directory(file, status_error)) {
    problem = "it is a directory";
    return std::nullopt;
  }
  errno = 0;
  std::ifstream in(file, std::ios::binary);
  if (!in) {
    problem = errno != 0 ? std::generic_category().message(errno) : "it cannot be opened";
    return std::nullopt;
  }
  std::string text;
  std::array<char, std::size_t{64} * 1024> chunk{};
  while (in.read(chunk.data(), static_cast<std::streamsize>(chunk.size())) || in.gcount() > 0) {
    text.append(chunk.data(), static_cast<std::size_t>(in.gcount()));
    if (text.size() > max_bytes) {
      problem = too_large;
      return std::nullopt;
    }
  }
  if (in.bad()) {
    problem = "reading it failed";
    return std::nullopt;
  }
  return text;
}

}  // namespace thx
