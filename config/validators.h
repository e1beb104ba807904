// The rules a configuration value must follow, one function a rule. Each returns what is wrong
// with a value (a sentence that quotes it), or nothing when it is fine. The file, the command-line
// flags and `service install` all check their values with these, so they agree on every input.
#pragma once

#include <chrono>
#include <optional>
#include <set>
#include <string>
#include <string_view>
#include <vector>

#include "exporter/web_settings.h"

namespace thx {

using Problem = std::optional<std::string>;
using NameSet = std::set<std::string, std::less<>>;

// Exactly one "host:port": an IPv4 address, a host name, "[IPv6]" or nothing (every interface)
// before the colon; a port from 0 (the OS picks one) to 65535 after it. No lists, no suffixes.
Problem listen_address_problem(std::string_view address);

// A plain URL path starting with "/", none of the exporter's own routes (exporter/routes.h).
Problem telemetry_path_problem(std::string_view path);

// "TLS1.2" or "TLS1.3".
Problem tls_version_problem(std::string_view version);

// The exporter-toolkit's client_auth_type: NoClientCert, RequestClientCert, RequireAnyClientCert,
// VerifyClientCertIfGiven, RequireAndVerifyClientCert.
Problem tls_client_auth_type_problem(std::string_view type);

// The TLS settings of the web section, named for tls_settings_problems.
enum class TlsSetting {
  cert_file,
  key_file,
  min_version,
  max_version,
  client_auth_type,
  client_ca_file
};

// How a configuration format spells the TLS settings and protocol versions in its messages: the
// JSON web section (tls_min_version, "TLS1.2") or --web.config.file's tls_server_config
// (min_version, "TLS12").
struct TlsSpelling {
  std::string (*setting)(TlsSetting);
  std::string (*version)(std::string_view);  // from WebSettings' spelling, "TLS1.2" or "TLS1.3"
};

struct TlsSettingProblem {
  TlsSetting setting;  // the one to change
  std::string message;
};

// The TLS settings of `web` together, each already valid alone (and the certificate and key both
// set or both not): the maximum protocol version not below the minimum, client certificates only
// over HTTPS, a CA file for the policies that verify against one, and a CA file only with a policy
// that asks for client certificates.
std::vector<TlsSettingProblem> tls_settings_problems(const WebSettings& web,
                                                     const TlsSpelling& spelling);

// trace, debug, info, warn, error, critical, off (spdlog's names).
Problem log_level_problem(std::string_view level);

// "10.0.0.0/8", "fd00::/8".
Problem cidr_problem(std::string_view network);

// A salted hash as printed by `toolhelp_exporter hash-password` (PBKDF2), or a bcrypt hash as
// `htpasswd -nBC 10` prints it. The message never repeats the hash.
Problem password_hash_problem(std::string_view hash);

// A bcrypt hash only ($2a$, $2b$, $2y$; cost 4 to 31): the exporter-toolkit's basic_auth_users.
Problem bcrypt_hash_problem(std::string_view hash);

Problem non_empty_problem(std::string_view text);

// A group name template: text with {placeholder}s, each one of `allowed`; braces always pair up.
Problem template_problem(std::string_view text, const NameSet& allowed);

// groups.unmatched_group: a template with {name} and {path} only.
Problem unmatched_group_problem(std::string_view text);

// "1h30m", "15s", "100ms": decimal numbers, each with a unit (h, m, s, ms), units from largest
// to smallest, each at most once. nullopt when malformed.
std::optional<std::chrono::milliseconds> parse_duration(std::string_view text);
// The shortest text parse_duration reads back as `duration` ("1m30s", "0s").
std::string format_duration(std::chrono::milliseconds duration);

// `text` as a JSON string literal, for quoting a value in a message.
std::string quote(std::string_view text);

}  // namespace thx
