#pragma once

#include <string_view>

namespace thx {

// From `git describe` at build time (cmake/Version.cmake).
std::string_view version();
std::string_view revision();

}  // namespace thx
