// HTTPS: the OpenSSL context of the HTTP server (Asio's ssl::context wraps it), set up from the
// web settings.
#pragma once

#include <optional>
#include <string>

#include <openssl/ssl.h>

#include "exporter/web_settings.h"

namespace thx {

// The certificate chain and key from `web`, and the minimum protocol version. Returns what went
// wrong, naming the configuration key and file, or nothing.
std::optional<std::string> configure_tls_context(SSL_CTX* context, const WebSettings& web);

}  // namespace thx
