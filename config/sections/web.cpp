// $.web: the HTTP endpoint (exporter/web_settings.h).
#include <map>
#include <string>

#include "config/sections.h"

namespace thx::config_json {
namespace {

constexpr std::chrono::minutes kMaxRequestTimeout{5};

// user -> salted hash. The hash format is the exporter's business; here it only must be there.
void read_users(Reader& reader, const Json& json, const std::string& path,
                std::map<std::string, std::string>& users) {
  if (!json.is_object()) {
    reader.expected(path, "an object mapping user names to password hashes", json);
    return;
  }
  for (const auto& [user, hash] : json.items()) {
    if (is_comment_key(user)) {
      continue;
    }
    const std::string at = child_path(path, user);
    if (user.empty() || user.find(':') != std::string::npos) {
      reader.error(at, "a user name must be non-empty and cannot contain ':' (HTTP basic auth)");
    } else if (auto text = reader.string(hash, at, password_hash_problem)) {
      users[user] = std::move(*text);
    }
  }
}

std::string json_tls_name(TlsSetting setting) {
  switch (setting) {
    case TlsSetting::cert_file:
      return "tls_cert_file";
    case TlsSetting::key_file:
      return "tls_key_file";
    case TlsSetting::min_version:
      return "tls_min_version";
    case TlsSetting::max_version:
      return "tls_max_version";
    case TlsSetting::client_auth_type:
      return "tls_client_auth_type";
    case TlsSetting::client_ca_file:
      break;
  }
  return "tls_client_ca_file";
}

// The JSON spells versions as WebSettings does.
std::string json_tls_version(std::string_view version) {
  return std::string(version);
}

constexpr TlsSpelling kJsonTlsSpelling{&json_tls_name, &json_tls_version};

// HTTPS: the certificate and key, the protocol versions, and the client certificate policy with
// its CA file (the exporter-toolkit's tls_server_config, under flat tls_ names).
void read_tls(Reader& reader, Fields& fields, WebSettings& web) {
  const std::size_t errors_before = reader.error_count();
  fields.get("tls_cert_file", web.tls_cert_file);
  fields.get("tls_key_file", web.tls_key_file);
  // HTTPS needs both; one alone is a half-finished edit, not a choice.
  if (reader.error_count() == errors_before &&
      web.tls_cert_file.empty() != web.tls_key_file.empty()) {
    const bool cert_missing = web.tls_cert_file.empty();
    reader.error(fields.path(cert_missing ? "tls_cert_file" : "tls_key_file"),
                 std::string("must be set too: ") +
                     (cert_missing ? "tls_key_file" : "tls_cert_file") +
                     " is set, and HTTPS needs both the certificate and its key");
  }
  fields.get("tls_min_version", web.tls_min_version, tls_version_problem);
  fields.get("tls_max_version", web.tls_max_version, tls_version_problem);
  fields.get("tls_client_auth_type", web.tls_client_auth_type, tls_client_auth_type_problem);
  fields.get("tls_client_ca_file", web.tls_client_ca_file);
  if (reader.error_count() != errors_before) {
    return;  // the checks below would only repeat what is already reported
  }
  for (const TlsSettingProblem& problem : tls_settings_problems(web, kJsonTlsSpelling)) {
    reader.error(fields.path(json_tls_name(problem.setting)), problem.message);
  }
}

}  // namespace

void read_web(Reader& reader, const Json& json, const std::string& path, WebSettings& web) {
  using std::chrono::milliseconds;
  Fields fields(
      reader, json, path,
      {"listen_address", "telemetry_path", "enable_lifecycle", "allowed_networks",
       "basic_auth_users", "max_connections", "max_connections_per_client", "request_timeout",
       "idle_timeout", "enable_snapshot", "snapshot_command_lines", "tls_cert_file", "tls_key_file",
       "tls_min_version", "tls_max_version", "tls_client_auth_type", "tls_client_ca_file"});
  fields.get("listen_address", web.listen_address, listen_address_problem);
  fields.get("telemetry_path", web.telemetry_path, telemetry_path_problem);
  fields.get("enable_lifecycle", web.enable_lifecycle);
  fields.get("allowed_networks", web.allowed_networks, cidr_problem);
  if (const Json* users = fields.find("basic_auth_users")) {
    read_users(reader, *users, fields.path("basic_auth_users"), web.basic_auth_users);
  }
  fields.get("max_connections", web.max_connections, 1, 1024);
  fields.get("max_connections_per_client", web.max_connections_per_client, 1, 1024);
  // The time a client has to send its request: minutes would only let slow clients hold the
  // connections (web.max_connections) that scrapes need.
  fields.get("request_timeout", web.request_timeout, milliseconds{1}, kMaxRequestTimeout);
  fields.get("idle_timeout", web.idle_timeout, milliseconds{1});
  fields.get("enable_snapshot", web.enable_snapshot);
  fields.get("snapshot_command_lines", web.snapshot_command_lines);
  read_tls(reader, fields, web);
}

}  // namespace thx::config_json
