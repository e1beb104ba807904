// One function a rule (ASCII only on purpose: no locale can change what a config means).
#include "config/validators.h"

#include <algorithm>
#include <array>
#include <cstdint>
#include <vector>

#include <nlohmann/json.hpp>

#include "exporter/access/network.h"
#include "exporter/access/stored_password.h"
#include "exporter/routes.h"

namespace thx {
namespace {

using std::chrono::milliseconds;

bool is_digit(char c) {
  return c >= '0' && c <= '9';
}
bool is_alnum(char c) {
  return is_digit(c) || (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z');
}

// Decimal digits only (no sign, no spaces), at most `max_digits` of them.
std::optional<unsigned> parse_decimal(std::string_view text, std::size_t max_digits) {
  if (text.empty() || text.size() > max_digits ||
      !std::all_of(text.begin(), text.end(), is_digit)) {
    return std::nullopt;
  }
  unsigned value = 0;
  for (char c : text) {
    value = value * 10 + static_cast<unsigned>(c - '0');
  }
  return value;
}

bool is_ipv4(std::string_view text) {
  return text.find(':') == std::string_view::npos && parse_ip_address(text).has_value();
}

bool is_ipv6(std::string_view text) {
  return text.find(':') != std::string_view::npos && parse_ip_address(text).has_value();
}

// Dot-separated labels of letters, digits, '-' and '_', none empty, none over 63 characters.
bool is_hostname(std::string_view host) {
  if (host.empty() || host.size() > 253) {
    return false;
  }
  while (true) {
    const std::size_t dot = host.find('.');
    const std::string_view label = host.substr(0, dot);
    if (label.empty() || label.size() > 63 || !std::all_of(label.begin(), label.end(), [](char c) {
          return is_alnum(c) || c == '-' || c == '_';
        })) {
      return false;
    }
    if (dot == std::string_view::npos) {
      return true;
    }
    host.remove_prefix(dot + 1);
  }
}

std::string join(const std::vector<std::string>& items, std::string_view separator) {
  std::string out;
  for (std::size_t i = 0; i < items.size(); ++i) {
    out += (i == 0 ? "" : std::string(separator)) + items[i];
  }
  return out;
}

struct DurationUnit {
  std::string_view suffix;
  std::int64_t milliseconds;
};
// Largest first; a duration lists its units in this order: "1h30m".
constexpr std::array<DurationUnit, 4> kDurationUnits = {
    {{"h", 3'600'000}, {"m", 60'000}, {"s", 1'000}, {"ms", 1}}};

// Which unit `text` starts with, as an index into kDurationUnits ("ms" before "m").
std::optional<std::size_t> unit_at(std::string_view text) {
  if (text.starts_with("ms")) {
    return 3;
  }
  for (std::size_t i = 0; i < 3; ++i) {
    if (text.starts_with(kDurationUnits.at(i).suffix)) {
      return i;
    }
  }
  return std::nullopt;
}

}  // namespace

std::string quote(std::string_view text) {
  return nlohmann::json(std::string(text))
      .dump(-1, ' ', false, nlohmann::json::error_handler_t::replace);
}

Problem listen_address_problem(std::string_view text) {
  const std::string expected =
      "expected \"host:port\", \":port\" or \"[ipv6]:port\", got " + quote(text) + ": ";
  std::string_view rest = text;
  if (text.starts_with('[')) {
    const std::size_t close = text.find(']');
    if (close == std::string_view::npos || !is_ipv6(text.substr(1, close - 1))) {
      return expected + "the part in brackets is not an IPv6 address";
    }
    rest = text.substr(close + 1);
  } else {
    const std::size_t colon = text.rfind(':');
    if (colon == std::string_view::npos) {
      return expected + "the :port is missing";
    }
    const std::string_view host = text.substr(0, colon);
    rest = text.substr(colon);
    if (host.find(':') != std::string_view::npos) {
      return expected + "one address only, and IPv6 addresses in brackets, like [::1]:9835";
    }
    const bool looks_numeric = !host.empty() && std::all_of(host.begin(), host.end(), [](char c) {
      return is_digit(c) || c == '.';
    });
    if (!host.empty() && (looks_numeric ? !is_ipv4(host) : !is_hostname(host))) {
      return expected + quote(host) + " is not a host name or IPv4 address";
    }
  }
  const auto port = rest.starts_with(':') ? parse_decimal(rest.substr(1), 5) : std::nullopt;
  if (!port || *port > 65535) {
    return expected + "the port must be a number from 0 to 65535, got " +
           quote(rest.starts_with(':') ? rest.substr(1) : rest);
  }
  return std::nullopt;
}

Problem telemetry_path_problem(std::string_view path) {
  if (!path.starts_with('/') || path.starts_with("//")) {
    // "//host/x" would be a link to another host on the landing page.
    return "expected an absolute path starting with a single \"/\", got " + quote(path);
  }
  if (std::find(routes::kReserved.begin(), routes::kReserved.end(), path) !=
      routes::kReserved.end()) {
    return quote(path) + " is reserved by the exporter; use another path such as \"/metrics\"";
  }
  if (path.find_first_of(" \t\r\n?#") != std::string_view::npos) {
    return "expected a plain URL path without spaces, '?' or '#', got " + quote(path);
  }
  return std::nullopt;
}

Problem tls_version_problem(std::string_view version) {
  if (version == "TLS1.2" || version == "TLS1.3") {
    return std::nullopt;
  }
  return "expected \"TLS1.2\" or \"TLS1.3\", got " + quote(version);
}

Problem tls_client_auth_type_problem(std::string_view type) {
  constexpr std::array<std::string_view, 5> kTypes = {
      "NoClientCert", "RequestClientCert", "RequireAnyClientCert", "VerifyClientCertIfGiven",
      "RequireAndVerifyClientCert"};
  if (std::find(kTypes.begin(), kTypes.end(), type) != kTypes.end()) {
    return std::nullopt;
  }
  return "expected one of NoClientCert, RequestClientCert, RequireAnyClientCert, "
         "VerifyClientCertIfGiven, RequireAndVerifyClientCert (the exporter-toolkit's "
         "client_auth_type); got " +
         quote(type);
}

std::vector<TlsSettingProblem> tls_settings_problems(const WebSettings& web,
                                                     const TlsSpelling& spelling) {
  std::vector<TlsSettingProblem> problems;
  const auto name = spelling.setting;
  // "TLS1.2" < "TLS1.3" as text and as versions.
  if (web.tls_max_version < web.tls_min_version) {
    problems.push_back({TlsSetting::max_version, quote(spelling.version(web.tls_max_version)) +
                                                     " is below " + name(TlsSetting::min_version) +
                                                     " " +
                                                     quote(spelling.version(web.tls_min_version)) +
                                                     ": no protocol version would be left"});
  }
  const bool asks_client = web.tls_client_auth_type != "NoClientCert";
  const bool verifies = web.tls_client_auth_type == "VerifyClientCertIfGiven" ||
                        web.tls_client_auth_type == "RequireAndVerifyClientCert";
  if (web.tls_cert_file.empty() && (asks_client || !web.tls_client_ca_file.empty())) {
    problems.push_back({asks_client ? TlsSetting::client_auth_type : TlsSetting::client_ca_file,
                        "client certificates need HTTPS: set " + name(TlsSetting::cert_file) +
                            " and " + name(TlsSetting::key_file) + " too"});
  } else if (verifies && web.tls_client_ca_file.empty()) {
    problems.push_back({TlsSetting::client_ca_file,
                        "must be set too: " + name(TlsSetting::client_auth_type) + " " +
                            web.tls_client_auth_type +
                            " verifies client certificates against the CAs in this file"});
  } else if (!asks_client && !web.tls_client_ca_file.empty()) {
    problems.push_back({TlsSetting::client_ca_file,
                        "is set, but " + name(TlsSetting::client_auth_type) +
                            " is NoClientCert: set it to RequireAndVerifyClientCert (or "
                            "VerifyClientCertIfGiven) to check client certificates against this "
                            "file"});
  }
  return problems;
}

Problem log_level_problem(std::string_view level) {
  constexpr std::array<std::string_view, 7> kLevels = {"trace", "debug",    "info", "warn",
                                                       "error", "critical", "off"};
  if (std::find(kLevels.begin(), kLevels.end(), level) != kLevels.end()) {
    return std::nullopt;
  }
  return "expected one of trace, debug, info, warn, error, critical, off; got " + quote(level);
}

Problem cidr_problem(std::string_view text) {
  const std::string expected =
      "expected a network like \"10.0.0.0/8\" or \"fd00::/8\", got " + quote(text) + ": ";
  const std::size_t slash = text.find('/');
  if (slash == std::string_view::npos) {
    return expected + "the /prefix-length is missing";
  }
  const std::string_view address = text.substr(0, slash);
  const bool v6 = address.find(':') != std::string_view::npos;
  if (v6 ? !is_ipv6(address) : !is_ipv4(address)) {
    return expected + quote(address) + " is not an IPv4 or IPv6 address";
  }
  const unsigned max_prefix = v6 ? 128 : 32;
  const auto prefix = parse_decimal(text.substr(slash + 1), 3);
  if (!prefix || *prefix > max_prefix) {
    return expected + "the prefix length must be 0 to " + std::to_string(max_prefix);
  }
  return std::nullopt;
}

Problem password_hash_problem(std::string_view text) {
  std::string problem;
  if (StoredPassword::parse(text, StoredPassword::Formats::kAny, &problem)) {
    return std::nullopt;
  }
  return problem;
}

Problem bcrypt_hash_problem(std::string_view text) {
  std::string problem;
  if (StoredPassword::parse(text, StoredPassword::Formats::kBcryptOnly, &problem)) {
    return std::nullopt;
  }
  return problem;
}

Problem non_empty_problem(std::string_view text) {
  return text.empty() ? Problem("expected a non-empty string") : std::nullopt;
}

Problem template_problem(std::string_view text, const NameSet& allowed) {
  std::size_t open = std::string_view::npos;
  for (std::size_t i = 0; i < text.size(); ++i) {
    if (text[i] == '{') {
      if (open != std::string_view::npos) {
        return "'{' at offset " + std::to_string(i) + " is inside another placeholder";
      }
      open = i;
    } else if (text[i] == '}') {
      if (open == std::string_view::npos) {
        return "'}' at offset " + std::to_string(i) + " has no matching '{'";
      }
      const std::string_view name = text.substr(open + 1, i - open - 1);
      if (!allowed.contains(name)) {
        std::vector<std::string> choices;
        for (const auto& choice : allowed) {
          choices.push_back("{" + choice + "}");
        }
        return "placeholder {" + std::string(name) +
               "} is not a named capture of this rule's regular expressions; expected one of " +
               join(choices, ", ");
      }
      open = std::string_view::npos;
    }
  }
  if (open != std::string_view::npos) {
    return "'{' at offset " + std::to_string(open) + " is never closed";
  }
  return std::nullopt;
}

Problem unmatched_group_problem(std::string_view text) {
  return template_problem(text, NameSet{"name", "path"});
}

std::optional<milliseconds> parse_duration(std::string_view text) {
  std::int64_t total = 0;
  std::size_t next_unit = 0;  // units must come in kDurationUnits order, each at most once
  if (text.empty()) {
    return std::nullopt;
  }
  while (!text.empty()) {
    const std::size_t digits = std::find_if_not(text.begin(), text.end(), is_digit) - text.begin();
    const auto number = parse_decimal(text.substr(0, digits), 9);  // 9 digits: no overflow
    const auto unit = unit_at(text.substr(digits));
    if (!number || !unit || *unit < next_unit) {
      return std::nullopt;
    }
    total += std::int64_t{*number} * kDurationUnits.at(*unit).milliseconds;
    text.remove_prefix(digits + kDurationUnits.at(*unit).suffix.size());
    next_unit = *unit + 1;
  }
  return milliseconds{total};
}

std::string format_duration(milliseconds duration) {
  std::int64_t left = duration.count();
  std::string out;
  for (const auto& unit : kDurationUnits) {
    if (left >= unit.milliseconds) {
      out += std::to_string(left / unit.milliseconds) + std::string(unit.suffix);
      left %= unit.milliseconds;
    }
  }
  return out.empty() ? "0s" : out;
}

}  // namespace thx
