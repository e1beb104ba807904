// bcrypt password hashes, as the exporter-toolkit's basic_auth_users holds them and
// `htpasswd -nBC 10` writes them: $2a$, $2b$ or $2y$, a two-digit cost, 22 characters of salt
// and 31 of hash. Verification is libxcrypt's (crypt_rn); nothing here hashes by itself.
#pragma once

#include <optional>
#include <string>
#include <string_view>

namespace thx {

class BcryptHash {
 public:
  // The stored form, checked without hashing: nullopt when malformed. `problem` (optional)
  // receives what is wrong, in words that never repeat the hash.
  static std::optional<BcryptHash> parse(std::string_view text, std::string* problem = nullptr);

  // Whether `text` looks like a bcrypt hash at all ($2 and a letter), so that a malformed one is
  // reported as a bad bcrypt hash rather than as an unknown format.
  static bool looks_like_bcrypt(std::string_view text);

  // 2^cost rounds of the Blowfish key schedule.
  [[nodiscard]] unsigned cost() const { return cost_; }

  // Hashes `password` with this hash's salt and cost and compares in constant time. A password
  // with a NUL byte never matches (crypt reads C strings: it would be cut short there).
  [[nodiscard]] bool verify(std::string_view password) const;

  // Whether this build can verify bcrypt hashes (libxcrypt was found).
  static bool available();

 private:
  BcryptHash(std::string text, unsigned cost) : text_(std::move(text)), cost_(cost) {}

  std::string text_;
  unsigned cost_;
};

}  // namespace thx
