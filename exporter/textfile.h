// Textfile mode: metrics written to a file for windows_exporter's and node_exporter's textfile
// collectors, the way their documentation asks: a temporary file with a unique name created
// exclusively beside the target, written, synced, then renamed over the target, so a collector
// never reads half a file. Only a regular file (or nothing) is replaced: a FIFO, a device, a
// directory or a link to one is refused. The platform calls are in textfile_os.h.
#pragma once

#include <filesystem>
#include <string>

namespace thx {

// Writes `text` (ending with a newline) to `path` atomically. Throws std::runtime_error naming
// the path and the OS's reason for the call that failed; the temporary file is gone then.
void write_textfile(const std::filesystem::path& path, const std::string& text);

}  // namespace thx
