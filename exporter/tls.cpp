#include "exporter/tls.h"

#include "exporter/openssl_errors.h"

#include <openssl/x509.h>

#include <array>
#include <string_view>

namespace thx {
namespace {

// Names the setting as the configuration does: the JSON web section's key, or the web
// configuration file's (WebSettings::tls_setting_names).
TlsProblem problem(const WebSettings& web, std::string setting, const std::string& text) {
  const auto named = web.tls_setting_names.find(setting);
  if (named != web.tls_setting_names.end()) {
    return {std::move(setting), named->second, named->second + " " + text};
  }
  std::string where = "$.web." + setting;
  std::string message = "web." + setting + " " + text;
  return {std::move(setting), std::move(where), std::move(message)};
}

// No passphrase prompts: an encrypted key fails to load instead of waiting on a terminal.
int no_passphrase(char* /*buffer*/, int /*size*/, int /*rwflag*/, void* /*userdata*/) {
  return 0;
}

// RequestClientCert and RequireAnyClientCert ask for a certificate without checking who signed
// it (as the exporter-toolkit does): the handshake goes on whatever the chain.
int accept_any_certificate(int /*preverified*/, X509_STORE_CTX* /*store*/) {
  return 1;
}

int protocol_version(std::string_view name) {
  return name == "TLS1.3" ? TLS1_3_VERSION : TLS1_2_VERSION;
}

// The exporter-toolkit's client_auth_type values, as OpenSSL verify modes.
struct ClientAuth {
  bool ask = false;      // request a certificate
  bool require = false;  // fail the handshake without one
  bool verify = false;   // a certificate must chain to the client CA file
};

ClientAuth client_auth(std::string_view type) {
  if (type == "RequestClientCert") {
    return {true, false, false};
  }
  if (type == "RequireAnyClientCert") {
    return {true, true, false};
  }
  if (type == "VerifyClientCertIfGiven") {
    return {true, false, true};
  }
  if (type == "RequireAndVerifyClientCert") {
    return {true, true, true};
  }
  return {};  // NoClientCert
}

std::optional<TlsProblem> configure_client_auth(SSL_CTX* context, const WebSettings& web) {
  const ClientAuth policy = client_auth(web.tls_client_auth_type);
  if (!policy.ask) {
    SSL_CTX_set_verify(context, SSL_VERIFY_NONE, nullptr);
    return std::nullopt;
  }
  const std::string& ca_file = web.tls_client_ca_file;
  if (!ca_file.empty()) {
    if (SSL_CTX_load_verify_locations(context, ca_file.c_str(), nullptr) != 1) {
      return problem(web, "tls_client_ca_file", ca_file + ": " + openssl_errors());
    }
    // The names of the accepted CAs go to the client in the certificate request.
    STACK_OF(X509_NAME)* names = SSL_load_client_CA_file(ca_file.c_str());
    if (names == nullptr || sk_X509_NAME_num(names) == 0) {
      sk_X509_NAME_pop_free(names, X509_NAME_free);
      return problem(web, "tls_client_ca_file",
                     ca_file + ": holds no PEM certificate (" + openssl_errors() + ")");
    }
    SSL_CTX_set_client_CA_list(context, names);  // takes ownership
  } else if (policy.verify) {
    return problem(web, "tls_client_ca_file",
                   "must be set: the client certificate policy " + web.tls_client_auth_type +
                       " verifies client certificates against it");
  }
  const int mode = SSL_VERIFY_PEER | (policy.require ? SSL_VERIFY_FAIL_IF_NO_PEER_CERT : 0);
  SSL_CTX_set_verify(context, mode, policy.verify ? nullptr : accept_any_certificate);
  return std::nullopt;
}

}  // namespace

std::optional<TlsProblem> configure_tls_context(SSL_CTX* context, const WebSettings& web) {
  ERR_clear_error();
  SSL_CTX_set_default_passwd_cb(context, no_passphrase);
  if (SSL_CTX_use_certificate_chain_file(context, web.tls_cert_file.c_str()) != 1) {
    return problem(web, "tls_cert_file", web.tls_cert_file + ": " + openssl_errors());
  }
  if (SSL_CTX_use_PrivateKey_file(context, web.tls_key_file.c_str(), SSL_FILETYPE_PEM) != 1 ||
      SSL_CTX_check_private_key(context) != 1) {
    const unsigned long last = ERR_peek_last_error();
    if (ERR_GET_LIB(last) == ERR_LIB_X509 && ERR_GET_REASON(last) == X509_R_KEY_VALUES_MISMATCH) {
      return problem(web, "tls_key_file",
                     web.tls_key_file + " does not belong to the certificate in " +
                         web.tls_cert_file + ": " + openssl_errors());
    }
    return problem(
        web, "tls_key_file",
        web.tls_key_file + ": " + openssl_errors() + " (the key must be PEM and not encrypted)");
  }
  if (SSL_CTX_set_min_proto_version(context, protocol_version(web.tls_min_version)) != 1) {
    return problem(web, "tls_min_version", web.tls_min_version + ": " + openssl_errors());
  }
  if (SSL_CTX_set_max_proto_version(context, protocol_version(web.tls_max_version)) != 1) {
    return problem(web, "tls_max_version", web.tls_max_version + ": " + openssl_errors());
  }
  // Sessions are resumed only by the context (and so the client policy) that made them.
  static constexpr std::string_view kSessionContext = "toolhelp_exporter";
  SSL_CTX_set_session_id_context(context,
                                 reinterpret_cast<const unsigned char*>(kSessionContext.data()),
                                 static_cast<unsigned int>(kSessionContext.size()));
  return configure_client_auth(context, web);
}

}  // namespace thx
