// OpenSSL's error queue as text, for the two places that call OpenSSL (TLS, password hashing).
#pragma once

#include <openssl/err.h>

#include <array>
#include <string>

namespace thx {

// OpenSSL's queued errors of this thread, oldest first, as one line (and the queue emptied).
inline std::string openssl_errors() {
  std::string text;
  while (const unsigned long code = ERR_get_error()) {
    std::array<char, 256> buffer{};
    ERR_error_string_n(code, buffer.data(), buffer.size());
    text += (text.empty() ? "" : "; ") + std::string(buffer.data());
  }
  return text.empty() ? "unknown OpenSSL error" : text;
}

}  // namespace thx
