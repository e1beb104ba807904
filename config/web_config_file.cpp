// --web.config.file: the exporter-toolkit web configuration (YAML), as node_exporter and
// windows_exporter read it, laid over the JSON configuration's web section.
//
// The YAML is read through yaml-cpp's event parser into a small tree of our own, so that the
// reader decides what a hostile file may cost: at most kMaxFileBytes of text, kMaxDepth levels of
// nesting, kMaxNodes nodes, no aliases (a few of them expand to billions of nodes), one document.
// Every error names the file, the line and the key path (tls_server_config.min_version), and all
// of them are reported at once, as the JSON configuration's are.
#include <algorithm>
#include <array>
#include <cerrno>
#include <fstream>
#include <initializer_list>
#include <map>
#include <set>
#include <sstream>
#include <system_error>
#include <utility>

#include "config/config.h"
#include "config/file_text.h"
#include "config/json_reader.h"
#include "config/validators.h"

#include <yaml-cpp/eventhandler.h>
#include <yaml-cpp/exceptions.h>
#include <yaml-cpp/mark.h>
#include <yaml-cpp/parser.h>

namespace thx {
namespace {

constexpr std::size_t kMaxFileBytes = std::size_t{1024} * 1024;
constexpr std::size_t kMaxDepth = 32;  // the toolkit's own keys nest 3 deep
constexpr std::size_t kMaxNodes = 100'000;

// One YAML node, as much as the web configuration needs of it.
struct YamlNode {
  enum class Kind { kNull, kScalar, kSequence, kMap };
  Kind kind = Kind::kNull;
  std::size_t line = 0;  // 1-based
  std::string value;     // scalars
  bool plain = false;    // an unquoted scalar (true, 12, TLS12) rather than a quoted string
  std::vector<YamlNode> items;
  // Mappings: keys[i] maps to values[i], in file order (two vectors: a vector may hold the
  // incomplete YamlNode, a pair of them may not).
  std::vector<YamlNode> keys;
  std::vector<YamlNode> values;
};

// What stops the parse: the line where it stopped and why.
struct YamlStop {
  std::size_t line;
  std::string message;
};

std::size_t line_of(const YAML::Mark& mark) {
  return mark.is_null() ? 0 : static_cast<std::size_t>(mark.line) + 1;
}

// Builds the tree from the parser's events, within the bounds.
class TreeBuilder : public YAML::EventHandler {
 public:
  std::optional<YamlNode> root;

  void OnDocumentStart(const YAML::Mark& /*mark*/) override {}
  void OnDocumentEnd() override {}

  void OnNull(const YAML::Mark& mark, YAML::anchor_t /*anchor*/) override {
    add(node(YamlNode::Kind::kNull, mark));
  }
  void OnAlias(const YAML::Mark& mark, YAML::anchor_t /*anchor*/) override {
    throw YamlStop{line_of(mark),
                   "YAML aliases (*name) are not supported in the web configuration; write the "
                   "value out"};
  }
  void OnScalar(const YAML::Mark& mark, const std::string& tag, YAML::anchor_t /*anchor*/,
                const std::string& value) override {
    YamlNode scalar = node(YamlNode::Kind::kScalar, mark);
    scalar.value = value;
    scalar.plain = tag == "?";  // "!" is a quoted scalar; other tags are explicit
    add(std::move(scalar));
  }
  void OnSequenceStart(const YAML::Mark& mark, const std::string& /*tag*/,
                       YAML::anchor_t /*anchor*/, YAML::EmitterStyle::value /*style*/) override {
    open(add(node(YamlNode::Kind::kSequence, mark)), mark);
  }
  void OnSequenceEnd() override { stack_.pop_back(); }
  void OnMapStart(const YAML::Mark& mark, const std::string& /*tag*/, YAML::anchor_t /*anchor*/,
                  YAML::EmitterStyle::value /*style*/) override {
    open(add(node(YamlNode::Kind::kMap, mark)), mark);
  }
  void OnMapEnd() override { stack_.pop_back(); }

 private:
  struct Frame {
    YamlNode* node;
    bool want_key = true;  // maps: the next node is a key
  };

  YamlNode node(YamlNode::Kind kind, const YAML::Mark& mark) {
    if (++nodes_ > kMaxNodes) {
      throw YamlStop{line_of(mark), "more than " + std::to_string(kMaxNodes) +
                                        " YAML nodes; a web configuration needs a few dozen"};
    }
    YamlNode out;
    out.kind = kind;
    out.line = line_of(mark);
    return out;
  }

  void open(YamlNode* container, const YAML::Mark& mark) {
    if (stack_.size() >= kMaxDepth) {
      throw YamlStop{line_of(mark), "nested deeper than " + std::to_string(kMaxDepth) +
                                        " levels; a web configuration needs 3"};
    }
    stack_.push_back({container});
  }

  // Stores `child` where it belongs and returns where it is (stable while it is open: a parent
  // grows only after its open child is closed).
  YamlNode* add(YamlNode child) {
    if (stack_.empty()) {
      root = std::move(child);
      return &*root;
    }
    Frame& frame = stack_.back();
    if (frame.node->kind == YamlNode::Kind::kSequence) {
      frame.node->items.push_back(std::move(child));
      return &frame.node->items.back();
    }
    if (frame.want_key) {
      frame.want_key = false;
      frame.node->keys.push_back(std::move(child));
      return &frame.node->keys.back();
    }
    frame.want_key = true;
    frame.node->values.push_back(std::move(child));
    return &frame.node->values.back();
  }

  std::vector<Frame> stack_;
  std::size_t nodes_ = 0;
};

// Everything the file said, before it meets the JSON configuration.
struct WebConfigFile {
  std::optional<std::size_t> users_line;  // basic_auth_users given (and not null)
  std::map<std::string, std::string> users;
  std::optional<std::size_t> tls_line;  // tls_server_config sets something
  // tls_server_config in WebSettings' terms (file names anchored, versions spelled "TLS1.2"); a
  // setting it does not give keeps WebSettings' default.
  WebSettings tls;
  std::map<std::string, std::size_t, std::less<>> tls_key_lines;  // "client_ca_file" -> its line
  std::map<std::string, std::string> headers;
};

// tls_server_config's names for the TLS settings, and its spelling of the versions ("TLS12").
std::string toolkit_tls_key(TlsSetting setting) {
  switch (setting) {
    case TlsSetting::cert_file:
      return "cert_file";
    case TlsSetting::key_file:
      return "key_file";
    case TlsSetting::min_version:
      return "min_version";
    case TlsSetting::max_version:
      return "max_version";
    case TlsSetting::client_auth_type:
      return "client_auth_type";
    case TlsSetting::client_ca_file:
      break;
  }
  return "client_ca_file";
}

std::string toolkit_tls_version(std::string_view version) {
  return version == "TLS1.3" ? "TLS13" : "TLS12";
}

constexpr TlsSpelling kToolkitTlsSpelling{&toolkit_tls_key, &toolkit_tls_version};

constexpr std::array<TlsSetting, 6> kTlsSettings = {
    TlsSetting::cert_file,   TlsSetting::key_file,         TlsSetting::min_version,
    TlsSetting::max_version, TlsSetting::client_auth_type, TlsSetting::client_ca_file};

// The line a TLS setting is on: its key's, or tls_server_config's when the file leaves it out.
std::size_t tls_setting_line(const WebConfigFile& file, TlsSetting setting) {
  const auto line = file.tls_key_lines.find(toolkit_tls_key(setting));
  return line != file.tls_key_lines.end() ? line->second : file.tls_line.value_or(0);
}

bool is_plain_key(std::string_view key) {
  return !key.empty() && std::all_of(key.begin(), key.end(), [](char c) {
    return (c >= '0' && c <= '9') || (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || c == '_' ||
           c == '-';
  });
}

// tls_server_config.min_version, basic_auth_users["a b"].
std::string key_path(std::string_view parent, std::string_view key) {
  if (parent.empty()) {
    return is_plain_key(key) ? std::string(key) : "[" + quote(key) + "]";
  }
  return config_json::child_path(parent, key);
}

std::string describe(const YamlNode& node) {
  switch (node.kind) {
    case YamlNode::Kind::kNull:
      return "nothing (null)";
    case YamlNode::Kind::kSequence:
      return "a list";
    case YamlNode::Kind::kMap:
      return "a mapping";
    case YamlNode::Kind::kScalar:
      break;
  }
  std::string text = node.value.size() > 60 ? node.value.substr(0, 57) + "..." : node.value;
  return quote(text);
}

// Reads the tree into a WebConfigFile, recording every error with its line and key path.
class Reader {
 public:
  Reader(std::string source, std::filesystem::path base_dir)
      : source_(std::move(source)), base_dir_(std::move(base_dir)) {}

  std::vector<ConfigError> errors;

  void error(std::size_t line, const std::string& path, std::string message) {
    std::string where = line == 0 ? source_ : source_ + ":" + std::to_string(line);
    if (!path.empty()) {
      where += ": " + path;
    }
    errors.push_back({std::move(where), std::move(message)});
  }

  void read(const YamlNode& root, WebConfigFile& out) {
    if (root.kind == YamlNode::Kind::kNull) {
      return;  // an empty file: nothing set, as the toolkit reads it
    }
    // Known to the toolkit but not done here: refused by name, with what to do instead.
    static const std::map<std::string_view, std::string_view> kRefused = {
        {"rate_limit",
         "is not supported by this exporter: failed basic-auth attempts are already limited per "
         "client address (5 in 30 s); remove the key"}};
    for_each_entry(root, "", {"tls_server_config", "http_server_config", "basic_auth_users"},
                   kRefused, [&](const std::string& key, const YamlNode& value) {
                     if (key == "tls_server_config") {
                       read_tls(value, out);
                     } else if (key == "http_server_config") {
                       read_http(value, out);
                     } else {
                       read_users(value, out);
                     }
                   });
  }

 private:
  // Calls `each(key, value)` for the schema's keys of a mapping; reports duplicates, keys that
  // are not strings, refused and unknown keys. A null value means "not set" and is skipped.
  template <class Each>
  void for_each_entry(const YamlNode& map, const std::string& path,
                      std::initializer_list<std::string_view> keys,
                      const std::map<std::string_view, std::string_view>& refused, Each each) {
    if (map.kind == YamlNode::Kind::kNull) {
      return;
    }
    if (map.kind != YamlNode::Kind::kMap) {
      error(map.line, path, "expected a mapping of keys to values, got " + describe(map));
      return;
    }
    std::set<std::string, std::less<>> seen;
    for (std::size_t i = 0; i < std::min(map.keys.size(), map.values.size()); ++i) {
      const YamlNode& key_node = map.keys[i];
      const YamlNode& value = map.values[i];
      if (key_node.kind != YamlNode::Kind::kScalar) {
        error(key_node.line, path, "expected a plain key, got " + describe(key_node));
        continue;
      }
      const std::string& key = key_node.value;
      const std::string at = key_path(path, key);
      if (!seen.insert(key).second) {
        error(key_node.line, at, "duplicate key: it is already set above in the same mapping");
        continue;
      }
      if (auto why = refused.find(key); why != refused.end()) {
        error(key_node.line, at, std::string(why->second));
        continue;
      }
      if (std::find(keys.begin(), keys.end(), key) == keys.end()) {
        std::string known;
        for (std::string_view k : keys) {
          known += (known.empty() ? "" : ", ") + std::string(k);
        }
        error(key_node.line, at, "unknown key; expected one of " + known);
        continue;
      }
      if (value.kind != YamlNode::Kind::kNull) {
        each(key, value);
      }
    }
  }

  std::optional<std::string> string(const YamlNode& node, const std::string& path) {
    if (node.kind != YamlNode::Kind::kScalar) {
      error(node.line, path, "expected a string, got " + describe(node));
      return std::nullopt;
    }
    return node.value;
  }

  std::optional<bool> boolean(const YamlNode& node, const std::string& path) {
    // YAML 1.1 booleans, as the toolkit's YAML library (yaml.v2) reads them.
    static const std::set<std::string_view> kTrue = {"true", "True", "TRUE", "yes", "Yes",
                                                     "YES",  "on",   "On",   "ON"};
    static const std::set<std::string_view> kFalse = {"false", "False", "FALSE", "no", "No",
                                                      "NO",    "off",   "Off",   "OFF"};
    if (node.kind == YamlNode::Kind::kScalar && node.plain) {
      if (kTrue.contains(node.value)) {
        return true;
      }
      if (kFalse.contains(node.value)) {
        return false;
      }
    }
    error(node.line, path, "expected true or false, got " + describe(node));
    return std::nullopt;
  }

  // A file named in the web configuration: relative to the web configuration's folder, as the
  // toolkit reads it.
  std::string file_path(const std::string& value) const {
    if (value.empty()) {
      return value;
    }
    const std::filesystem::path given = path_from_utf8(value);
    return given.is_absolute() || base_dir_.empty() ? value : utf8_name(base_dir_ / given);
  }

  // "TLS12" -> "TLS1.2"; anything else is an error here.
  std::optional<std::string> tls_version(const std::string& text, std::size_t line,
                                         const std::string& at) {
    if (text == "TLS12") {
      return "TLS1.2";
    }
    if (text == "TLS13") {
      return "TLS1.3";
    }
    if (text == "TLS10" || text == "TLS11") {
      error(line, at,
            quote(text) +
                " is not supported: this exporter serves TLS 1.2 and 1.3 only; use "
                "TLS12 or TLS13");
    } else {
      error(line, at, "expected TLS12 or TLS13, got " + quote(text));
    }
    return std::nullopt;
  }

  void read_tls(const YamlNode& tls, WebConfigFile& out) {
    const std::string path = "tls_server_config";
    static const std::map<std::string_view, std::string_view> kRefused = {
        {"cert",
         "(the certificate inline) is not supported: put it in a file and name it in cert_file"},
        {"key", "(the key inline) is not supported: put it in a file and name it in key_file"},
        {"client_ca",
         "(client CAs inline) is not supported: put them in a file and name it in "
         "client_ca_file"},
        {"cipher_suites",
         "is not supported: this exporter uses OpenSSL's default cipher suites; remove the key"},
        {"curve_preferences",
         "is not supported: this exporter uses OpenSSL's default groups; remove the key"},
        {"client_allowed_sans", "is not supported: client certificate SANs are not checked"}};
    const std::size_t errors_before = errors.size();
    bool any = false;
    bool cert_invalid = false;  // a wrong value has its own error, not "missing" besides
    bool key_invalid = false;
    WebSettings& web = out.tls;
    for_each_entry(tls, path,
                   {"cert_file", "key_file", "min_version", "max_version", "client_auth_type",
                    "client_ca_file", "prefer_server_cipher_suites"},
                   kRefused, [&](const std::string& key, const YamlNode& value) {
                     const std::string at = key_path(path, key);
                     if (key == "prefer_server_cipher_suites") {
                       // Accepted and ignored, as Go has done since 1.18 (the toolkit's own
                       // behaviour): the TLS library orders the suites.
                       (void)boolean(value, at);
                       return;
                     }
                     auto text = string(value, at);
                     if (!text) {
                       cert_invalid = cert_invalid || key == "cert_file";
                       key_invalid = key_invalid || key == "key_file";
                       return;
                     }
                     if (text->empty()) {
                       return;  // "": not set, as the toolkit reads it
                     }
                     any = true;
                     out.tls_key_lines[key] = value.line;
                     if (key == "cert_file") {
                       web.tls_cert_file = file_path(*text);
                     } else if (key == "key_file") {
                       web.tls_key_file = file_path(*text);
                     } else if (key == "client_ca_file") {
                       web.tls_client_ca_file = file_path(*text);
                     } else if (key == "client_auth_type") {
                       if (*text == "RequireClientCert") {
                         // The toolkit's older name, which it still reads.
                         web.tls_client_auth_type = "RequireAnyClientCert";
                       } else if (auto problem = tls_client_auth_type_problem(*text)) {
                         error(value.line, at, *problem);
                       } else {
                         web.tls_client_auth_type = *text;
                       }
                     } else if (auto version = tls_version(*text, value.line, at)) {
                       (key == "min_version" ? web.tls_min_version : web.tls_max_version) =
                           *version;
                     }
                   });
    if (!any) {
      return;  // nothing set: plain HTTP, as the toolkit reads an empty tls_server_config
    }
    out.tls_line = tls.line;
    // As the toolkit says: TLS needs both the certificate and its key.
    if (web.tls_cert_file.empty() && !cert_invalid) {
      error(tls.line, path, "cert_file is missing: TLS needs the certificate and its key");
    }
    if (web.tls_key_file.empty() && !key_invalid) {
      error(tls.line, path, "key_file is missing: TLS needs the certificate and its key");
    }
    if (errors.size() != errors_before) {
      return;  // the rules below would only repeat what is already reported
    }
    // The same rules as the JSON web section's, in this file's names.
    for (const TlsSettingProblem& problem : tls_settings_problems(web, kToolkitTlsSpelling)) {
      error(tls_setting_line(out, problem.setting),
            key_path(path, toolkit_tls_key(problem.setting)), problem.message);
    }
  }

  void read_http(const YamlNode& http, WebConfigFile& out) {
    const std::string path = "http_server_config";
    for_each_entry(http, path, {"http2", "headers"}, {},
                   [&](const std::string& key, const YamlNode& value) {
                     const std::string at = key_path(path, key);
                     if (key == "http2") {
                       // Accepted either way: this server speaks HTTP/1.1 only and never offers
                       // h2 (ALPN), so clients use HTTP/1.1 as they do with the toolkit's
                       // http2: false.
                       (void)boolean(value, at);
                     } else {
                       read_headers(value, at, out);
                     }
                   });
  }

  // The headers the toolkit lets users set, and the values it allows for the two whose values
  // are enumerations. Names as the toolkit spells them (it compares them exactly).
  void read_headers(const YamlNode& headers, const std::string& path, WebConfigFile& out) {
    static const std::array<std::pair<std::string_view, std::vector<std::string_view>>, 5>
        kAllowed = {{{"Strict-Transport-Security", {}},
                     {"X-Content-Type-Options", {"nosniff"}},
                     {"X-Frame-Options", {"deny", "sameorigin"}},
                     {"X-XSS-Protection", {}},
                     {"Content-Security-Policy", {}}}};
    if (headers.kind != YamlNode::Kind::kMap) {
      error(headers.line, path,
            "expected a mapping of header names to values, got " + describe(headers));
      return;
    }
    std::set<std::string, std::less<>> seen;
    for (std::size_t i = 0; i < std::min(headers.keys.size(), headers.values.size()); ++i) {
      const YamlNode& name_node = headers.keys[i];
      const YamlNode& value_node = headers.values[i];
      const std::string& name = name_node.value;
      const std::string at = key_path(path, name);
      const auto allowed = std::find_if(kAllowed.begin(), kAllowed.end(), [&](const auto& entry) {
        return name_node.kind == YamlNode::Kind::kScalar && entry.first == name;
      });
      if (allowed == kAllowed.end()) {
        std::string list;
        for (const auto& entry : kAllowed) {
          list += (list.empty() ? "" : ", ") + std::string(entry.first);
        }
        error(
            name_node.line, at,
            "this header cannot be configured (as in the exporter-toolkit, only " + list + " can)");
        continue;
      }
      if (!seen.insert(name).second) {
        error(name_node.line, at, "duplicate key: it is already set above in the same mapping");
        continue;
      }
      auto value = string(value_node, at);
      if (!value) {
        continue;
      }
      const bool printable = std::all_of(value->begin(), value->end(), [](char c) {
        const auto byte = static_cast<unsigned char>(c);
        return byte == '\t' || (byte >= 0x20 && byte != 0x7F);
      });
      if (!printable || value->empty()) {
        error(value_node.line, at,
              "expected a non-empty header value without control characters (line breaks "
              "would split the answer's headers)");
        continue;
      }
      const auto& values = allowed->second;
      if (!values.empty() && std::find(values.begin(), values.end(), *value) == values.end()) {
        std::string list;
        for (std::string_view v : values) {
          list += (list.empty() ? "" : " or ") + quote(v);
        }
        error(value_node.line, at, "expected " + list + ", got " + quote(*value));
        continue;
      }
      out.headers[name] = std::move(*value);
    }
  }

  void read_users(const YamlNode& users, WebConfigFile& out) {
    const std::string path = "basic_auth_users";
    if (users.kind != YamlNode::Kind::kMap) {
      error(users.line, path,
            "expected a mapping of user names to bcrypt hashes, got " + describe(users));
      return;
    }
    out.users_line = users.line;
    for (std::size_t i = 0; i < std::min(users.keys.size(), users.values.size()); ++i) {
      const YamlNode& user_node = users.keys[i];
      const YamlNode& hash_node = users.values[i];
      if (user_node.kind != YamlNode::Kind::kScalar) {
        error(user_node.line, path, "expected a user name, got " + describe(user_node));
        continue;
      }
      const std::string& user = user_node.value;
      const std::string at = key_path(path, user);
      if (user.empty() || user.find(':') != std::string::npos) {
        error(user_node.line, at,
              "a user name must be non-empty and cannot contain ':' (HTTP basic auth)");
        continue;
      }
      if (out.users.contains(user)) {
        error(user_node.line, at, "duplicate user: it is already set above");
        continue;
      }
      // Never quoted back: a hash is a secret of sorts, and the message names the user.
      if (hash_node.kind != YamlNode::Kind::kScalar) {
        // An empty value's position is where the parser looked next: name the user's line.
        error(hash_node.kind == YamlNode::Kind::kNull ? user_node.line : hash_node.line, at,
              "expected a bcrypt hash, got " + describe(hash_node));
        continue;
      }
      if (auto problem = bcrypt_hash_problem(hash_node.value)) {
        error(hash_node.line, at, "user " + quote(user) + ": " + *problem);
        continue;
      }
      out.users[user] = hash_node.value;
    }
  }

  std::string source_;
  std::filesystem::path base_dir_;
};

// Parses one YAML document into the tree; on a syntax error or a bound, records it and returns
// nothing.
std::optional<YamlNode> parse_yaml(std::string_view text, Reader& reader) {
  std::istringstream in{std::string(text)};
  try {
    YAML::Parser parser(in);
    TreeBuilder builder;
    if (!parser.HandleNextDocument(builder)) {
      return YamlNode{};  // no document at all: an empty configuration
    }
    TreeBuilder second;
    if (parser.HandleNextDocument(second)) {
      reader.error(second.root ? second.root->line : 0, "",
                   "a second YAML document: the web configuration is one document");
      return std::nullopt;
    }
    return builder.root.value_or(YamlNode{});
  } catch (const YamlStop& stop) {
    reader.error(stop.line, "", stop.message);
  } catch (const YAML::Exception& error) {
    reader.error(
        line_of(error.mark), "",
        "YAML syntax error: " + error.msg +
            (error.mark.is_null() ? ""
                                  : " (column " + std::to_string(error.mark.column + 1) + ")"));
  }
  return std::nullopt;
}

// Lays what the file set over the JSON configuration's web section, where the JSON did not
// already set the same thing.
void merge(const WebConfigFile& file, const std::string& source, std::string_view json_source,
           WebSettings& web, Reader& reader) {
  const WebSettings defaults;
  if (file.users_line && !web.basic_auth_users.empty()) {
    reader.error(*file.users_line, "basic_auth_users",
                 "basic auth users are set in both " + std::string(json_source) +
                     " $.web.basic_auth_users and " + source +
                     " basic_auth_users; keep them in one of the two");
  }
  if (file.tls_line) {
    std::vector<std::string> set_in_json;
    if (web.tls_cert_file != defaults.tls_cert_file) {
      set_in_json.emplace_back("$.web.tls_cert_file");
    }
    if (web.tls_key_file != defaults.tls_key_file) {
      set_in_json.emplace_back("$.web.tls_key_file");
    }
    if (web.tls_min_version != defaults.tls_min_version) {
      set_in_json.emplace_back("$.web.tls_min_version");
    }
    if (web.tls_max_version != defaults.tls_max_version) {
      set_in_json.emplace_back("$.web.tls_max_version");
    }
    if (web.tls_client_auth_type != defaults.tls_client_auth_type) {
      set_in_json.emplace_back("$.web.tls_client_auth_type");
    }
    if (web.tls_client_ca_file != defaults.tls_client_ca_file) {
      set_in_json.emplace_back("$.web.tls_client_ca_file");
    }
    if (!set_in_json.empty()) {
      std::string keys;
      for (const std::string& key : set_in_json) {
        keys += (keys.empty() ? "" : ", ") + key;
      }
      reader.error(*file.tls_line, "tls_server_config",
                   "TLS is set in both " + std::string(json_source) + " " + keys + " and " +
                       source + " tls_server_config; keep it in one of the two");
    }
  }
  if (!reader.errors.empty()) {
    return;
  }
  if (file.users_line) {
    web.basic_auth_users = file.users;
  }
  if (file.tls_line) {
    web.tls_cert_file = file.tls.tls_cert_file;
    web.tls_key_file = file.tls.tls_key_file;
    web.tls_min_version = file.tls.tls_min_version;
    web.tls_max_version = file.tls.tls_max_version;
    web.tls_client_auth_type = file.tls.tls_client_auth_type;
    web.tls_client_ca_file = file.tls.tls_client_ca_file;
    // A certificate or CA file that cannot be used (at startup, or on a reload) is named as
    // this file names it.
    for (TlsSetting setting : kTlsSettings) {
      const std::size_t line = tls_setting_line(file, setting);
      web.tls_setting_names["tls_" + toolkit_tls_key(setting)] =
          (line == 0 ? source : source + ":" + std::to_string(line)) + ": " +
          key_path("tls_server_config", toolkit_tls_key(setting));
    }
  }
  web.response_headers = file.headers;
}

}  // namespace

void apply_web_config_text(std::string_view text, std::string_view source,
                           const std::filesystem::path& base_dir, std::string_view json_source,
                           ConfigLoadResult& result) {
  Reader reader{std::string(source), base_dir};
  WebConfigFile file;
  if (auto root = parse_yaml(text, reader)) {
    reader.read(*root, file);
  }
  if (reader.errors.empty() && result.config) {
    merge(file, std::string(source), json_source, result.config->web, reader);
  }
  if (!reader.errors.empty()) {
    result.config.reset();
    result.errors.insert(result.errors.end(), reader.errors.begin(), reader.errors.end());
  }
}

void apply_web_config_file(const std::filesystem::path& file, std::string_view json_source,
                           ConfigLoadResult& result) {
  std::string problem;
  const std::string name = utf8_name(file);
  auto text =
      read_file_text(file, kMaxFileBytes,
                     "it is larger than 1 MiB, far more than any web configuration needs", problem);
  if (!text) {
    result.config.reset();
    result.errors.push_back({name, "cannot read the web configuration file: " + problem});
    return;
  }
  std::error_code ignored;
  const std::filesystem::path absolute = std::filesystem::absolute(file, ignored);
  apply_web_config_text(*text, name, absolute.parent_path(), json_source, result);
}

}  // namespace thx
