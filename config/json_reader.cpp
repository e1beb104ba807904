#include "config/json_reader.h"

#include <algorithm>
#include <cstdint>
#include <utility>

namespace thx::config_json {
namespace {

using std::chrono::milliseconds;

bool is_word_char(char c) {
  return (c >= '0' && c <= '9') || (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || c == '_' ||
         c == '-';
}

std::string join(const std::vector<std::string>& items, std::string_view separator) {
  std::string out;
  for (std::size_t i = 0; i < items.size(); ++i) {
    out += (i == 0 ? "" : std::string(separator)) + items[i];
  }
  return out;
}

template <typename T>
void assign(T& out, std::optional<T> value) {
  if (value) {
    out = std::move(*value);
  }
}

}  // namespace

std::string child_path(std::string_view parent, std::string_view key) {
  const bool plain = !key.empty() && std::all_of(key.begin(), key.end(), is_word_char);
  return std::string(parent) + (plain ? "." + std::string(key) : "[" + quote(key) + "]");
}

std::string index_path(std::string_view parent, std::size_t index) {
  return std::string(parent) + "[" + std::to_string(index) + "]";
}

bool is_comment_key(std::string_view key) {
  return key.starts_with("//");
}

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
// Reader

void Reader::error(std::string path, std::string message) {
  errors_.push_back({std::move(path), std::move(message)});
}

void Reader::expected(const std::string& path, std::string_view what, const Json& got) {
  error(path, "expected " + std::string(what) + ", got " + describe(got));
}

std::optional<bool> Reader::boolean(const Json& value, const std::string& path) {
  if (value.is_boolean()) {
    return value.get<bool>();
  }
  expected(path, "true or false", value);
  return std::nullopt;
}

std::optional<std::string> Reader::string(const Json& value, const std::string& path, Check check) {
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

std::optional<std::size_t> Reader::count(const Json& value, const std::string& path,
                                         std::size_t min, std::size_t max) {
  if (!value.is_number_unsigned() || value.get<std::uint64_t>() < min ||
      value.get<std::uint64_t>() > max) {
    expected(path, "an integer from " + std::to_string(min) + " to " + std::to_string(max), value);
    return std::nullopt;
  }
  return value.get<std::size_t>();
}

std::optional<milliseconds> Reader::duration(const Json& value, const std::string& path,
                                             milliseconds min, milliseconds max) {
  const auto parsed = value.is_string() ? parse_duration(value.get<std::string>()) : std::nullopt;
  if (!parsed) {
    expected(path, "a duration such as \"100ms\", \"15s\", \"5m\", \"1h\" or \"1m30s\"", value);
    return std::nullopt;
  }
  if (*parsed < min) {
    error(path,
          "must be at least " + format_duration(min) + ", got " + quote(value.get<std::string>()));
    return std::nullopt;
  }
  if (*parsed > max) {
    error(path,
          "must be at most " + format_duration(max) + ", got " + quote(value.get<std::string>()));
    return std::nullopt;
  }
  return parsed;
}

std::optional<Regex> Reader::regex(const Json& value, const std::string& path) {
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

bool Reader::object(const Json& value, const std::string& path,
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

// ---------------------------------------------------------------------------------------------
// Fields

Fields::Fields(Reader& reader, const Json& json, std::string path,
               std::initializer_list<std::string_view> keys)
    : reader_(reader),
      json_(json),
      path_(std::move(path)),
      valid_(reader.object(json, path_, keys)) {}

const Json* Fields::find(std::string_view key) const {
  if (!valid_) {
    return nullptr;
  }
  const auto it = json_.find(key);
  return it == json_.end() ? nullptr : &*it;
}

void Fields::get(std::string_view key, bool& out) {
  if (const Json* value = find(key)) {
    assign(out, reader_.boolean(*value, path(key)));
  }
}

void Fields::get(std::string_view key, std::string& out, Check check) {
  if (const Json* value = find(key)) {
    assign(out, reader_.string(*value, path(key), check));
  }
}

void Fields::get(std::string_view key, std::size_t& out, std::size_t min, std::size_t max) {
  if (const Json* value = find(key)) {
    assign(out, reader_.count(*value, path(key), min, max));
  }
}

void Fields::get(std::string_view key, milliseconds& out, milliseconds min, milliseconds max) {
  if (const Json* value = find(key)) {
    assign(out, reader_.duration(*value, path(key), min, max));
  }
}

void Fields::get(std::string_view key, std::optional<Regex>& out) {
  if (const Json* value = find(key)) {
    out = reader_.regex(*value, path(key));
  }
}

void Fields::get(std::string_view key, std::vector<Regex>& out) {
  if (const Json* value = find(key)) {
    reader_.elements(*value, path(key), [&](const Json& element, const std::string& at) {
      if (auto regex = reader_.regex(element, at)) {
        out.push_back(std::move(*regex));
      }
    });
  }
}

void Fields::get(std::string_view key, std::vector<std::string>& out, Check check) {
  if (const Json* value = find(key)) {
    reader_.elements(*value, path(key), [&](const Json& element, const std::string& at) {
      if (auto text = reader_.string(element, at, check)) {
        out.push_back(std::move(*text));
      }
    });
  }
}

// ---------------------------------------------------------------------------------------------
// Parsing

namespace {

// nlohmann::json silently keeps the last of two equal keys; in a config that is a mistake. The
// parse callback follows the document's nesting to report each duplicate with its path. A frame
// holds only its own key or index; a path is spelled out only for an error, so memory stays
// linear in the document whatever its depth.
class DuplicateKeys {
 public:
  explicit DuplicateKeys(Reader& reader) : reader_(reader) {}

  bool on_event(Json::parse_event_t event, const Json& parsed) {
    using Event = Json::parse_event_t;
    if (event == Event::object_start || event == Event::array_start) {
      if (!stack_.empty() && stack_.back().is_array) {
        ++stack_.back().next_index;
      }
      stack_.push_back({event == Event::array_start, 0, {}, {}});
    } else if (event == Event::object_end || event == Event::array_end) {
      stack_.pop_back();
    } else if (event == Event::key && !stack_.empty()) {
      on_key(parsed.get<std::string>());
    } else if (event == Event::value && !stack_.empty() && stack_.back().is_array) {
      ++stack_.back().next_index;
    }
    return true;  // keep everything: this only watches
  }

  // The path of the innermost open container ($ for the root), or of the key being read in it.
  [[nodiscard]] std::string path(std::size_t frames, bool with_key) const {
    std::string out = "$";
    for (std::size_t i = 0; i < frames; ++i) {
      const Frame& frame = stack_[i];
      if (i + 1 == frames && !with_key) {
        break;
      }
      // A container's own position in its parent: the index just taken, or the current key.
      out = frame.is_array ? index_path(out, frame.next_index - 1) : child_path(out, frame.key);
    }
    return out;
  }

 private:
  struct Frame {
    bool is_array = false;
    std::size_t next_index = 0;  // arrays: how many elements have started
    std::string key;             // objects: the key whose value comes next
    NameSet keys;                // objects: the keys seen so far
  };

  void on_key(std::string key) {
    Frame& object = stack_.back();
    object.key = std::move(key);
    if (!is_comment_key(object.key) && !object.keys.insert(object.key).second) {
      reader_.error(path(stack_.size(), true),
                    "duplicate key: it is set more than once in this object");
    }
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

}  // namespace

std::optional<Json> parse(std::string_view text, std::string_view source, Reader& reader) {
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

}  // namespace thx::config_json
