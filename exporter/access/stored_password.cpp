#include "exporter/access/stored_password.h"

namespace thx {

std::optional<StoredPassword> StoredPassword::parse(std::string_view text, Formats formats,
                                                    std::string* problem) {
  auto fail = [problem](std::string why) -> std::optional<StoredPassword> {
    if (problem != nullptr) {
      *problem = std::move(why);
    }
    return std::nullopt;
  };
  if (BcryptHash::looks_like_bcrypt(text)) {
    if (!BcryptHash::available()) {
      return fail(
          "bcrypt hashes cannot be verified by this build (it was built without libxcrypt, which "
          "vcpkg has no Windows port of); use a pbkdf2-sha256 hash from `toolhelp_exporter "
          "hash-password` in the JSON configuration's web.basic_auth_users");
    }
    std::string why;
    if (auto bcrypt = BcryptHash::parse(text, &why)) {
      return StoredPassword(std::move(*bcrypt));
    }
    return fail(why);
  }
  if (formats == Formats::kBcryptOnly) {
    return fail("expected a bcrypt hash ($2a$, $2b$ or $2y$) as `htpasswd -nBC 10 USER` prints it");
  }
  if (auto pbkdf2 = PasswordHash::parse(text)) {
    return StoredPassword(std::move(*pbkdf2));
  }
  return fail(
      "expected a password hash \"pbkdf2-sha256$<iterations>$<salt hex>$<key hex>\" as "
      "printed by `toolhelp_exporter hash-password`, or a bcrypt hash ($2a$, $2b$, $2y$) as "
      "printed by `htpasswd -nBC 10 USER` (plain passwords are refused)");
}

bool StoredPassword::verify(std::string_view password) const {
  return std::visit([password](const auto& hash) { return hash.verify(password); }, hash_);
}

std::uint64_t StoredPassword::work() const {
  if (const auto* bcrypt = std::get_if<BcryptHash>(&hash_)) {
    return (std::uint64_t{1} << bcrypt->cost()) * 64'000;
  }
  return std::uint64_t{std::get<PasswordHash>(hash_).iterations} * 500;
}

}  // namespace thx
