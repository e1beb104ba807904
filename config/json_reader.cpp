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

void append_child(std::string& path, std::string_view key) {
  if (!key.empty() && std::all_of(key.begin(), key.end(), is_word_char)) {
    path.append(".").append(key);
  } else {
    path.append("[").append(quote(key)).append("]");
  }
}

void append_index(std::string& path, std::size_t index) {
  path.append("[").append(std::to_string(index)).append("]");
}

std::string child_path(std::string_view parent, std::string_view key) {
  std::string path(parent);
  append_child(path, key);
  return path;
}

std::string index_path(std::string_view parent, std::size_t index) {
  std::string path(parent);
  append_index(path, index);
  return path;
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
  ++error_count_;
  if (errors_.size() < kMaxErrors) {
    errors_.push_back({std::move(path), std::move(message)});
  }
}

std::vector<ConfigError> Reader::take_errors() {
  if (error_count_ > errors_.size()) {
    errors_.push_back({"$", "and " + std::to_string(error_count_ - errors_.size()) +
                                " more error(s), not shown: fix the ones above first"});
  }
  error_count_ = 0;
  return std::move(errors_);
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

// Builds the document from nlohmann's SAX events (nlohmann's own callback parser is quadratic:
// each closed object makes it scan its parent for discarded values, so 80,000 empty objects in
// an array took 10 s), watching the structure as it goes:
// - Nesting is bounded (kMaxDepth): a configuration needs a handful of levels, and each open
//   level costs memory (here and in nlohmann's parser) and stack in every recursive walk of the
//   value. Passing the bound ends the parse at once.
// - The document's size in memory is bounded (kMaxDocumentBytes, counted as it is built):
//   nlohmann's values take 30 to 40 times the text of small containers ("[{},{},...]"), so a
//   16 MiB file could take 700 MB; a real configuration, 10,000 rules included, needs a few MB.
// - nlohmann::json silently keeps the last of two equal keys; in a config that is a mistake,
//   reported with its path.
// A frame is a pointer to an open container and, in an object, to its current key; a path is
// spelled out only for an error, into one string, with long keys and deep middles elided, so
// memory stays linear in the document and an error's size does not depend on it.
class DocumentBuilder {
 public:
  // Thrown out of the parse when the nesting or the size passes its bound (the reader has the
  // error).
  struct Stop {};

  explicit DocumentBuilder(Reader& reader) : reader_(reader) {}

  Json take() { return std::move(root_); }

  // The SAX interface (nlohmann::json_sax).
  bool null() { return add(nullptr); }
  bool boolean(bool value) { return add(value); }
  bool number_integer(Json::number_integer_t value) { return add(value); }
  bool number_unsigned(Json::number_unsigned_t value) { return add(value); }
  bool number_float(Json::number_float_t value, const Json::string_t& /*text*/) {
    return add(value);
  }
  bool string(Json::string_t& value) {
    count(kStringBytes + heap_bytes(value));
    return add(std::move(value));
  }
  bool binary(Json::binary_t& value) { return add(std::move(value)); }
  bool start_object(std::size_t /*elements*/) { return open(Json::object()); }
  bool start_array(std::size_t /*elements*/) { return open(Json::array()); }
  bool end_object() { return close(); }
  bool end_array() { return close(); }

  bool key(Json::string_t& key) {
    const std::size_t bytes = kMemberBytes + heap_bytes(key);
    Frame& object = stack_.back();
    auto [it, inserted] =
        object.container->get_ref<Json::object_t&>().try_emplace(std::move(key), nullptr);
    object.key = &it->first;
    object.slot = &it->second;
    count(bytes);
    if (!inserted && !is_comment_key(it->first)) {
      reader_.error(path(false), "duplicate key: it is set more than once in this object");
    }
    return true;
  }

  template <typename Exception>
  bool parse_error(std::size_t /*position*/, const std::string& /*token*/, const Exception& error) {
    throw error;  // the concrete type (parse_error, out_of_range), as nlohmann's own parser does
  }

 private:
  struct Frame {
    Json* container = nullptr;
    const std::string* key = nullptr;  // objects: the key whose value comes next
    Json* slot = nullptr;              // objects: where that value goes
  };

  // Where the next value goes: the root, the end of the open array, or the open object's slot.
  Json* place(Json&& value) {
    if (stack_.empty()) {
      root_ = std::move(value);
      return &root_;
    }
    Frame& top = stack_.back();
    if (top.container->is_array()) {
      count(kElementBytes);
      return &top.container->emplace_back(std::move(value));
    }
    *top.slot = std::move(value);  // a duplicate key's last value wins, as in nlohmann's parser
    return top.slot;
  }

  template <typename T>
  bool add(T&& value) {
    place(Json(std::forward<T>(value)));
    return true;
  }

  bool open(Json&& container) {
    if (stack_.size() == kMaxDepth) {
      reader_.error(path(true), "nesting deeper than " + std::to_string(kMaxDepth) +
                                    " levels of objects and arrays; a configuration needs a "
                                    "handful");
      throw Stop{};
    }
    count(kContainerBytes);
    stack_.push_back({place(std::move(container))});
    return true;
  }

  bool close() {
    stack_.pop_back();
    return true;
  }

  // The path of the innermost open container's current member: its key, or in an array the
  // element before it is added (`next_element`, for a container about to open) or the last one.
  // Keys longer than kLongKey bytes are cut; past kLongPath bytes the middle is left out
  // ("$.a.b...[0]"): the start says where in the schema it is, the end what it is.
  [[nodiscard]] std::string path(bool next_element) const {
    std::string out = "$";
    for (std::size_t i = 0; i < stack_.size(); ++i) {
      const bool last = i + 1 == stack_.size();
      if (!last && out.size() >= kLongPath) {
        out += "...";
        i = stack_.size() - 2;  // on to the last
        continue;
      }
      const Frame& frame = stack_[i];
      if (frame.container->is_array()) {
        const std::size_t size = frame.container->size();
        append_index(out, last && next_element ? size : size - 1);
      } else if (frame.key->size() > kLongKey) {
        append_child(out, cut_utf8(*frame.key, kLongKey) + "...");
      } else {
        append_child(out, *frame.key);
      }
    }
    return out;
  }

  // What nlohmann's values take, near enough (GCC, 64 bits, with malloc's own 16 bytes): an
  // element of an array 16 bytes, twice over for the vector's growth; an object member a map
  // node; a string or container the object it points to; a string longer than the small-string
  // buffer its characters too.
  static constexpr std::size_t kElementBytes = 32;
  static constexpr std::size_t kMemberBytes = 96;
  static constexpr std::size_t kStringBytes = 48;
  static constexpr std::size_t kContainerBytes = 64;
  static std::size_t heap_bytes(const std::string& text) {
    return text.size() > 15 ? text.size() + 17 : 0;
  }

  void count(std::size_t bytes) {
    bytes_ += bytes;
    if (bytes_ > kMaxDocumentBytes) {
      reader_.error(path(true),
                    "the configuration is too large: its values would take more "
                    "than " +
                        std::to_string(kMaxDocumentBytes >> 20U) +
                        " MiB in memory (a real one, 10,000 rules included, "
                        "takes a few MiB)");
      throw Stop{};
    }
  }

  static std::string cut_utf8(std::string_view text, std::size_t size) {
    while (size > 0 && (static_cast<unsigned char>(text[size]) & 0xC0U) == 0x80U) {
      --size;  // not inside a UTF-8 sequence
    }
    return std::string(text.substr(0, size));
  }

  static constexpr std::size_t kLongPath = 40;
  static constexpr std::size_t kLongKey = 60;

  Reader& reader_;
  Json root_;
  std::vector<Frame> stack_;
  std::size_t bytes_ = 0;
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
  DocumentBuilder builder(reader);
  try {
    Json::sax_parse(text.begin(), text.end(), &builder);
    return builder.take();
  } catch (const DocumentBuilder::Stop&) {
    return std::nullopt;  // the reader has the error, with its path
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
