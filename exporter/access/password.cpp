#include "exporter/access/password.h"

#include <charconv>
#include <cstring>

namespace thx {
namespace {

// SHA-256 as specified in FIPS 180-4.
class Sha256 {
 public:
  void update(std::string_view data) {
    for (char c : data) {
      buffer_[buffer_size_++] = static_cast<std::uint8_t>(c);
      if (buffer_size_ == 64) {
        compress();
        buffer_size_ = 0;
      }
    }
    length_bits_ += std::uint64_t{data.size()} * 8;
  }

  Sha256Digest finish() {
    const std::uint64_t length = length_bits_;
    update(std::string_view("\x80", 1));
    while (buffer_size_ != 56) {
      update(std::string_view("\0", 1));
    }
    for (int i = 7; i >= 0; --i) {
      buffer_[buffer_size_++] = static_cast<std::uint8_t>(length >> (8 * static_cast<unsigned>(i)));
    }
    compress();
    Sha256Digest out{};
    for (std::size_t i = 0; i < 8; ++i) {
      for (std::size_t b = 0; b < 4; ++b) {
        out.at(i * 4 + b) = static_cast<std::uint8_t>(state_.at(i) >> (24 - 8 * b));
      }
    }
    return out;
  }

 private:
  static std::uint32_t rotr(std::uint32_t x, unsigned n) { return (x >> n) | (x << (32 - n)); }

  void compress() {
    static constexpr std::array<std::uint32_t, 64> k = {
        0x428a2f98, 0x71374491, 0xb5c0fbcf, 0xe9b5dba5, 0x3956c25b, 0x59f111f1, 0x923f82a4,
        0xab1c5ed5, 0xd807aa98, 0x12835b01, 0x243185be, 0x550c7dc3, 0x72be5d74, 0x80deb1fe,
        0x9bdc06a7, 0xc19bf174, 0xe49b69c1, 0xefbe4786, 0x0fc19dc6, 0x240ca1cc, 0x2de92c6f,
        0x4a7484aa, 0x5cb0a9dc, 0x76f988da, 0x983e5152, 0xa831c66d, 0xb00327c8, 0xbf597fc7,
        0xc6e00bf3, 0xd5a79147, 0x06ca6351, 0x14292967, 0x27b70a85, 0x2e1b2138, 0x4d2c6dfc,
        0x53380d13, 0x650a7354, 0x766a0abb, 0x81c2c92e, 0x92722c85, 0xa2bfe8a1, 0xa81a664b,
        0xc24b8b70, 0xc76c51a3, 0xd192e819, 0xd6990624, 0xf40e3585, 0x106aa070, 0x19a4c116,
        0x1e376c08, 0x2748774c, 0x34b0bcb5, 0x391c0cb3, 0x4ed8aa4a, 0x5b9cca4f, 0x682e6ff3,
        0x748f82ee, 0x78a5636f, 0x84c87814, 0x8cc70208, 0x90befffa, 0xa4506ceb, 0xbef9a3f7,
        0xc67178f2};
    std::array<std::uint32_t, 64> w{};
    for (std::size_t i = 0; i < 16; ++i) {
      w.at(i) = static_cast<std::uint32_t>(buffer_.at(i * 4)) << 24 |
                static_cast<std::uint32_t>(buffer_.at(i * 4 + 1)) << 16 |
                static_cast<std::uint32_t>(buffer_.at(i * 4 + 2)) << 8 | buffer_.at(i * 4 + 3);
    }
    for (std::size_t i = 16; i < 64; ++i) {
      const std::uint32_t s0 = rotr(w.at(i - 15), 7) ^ rotr(w.at(i - 15), 18) ^ (w.at(i - 15) >> 3);
      const std::uint32_t s1 = rotr(w.at(i - 2), 17) ^ rotr(w.at(i - 2), 19) ^ (w.at(i - 2) >> 10);
      w.at(i) = w.at(i - 16) + s0 + w.at(i - 7) + s1;
    }
    std::array<std::uint32_t, 8> v = state_;
    for (std::size_t i = 0; i < 64; ++i) {
      const std::uint32_t s1 = rotr(v[4], 6) ^ rotr(v[4], 11) ^ rotr(v[4], 25);
      const std::uint32_t choice = (v[4] & v[5]) ^ (~v[4] & v[6]);
      const std::uint32_t t1 = v[7] + s1 + choice + k.at(i) + w.at(i);
      const std::uint32_t s0 = rotr(v[0], 2) ^ rotr(v[0], 13) ^ rotr(v[0], 22);
      const std::uint32_t majority = (v[0] & v[1]) ^ (v[0] & v[2]) ^ (v[1] & v[2]);
      const std::uint32_t t2 = s0 + majority;
      v = {t1 + t2, v[0], v[1], v[2], v[3] + t1, v[4], v[5], v[6]};
    }
    for (std::size_t i = 0; i < 8; ++i) {
      state_.at(i) += v.at(i);
    }
  }

  std::array<std::uint32_t, 8> state_ = {0x6a09e667, 0xbb67ae85, 0x3c6ef372, 0xa54ff53a,
                                         0x510e527f, 0x9b05688c, 0x1f83d9ab, 0x5be0cd19};
  std::array<std::uint8_t, 64> buffer_{};
  std::size_t buffer_size_ = 0;
  std::uint64_t length_bits_ = 0;
};

std::string_view as_view(const Sha256Digest& digest) {
  return {reinterpret_cast<const char*>(digest.data()), digest.size()};
}

Sha256Digest hmac_sha256(std::string_view key, std::string_view message) {
  std::string block(64, '\0');
  if (key.size() > 64) {
    const Sha256Digest hashed = sha256(key);
    std::memcpy(block.data(), hashed.data(), hashed.size());
  } else {
    std::memcpy(block.data(), key.data(), key.size());
  }
  std::string inner_pad = block;
  std::string outer_pad = block;
  for (std::size_t i = 0; i < 64; ++i) {
    inner_pad[i] = static_cast<char>(inner_pad[i] ^ 0x36);
    outer_pad[i] = static_cast<char>(outer_pad[i] ^ 0x5c);
  }
  Sha256 inner;
  inner.update(inner_pad);
  inner.update(message);
  const Sha256Digest inner_digest = inner.finish();
  Sha256 outer;
  outer.update(outer_pad);
  outer.update(as_view(inner_digest));
  return outer.finish();
}

// PBKDF2 (RFC 8018) with one 32-byte block.
std::string pbkdf2_sha256(std::string_view password, std::string_view salt,
                          std::uint32_t iterations) {
  std::string first(salt);
  first.append("\0\0\0\1", 4);
  Sha256Digest u = hmac_sha256(password, first);
  Sha256Digest result = u;
  for (std::uint32_t i = 1; i < iterations; ++i) {
    u = hmac_sha256(password, as_view(u));
    for (std::size_t b = 0; b < result.size(); ++b) {
      result.at(b) ^= u.at(b);
    }
  }
  return std::string(as_view(result));
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
  Sha256 hash;
  hash.update(data);
  return hash.finish();
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
      derived->size() != 32) {
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
  const std::string candidate = pbkdf2_sha256(password, salt, iterations);
  unsigned difference = 0;
  for (std::size_t i = 0; i < candidate.size(); ++i) {
    difference |= static_cast<unsigned>(static_cast<std::uint8_t>(candidate[i]) ^
                                        static_cast<std::uint8_t>(derived[i]));
  }
  return difference == 0;
}

PasswordHash hash_password(std::string_view password, std::string_view salt,
                           std::uint32_t iterations) {
  return {iterations, std::string(salt), pbkdf2_sha256(password, salt, iterations)};
}

}  // namespace thx
