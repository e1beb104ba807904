// Basic authentication passwords, stored only as salted hashes:
//   pbkdf2-sha256$<iterations>$<salt, hex>$<derived key, hex>
// `toolhelp_exporter hash-password` makes one. PBKDF2-HMAC-SHA256 needs no crypto library, so
// the Windows build verifies passwords exactly as the Linux one does.
#pragma once

#include <array>
#include <cstdint>
#include <optional>
#include <string>
#include <string_view>

namespace thx {

using Sha256Digest = std::array<std::uint8_t, 32>;

Sha256Digest sha256(std::string_view data);

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

// `salt` should be 16 random bytes; iterations at least 100,000 for stored passwords.
PasswordHash hash_password(std::string_view password, std::string_view salt,
                           std::uint32_t iterations = 100'000);

}  // namespace thx
