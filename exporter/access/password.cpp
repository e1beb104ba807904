#include "exporter/access/password.h"

#include "exporter/openssl_errors.h"

#include <openssl/crypto.h>
#include <openssl/evp.h>
#include <openssl/rand.h>

#include <array>
#include <charconv>
#include <limits>
#include <stdexcept>

namespace thx {
namespace {

constexpr std::size_t kDerivedBytes = 32;

// PBKDF2 (RFC 8018) with HMAC-SHA256 and one 32-byte block, from OpenSSL; nothing when OpenSSL
// fails (inputs beyond its int sizes, no memory).
std::optional<std::string> pbkdf2_sha256(std::string_view password, std::string_view salt,
                                         std::uint32_t iterations) {
  constexpr auto kIntMax = static_cast<std::size_t>(std::numeric_limits<int>::max());
  if (password.size() > kIntMax || salt.size() > kIntMax || iterations == 0 ||
      iterations > kIntMax) {
    return std::nullopt;
  }
  std::string derived(kDerivedBytes, '\0');
  if (PKCS5_PBKDF2_HMAC(password.data(), static_cast<int>(password.size()),
                        reinterpret_cast<const unsigned char*>(salt.data()),
                        static_cast<int>(salt.size()), static_cast<int>(iterations), EVP_sha256(),
                        static_cast<int>(derived.size()),
                        reinterpret_cast<unsigned char*>(derived.data())) != 1) {
    return std::nullopt;  // the reason stays on OpenSSL's error queue
  }
  return derived;
}

std::string to_hex(std::string_view bytes) {
  static constexpr char kDigits[] = "0123456789abcdef";
  std::string out;
  for (char c : bytes) {
    const auto byte = static_cast<std::uint8_t>(c);
    out += kDigits[byte >> 4U];
    out += kDigits[byte & 0xFU];
  }
  return out;
}

std::optional<std::string> from_hex(std::string_view hex) {
  if (hex.size() % 2 != 0) {
    return std::nullopt;
  }
  std::string out;
  for (std::size_t i = 0; i < hex.size(); i += 2) {
    unsigned value = 0;
    const auto [end, error] = std::from_chars(hex.data() + i, hex.data() + i + 2, value, 16);
    if (error != std::errc() || end != hex.data() + i + 2) {
      return std::nullopt;
    }
    out += static_cast<char>(value);
  }
  return out;
}

}  // namespace

Sha256Digest sha256(std::string_view data) {
  Sha256Digest digest{};
  unsigned int size = 0;
  if (EVP_Digest(data.data(), data.size(), digest.data(), &size, EVP_sha256(), nullptr) != 1 ||
      size != digest.size()) {
    throw std::runtime_error("sha256: " + openssl_errors());
  }
  return digest;
}

std::string random_salt(std::size_t bytes) {
  if (bytes > static_cast<std::size_t>(std::numeric_limits<int>::max())) {
    throw std::length_error("random_salt: too many bytes");
  }
  std::string salt(bytes, '\0');
  if (RAND_bytes(reinterpret_cast<unsigned char*>(salt.data()), static_cast<int>(salt.size())) !=
      1) {
    throw std::runtime_error("random_salt: the random generator failed: " + openssl_errors());
  }
  return salt;
}

std::optional<PasswordHash> PasswordHash::parse(std::string_view text) {
  constexpr std::string_view kScheme = "pbkdf2-sha256$";
  if (!text.starts_with(kScheme)) {
    return std::nullopt;
  }
  text.remove_prefix(kScheme.size());
  const std::size_t first = text.find('$');
  const std::size_t second = first == std::string_view::npos ? first : text.find('$', first + 1);
  if (second == std::string_view::npos) {
    return std::nullopt;
  }
  PasswordHash hash;
  const std::string_view iterations = text.substr(0, first);
  const auto [end, error] =
      std::from_chars(iterations.data(), iterations.data() + iterations.size(), hash.iterations);
  auto salt = from_hex(text.substr(first + 1, second - first - 1));
  auto derived = from_hex(text.substr(second + 1));
  // Bounded work per login attempt: a hostile configuration must not stall the HTTP threads.
  if (error != std::errc() || end != iterations.data() + iterations.size() ||
      hash.iterations == 0 || hash.iterations > 10'000'000 || !salt || salt->empty() || !derived ||
      derived->size() != kDerivedBytes) {
    return std::nullopt;
  }
  hash.salt = std::move(*salt);
  hash.derived = std::move(*derived);
  return hash;
}

std::string PasswordHash::to_string() const {
  return "pbkdf2-sha256$" + std::to_string(iterations) + "$" + to_hex(salt) + "$" + to_hex(derived);
}

bool PasswordHash::verify(std::string_view password) const {
  // A derivation that fails verifies nothing.
  const std::optional<std::string> candidate = pbkdf2_sha256(password, salt, iterations);
  if (!candidate) {
    ERR_clear_error();
    return false;
  }
  return candidate->size() == derived.size() &&
         CRYPTO_memcmp(candidate->data(), derived.data(), derived.size()) == 0;
}

PasswordHash hash_password(std::string_view password, std::string_view salt,
                           std::uint32_t iterations) {
  std::optional<std::string> derived = pbkdf2_sha256(password, salt, iterations);
  if (!derived) {
    throw std::runtime_error("pbkdf2-sha256 failed: " + openssl_errors());
  }
  return {iterations, std::string(salt), std::move(*derived)};
}

}  // namespace thx
