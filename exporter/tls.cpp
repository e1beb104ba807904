#include "exporter/tls.h"

#include <openssl/err.h>
#include <openssl/ssl.h>
#include <openssl/x509.h>

#include <array>

namespace thx {
namespace {

// OpenSSL's queued errors of this thread, oldest first, as one line.
std::string openssl_errors() {
  std::string text;
  while (const unsigned long code = ERR_get_error()) {
    std::array<char, 256> buffer{};
    ERR_error_string_n(code, buffer.data(), buffer.size());
    text += (text.empty() ? "" : "; ") + std::string(buffer.data());
  }
  return text.empty() ? "unknown OpenSSL error" : text;
}

// No passphrase prompts: an encrypted key fails to load instead of waiting on a terminal.
int no_passphrase(char* /*buffer*/, int /*size*/, int /*rwflag*/, void* /*userdata*/) {
  return 0;
}

}  // namespace

std::optional<std::string> configure_tls_context(SSL_CTX* context, const WebSettings& web) {
  ERR_clear_error();
  SSL_CTX_set_default_passwd_cb(context, no_passphrase);
  if (SSL_CTX_use_certificate_chain_file(context, web.tls_cert_file.c_str()) != 1) {
    return "web.tls_cert_file " + web.tls_cert_file + ": " + openssl_errors();
  }
  if (SSL_CTX_use_PrivateKey_file(context, web.tls_key_file.c_str(), SSL_FILETYPE_PEM) != 1 ||
      SSL_CTX_check_private_key(context) != 1) {
    const unsigned long last = ERR_peek_last_error();
    if (ERR_GET_LIB(last) == ERR_LIB_X509 && ERR_GET_REASON(last) == X509_R_KEY_VALUES_MISMATCH) {
      return "web.tls_key_file " + web.tls_key_file + " does not belong to the certificate in " +
             web.tls_cert_file + ": " + openssl_errors();
    }
    return "web.tls_key_file " + web.tls_key_file + ": " + openssl_errors() +
           " (the key must be PEM and not encrypted)";
  }
  const int min_version = web.tls_min_version == "TLS1.3" ? TLS1_3_VERSION : TLS1_2_VERSION;
  if (SSL_CTX_set_min_proto_version(context, min_version) != 1) {
    return "web.tls_min_version " + web.tls_min_version + ": " + openssl_errors();
  }
  return std::nullopt;
}

}  // namespace thx
