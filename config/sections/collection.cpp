// $.collection: what each snapshot reads and how often (collector/model/source.h).
#include <chrono>

#include "config/sections.h"

namespace thx::config_json {
namespace {

using std::chrono::milliseconds;

constexpr milliseconds kMinInterval{100};  // below this the snapshots themselves dominate the CPU

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

}  // namespace

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

}  // namespace thx::config_json
