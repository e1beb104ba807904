// Basic authentication passwords, stored only as salted hashes:
//   pbkdf2-sha256$<iterations>$<salt, hex>$<derived key, hex>
// `toolhelp_exporter hash-password` makes one. Hashing, key derivation, random salts and the
// constant-time comparison are OpenSSL's (Debian's on Linux, the same release linked statically
// into the Windows .exe): no cryptography of our own.
#pragma once

#include <array>
#include <cstddef>
#include <cstdint>
#include <optional>
#include <string>
#include <string_view>

namespace thx {

using Sha256Digest = std::array<std::uint8_t, 32>;

Sha256Digest sha256(std::string_view data);

// `bytes` bytes from OpenSSL's CSPRNG (RAND_bytes); throws std::runtime_error when it fails.
std::string random_salt(std::size_t bytes = 16);

struct PasswordHash {
  std::uint32_t iterations = 0;
  std::string salt;     // raw bytes
  std::string derived;  // raw bytes, 32 of them

  // Parses the stored form; nullopt when malformed.
  static std::optional<PasswordHash> parse(std::string_view text);
  [[nodiscard]] std::string to_string() const;

  // Recomputes and compares in constant time.
  [[nodiscard]] bool verify(std::string_view password) const;
};

// `salt` should be random_salt(); iterations at least 100,000 for stored passwords. Throws
// std::runtime_error when OpenSSL cannot derive the key.
PasswordHash hash_password(std::string_view password, std::string_view salt,
                           std::uint32_t iterations = 100'000);

}  // namespace thx
