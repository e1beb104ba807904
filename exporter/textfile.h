// Textfile mode: metrics written to a file for windows_exporter's and node_exporter's textfile
// collectors. Written atomically (a temporary file beside it, then a rename), so a collector
// never reads half a file.
#pragma once

#include <filesystem>
#include <string>

namespace thx {

// Writes `text` (ending with a newline) to `path` atomically. Throws std::runtime_error naming
// the path and the OS reason.
void write_textfile(const std::filesystem::path& path, const std::string& text);

}  // namespace thx
