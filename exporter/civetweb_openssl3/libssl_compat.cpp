// A module the exporter loads (with its twin libcrypto_compat.cpp) before it starts civetweb with
// TLS. It exists because of one missing name, and does nothing else.
//
// Debian 12's civetweb 1.15 is built to load OpenSSL at run time in its "OpenSSL 1.1 API" mode:
// it dlopen()s "libssl.so" and "libcrypto.so" (the unversioned names) and looks up its functions
// with dlsym(). OpenSSL 3 no longer exports SSL_get_peer_certificate (its header turns that name
// into SSL_get1_peer_certificate), so civetweb's lookup fails, a bug in its reference counting then
// reports success anyway, and the first TLS handshake calls a null function pointer.
//
// This module's SONAME is "libssl.so": once it is loaded, the dynamic linker hands it to
// civetweb's dlopen("libssl.so"), and civetweb's dlsym() searches it and then its dependencies,
// the real libssl.so.3 and libcrypto.so.3. It adds the one missing name, with the meaning
// OpenSSL 3 itself gives it. Every other function comes from OpenSSL unchanged, and the
// difference between civetweb's 1.1 and 3.0 modes on Linux is exactly this one name.
#include <openssl/ssl.h>

#undef SSL_get_peer_certificate

extern "C" {

__attribute__((visibility("default"))) X509* SSL_get_peer_certificate(const SSL* ssl);

// The certificate the peer sent, with a reference the caller frees (civetweb calls X509_free).
X509* SSL_get_peer_certificate(const SSL* ssl) {
  return SSL_get1_peer_certificate(ssl);
}

}  // extern "C"
