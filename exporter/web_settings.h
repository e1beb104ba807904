// What the HTTP endpoint is told. Owned here; config/ reads JSON into it.
#pragma once

#include <chrono>
#include <cstddef>
#include <map>
#include <string>
#include <vector>

namespace thx {

struct WebSettings {
  std::string listen_address = ":9835";  // host:port; an empty host means every interface
  std::string telemetry_path = "/metrics";
  bool enable_lifecycle = false;                        // POST /-/reload
  std::vector<std::string> allowed_networks;            // CIDR; empty: everyone
  std::map<std::string, std::string> basic_auth_users;  // user -> salted hash (exporter/access/)
  std::size_t max_connections = 8;                      // HTTP worker threads
  std::chrono::milliseconds request_timeout{10'000};
  std::string tls_cert_file;  // both set: serve HTTPS (Linux only)
  std::string tls_key_file;
  std::string tls_min_version = "TLS1.2";  // "TLS1.2" or "TLS1.3"

  bool operator==(const WebSettings&) const = default;
};

}  // namespace thx
