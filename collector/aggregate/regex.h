// Regular expressions for grouping rules and inventory filters, on PCRE2 with match limits: a
// 32 KiB command line or a pathological pattern costs a bounded amount of work, never a stack
// overflow (libstdc++'s std::regex recurses per character).
#pragma once

#include <map>
#include <memory>
#include <stdexcept>
#include <string>
#include <string_view>
#include <vector>

namespace thx {

class RegexError : public std::runtime_error {
 public:
  RegexError(const std::string& message, std::size_t offset)
      : std::runtime_error(message), offset_(offset) {}
  // Offset in the pattern where compilation failed.
  [[nodiscard]] std::size_t offset() const { return offset_; }

 private:
  std::size_t offset_;
};

class Regex {
 public:
  enum class Outcome { matched, no_match, limit_exceeded };
  struct Match {
    Outcome outcome = Outcome::no_match;
    std::map<std::string, std::string, std::less<>> named;  // named captures that took part
  };

  // Compiles `pattern` (PCRE2 syntax, UTF-8). Throws RegexError naming what is wrong and where.
  explicit Regex(std::string pattern);
  ~Regex();
  Regex(const Regex& other);
  Regex& operator=(const Regex& other);
  Regex(Regex&&) noexcept;
  Regex& operator=(Regex&&) noexcept;

  // Searches `subject` (unanchored: write ^...$ to match the whole string). Invalid UTF-8 in the
  // subject is not an error: the invalid bytes match nothing, the valid text around them still
  // matches. Bounded work: a match that exceeds the limits reports limit_exceeded and counts as
  // no match.
  [[nodiscard]] Match search(std::string_view subject) const;
  [[nodiscard]] bool matches(std::string_view subject) const {
    return search(subject).outcome == Outcome::matched;
  }
  [[nodiscard]] const std::string& pattern() const { return pattern_; }
  // The names of the pattern's named captures, (?<name>...), in the order they are numbered.
  [[nodiscard]] std::vector<std::string> capture_names() const;

 private:
  struct Compiled;
  std::string pattern_;
  std::shared_ptr<const Compiled> compiled_;  // immutable once compiled: safe to share
};

}  // namespace thx
