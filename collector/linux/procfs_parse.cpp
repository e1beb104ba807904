#include "collector/linux/procfs_parse.h"

#include <algorithm>
#include <array>
#include <charconv>
#include <unordered_map>

namespace thx::procfs {
namespace {

// A number that fills the whole token; from_chars never throws and rejects signs it cannot hold.
template <typename T>
std::optional<T> to_number(std::string_view token, int base = 10) {
  T value{};
  const char* end = token.data() + token.size();
  auto [ptr, ec] = std::from_chars(token.data(), end, value, base);
  if (token.empty() || ec != std::errc{} || ptr != end) {
    return std::nullopt;
  }
  return value;
}

// Splits off the next space-separated token; `text` keeps what follows it.
// (A plain loop: find_first_of with a set of two characters calls memchr once per character,
// which was the largest single cost of reading maps.)
bool is_separator(char c) {
  return c == ' ' || c == '\n';
}

std::string_view next_token(std::string_view& text) {
  std::size_t start = 0;
  while (start < text.size() && is_separator(text[start])) {
    ++start;
  }
  std::size_t end = start;
  while (end < text.size() && !is_separator(text[end])) {
    ++end;
  }
  const std::string_view token = text.substr(start, end - start);
  text.remove_prefix(end);
  return token;
}

// A hexadecimal address as maps prints it ("7f1234000000"): what from_chars(..., 16) accepts,
// in a loop the compiler keeps small.
std::optional<std::uint64_t> hex_number(std::string_view token) {
  if (token.empty()) {
    return std::nullopt;
  }
  while (token.size() > 1 && token.front() == '0') {
    token.remove_prefix(1);
  }
  constexpr std::size_t kMaxDigits = 16;
  if (token.size() > kMaxDigits) {
    return std::nullopt;  // beyond 64 bits
  }
  std::uint64_t value = 0;
  for (const char c : token) {
    std::uint64_t digit = 0;
    if (c >= '0' && c <= '9') {
      digit = static_cast<std::uint64_t>(c - '0');
    } else if (c >= 'a' && c <= 'f') {
      digit = static_cast<std::uint64_t>(c - 'a') + 10;
    } else if (c >= 'A' && c <= 'F') {
      digit = static_cast<std::uint64_t>(c - 'A') + 10;
    } else {
      return std::nullopt;
    }
    value = (value << 4U) | digit;
  }
  return value;
}

// Fields 3..22 of stat follow the command name; we need up to starttime (field 22).
constexpr std::size_t kFirstFieldAfterComm = 3;
constexpr std::size_t kStatFieldsNeeded = 22 - kFirstFieldAfterComm + 1;
using StatTokens = std::array<std::string_view, kStatFieldsNeeded>;

std::string_view field(const StatTokens& tokens, std::size_t number) {
  return tokens.at(number - kFirstFieldAfterComm);
}

// Fills the numeric fields from the tokens after the command name; false when one is not a
// number of the expected type.
bool fill_stat_numbers(const StatTokens& tokens, StatFields& out) {
  auto ppid = to_number<std::uint32_t>(field(tokens, 4));
  auto flags = to_number<std::uint32_t>(field(tokens, 9));
  auto utime = to_number<std::uint64_t>(field(tokens, 14));
  auto stime = to_number<std::uint64_t>(field(tokens, 15));
  auto priority = to_number<std::int32_t>(field(tokens, 18));
  auto nice = to_number<std::int32_t>(field(tokens, 19));
  auto threads = to_number<std::uint32_t>(field(tokens, 20));
  auto start = to_number<std::uint64_t>(field(tokens, 22));
  if (!ppid || !flags || !utime || !stime || !priority || !nice || !threads || !start) {
    return false;
  }
  out.utime_ticks = *utime;
  out.stime_ticks = *stime;
  out.ppid = *ppid;
  out.flags = *flags;
  out.priority = *priority;
  out.nice = *nice;
  out.num_threads = *threads;
  out.start_ticks = *start;
  return true;
}

// One line of /proc/<pid>/maps: "start-end perms offset dev inode   path".
struct MapsLine {
  std::uint64_t start = 0;
  std::uint64_t end = 0;
  std::string_view path;  // may be empty (anonymous) and may contain spaces
};

std::optional<MapsLine> parse_maps_line(std::string_view line) {
  std::string_view rest = line;
  const std::string_view range = next_token(rest);
  const std::size_t dash = range.find('-');
  if (dash == std::string_view::npos) {
    return std::nullopt;
  }
  auto start = hex_number(range.substr(0, dash));
  auto end = hex_number(range.substr(dash + 1));
  // perms, offset, dev and inode: present but not needed beyond checking the line is complete.
  std::array<std::string_view, 4> skipped{};
  for (auto& token : skipped) {
    token = next_token(rest);
  }
  if (!start || !end || *end < *start || skipped.back().empty()) {
    return std::nullopt;
  }
  // The path starts after the padding that follows the inode and runs to the end of the line.
  const std::size_t path_start = rest.find_first_not_of(' ');
  const std::string_view path =
      path_start == std::string_view::npos ? std::string_view{} : rest.substr(path_start);
  return MapsLine{*start, *end, path};
}

void add_heap(std::vector<Heap>& heaps, const MapsLine& line) {
  const std::uint64_t bytes = line.end - line.start;
  if (!heaps.empty() && heaps.back().id + heaps.back().bytes.value_or(0) == line.start) {
    heaps.back().bytes = heaps.back().bytes.value_or(0) + bytes;  // split by mprotect: one heap
    return;
  }
  Heap heap;
  heap.id = line.start;
  heap.bytes = bytes;
  heaps.push_back(heap);
}

// Length of the valid UTF-8 sequence at the start of `text`, or 0 when it is not one.
std::size_t utf8_sequence_length(std::string_view text) {
  const auto byte = [&text](std::size_t i) { return static_cast<unsigned char>(text[i]); };
  const unsigned char lead = byte(0);
  std::size_t length = 0;
  unsigned char min_second = 0x80;  // the second byte's range rules out overlongs and surrogates
  unsigned char max_second = 0xBF;
  if (lead < 0x80) {
    return 1;
  } else if (lead >= 0xC2 && lead <= 0xDF) {
    length = 2;
  } else if (lead >= 0xE0 && lead <= 0xEF) {
    length = 3;
    min_second = lead == 0xE0 ? 0xA0 : 0x80;
    max_second = lead == 0xED ? 0x9F : 0xBF;
  } else if (lead >= 0xF0 && lead <= 0xF4) {
    length = 4;
    min_second = lead == 0xF0 ? 0x90 : 0x80;
    max_second = lead == 0xF4 ? 0x8F : 0xBF;
  } else {
    return 0;
  }
  if (text.size() < length || byte(1) < min_second || byte(1) > max_second) {
    return 0;
  }
  for (std::size_t i = 2; i < length; ++i) {
    if (byte(i) < 0x80 || byte(i) > 0xBF) {
      return 0;
    }
  }
  return length;
}

}  // namespace

ParseResult<StatFields> parse_stat(std::string_view text) {
  using Result = ParseResult<StatFields>;
  // The command name is the only free text; it may contain '(' and ')', so it ends at the LAST
  // ')'. Everything after it is numbers the kernel wrote.
  const std::size_t open = text.find('(');
  const std::size_t close = text.rfind(')');
  if (open == std::string_view::npos || close == std::string_view::npos || close < open) {
    return Result::failure(text.empty() ? "empty" : "no command name in parentheses");
  }
  StatFields out;
  std::string_view pid_text = text.substr(0, open);
  auto pid = to_number<std::uint32_t>(next_token(pid_text));
  if (!pid || !next_token(pid_text).empty()) {
    return Result::failure("pid is not a number");
  }
  out.pid = *pid;
  out.comm = to_valid_utf8(text.substr(open + 1, close - open - 1));

  std::string_view rest = text.substr(close + 1);
  StatTokens tokens{};
  for (auto& token : tokens) {
    token = next_token(rest);
    if (token.empty()) {
      return Result::failure("truncated");
    }
  }
  if (field(tokens, 3).size() != 1) {
    return Result::failure("state is not one letter");
  }
  out.state = field(tokens, 3).front();
  if (!fill_stat_numbers(tokens, out)) {
    return Result::failure("a numeric field is not a number");
  }
  // vsize and rss follow; every kernel writes them, but the identity does not need them.
  out.vsize_bytes = to_number<std::uint64_t>(next_token(rest));
  if (out.vsize_bytes) {
    out.rss_pages = to_number<std::uint64_t>(next_token(rest));
  }
  return {std::move(out), {}};
}

MapsSummary parse_maps(std::string_view text) {
  ModuleFilePool files;
  return parse_maps(text, files);
}

MapsSummary parse_maps(std::string_view text, ModuleFilePool& files) {
  MapsSummary summary;
  std::unordered_map<std::string_view, std::size_t> module_index;  // path -> index in modules
  // A file's mappings are usually adjacent: the previous line's module is tried before the index.
  std::string_view last_path;
  std::size_t last_index = 0;
  while (!text.empty()) {
    const std::size_t newline = std::min(text.find('\n'), text.size());
    const std::string_view line = text.substr(0, newline);
    text.remove_prefix(std::min(newline + 1, text.size()));
    if (line.empty()) {
      continue;
    }
    const std::optional<MapsLine> parsed = parse_maps_line(line);
    if (!parsed) {
      ++summary.malformed_lines;
      continue;
    }
    if (parsed->path == "[heap]") {
      add_heap(summary.heaps, *parsed);
      continue;
    }
    // Only file-backed mappings are modules: anonymous ones have no path and the kernel's own
    // ([stack], [vdso], [anon:...]) are in brackets; "anon_inode:..." names have no leading '/'.
    if (parsed->path.empty() || parsed->path.front() != '/') {
      continue;
    }
    const std::string_view path = strip_deleted_suffix(parsed->path);
    if (summary.modules.empty() || path != last_path) {
      auto [it, inserted] = module_index.try_emplace(path, summary.modules.size());
      last_path = path;
      last_index = it->second;
      if (inserted) {
        const auto& file = files.intern(path, [path] {
          std::string valid = to_valid_utf8(unescape_maps_path(path));
          std::string name(base_name(valid));
          return ModuleFile{std::move(name), std::move(valid)};
        });
        summary.modules.emplace_back(file, parsed->start, parsed->end - parsed->start);
        continue;
      }
    }
    Module& module = summary.modules[last_index];
    const std::uint64_t end = std::max(module.base_address + module.size, parsed->end);
    module.base_address = std::min(module.base_address, parsed->start);
    module.size = end - module.base_address;
  }
  return summary;
}

ParseResult<StatmFields> parse_statm(std::string_view text) {
  auto size = to_number<std::uint64_t>(next_token(text));
  auto resident = to_number<std::uint64_t>(next_token(text));
  auto shared = to_number<std::uint64_t>(next_token(text));
  if (!size || !resident || !shared) {
    return ParseResult<StatmFields>::failure(size ? "truncated" : "not a number");
  }
  return {StatmFields{*size, *resident, *shared}, {}};
}

ParseResult<IoFields> parse_io(std::string_view text) {
  std::optional<std::uint64_t> read_bytes;
  std::optional<std::uint64_t> write_bytes;
  while (!text.empty()) {
    const std::size_t newline = std::min(text.find('\n'), text.size());
    std::string_view line = text.substr(0, newline);
    text.remove_prefix(std::min(newline + 1, text.size()));
    const std::size_t colon = line.find(':');
    if (colon == std::string_view::npos) {
      continue;
    }
    const std::string_view key = line.substr(0, colon);
    std::string_view value = line.substr(colon + 1);
    if (key == "read_bytes") {
      read_bytes = to_number<std::uint64_t>(next_token(value));
    } else if (key == "write_bytes") {
      write_bytes = to_number<std::uint64_t>(next_token(value));
    }
  }
  if (!read_bytes || !write_bytes) {
    return ParseResult<IoFields>::failure("no read_bytes or write_bytes line with a number");
  }
  return {IoFields{*read_bytes, *write_bytes}, {}};
}

ParseResult<std::int64_t> parse_btime(std::string_view text) {
  constexpr std::string_view kPrefix = "btime ";
  while (!text.empty()) {
    const std::size_t newline = std::min(text.find('\n'), text.size());
    std::string_view line = text.substr(0, newline);
    text.remove_prefix(std::min(newline + 1, text.size()));
    if (line.substr(0, kPrefix.size()) != kPrefix) {
      continue;
    }
    line.remove_prefix(kPrefix.size());
    auto value = to_number<std::int64_t>(next_token(line));
    if (!value || *value < 0) {
      return ParseResult<std::int64_t>::failure("btime is not a number");
    }
    return {value, {}};
  }
  return ParseResult<std::int64_t>::failure("no btime line");
}

std::string format_cmdline(std::string_view raw, std::size_t max_bytes) {
  raw = raw.substr(0, max_bytes);
  while (!raw.empty() && raw.back() == '\0') {
    raw.remove_suffix(1);
  }
  std::string text = to_valid_utf8(raw);
  for (char& c : text) {
    if (c == '\0') {
      c = ' ';
    }
  }
  return text;
}

std::string unescape_maps_path(std::string_view path) {
  constexpr std::string_view kNewline = "\\012";
  std::string out;
  out.reserve(path.size());
  while (!path.empty()) {
    const std::size_t at = path.find(kNewline);
    out.append(path.substr(0, at));
    if (at == std::string_view::npos) {
      break;
    }
    out += '\n';
    path.remove_prefix(at + kNewline.size());
  }
  return out;
}

std::string_view strip_deleted_suffix(std::string_view path) {
  constexpr std::string_view kDeleted = " (deleted)";
  if (path.size() > kDeleted.size() && path.substr(path.size() - kDeleted.size()) == kDeleted) {
    path.remove_suffix(kDeleted.size());
  }
  return path;
}

std::string_view base_name(std::string_view path) {
  const std::size_t slash = path.rfind('/');
  return slash == std::string_view::npos ? path : path.substr(slash + 1);
}

std::optional<std::uint32_t> parse_pid(std::string_view text) {
  return to_number<std::uint32_t>(text);
}

std::string to_valid_utf8(std::string_view text) {
  constexpr std::string_view kReplacement = "\xEF\xBF\xBD";  // U+FFFD
  if (std::all_of(text.begin(), text.end(), [](char c) { return (c & 0x80) == 0; })) {
    return std::string(text);  // plain ASCII, by far the most common case
  }
  std::string out;
  out.reserve(text.size());
  while (!text.empty()) {
    const std::size_t length = utf8_sequence_length(text);
    if (length == 0) {
      out += kReplacement;
      text.remove_prefix(1);
      continue;
    }
    out += text.substr(0, length);
    text.remove_prefix(length);
  }
  return out;
}

}  // namespace thx::procfs
