// The twin of libssl_compat.cpp: a module whose SONAME is "libcrypto.so" and which depends on
// libcrypto.so.3. civetweb dlopen()s the unversioned name "libcrypto.so", which only the
// development package (libssl-dev) provides as a file; with this module loaded first, that
// dlopen() finds it and civetweb's dlsym() finds every function in libcrypto.so.3. It defines
// nothing civetweb uses.
#include <openssl/crypto.h>

extern "C" {

__attribute__((visibility("default"))) unsigned long thx_civetweb_libcrypto_compat_version();

// The OpenSSL version this module resolves to, for diagnostics; the function also keeps the
// dependency on libcrypto.so.3 a real one.
unsigned long thx_civetweb_libcrypto_compat_version() {
  return OpenSSL_version_num();
}

}  // extern "C"
