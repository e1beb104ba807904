#include "exporter/access/bcrypt.h"

#include <algorithm>
#include <cstring>
#include <memory>

#ifdef THX_HAVE_LIBXCRYPT
#include <crypt.h>
#endif
#ifdef _WIN32
#include <windows.h>
#endif

namespace thx {
namespace {

// bcrypt's own base64 alphabet (not RFC 4648's).
constexpr std::string_view kAlphabet =
    "./ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789";
constexpr std::size_t kSaltChars = 22;  // 16 bytes: the last character carries 2 bits
constexpr std::size_t kHashChars = 31;  // 23 bytes: the last character carries 4 bits
constexpr std::size_t kLength = 7 + kSaltChars + kHashChars;  // "$2y$10$" + salt + hash
constexpr unsigned kMinCost = 4;
constexpr unsigned kMaxCost = 31;

// The unused low bits of a base64 group's last character must be zero: a hash whose last salt
// character is not canonical never verifies (libxcrypt rewrites the salt), so it is a corrupted
// line, not a password.
bool canonical_last(char c, unsigned unused_bits) {
  const std::size_t index = kAlphabet.find(c);
  return index != std::string_view::npos && (index & ((1U << unused_bits) - 1U)) == 0;
}

}  // namespace

bool BcryptHash::looks_like_bcrypt(std::string_view text) {
  return text.size() >= 4 && text.starts_with("$2") && text[3] == '$';
}

std::optional<BcryptHash> BcryptHash::parse(std::string_view text, std::string* problem) {
  auto fail = [problem](std::string why) -> std::optional<BcryptHash> {
    if (problem != nullptr) {
      *problem = std::move(why);
    }
    return std::nullopt;
  };
  if (!looks_like_bcrypt(text) || (text[2] != 'a' && text[2] != 'b' && text[2] != 'y')) {
    return fail("not a bcrypt hash: expected $2a$, $2b$ or $2y$ at the start");
  }
  if (text.size() != kLength) {
    return fail("not a bcrypt hash: expected " + std::to_string(kLength) + " characters, got " +
                std::to_string(text.size()));
  }
  const char tens = text[4];
  const char ones = text[5];
  if (tens < '0' || tens > '9' || ones < '0' || ones > '9' || text[6] != '$') {
    return fail("not a bcrypt hash: expected a two-digit cost and '$' after the prefix");
  }
  const unsigned cost = static_cast<unsigned>(tens - '0') * 10 + static_cast<unsigned>(ones - '0');
  if (cost < kMinCost || cost > kMaxCost) {
    return fail("bcrypt cost " + std::to_string(cost) + " is out of range (4 to 31)");
  }
  const std::string_view salt = text.substr(7, kSaltChars);
  const std::string_view hash = text.substr(7 + kSaltChars);
  const auto in_alphabet = [](char c) { return kAlphabet.find(c) != std::string_view::npos; };
  if (!std::all_of(salt.begin(), salt.end(), in_alphabet) ||
      !std::all_of(hash.begin(), hash.end(), in_alphabet)) {
    return fail("not a bcrypt hash: a character outside bcrypt's base64 alphabet");
  }
  if (!canonical_last(salt.back(), 4) || !canonical_last(hash.back(), 2)) {
    return fail("not a bcrypt hash: the salt or hash does not end on a whole byte (corrupted?)");
  }
  return BcryptHash(std::string(text), cost);
}

#ifdef THX_HAVE_LIBXCRYPT

bool BcryptHash::available() {
  return true;
}

bool BcryptHash::verify(std::string_view password) const {
  if (password.find('\0') != std::string_view::npos) {
    return false;
  }
  const std::string key(password);
  // Per call: crypt_rn keeps its state in `data` (about 32 KiB), so threads never share it.
  auto data = std::make_unique<crypt_data>();
  const char* result =
      crypt_rn(key.c_str(), text_.c_str(), data.get(), static_cast<int>(sizeof(crypt_data)));
  bool equal = false;
  if (result != nullptr && std::strlen(result) == text_.size()) {
    // Constant time over the whole hash: how much of it matched is not told by the time taken.
    unsigned difference = 0;
    for (std::size_t i = 0; i < text_.size(); ++i) {
      difference |= static_cast<unsigned>(static_cast<unsigned char>(result[i]) ^
                                          static_cast<unsigned char>(text_[i]));
    }
    equal = difference == 0;
  }
  // The password's hash stays in `data`: wipe it before the memory goes back.
#ifdef _WIN32
  SecureZeroMemory(data.get(), sizeof(crypt_data));
#else
  explicit_bzero(data.get(), sizeof(crypt_data));
#endif
  return equal;
}

#else  // no libxcrypt: bcrypt hashes are refused when the configuration is loaded

bool BcryptHash::available() {
  return false;
}

bool BcryptHash::verify(std::string_view /*password*/) const {
  return false;
}

#endif

}  // namespace thx
