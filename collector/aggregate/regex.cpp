// Regex on PCRE2: compiled once, shared immutable between copies and threads; every search gets
// its own match data and limits, so concurrent searches never touch shared mutable state.
#include "collector/aggregate/regex.h"

#include <pcre2.h>

#include <algorithm>
#include <array>
#include <cstdint>
#include <memory>
#include <utility>

namespace thx {
namespace {

// UTF-8 patterns; subjects with invalid UTF-8 are searched rather than rejected (process names
// and command lines are whatever bytes the OS gave us). \C could split a UTF-8 character, so it
// is refused.
constexpr std::uint32_t kCompileOptions =
    PCRE2_UTF | PCRE2_MATCH_INVALID_UTF | PCRE2_NEVER_BACKSLASH_C;

// Bounds for one search. Legitimate rules over a 32 KiB command line stay far below them; a
// pathological pattern such as ^(a+)+$ hits one in a few milliseconds.
constexpr std::uint32_t kMatchLimit = 100'000;      // backtracking steps
constexpr std::uint32_t kDepthLimit = 50'000;       // nested backtracking points
constexpr std::uint32_t kHeapLimitKiB = 16 * 1024;  // memory for backtracking frames

// unique_ptr deleters for PCRE2's C objects.
struct CodeFree {
  void operator()(pcre2_code* code) const { pcre2_code_free(code); }
};
struct MatchDataFree {
  void operator()(pcre2_match_data* data) const { pcre2_match_data_free(data); }
};
struct MatchContextFree {
  void operator()(pcre2_match_context* context) const { pcre2_match_context_free(context); }
};

std::string error_text(int error_code) {
  std::array<PCRE2_UCHAR, 256> buffer{};
  const int length = pcre2_get_error_message(error_code, buffer.data(), buffer.size());
  if (length < 0) {
    return "PCRE2 error " + std::to_string(error_code);
  }
  return {buffer.begin(), buffer.begin() + length};
}

PCRE2_SPTR code_units(std::string_view text) {
  return reinterpret_cast<PCRE2_SPTR>(text.data());
}

// A fresh context per search: cheap, and nothing shared between threads.
std::unique_ptr<pcre2_match_context, MatchContextFree> make_limits() {
  std::unique_ptr<pcre2_match_context, MatchContextFree> context(
      pcre2_match_context_create(nullptr));
  if (context) {
    pcre2_set_match_limit(context.get(), kMatchLimit);
    pcre2_set_depth_limit(context.get(), kDepthLimit);
    pcre2_set_heap_limit(context.get(), kHeapLimitKiB);
  }
  return context;
}

bool is_limit_error(int result) {
  return result == PCRE2_ERROR_MATCHLIMIT || result == PCRE2_ERROR_DEPTHLIMIT ||
         result == PCRE2_ERROR_HEAPLIMIT || result == PCRE2_ERROR_NOMEMORY;
}

}  // namespace

struct Regex::Compiled {
  std::unique_ptr<pcre2_code, CodeFree> code;
  // Named captures and their group numbers, read once from PCRE2's name table.
  std::vector<std::pair<std::string, std::uint32_t>> names;
};

namespace {

// The name table holds fixed-size entries: a 2-byte big-endian group number, then the
// NUL-terminated name.
std::vector<std::pair<std::string, std::uint32_t>> read_name_table(const pcre2_code* code) {
  std::uint32_t count = 0;
  std::uint32_t entry_size = 0;
  PCRE2_SPTR table = nullptr;
  pcre2_pattern_info(code, PCRE2_INFO_NAMECOUNT, &count);
  pcre2_pattern_info(code, PCRE2_INFO_NAMEENTRYSIZE, &entry_size);
  pcre2_pattern_info(code, PCRE2_INFO_NAMETABLE, &table);
  std::vector<std::pair<std::string, std::uint32_t>> names;
  for (std::uint32_t i = 0; i < count && table != nullptr; ++i) {
    PCRE2_SPTR entry = table + static_cast<std::size_t>(i) * entry_size;
    const std::uint32_t group = (std::uint32_t{entry[0]} << 8U) | entry[1];
    PCRE2_SPTR name_end = std::find(entry + 2, entry + entry_size, PCRE2_UCHAR{0});
    names.emplace_back(std::string(entry + 2, name_end), group);
  }
  // The table is sorted by name; captures read better in pattern order.
  std::sort(names.begin(), names.end(),
            [](const auto& a, const auto& b) { return a.second < b.second; });
  return names;
}

}  // namespace

Regex::Regex(std::string pattern) : pattern_(std::move(pattern)) {
  auto compiled = std::make_shared<Compiled>();
  int error_code = 0;
  PCRE2_SIZE error_offset = 0;
  compiled->code.reset(pcre2_compile(code_units(pattern_), pattern_.size(), kCompileOptions,
                                     &error_code, &error_offset, nullptr));
  if (!compiled->code) {
    throw RegexError(error_text(error_code) + " at offset " + std::to_string(error_offset),
                     error_offset);
  }
  compiled->names = read_name_table(compiled->code.get());
  compiled_ = std::move(compiled);
}

Regex::~Regex() = default;
Regex::Regex(const Regex& other) = default;
Regex& Regex::operator=(const Regex& other) = default;
Regex::Regex(Regex&&) noexcept = default;
Regex& Regex::operator=(Regex&&) noexcept = default;

std::vector<std::string> Regex::capture_names() const {
  std::vector<std::string> result;
  if (compiled_) {
    for (const auto& [name, group] : compiled_->names) {
      result.push_back(name);
    }
  }
  return result;
}

Regex::Match Regex::search(std::string_view subject) const {
  Match result;
  if (!compiled_) {
    return result;  // a moved-from Regex matches nothing
  }
  const pcre2_code* code = compiled_->code.get();
  const std::unique_ptr<pcre2_match_data, MatchDataFree> data(
      pcre2_match_data_create_from_pattern(code, nullptr));
  auto limits = make_limits();
  if (!data || !limits) {
    result.outcome = Outcome::limit_exceeded;  // out of memory: treat like any exhausted bound
    return result;
  }
  const int rc =
      pcre2_match(code, code_units(subject), subject.size(), 0, 0, data.get(), limits.get());
  if (rc < 0) {
    // No match, or a bound was hit; other errors cannot happen with these options.
    result.outcome = is_limit_error(rc) ? Outcome::limit_exceeded : Outcome::no_match;
    return result;
  }
  result.outcome = Outcome::matched;
  const PCRE2_SIZE* offsets = pcre2_get_ovector_pointer(data.get());
  const auto pairs = static_cast<std::uint32_t>(rc);
  for (const auto& [name, group] : compiled_->names) {
    const PCRE2_SIZE start = offsets[2 * std::size_t{group}];
    const PCRE2_SIZE end = offsets[2 * std::size_t{group} + 1];
    // Groups that did not take part are unset; \K can leave start after end.
    if (group < pairs && start != PCRE2_UNSET && start <= end && end <= subject.size()) {
      result.named.emplace(name, std::string(subject.substr(start, end - start)));
    }
  }
  return result;
}

}  // namespace thx
