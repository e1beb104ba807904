// The source for the platform this program was built for: Tool Help on Windows
// (collector/windows/), procfs on Linux (collector/linux/).
#pragma once

#include <filesystem>
#include <memory>
#include <string_view>

#include "collector/model/source.h"

namespace thx {

struct PlatformSourceOptions {
  // Linux only: where procfs is mounted, so tests can point at fake trees.
  std::filesystem::path proc_root = "/proc";
};

// The source for the platform this program was built for (Tool Help on Windows, procfs on Linux).
std::unique_ptr<SnapshotSource> make_platform_source(const PlatformSourceOptions& options = {});

// "windows" or "linux": the platform label of build_info and of snapshots.
std::string_view platform_name();

}  // namespace thx
