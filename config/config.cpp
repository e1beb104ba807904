// Loading the configuration: JSON text -> a validated Config. Reading and checking happen in one
// pass that never stops at the first problem, so a user fixes every mistake in one round; each
// error names its JSON path ($.groups.rules[2].name) and what was expected.
#include "config/config.h"

#include "exporter/access/network.h"
#include "exporter/access/password.h"

#include <algorithm>
#include <array>
#include <cerrno>
#include <cstdint>
#include <fstream>
#include <set>
#include <system_error>
#include <utility>

#include <nlohmann/json.hpp>

namespace thx {
namespace {

using Json = nlohmann::json;
using std::chrono::milliseconds;
using Names = std::set<std::string, std::less<>>;

constexpr milliseconds kMinInterval{100};  // below this the snapshots themselves dominate the CPU
constexpr std::size_t kMaxConfigBytes = std::size_t{16} * 1024 * 1024;

// The defaults, written out. A test loads this text and compares it with Config{} field by field.
constexpr std::string_view kDefaultConfigJson = R"({
  "web": {
    "listen_address": ":9835",
    "telemetry_path": "/metrics",
    "enable_lifecycle": false,
    "allowed_networks": [],
    "basic_auth_users": {},
    "max_connections": 64,
    "max_connections_per_client": 8,
    "request_timeout": "10s",
    "idle_timeout": "2m",
    "enable_snapshot": true,
    "snapshot_command_lines": false,
    "tls_cert_file": "",
    "tls_key_file": "",
    "tls_min_version": "TLS1.2"
  },
  "collection": {
    "interval": "15s",
    "module_interval": "5m",
    "kinds": ["processes", "threads", "modules"],
    "thread_detail": false,
    "max_heap_blocks_per_process": 10000
  },
  "groups": {
    "rules": [],
    "unmatched_group": "{name}"
  },
  "modules": {
    "include": [],
    "exclude": [],
    "max_series": 2000
  },
  "per_process": {
    "include": [],
    "max_series": 50
  },
  "log": {
    "level": "info",
    "file": "",
    "file_max_bytes": 10485760,
    "file_max_files": 3
  }
}
)";

// ---------------------------------------------------------------------------------------------
// Small text helpers (ASCII only on purpose: no locale can change what a config means).

bool is_digit(char c) {
  return c >= '0' && c <= '9';
}
bool is_alnum(char c) {
  return is_digit(c) || (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z');
}

bool all_of(std::string_view text, bool (*predicate)(char)) {
  return std::all_of(text.begin(), text.end(), predicate);
}

// Decimal digits only (no sign, no spaces), at most `max_digits` of them.
std::optional<unsigned> parse_decimal(std::string_view text, std::size_t max_digits) {
  if (text.empty() || text.size() > max_digits || !all_of(text, is_digit)) {
    return std::nullopt;
  }
  unsigned value = 0;
  for (char c : text) {
    value = value * 10 + static_cast<unsigned>(c - '0');
  }
  return value;
}

std::string quote(std::string_view text) {
  return Json(std::string(text)).dump(-1, ' ', false, Json::error_handler_t::replace);
}

std::string join(const std::vector<std::string>& items, std::string_view separator) {
  std::string out;
  for (std::size_t i = 0; i < items.size(); ++i) {
    out += (i == 0 ? "" : std::string(separator)) + items[i];
  }
  return out;
}

// Keys starting with "//" are comments, at any level: JSON has no other way to annotate a file.
bool is_comment_key(std::string_view key) {
  return key.starts_with("//");
}

// ---------------------------------------------------------------------------------------------
// JSON paths: $.groups.rules[2].name; keys that are not plain words are quoted: $.a["b c"].

std::string child_path(std::string_view parent, std::string_view key) {
  const bool plain = !key.empty() && std::all_of(key.begin(), key.end(), [](char c) {
    return is_alnum(c) || c == '_' || c == '-';
  });
  return std::string(parent) + (plain ? "." + std::string(key) : "[" + quote(key) + "]");
}

std::string index_path(std::string_view parent, std::size_t index) {
  return std::string(parent) + "[" + std::to_string(index) + "]";
}

// How a wrong value appears in a message: short, and written as JSON.
std::string describe(const Json& value) {
  if (value.is_object()) {
    return "an object";
  }
  if (value.is_array()) {
    return "an array";
  }
  std::string text = value.dump(-1, ' ', false, Json::error_handler_t::replace);
  if (text.size() > 60) {
    std::size_t cut = 57;
    while (cut > 0 && (static_cast<unsigned char>(text[cut]) & 0xC0U) == 0x80U) {
      --cut;  // not inside a UTF-8 sequence
    }
    text = text.substr(0, cut) + "...";
  }
  return value.is_string() ? "the string " + text : text;
}

// ---------------------------------------------------------------------------------------------
// Durations

struct DurationUnit {
  std::string_view suffix;
  std::int64_t milliseconds;
};
// Longest suffix first ("ms" before "m"); a duration lists its units in this order: "1h30m".
constexpr std::array<DurationUnit, 4> kDurationUnits = {
    {{"h", 3'600'000}, {"m", 60'000}, {"s", 1'000}, {"ms", 1}}};

// Which unit `text` starts with, as an index into kDurationUnits.
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

// ---------------------------------------------------------------------------------------------
// Addresses (config/network.h parses them; the same parser serves the access control list).

bool is_ipv4(std::string_view text) {
  return text.find(':') == std::string_view::npos && parse_ip_address(text).has_value();
}

bool is_ipv6(std::string_view text) {
  return text.find(':') != std::string_view::npos && parse_ip_address(text).has_value();
}

// Each check returns what is wrong with a value, or nothing when it is fine.
using Problem = std::optional<std::string>;

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

bool is_hostname(std::string_view host) {
  return std::all_of(host.begin(), host.end(),
                     [](char c) { return is_alnum(c) || c == '-' || c == '.' || c == '_'; });
}

// host:port, :port (every interface) or [v6]:port; port 0 asks the OS for a free one (tests).
Problem listen_address_problem(std::string_view text) {
  const std::string expected =
      "expected \"host:port\", \":port\" or \"[ipv6]:port\", got " + quote(text) + ": ";
  std::string_view host;
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
    host = text.substr(0, colon);
    rest = text.substr(colon);
    if (host.find(':') != std::string_view::npos) {
      return expected + "write IPv6 addresses in brackets, like [::1]:9835";
    }
    const bool looks_numeric =
        !host.empty() && all_of(host, [](char c) { return is_digit(c) || c == '.'; });
    if (!is_hostname(host) || (looks_numeric && !is_ipv4(host))) {
      return expected + quote(host) + " is not a host name or IPv4 address";
    }
  }
  const auto port = rest.starts_with(':') ? parse_decimal(rest.substr(1), 5) : std::nullopt;
  if (!port || *port > 65535) {
    return expected + "the port must be a number from 0 to 65535";
  }
  return std::nullopt;
}

// The exporter serves these itself; metrics there would hide them.
Problem telemetry_path_problem(std::string_view path) {
  constexpr std::array<std::string_view, 4> kReserved = {"/", "/healthz", "/snapshot", "/-/reload"};
  if (!path.starts_with('/') || path.starts_with("//")) {
    // "//host/x" would be a link to another host on the landing page.
    return "expected an absolute path starting with a single \"/\", got " + quote(path);
  }
  if (std::find(kReserved.begin(), kReserved.end(), path) != kReserved.end()) {
    return quote(path) + " is reserved by the exporter; use another path such as \"/metrics\"";
  }
  if (path.find_first_of(" \t\r\n?#") != std::string_view::npos) {
    return "expected a plain URL path without spaces, '?' or '#', got " + quote(path);
  }
  return std::nullopt;
}

// What the exporter's OpenSSL setup knows; older protocol versions are not offered at all.
Problem tls_min_version_problem(std::string_view version) {
  if (version == "TLS1.2" || version == "TLS1.3") {
    return std::nullopt;
  }
  return "expected \"TLS1.2\" or \"TLS1.3\", got " + quote(version);
}

Problem log_level_problem(std::string_view level) {
  constexpr std::array<std::string_view, 7> kLevels = {"trace", "debug",    "info", "warn",
                                                       "error", "critical", "off"};
  if (std::find(kLevels.begin(), kLevels.end(), level) != kLevels.end()) {
    return std::nullopt;
  }
  return "expected one of trace, debug, info, warn, error, critical, off; got " + quote(level);
}

Problem non_empty_problem(std::string_view text) {
  return text.empty() ? Problem("expected a non-empty string") : std::nullopt;
}

// A group template is text with {placeholder}s. There is no escape, so braces always pair up and
// every placeholder must be one the rule can fill.
Problem template_problem(std::string_view text, const Names& allowed) {
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
  return template_problem(text, Names{"name", "path"});
}

// ---------------------------------------------------------------------------------------------
// The reader: typed reads that report a mismatch (and return nothing) instead of stopping.

using Check = Problem (*)(std::string_view);

class Reader {
 public:
  void error(std::string path, std::string message) {
    errors_.push_back({std::move(path), std::move(message)});
  }
  void expected(const std::string& path, std::string_view what, const Json& got) {
    error(path, "expected " + std::string(what) + ", got " + describe(got));
  }
  [[nodiscard]] std::size_t error_count() const { return errors_.size(); }
  std::vector<ConfigError> take_errors() { return std::move(errors_); }

  std::optional<bool> boolean(const Json& value, const std::string& path) {
    if (value.is_boolean()) {
      return value.get<bool>();
    }
    expected(path, "true or false", value);
    return std::nullopt;
  }

  std::optional<std::string> string(const Json& value, const std::string& path,
                                    Check check = nullptr) {
    if (!value.is_string()) {
      expected(path, "a string", value);
      return std::nullopt;
    }
    auto text = value.get<std::string>();
    if (check != nullptr) {
      if (auto problem = check(text)) {
        error(path, std::move(*problem));
        return std::nullopt;
      }
    }
    return text;
  }

  // Non-negative integers only: 8.0, -1 and "8" are all mistakes worth naming.
  std::optional<std::size_t> count(const Json& value, const std::string& path, std::size_t min,
                                   std::size_t max) {
    if (!value.is_number_unsigned() || value.get<std::uint64_t>() < min ||
        value.get<std::uint64_t>() > max) {
      expected(path, "an integer from " + std::to_string(min) + " to " + std::to_string(max),
               value);
      return std::nullopt;
    }
    return value.get<std::size_t>();
  }

  std::optional<milliseconds> duration(const Json& value, const std::string& path,
                                       milliseconds min) {
    const auto parsed = value.is_string() ? parse_duration(value.get<std::string>()) : std::nullopt;
    if (!parsed) {
      expected(path, "a duration such as \"100ms\", \"15s\", \"5m\", \"1h\" or \"1m30s\"", value);
      return std::nullopt;
    }
    if (*parsed < min) {
      error(path, "must be at least " + format_duration(min) + ", got " +
                      quote(value.get<std::string>()));
      return std::nullopt;
    }
    return parsed;
  }

  std::optional<Regex> regex(const Json& value, const std::string& path) {
    auto pattern = string(value, path);
    if (!pattern) {
      return std::nullopt;
    }
    try {
      return Regex(std::move(*pattern));
    } catch (const RegexError& e) {
      error(path, std::string("invalid regular expression: ") + e.what());
      return std::nullopt;
    }
  }

  // Calls `each(element, path)` for every element; false when `value` is not an array.
  template <typename Each>
  bool elements(const Json& value, const std::string& path, Each each) {
    if (!value.is_array()) {
      expected(path, "an array", value);
      return false;
    }
    for (std::size_t i = 0; i < value.size(); ++i) {
      each(value[i], index_path(path, i));
    }
    return true;
  }

  // Checks that `value` is an object with only the schema's keys (and "//" comments).
  bool object(const Json& value, const std::string& path,
              std::initializer_list<std::string_view> keys) {
    if (!value.is_object()) {
      expected(path, "an object", value);
      return false;
    }
    for (const auto& [key, member] : value.items()) {
      if (!is_comment_key(key) && std::find(keys.begin(), keys.end(), key) == keys.end()) {
        std::vector<std::string> known(keys.begin(), keys.end());
        error(child_path(path, key), "unknown key; expected one of " + join(known, ", ") +
                                         " (keys starting with \"//\" are comments)");
      }
    }
    return true;
  }

 private:
  std::vector<ConfigError> errors_;
};

template <typename T>
void assign(T& out, std::optional<T> value) {
  if (value) {
    out = std::move(*value);
  }
}

// One object of the schema. Absent keys keep their default; a wrong value is reported (and the
// config is not returned at all, so what it leaves behind does not matter).
class Fields {
 public:
  Fields(Reader& reader, const Json& json, std::string path,
         std::initializer_list<std::string_view> keys)
      : reader_(reader),
        json_(json),
        path_(std::move(path)),
        valid_(reader.object(json, path_, keys)) {}

  [[nodiscard]] bool valid() const { return valid_; }
  [[nodiscard]] std::string path(std::string_view key) const { return child_path(path_, key); }
  [[nodiscard]] const Json* find(std::string_view key) const {
    if (!valid_) {
      return nullptr;
    }
    const auto it = json_.find(key);
    return it == json_.end() ? nullptr : &*it;
  }

  void get(std::string_view key, bool& out) {
    if (const Json* value = find(key)) {
      assign(out, reader_.boolean(*value, path(key)));
    }
  }
  void get(std::string_view key, std::string& out, Check check = nullptr) {
    if (const Json* value = find(key)) {
      assign(out, reader_.string(*value, path(key), check));
    }
  }
  void get(std::string_view key, std::size_t& out, std::size_t min, std::size_t max) {
    if (const Json* value = find(key)) {
      assign(out, reader_.count(*value, path(key), min, max));
    }
  }
  void get(std::string_view key, milliseconds& out, milliseconds min) {
    if (const Json* value = find(key)) {
      assign(out, reader_.duration(*value, path(key), min));
    }
  }
  void get(std::string_view key, std::optional<Regex>& out) {
    if (const Json* value = find(key)) {
      out = reader_.regex(*value, path(key));
    }
  }
  void get(std::string_view key, std::vector<Regex>& out) {
    if (const Json* value = find(key)) {
      reader_.elements(*value, path(key), [&](const Json& element, const std::string& at) {
        if (auto regex = reader_.regex(element, at)) {
          out.push_back(std::move(*regex));
        }
      });
    }
  }
  void get(std::string_view key, std::vector<std::string>& out, Check check) {
    if (const Json* value = find(key)) {
      reader_.elements(*value, path(key), [&](const Json& element, const std::string& at) {
        if (auto text = reader_.string(element, at, check)) {
          out.push_back(std::move(*text));
        }
      });
    }
  }

 private:
  Reader& reader_;
  const Json& json_;
  std::string path_;
  bool valid_;
};

// ---------------------------------------------------------------------------------------------
// The sections

// user -> salted hash. The hash format is the exporter's business; here it only must be there.
Problem password_hash_problem(std::string_view text) {
  if (PasswordHash::parse(text)) {
    return std::nullopt;
  }
  return "expected a password hash \"pbkdf2-sha256$<iterations>$<salt hex>$<key hex>\" as "
         "printed by `toolhelp_exporter hash-password` (plain passwords are refused)";
}

void read_users(Reader& reader, const Json& json, const std::string& path,
                std::map<std::string, std::string>& users) {
  if (!json.is_object()) {
    reader.expected(path, "an object mapping user names to password hashes", json);
    return;
  }
  for (const auto& [user, hash] : json.items()) {
    if (is_comment_key(user)) {
      continue;
    }
    const std::string at = child_path(path, user);
    if (user.empty() || user.find(':') != std::string::npos) {
      reader.error(at, "a user name must be non-empty and cannot contain ':' (HTTP basic auth)");
    } else if (auto text = reader.string(hash, at, password_hash_problem)) {
      users[user] = std::move(*text);
    }
  }
}

void read_web(Reader& reader, const Json& json, const std::string& path, WebSettings& web) {
  Fields fields(reader, json, path,
                {"listen_address", "telemetry_path", "enable_lifecycle", "allowed_networks",
                 "basic_auth_users", "max_connections", "max_connections_per_client",
                 "request_timeout", "idle_timeout", "enable_snapshot", "snapshot_command_lines",
                 "tls_cert_file", "tls_key_file", "tls_min_version"});
  fields.get("listen_address", web.listen_address, listen_address_problem);
  fields.get("telemetry_path", web.telemetry_path, telemetry_path_problem);
  fields.get("enable_lifecycle", web.enable_lifecycle);
  fields.get("allowed_networks", web.allowed_networks, cidr_problem);
  if (const Json* users = fields.find("basic_auth_users")) {
    read_users(reader, *users, fields.path("basic_auth_users"), web.basic_auth_users);
  }
  fields.get("max_connections", web.max_connections, 1, 1024);
  fields.get("max_connections_per_client", web.max_connections_per_client, 1, 1024);
  fields.get("request_timeout", web.request_timeout, milliseconds{1});
  fields.get("idle_timeout", web.idle_timeout, milliseconds{1});
  fields.get("enable_snapshot", web.enable_snapshot);
  fields.get("snapshot_command_lines", web.snapshot_command_lines);
  const std::size_t errors_before = reader.error_count();
  fields.get("tls_cert_file", web.tls_cert_file);
  fields.get("tls_key_file", web.tls_key_file);
  // HTTPS needs both; one alone is a half-finished edit, not a choice.
  if (reader.error_count() == errors_before &&
      web.tls_cert_file.empty() != web.tls_key_file.empty()) {
    const bool cert_missing = web.tls_cert_file.empty();
    reader.error(fields.path(cert_missing ? "tls_cert_file" : "tls_key_file"),
                 std::string("must be set too: ") +
                     (cert_missing ? "tls_key_file" : "tls_cert_file") +
                     " is set, and HTTPS needs both the certificate and its key");
  }
  fields.get("tls_min_version", web.tls_min_version, tls_min_version_problem);
}

void read_kinds(Reader& reader, const Json& json, const std::string& path, KindSet& kinds) {
  KindSet seen;
  bool all_known = true;
  const bool is_array =
      reader.elements(json, path, [&](const Json& element, const std::string& at) {
        const auto name = reader.string(element, at);
        const auto kind = name ? kind_from_string(*name) : std::nullopt;
        if (!kind) {
          all_known = false;
          if (name) {
            reader.error(at,
                         "unknown kind " + quote(*name) +
                             "; expected one of processes, threads, modules, heaps, heap_blocks");
          }
          return;
        }
        if (seen.contains(*kind)) {
          reader.error(at, "duplicate kind " + quote(*name));
        }
        seen.insert(*kind);
      });
  if (!is_array || !all_known) {
    return;  // the set-level checks below would only repeat the element errors
  }
  if (!seen.contains(Kind::processes)) {
    reader.error(path, "must include \"processes\": every other kind hangs off the process list");
  }
  if (seen.contains(Kind::heap_blocks) && !seen.contains(Kind::heaps)) {
    reader.error(path, "\"heap_blocks\" requires \"heaps\": blocks are counted per heap");
  }
  kinds = seen;
}

void read_collection(Reader& reader, const Json& json, const std::string& path,
                     CollectionSettings& collection) {
  Fields fields(
      reader, json, path,
      {"interval", "module_interval", "kinds", "thread_detail", "max_heap_blocks_per_process"});
  const std::size_t errors_before = reader.error_count();
  fields.get("interval", collection.interval, kMinInterval);
  fields.get("module_interval", collection.module_interval, kMinInterval);
  // Modules are read on some snapshots only, so their interval cannot be shorter.
  if (reader.error_count() == errors_before && collection.module_interval < collection.interval) {
    const bool defaulted = fields.find("module_interval") == nullptr;
    reader.error(fields.path("module_interval"),
                 "must be at least the interval (" + format_duration(collection.interval) +
                     "), got " + format_duration(collection.module_interval) +
                     (defaulted ? " (the default)" : ""));
  }
  if (const Json* kinds = fields.find("kinds")) {
    read_kinds(reader, *kinds, fields.path("kinds"), collection.kinds);
  }
  fields.get("thread_detail", collection.thread_detail);
  fields.get("max_heap_blocks_per_process", collection.max_heap_blocks_per_process, 1, 10'000'000);
}

// Every placeholder of a rule's group must be one of its named captures, or name / path.
Names placeholders_of(const GroupRule& rule) {
  Names names{"name", "path"};
  for (const auto* regex : {&rule.name, &rule.path, &rule.command_line}) {
    if (regex->has_value()) {
      for (auto& capture : (*regex)->capture_names()) {
        names.insert(std::move(capture));
      }
    }
  }
  return names;
}

void read_rule(Reader& reader, const Json& json, const std::string& path,
               std::vector<GroupRule>& rules) {
  Fields fields(reader, json, path, {"group", "name", "path", "command_line"});
  if (!fields.valid()) {
    return;
  }
  GroupRule rule;
  const std::size_t errors_before = reader.error_count();
  fields.get("name", rule.name);
  fields.get("path", rule.path);
  fields.get("command_line", rule.command_line);
  const bool matchers_ok = reader.error_count() == errors_before;
  const Json* group = fields.find("group");
  if (group == nullptr) {
    reader.error(fields.path("group"), "missing: every rule needs a group name template");
  } else if (auto text = reader.string(*group, fields.path("group"), non_empty_problem)) {
    // A broken regex has no captures to check against: that error is enough.
    const auto problem =
        matchers_ok ? template_problem(*text, placeholders_of(rule)) : std::nullopt;
    if (problem) {
      reader.error(fields.path("group"), *problem);
    }
    rule.group = std::move(*text);
  }
  rules.push_back(std::move(rule));
}

void read_groups(Reader& reader, const Json& json, const std::string& path,
                 GroupingSettings& grouping) {
  Fields fields(reader, json, path, {"rules", "unmatched_group"});
  if (const Json* rules = fields.find("rules")) {
    reader.elements(*rules, fields.path("rules"), [&](const Json& rule, const std::string& at) {
      read_rule(reader, rule, at, grouping.rules);
    });
  }
  fields.get("unmatched_group", grouping.unmatched_group, unmatched_group_problem);
}

void read_modules(Reader& reader, const Json& json, const std::string& path,
                  ModuleInventorySettings& modules) {
  Fields fields(reader, json, path, {"include", "exclude", "max_series"});
  fields.get("include", modules.include);
  fields.get("exclude", modules.exclude);
  fields.get("max_series", modules.max_series, 1, 100'000);
}

void read_per_process(Reader& reader, const Json& json, const std::string& path,
                      PerProcessSettings& per_process) {
  Fields fields(reader, json, path, {"include", "max_series"});
  fields.get("include", per_process.include);
  fields.get("max_series", per_process.max_series, 0, 10'000);
}

void read_log(Reader& reader, const Json& json, const std::string& path, LogSettings& log) {
  Fields fields(reader, json, path, {"level", "file", "file_max_bytes", "file_max_files"});
  fields.get("level", log.level, log_level_problem);
  fields.get("file", log.file);
  fields.get("file_max_bytes", log.file_max_bytes, 1024, std::size_t{1} << 30U);
  fields.get("file_max_files", log.file_max_files, 1, 1000);
}

void read_config(Reader& reader, const Json& root, Config& config) {
  Fields top(reader, root, "$", {"web", "collection", "groups", "modules", "per_process", "log"});
  if (const Json* web = top.find("web")) {
    read_web(reader, *web, top.path("web"), config.web);
  }
  if (const Json* collection = top.find("collection")) {
    read_collection(reader, *collection, top.path("collection"), config.collection);
  }
  if (const Json* groups = top.find("groups")) {
    read_groups(reader, *groups, top.path("groups"), config.grouping);
  }
  if (const Json* modules = top.find("modules")) {
    read_modules(reader, *modules, top.path("modules"), config.modules);
  }
  if (const Json* per_process = top.find("per_process")) {
    read_per_process(reader, *per_process, top.path("per_process"), config.per_process);
  }
  if (const Json* log = top.find("log")) {
    read_log(reader, *log, top.path("log"), config.log);
  }
}

// ---------------------------------------------------------------------------------------------
// Parsing

// nlohmann::json silently keeps the last of two equal keys; in a config that is a mistake. The
// parse callback follows the document's nesting to report each duplicate with its path.
class DuplicateKeys {
 public:
  explicit DuplicateKeys(Reader& reader) : reader_(reader) {}

  bool on_event(Json::parse_event_t event, const Json& parsed) {
    using Event = Json::parse_event_t;
    if (event == Event::object_start || event == Event::array_start) {
      std::string path = next_path();
      stack_.push_back({std::move(path), event == Event::array_start, 0, {}, {}});
    } else if (event == Event::object_end || event == Event::array_end) {
      stack_.pop_back();
    } else if (event == Event::key && !stack_.empty()) {
      on_key(parsed.get<std::string>());
    } else if (event == Event::value && !stack_.empty() && stack_.back().is_array) {
      ++stack_.back().next_index;
    }
    return true;  // keep everything: this only watches
  }

 private:
  struct Frame {
    std::string path;
    bool is_array = false;
    std::size_t next_index = 0;  // arrays: the index of the next element
    std::string key;             // objects: the key whose value comes next
    Names keys;                  // objects: the keys seen so far
  };

  std::string next_path() {
    if (stack_.empty()) {
      return "$";
    }
    Frame& parent = stack_.back();
    return parent.is_array ? index_path(parent.path, parent.next_index++)
                           : child_path(parent.path, parent.key);
  }

  void on_key(std::string key) {
    Frame& object = stack_.back();
    if (!is_comment_key(key) && !object.keys.insert(key).second) {
      reader_.error(child_path(object.path, key),
                    "duplicate key: it is set more than once in this object");
    }
    object.key = std::move(key);
  }

  Reader& reader_;
  std::vector<Frame> stack_;
};

// nlohmann's messages start with "[json.exception.parse_error.101] ": an id, not an explanation.
std::string without_prefix(std::string message) {
  if (message.starts_with('[')) {
    if (const std::size_t end = message.find("] "); end != std::string::npos) {
      message.erase(0, end + 2);
    }
  }
  return message;
}

// nlohmann's parse_error::byte is the 1-based offset of the character that stopped the parser.
std::string syntax_error_message(std::string_view text, const Json::parse_error& error) {
  const std::size_t offset = std::min<std::size_t>(error.byte, text.size() + 1);
  const std::string_view before = text.substr(0, offset == 0 ? 0 : offset - 1);
  const std::size_t line =
      1 + static_cast<std::size_t>(std::count(before.begin(), before.end(), '\n'));
  const std::size_t line_start = before.rfind('\n');
  const std::size_t column =
      before.size() - (line_start == std::string_view::npos ? 0 : line_start + 1) + 1;
  // Keep nlohmann's explanation, without its "parse error at line 1, column 5: " part.
  std::string detail = without_prefix(error.what());
  if (const std::size_t at = detail.find(": ", detail.find("column")); at != std::string::npos) {
    detail.erase(0, at + 2);
  }
  return "invalid JSON at line " + std::to_string(line) + ", column " + std::to_string(column) +
         ": " + detail;
}

std::optional<Json> parse_json(std::string_view text, std::string_view source, Reader& reader) {
  DuplicateKeys duplicates(reader);
  auto callback = [&duplicates](int /*depth*/, Json::parse_event_t event, Json& parsed) {
    return duplicates.on_event(event, parsed);
  };
  try {
    return Json::parse(text.begin(), text.end(), callback);
  } catch (const Json::parse_error& error) {
    reader.error(std::string(source), syntax_error_message(text, error));
    return std::nullopt;
  } catch (const Json::exception& error) {
    // A number too large for a double (1e400): nlohmann gives no position for it.
    reader.error(std::string(source), "invalid JSON: " + without_prefix(error.what()));
    return std::nullopt;
  }
}

std::string utf8_name(const std::filesystem::path& file) {
  const std::u8string name = file.u8string();
  return {name.begin(), name.end()};
}

// Reads a whole file, or says why not in the OS's words.
std::optional<std::string> read_file(const std::filesystem::path& file, std::string& problem) {
  std::error_code status_error;
  if (std::filesystem::is_directory(file, status_error)) {
    problem = "it is a directory";
    return std::nullopt;
  }
  errno = 0;
  std::ifstream in(file, std::ios::binary);
  if (!in) {
    problem = errno != 0 ? std::generic_category().message(errno) : "it cannot be opened";
    return std::nullopt;
  }
  std::string text;
  std::array<char, std::size_t{64} * 1024> chunk{};
  while (in.read(chunk.data(), chunk.size()) || in.gcount() > 0) {
    text.append(chunk.data(), static_cast<std::size_t>(in.gcount()));
    if (text.size() > kMaxConfigBytes) {
      problem = "it is larger than 16 MiB, far more than any configuration needs";
      return std::nullopt;
    }
  }
  if (in.bad()) {
    problem = "reading it failed";
    return std::nullopt;
  }
  return text;
}

}  // namespace

std::string_view default_config_json() {
  return kDefaultConfigJson;
}

ConfigLoadResult load_config_text(std::string_view text, std::string_view source) {
  Reader reader;
  ConfigLoadResult result;
  if (auto document = parse_json(text, source, reader)) {
    Config config;
    read_config(reader, *document, config);
    if (reader.error_count() == 0) {
      result.config = std::move(config);
    }
  }
  result.errors = reader.take_errors();
  return result;
}

ConfigLoadResult load_config_file(const std::filesystem::path& file) {
  std::string problem;
  auto text = read_file(file, problem);
  if (!text) {
    return {std::nullopt, {{utf8_name(file), "cannot read the configuration file: " + problem}}};
  }
  return load_config_text(*text, utf8_name(file));
}

// "1h30m", "15s", "100ms": decimal numbers, each with a unit, units from largest to smallest.
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

std::filesystem::path path_from_utf8(std::string_view text) {
  const std::u8string utf8(text.begin(), text.end());
  return std::filesystem::path(utf8);
}

}  // namespace thx
