// What the service itself is told (logging). Owned here, in a header-only library below config/,
// so config/ can read JSON into it without depending on the service.
#pragma once

#include <cstddef>
#include <string>

namespace thx {

struct LogSettings {
  std::string level = "info";  // trace, debug, info, warn, error, critical, off
  std::string file;            // empty: no log file (the Windows service defaults one)
  std::size_t file_max_bytes = std::size_t{10} * 1024 * 1024;
  std::size_t file_max_files = 3;
};

}  // namespace thx
