// OpenSSL loaded on first use (Linux x86-64 builds; see delay_load_x86_64.S). Elsewhere OpenSSL
// is linked as usual and these only report that it is there.
#pragma once

#include <optional>
#include <string>

namespace thx {

// Loads OpenSSL now if it is not loaded yet. Returns why it could not be loaded (the library and
// the loader's message), or nothing. Called before TLS or password hashes are set up, so a
// missing library is a clear error there instead of an abort at the first handshake.
std::optional<std::string> load_openssl();

// Whether OpenSSL is mapped into this process (always true where it is linked as usual).
bool openssl_loaded();

}  // namespace thx
