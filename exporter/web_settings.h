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
  bool enable_lifecycle = false;              // POST /-/reload
  std::vector<std::string> allowed_networks;  // CIDR; empty: everyone
  // user -> PBKDF2 or bcrypt hash (exporter/access/stored_password.h)
  std::map<std::string, std::string> basic_auth_users;
  // Sent with every answer (http_server_config.headers of --web.config.file): only the security
  // headers the exporter-toolkit lets users set (config/ checks the names and values).
  std::map<std::string, std::string> response_headers;
  std::size_t max_connections = 64;            // open connections at once, from everyone
  std::size_t max_connections_per_client = 8;  // open connections at once, from one address
  // A request's headers (and a small body) must arrive within this of their first byte, and an
  // answer must be taken within it.
  std::chrono::milliseconds request_timeout{10'000};
  // A keep-alive connection waits this long for its next request (Prometheus keeps its
  // connection between scrapes; the idle timeout should outlast the scrape interval).
  std::chrono::milliseconds idle_timeout{120'000};
  // /snapshot: served at all, and with the command lines the collector read for grouping rules
  // (they may hold secrets: mysql --password=..., tokens in arguments).
  bool enable_snapshot = true;
  bool snapshot_command_lines = false;
  std::string tls_cert_file;  // both set: serve HTTPS
  std::string tls_key_file;
  std::string tls_min_version = "TLS1.2";  // "TLS1.2" or "TLS1.3"
  std::string tls_max_version = "TLS1.3";  // "TLS1.2" or "TLS1.3", not below the minimum
  // Client certificates, with the exporter-toolkit's policy names: "NoClientCert",
  // "RequestClientCert", "RequireAnyClientCert", "VerifyClientCertIfGiven" or
  // "RequireAndVerifyClientCert". The two that verify check against tls_client_ca_file (PEM).
  std::string tls_client_auth_type = "NoClientCert";
  std::string tls_client_ca_file;
  // How the configuration names each TLS setting, for the message about a file that cannot be
  // used (at startup or on a reload): "tls_client_ca_file" -> "web.yml:5:
  // tls_server_config.client_ca_file" when --web.config.file set it. A setting not here is named
  // as the JSON web section names it (web.tls_client_ca_file).
  std::map<std::string, std::string> tls_setting_names;

  bool operator==(const WebSettings&) const = default;
};

}  // namespace thx
