#include "exporter/civetweb_tls.h"

#include <civetweb.h>
#include <dlfcn.h>
#include <openssl/err.h>
#include <openssl/ssl.h>
#include <openssl/x509.h>

#include <array>
#include <filesystem>
#include <mutex>
#include <system_error>
#include <vector>

namespace thx {
namespace {

// Where the compatibility modules are looked for: beside the executable (the build tree, where
// every program is in one folder) and in the package's private library folder
// (/usr/bin/toolhelp_exporter -> /usr/lib/toolhelp_exporter/).
constexpr std::string_view kLibsslCompat = "thx-civetweb-libssl.so";
constexpr std::string_view kLibcryptoCompat = "thx-civetweb-libcrypto.so";

std::vector<std::filesystem::path> compat_folders() {
  std::error_code error;
  const std::filesystem::path exe = std::filesystem::read_symlink("/proc/self/exe", error);
  if (error) {
    return {};
  }
  const std::filesystem::path folder = exe.parent_path();
  return {folder, folder.parent_path() / "lib" / "toolhelp_exporter"};
}

std::string dl_error() {
  const char* text = dlerror();
  return text != nullptr ? text : "unknown error";
}

// Loads both modules from the first folder that has them. Their handles stay open: civetweb
// keeps using what it finds through them for the life of the process.
std::optional<std::string> load_compat_modules() {
  const auto folders = compat_folders();
  for (const auto& folder : folders) {
    const auto libcrypto = folder / kLibcryptoCompat;
    const auto libssl = folder / kLibsslCompat;
    std::error_code error;
    if (!std::filesystem::exists(libssl, error) || !std::filesystem::exists(libcrypto, error)) {
      continue;
    }
    if (dlopen(libcrypto.c_str(), RTLD_NOW | RTLD_LOCAL) == nullptr) {
      return "cannot load " + libcrypto.string() + ": " + dl_error();
    }
    if (dlopen(libssl.c_str(), RTLD_NOW | RTLD_LOCAL) == nullptr) {
      return "cannot load " + libssl.string() + ": " + dl_error();
    }
    return std::nullopt;
  }
  std::string searched;
  for (const auto& folder : folders) {
    searched += (searched.empty() ? "" : ", ") + folder.string();
  }
  return std::string(kLibsslCompat) + " and " + std::string(kLibcryptoCompat) +
         " were not found (looked in " + (searched.empty() ? "no folder" : searched) + ")";
}

// The lookups civetweb 1.15 makes (its SSL_LIB and CRYPTO_LIB), with the name that OpenSSL 3 lacks
// and one that every OpenSSL has.
std::optional<std::string> check_civetweb_lookups() {
  struct Lookup {
    const char* library;
    std::array<const char*, 2> symbols;
  };
  constexpr std::array<Lookup, 2> kLookups = {{
      {"libcrypto.so", {"ERR_get_error", "X509_free"}},
      {"libssl.so", {"SSL_get_peer_certificate", "SSL_CTX_new"}},
  }};
  for (const Lookup& lookup : kLookups) {
    void* handle = dlopen(lookup.library, RTLD_LAZY);
    if (handle == nullptr) {
      return std::string("civetweb could not load ") + lookup.library + ": " + dl_error();
    }
    for (const char* symbol : lookup.symbols) {
      if (dlsym(handle, symbol) == nullptr) {
        return std::string("civetweb would not find ") + symbol + " in " + lookup.library +
               " and would crash on the first handshake";
      }
    }
  }
  return std::nullopt;
}

std::optional<std::string> prepare_once() {
  if (mg_check_feature(MG_FEATURES_TLS) == 0) {
    return "the civetweb library in use was built without TLS";
  }
  const auto load_problem = load_compat_modules();
  const auto lookup_problem = check_civetweb_lookups();
  if (!lookup_problem) {
    return std::nullopt;  // civetweb finds everything (with the modules, or without them)
  }
  return *lookup_problem + (load_problem ? "; " + *load_problem : std::string());
}

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

std::optional<std::string> prepare_civetweb_tls() {
  static std::once_flag once;
  static std::optional<std::string> problem;
  std::call_once(once, [] { problem = prepare_once(); });
  return problem;
}

std::optional<std::string> configure_tls_context(void* ssl_ctx, const WebSettings& web) {
  auto* context = static_cast<SSL_CTX*>(ssl_ctx);
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
