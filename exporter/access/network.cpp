#include "exporter/access/network.h"

#include <algorithm>

namespace thx {
namespace {

std::optional<unsigned> parse_number(std::string_view text, unsigned base, std::size_t max_digits) {
  if (text.empty() || text.size() > max_digits) {
    return std::nullopt;
  }
  unsigned value = 0;
  for (char c : text) {
    unsigned digit = 0;
    if (c >= '0' && c <= '9') {
      digit = static_cast<unsigned>(c - '0');
    } else if (base == 16 && c >= 'a' && c <= 'f') {
      digit = static_cast<unsigned>(c - 'a' + 10);
    } else if (base == 16 && c >= 'A' && c <= 'F') {
      digit = static_cast<unsigned>(c - 'A' + 10);
    } else {
      return std::nullopt;
    }
    value = value * base + digit;
  }
  return value;
}

// Four decimal parts 0..255 into out[0..3]; leading zeros refused (some parsers read octal).
bool parse_ipv4(std::string_view text, std::uint8_t* out) {
  for (int part = 0; part < 4; ++part) {
    const std::size_t dot = text.find('.');
    if ((part < 3) == (dot == std::string_view::npos)) {
      return false;
    }
    const std::string_view piece = text.substr(0, dot);
    const auto value = parse_number(piece, 10, 3);
    if (!value || *value > 255 || (piece.size() > 1 && piece[0] == '0')) {
      return false;
    }
    out[part] = static_cast<std::uint8_t>(*value);
    text.remove_prefix(part < 3 ? dot + 1 : text.size());
  }
  return true;
}

// One side of "::": 16-bit groups, the last possibly an IPv4 tail. Appends bytes to `out`.
bool parse_groups(std::string_view text, bool ipv4_tail_allowed, std::uint8_t* out,
                  std::size_t& count) {
  while (!text.empty()) {
    const std::size_t colon = text.find(':');
    const std::string_view piece = text.substr(0, colon);
    if (colon == std::string_view::npos && ipv4_tail_allowed &&
        piece.find('.') != std::string_view::npos) {
      if (count + 4 > 16 || !parse_ipv4(piece, out + count)) {
        return false;
      }
      count += 4;
      return true;
    }
    const auto value = parse_number(piece, 16, 4);
    if (!value || count + 2 > 16) {
      return false;
    }
    out[count++] = static_cast<std::uint8_t>(*value >> 8U);
    out[count++] = static_cast<std::uint8_t>(*value & 0xFFU);
    if (colon == std::string_view::npos) {
      break;
    }
    text.remove_prefix(colon + 1);
    if (text.empty()) {
      return false;  // a trailing single colon
    }
  }
  return true;
}

std::optional<IpAddress> parse_ipv6(std::string_view text) {
  IpAddress address;
  address.v6 = true;
  const std::size_t gap = text.find("::");
  if (gap == std::string_view::npos) {
    std::size_t count = 0;
    if (!parse_groups(text, true, address.bytes.data(), count) || count != 16) {
      return std::nullopt;
    }
    return address;
  }
  const std::string_view tail = text.substr(gap + 2);
  if (tail.find("::") != std::string_view::npos) {
    return std::nullopt;
  }
  std::array<std::uint8_t, 16> head_bytes{};
  std::array<std::uint8_t, 16> tail_bytes{};
  std::size_t head_count = 0;
  std::size_t tail_count = 0;
  if (!parse_groups(text.substr(0, gap), false, head_bytes.data(), head_count) ||
      !parse_groups(tail, true, tail_bytes.data(), tail_count) || head_count + tail_count > 14) {
    return std::nullopt;
  }
  std::copy_n(head_bytes.begin(), head_count, address.bytes.begin());
  std::copy_n(tail_bytes.begin(), tail_count, address.bytes.end() - static_cast<long>(tail_count));
  return address;
}

// ::ffff:a.b.c.d -> a.b.c.d
IpAddress unmap(const IpAddress& address) {
  static constexpr std::array<std::uint8_t, 12> kMappedPrefix = {0, 0, 0, 0, 0,    0,
                                                                 0, 0, 0, 0, 0xFF, 0xFF};
  if (!address.v6 ||
      !std::equal(kMappedPrefix.begin(), kMappedPrefix.end(), address.bytes.begin())) {
    return address;
  }
  IpAddress v4;
  std::copy_n(address.bytes.begin() + 12, 4, v4.bytes.begin());
  return v4;
}

}  // namespace

std::optional<IpAddress> parse_ip_address(std::string_view text) {
  if (text.find(':') != std::string_view::npos) {
    return parse_ipv6(text);
  }
  IpAddress address;
  if (!parse_ipv4(text, address.bytes.data())) {
    return std::nullopt;
  }
  return address;
}

bool IpNetwork::contains(const IpAddress& candidate) const {
  const IpAddress other = address.v6 ? candidate : unmap(candidate);
  if (other.v6 != address.v6) {
    return false;
  }
  unsigned bits = prefix_length;
  for (std::size_t i = 0; bits > 0; ++i) {
    const unsigned take = std::min(bits, 8U);
    const auto mask = static_cast<std::uint8_t>(0xFFU << (8U - take));
    if ((address.bytes.at(i) & mask) != (other.bytes.at(i) & mask)) {
      return false;
    }
    bits -= take;
  }
  return true;
}

std::optional<IpNetwork> parse_ip_network(std::string_view text) {
  const std::size_t slash = text.find('/');
  if (slash == std::string_view::npos) {
    return std::nullopt;
  }
  const auto address = parse_ip_address(text.substr(0, slash));
  const auto prefix = parse_number(text.substr(slash + 1), 10, 3);
  if (!address || !prefix || *prefix > (address->v6 ? 128U : 32U)) {
    return std::nullopt;
  }
  return IpNetwork{*address, *prefix};
}

}  // namespace thx
