// The paths the exporter serves itself, besides the metrics (whose path is configurable). One
// list: the run loop registers these routes, the pages link to them, and the configuration
// refuses a telemetry path that would hide one of them.
#pragma once

#include <array>
#include <string_view>

namespace thx::routes {

inline constexpr std::string_view kLanding = "/";
inline constexpr std::string_view kHealth = "/healthz";
inline constexpr std::string_view kSnapshot = "/snapshot";
inline constexpr std::string_view kReload = "/-/reload";

inline constexpr std::array<std::string_view, 4> kReserved = {kLanding, kHealth, kSnapshot,
                                                              kReload};

}  // namespace thx::routes
