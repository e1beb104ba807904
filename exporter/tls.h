// HTTPS: the OpenSSL context of the HTTP server (Asio's ssl::context wraps it), set up from the
// web settings. The same code and the same OpenSSL 3 release line on both platforms: Debian's on
// Linux, a static build of Debian's source package in the Windows .exe.
#pragma once

#include <optional>
#include <string>

#include <openssl/ssl.h>

#include "exporter/http_server.h"
#include "exporter/web_settings.h"

namespace thx {

// The certificate chain and key, the protocol versions and the client certificate policy (with
// its CA file) from `web`. Returns what went wrong, naming the setting and the file, or nothing.
std::optional<TlsProblem> configure_tls_context(SSL_CTX* context, const WebSettings& web);

}  // namespace thx
