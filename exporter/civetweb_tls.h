// HTTPS on Linux: civetweb's OpenSSL support, made to work with Debian 12's civetweb 1.15 and
// OpenSSL 3 (see civetweb_openssl3/libssl_compat.cpp for why), and the certificate set-up that
// the exporter does itself through civetweb's init_ssl callback.
#pragma once

#include <optional>
#include <string>

#include "exporter/web_settings.h"

namespace thx {

// Makes civetweb's run-time loading of OpenSSL find every function it needs, then checks that it
// does, by the same dlopen() and dlsym() calls civetweb will make. Call it before the first
// civetweb server with TLS starts. Returns why TLS cannot work in this process, or nothing.
// Loads at most once per process; later calls return the first answer.
std::optional<std::string> prepare_civetweb_tls();

// Sets up civetweb's SSL_CTX (civetweb passes it to its init_ssl callback): the certificate chain
// and key from `web`, and the minimum protocol version. Returns what went wrong, naming the
// configuration key and file, or nothing.
std::optional<std::string> configure_tls_context(void* ssl_ctx, const WebSettings& web);

}  // namespace thx
