// The JSON reader under the configuration: parsing (syntax errors with line and column, duplicate
// keys), JSON paths ($.groups.rules[2].name), and typed reads that report a mismatch and go on,
// so a user sees every mistake in one round. The sections (config/sections.h) are built on it.
#pragma once

#include <chrono>
#include <cstddef>
#include <initializer_list>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include <nlohmann/json.hpp>

#include "collector/aggregate/regex.h"
#include "config/config.h"
#include "config/validators.h"

namespace thx::config_json {

using Json = nlohmann::json;

// Objects and arrays nested deeper than this are an error (the document is not read further).
inline constexpr std::size_t kMaxDepth = 64;
// A document whose values would take more memory than this is an error too.
inline constexpr std::size_t kMaxDocumentBytes = std::size_t{64} << 20U;

// $.a.b, $.a["b c"] (keys that are not plain words are quoted), $.a[2].
std::string child_path(std::string_view parent, std::string_view key);
std::string index_path(std::string_view parent, std::size_t index);
// The same, appended to `path` in place.
void append_child(std::string& path, std::string_view key);
void append_index(std::string& path, std::size_t index);

// Keys starting with "//" are comments, at any level: JSON has no other way to annotate a file.
bool is_comment_key(std::string_view key);

// How a wrong value appears in a message: short, and written as JSON.
std::string describe(const Json& value);

using Check = Problem (*)(std::string_view);

// Past this many errors the rest are counted, not kept: a file of a million mistakes must not
// cost a message each (in memory and on the screen); the first ones are what a person fixes.
inline constexpr std::size_t kMaxErrors = 100;

// Collects errors; each read returns nothing (and records why) when the value is wrong.
class Reader {
 public:
  void error(std::string path, std::string message);
  void expected(const std::string& path, std::string_view what, const Json& got);
  // Every error, kept or not.
  [[nodiscard]] std::size_t error_count() const { return error_count_; }
  // The errors kept, then (past kMaxErrors) one that says how many more there were.
  std::vector<ConfigError> take_errors();

  std::optional<bool> boolean(const Json& value, const std::string& path);
  std::optional<std::string> string(const Json& value, const std::string& path,
                                    Check check = nullptr);
  // Non-negative integers only: 8.0, -1 and "8" are all mistakes worth naming.
  std::optional<std::size_t> count(const Json& value, const std::string& path, std::size_t min,
                                   std::size_t max);
  // From `min` to `max`, both included.
  std::optional<std::chrono::milliseconds> duration(
      const Json& value, const std::string& path, std::chrono::milliseconds min,
      std::chrono::milliseconds max = std::chrono::milliseconds::max());
  std::optional<Regex> regex(const Json& value, const std::string& path);

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
              std::initializer_list<std::string_view> keys);

 private:
  std::vector<ConfigError> errors_;
  std::size_t error_count_ = 0;
};

// One object of the schema. Absent keys keep their default; a wrong value is reported (and the
// config is not returned at all, so what it leaves behind does not matter).
class Fields {
 public:
  Fields(Reader& reader, const Json& json, std::string path,
         std::initializer_list<std::string_view> keys);

  [[nodiscard]] bool valid() const { return valid_; }
  [[nodiscard]] std::string path(std::string_view key) const { return child_path(path_, key); }
  [[nodiscard]] const Json* find(std::string_view key) const;

  void get(std::string_view key, bool& out);
  void get(std::string_view key, std::string& out, Check check = nullptr);
  void get(std::string_view key, std::size_t& out, std::size_t min, std::size_t max);
  void get(std::string_view key, std::chrono::milliseconds& out, std::chrono::milliseconds min,
           std::chrono::milliseconds max = std::chrono::milliseconds::max());
  void get(std::string_view key, std::optional<Regex>& out);
  void get(std::string_view key, std::vector<Regex>& out);
  void get(std::string_view key, std::vector<std::string>& out, Check check);

 private:
  Reader& reader_;
  const Json& json_;
  std::string path_;
  bool valid_;
};

// Parses a whole document. Syntax errors, duplicate keys, nesting deeper than kMaxDepth and
// values past kMaxDocumentBytes are recorded in `reader` (a syntax error under `source`, the
// file name); nothing is returned after a syntax error or a bound passed.
std::optional<Json> parse(std::string_view text, std::string_view source, Reader& reader);

}  // namespace thx::config_json
