// A stored password of either format, chosen by its text: PBKDF2 (`pbkdf2-sha256$...`, what
// `toolhelp_exporter hash-password` prints; exporter/access/password.h) or bcrypt (`$2a$`,
// `$2b$`, `$2y$`, what `htpasswd -nBC 10` writes; exporter/access/bcrypt.h).
#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <variant>

#include "exporter/access/bcrypt.h"
#include "exporter/access/password.h"

namespace thx {

class StoredPassword {
 public:
  enum class Formats {
    kAny,         // config.json web.basic_auth_users: PBKDF2 or bcrypt
    kBcryptOnly,  // the exporter-toolkit web configuration: bcrypt, as the toolkit reads it
  };

  // nullopt when `text` is not a hash of an accepted format; `problem` (optional) then says
  // why, without repeating the hash.
  static std::optional<StoredPassword> parse(std::string_view text, Formats formats = Formats::kAny,
                                             std::string* problem = nullptr);

  [[nodiscard]] bool verify(std::string_view password) const;

  // About what one verify costs, in nanoseconds on a 2020s x86-64 core (PBKDF2-SHA256 about
  // 0.5 us an iteration, bcrypt about 64 us per unit of 2^cost): only to pick the costliest
  // hash as the decoy for unknown users when formats are mixed.
  [[nodiscard]] std::uint64_t work() const;

 private:
  explicit StoredPassword(std::variant<PasswordHash, BcryptHash> hash) : hash_(std::move(hash)) {}

  std::variant<PasswordHash, BcryptHash> hash_;
};

}  // namespace thx
