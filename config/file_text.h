// Reading a configuration file: one rule for the JSON file and the web configuration file.
#pragma once

#include <cstddef>
#include <filesystem>
#include <optional>
#include <string>
#include <string_view>

namespace thx {

// The path as UTF-8, as it appears in messages.
std::string utf8_name(const std::filesystem::path& file);

// Reads a whole file of at most max_bytes, or says why not in the OS's words (`too_large` when
// the file is longer; it is read no further than one byte past the bound).
std::optional<std::string> read_file_text(const std::filesystem::path& file, std::size_t max_bytes,
                                          std::string_view too_large, std::string& problem);

}  // namespace thx
