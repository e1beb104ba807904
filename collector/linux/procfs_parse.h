// Pure parsers for the procfs files the Linux source reads. No I/O here: each function takes the
// bytes of one file and returns a value or the reason it could not, so the parsers can be unit
// tested and fuzzed with any input (truncated, empty, huge, binary) without touching /proc.
#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "collector/model/snapshot.h"
#include "collector/module_files.h"

namespace thx::procfs {

// A parsed value, or a short static text saying why there is none.
template <typename T>
struct ParseResult {
  std::optional<T> value;
  std::string_view error;  // empty when `value` is set

  [[nodiscard]] bool ok() const { return value.has_value(); }
  static ParseResult failure(std::string_view why) { return {std::nullopt, why}; }
};

// The fields of /proc/<pid>/stat (and /proc/<pid>/task/<tid>/stat) the source uses.
struct StatFields {
  std::uint32_t pid = 0;
  std::string comm;  // between the first '(' and the last ')'; may hold spaces, ')' and newlines
  char state = '?';  // R, S, D, Z, T, ...
  std::uint32_t ppid = 0;
  std::uint32_t flags = 0;    // PF_* bits; PF_KTHREAD marks kernel threads
  std::int32_t priority = 0;  // field 18: 20 + nice for normal tasks, negative for real-time
  std::int32_t nice = 0;      // field 19: -20..19
  std::uint32_t num_threads = 0;
  std::uint64_t start_ticks = 0;  // field 22: clock ticks after boot

  [[nodiscard]] bool is_kernel_thread() const { return (flags & kPfKthread) != 0; }
  static constexpr std::uint32_t kPfKthread = 0x00200000;
};

ParseResult<StatFields> parse_stat(std::string_view text);

// What /proc/<pid>/maps says about modules and heaps.
struct MapsSummary {
  // One entry per mapped file, in address order of its first mapping. base_address is the lowest
  // start and size spans up to the highest end of all the file's mappings.
  std::vector<Module> modules;
  // The [heap] mapping (the brk heap); contiguous [heap] lines are merged.
  std::vector<Heap> heaps;
  std::size_t malformed_lines = 0;  // lines that were skipped because they did not parse
};

// Never fails as a whole: bad lines are skipped and counted in `malformed_lines`. Module files
// are interned in `files`; without a pool, the modules share names only among themselves.
MapsSummary parse_maps(std::string_view text, ModuleFilePool& files);
MapsSummary parse_maps(std::string_view text);

// The "btime" line of /proc/stat: boot time in seconds since the Unix epoch.
ParseResult<std::int64_t> parse_btime(std::string_view text);

// /proc/<pid>/cmdline: NUL-separated arguments joined with spaces, trailing NULs dropped, cut at
// `max_bytes`.
std::string format_cmdline(std::string_view raw, std::size_t max_bytes);

// The kernel appends " (deleted)" to the path of a file that was removed or replaced after it was
// mapped or executed (a package upgrade). Returns the path without it.
std::string_view strip_deleted_suffix(std::string_view path);

// The part after the last '/', or the whole text when there is none.
std::string_view base_name(std::string_view path);

// Invalid UTF-8 byte sequences replaced by U+FFFD: procfs names and paths are bytes, the model
// (and Prometheus labels, and JSON) need UTF-8.
std::string to_valid_utf8(std::string_view text);

// A decimal unsigned number that fills the whole text (directory names like "1234").
std::optional<std::uint32_t> parse_pid(std::string_view text);

}  // namespace thx::procfs
