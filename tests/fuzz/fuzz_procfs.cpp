// Fuzz target: the pure procfs parsers. The first byte of the input selects the parser and the
// rest is the file's text; corpus files start with a readable letter:
//   s  parse_stat       (/proc/<pid>/stat, task stat)
//   m  parse_maps       (/proc/<pid>/maps)
//   b  parse_btime      (/proc/stat)
//   c  format_cmdline   (/proc/<pid>/cmdline; the next byte is the byte limit)
//   u  to_valid_utf8
//   p  parse_pid        (directory names)
//   d  strip_deleted_suffix and base_name (paths from maps and exe links)
// Any other first byte selects one of them by its value, so mutated inputs reach every parser.
// The model's strings must come out as valid UTF-8 whatever the bytes were.
#include <algorithm>
#include <array>
#include <cstddef>
#include <cstdint>
#include <string>
#include <string_view>

#include "collector/linux/procfs_parse.h"
#include "tests/fuzz/fuzz_targets.h"

namespace thx::fuzz {
namespace {

bool is_valid_utf8(std::string_view text) {
  return procfs::to_valid_utf8(text) == text;
}

void check_stat(std::string_view text) {
  const procfs::ParseResult<procfs::StatFields> result = procfs::parse_stat(text);
  THX_FUZZ_CHECK(result.ok() == result.error.empty());
  if (result.ok()) {
    THX_FUZZ_CHECK(is_valid_utf8(result.value->comm));
  }
}

void check_maps(std::string_view text) {
  const procfs::MapsSummary summary = procfs::parse_maps(text);
  const auto lines = static_cast<std::size_t>(std::count(text.begin(), text.end(), '\n')) + 1;
  THX_FUZZ_CHECK(summary.malformed_lines + summary.modules.size() + summary.heaps.size() <= lines);
  for (const Module& module : summary.modules) {
    THX_FUZZ_CHECK(!module.path().empty() && module.path().front() == '/');
    THX_FUZZ_CHECK(is_valid_utf8(module.path()));
    THX_FUZZ_CHECK(module.name() == procfs::base_name(module.path()));
    THX_FUZZ_CHECK(module.base_address + module.size >= module.base_address);  // no wrap-around
  }
  for (const Heap& heap : summary.heaps) {
    THX_FUZZ_CHECK(heap.bytes.has_value());
    THX_FUZZ_CHECK(heap.id + *heap.bytes >= heap.id);
  }
}

void check_btime(std::string_view text) {
  const procfs::ParseResult<std::int64_t> result = procfs::parse_btime(text);
  THX_FUZZ_CHECK(result.ok() == result.error.empty());
  if (result.ok()) {
    THX_FUZZ_CHECK(*result.value >= 0);
  }
}

void check_cmdline(std::string_view data) {
  if (data.empty()) {
    return;
  }
  const std::size_t max_bytes = static_cast<unsigned char>(data.front());
  data.remove_prefix(1);
  const std::string line = procfs::format_cmdline(data, max_bytes);
  THX_FUZZ_CHECK(is_valid_utf8(line));
  THX_FUZZ_CHECK(line.find('\0') == std::string::npos);
  // Replacement characters may lengthen it, three bytes for one, never more.
  THX_FUZZ_CHECK(line.size() <= 3 * std::min(max_bytes, data.size()));
}

void check_utf8(std::string_view text) {
  const std::string valid = procfs::to_valid_utf8(text);
  THX_FUZZ_CHECK(is_valid_utf8(valid));  // idempotent: the output is valid
  THX_FUZZ_CHECK(valid.size() <= 3 * text.size());
}

void check_pid(std::string_view text) {
  const std::optional<std::uint32_t> pid = procfs::parse_pid(text);
  if (pid) {
    THX_FUZZ_CHECK(!text.empty());
    THX_FUZZ_CHECK(
        std::all_of(text.begin(), text.end(), [](char c) { return c >= '0' && c <= '9'; }));
  }
}

void check_path(std::string_view text) {
  const std::string_view stripped = procfs::strip_deleted_suffix(text);
  THX_FUZZ_CHECK(text.substr(0, stripped.size()) == stripped);
  THX_FUZZ_CHECK(!stripped.empty() || text.empty());
  const std::string_view base = procfs::base_name(text);
  THX_FUZZ_CHECK(base.find('/') == std::string_view::npos);
  THX_FUZZ_CHECK(text.size() >= base.size() && text.substr(text.size() - base.size()) == base);
}

using Check = void (*)(std::string_view);
struct Parser {
  char letter;
  Check check;
};
constexpr std::array<Parser, 7> kParsers = {{{'s', &check_stat},
                                             {'m', &check_maps},
                                             {'b', &check_btime},
                                             {'c', &check_cmdline},
                                             {'u', &check_utf8},
                                             {'p', &check_pid},
                                             {'d', &check_path}}};

}  // namespace

void procfs_one_input(std::string_view data) {
  if (data.empty()) {
    return;
  }
  const char selector = data.front();
  data.remove_prefix(1);
  const auto* parser = std::find_if(kParsers.begin(), kParsers.end(),
                                    [selector](const Parser& p) { return p.letter == selector; });
  if (parser == kParsers.end()) {
    parser = &kParsers.at(static_cast<unsigned char>(selector) % kParsers.size());
  }
  parser->check(data);
}

}  // namespace thx::fuzz

#ifdef THX_FUZZ_ENTRY_POINT
extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  thx::fuzz::procfs_one_input({reinterpret_cast<const char*>(data), size});
  return 0;
}
#endif
