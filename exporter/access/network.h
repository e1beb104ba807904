// IP addresses and networks, parsed by hand: the same strict text forms on every platform
// (inet_pton is POSIX-only and accepts forms such as octal parts that we do not want).
#pragma once

#include <array>
#include <cstdint>
#include <optional>
#include <string_view>

namespace thx {

struct IpAddress {
  std::array<std::uint8_t, 16> bytes{};  // IPv4 in the first four bytes
  bool v6 = false;
};

// Dotted quad (no leading zeros) or an RFC 4291 IPv6 text form (no zone).
std::optional<IpAddress> parse_ip_address(std::string_view text);

struct IpNetwork {
  IpAddress address;
  unsigned prefix_length = 0;

  // IPv4-mapped IPv6 addresses (::ffff:a.b.c.d) match IPv4 networks: a dual-stack listener
  // reports IPv4 clients that way.
  [[nodiscard]] bool contains(const IpAddress& candidate) const;
};

// "10.0.0.0/8", "fd00::/8". Host bits may be set; they are ignored.
std::optional<IpNetwork> parse_ip_network(std::string_view text);

}  // namespace thx
