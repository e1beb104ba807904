// Fuzz target: the --web.config.file reader (exporter-toolkit YAML) on any bytes, laid over a
// default JSON configuration. It must never throw or crash, must either give a configuration or
// name at least one error (with the file's name), and what it accepts must follow the rules the
// reader documents: TLS whole or not at all with a version range left, a CA file for the policies
// that verify, only the toolkit's headers without control characters, only bcrypt hashes.
#include <algorithm>
#include <cstddef>
#include <cstdint>
#include <string_view>

#include "config/config.h"
#include "config/validators.h"
#include "tests/fuzz/fuzz_targets.h"

namespace thx::fuzz {

void web_config_one_input(std::string_view data) {
  ConfigLoadResult result = load_config_text("{}", "fuzz.json");
  THX_FUZZ_CHECK(result.config.has_value());
  apply_web_config_text(data, "fuzz-web.yml", "/etc/thx", "fuzz.json", result);
  THX_FUZZ_CHECK(result.config.has_value() == result.errors.empty());
  for (const ConfigError& error : result.errors) {
    THX_FUZZ_CHECK(std::string_view(error.path).starts_with("fuzz-web.yml"));
    THX_FUZZ_CHECK(!error.message.empty());
  }
  if (!result.config) {
    return;
  }
  const WebSettings& web = result.config->web;
  const WebSettings defaults;
  // Only the web section's TLS, users and headers change; the rest stays the JSON's.
  THX_FUZZ_CHECK(web.listen_address == defaults.listen_address);
  THX_FUZZ_CHECK(web.allowed_networks == defaults.allowed_networks);
  THX_FUZZ_CHECK(web.tls_cert_file.empty() == web.tls_key_file.empty());
  THX_FUZZ_CHECK(!tls_version_problem(web.tls_min_version));
  THX_FUZZ_CHECK(!tls_version_problem(web.tls_max_version));
  THX_FUZZ_CHECK(!tls_client_auth_type_problem(web.tls_client_auth_type));
  THX_FUZZ_CHECK(tls_settings_problems(web, {[](TlsSetting) { return std::string("x"); },
                                             [](std::string_view v) { return std::string(v); }})
                     .empty());
  if (web.tls_cert_file.empty()) {
    // No HTTPS: no other TLS setting either, and no names for them.
    THX_FUZZ_CHECK(web.tls_client_ca_file.empty());
    THX_FUZZ_CHECK(web.tls_client_auth_type == defaults.tls_client_auth_type);
    THX_FUZZ_CHECK(web.tls_setting_names.empty());
  } else {
    THX_FUZZ_CHECK(web.tls_setting_names.size() == 6);
    for (const auto& [setting, name] : web.tls_setting_names) {
      THX_FUZZ_CHECK(setting.starts_with("tls_"));
      THX_FUZZ_CHECK(name.starts_with("fuzz-web.yml:"));
      THX_FUZZ_CHECK(name.find(": tls_server_config." + setting.substr(4)) != std::string::npos);
    }
  }
  for (const auto& [user, hash] : web.basic_auth_users) {
    THX_FUZZ_CHECK(!user.empty() && user.find(':') == std::string::npos);
    THX_FUZZ_CHECK(!bcrypt_hash_problem(hash));
  }
  for (const auto& [name, value] : web.response_headers) {
    THX_FUZZ_CHECK(name == "Strict-Transport-Security" || name == "X-Content-Type-Options" ||
                   name == "X-Frame-Options" || name == "X-XSS-Protection" ||
                   name == "Content-Security-Policy");
    THX_FUZZ_CHECK(!value.empty());
    THX_FUZZ_CHECK(std::none_of(value.begin(), value.end(), [](char c) {
      const auto byte = static_cast<unsigned char>(c);
      return (byte < 0x20 && byte != '\t') || byte == 0x7F;
    }));
  }
}

}  // namespace thx::fuzz

#ifdef THX_FUZZ_ENTRY_POINT
extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  thx::fuzz::web_config_one_input({reinterpret_cast<const char*>(data), size});
  return 0;
}
#endif
