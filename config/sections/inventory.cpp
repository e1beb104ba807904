// $.modules and $.per_process: which modules and processes get series of their own
// (collector/aggregate/settings.h).
#include "config/sections.h"

namespace thx::config_json {

void read_modules(Reader& reader, const Json& json, const std::string& path,
                  ModuleInventorySettings& modules) {
  Fields fields(reader, json, path, {"include", "exclude", "max_series"});
  fields.get("include", modules.include);
  fields.get("exclude", modules.exclude);
  fields.get("max_series", modules.max_series, 1, 100'000);
}

void read_per_process(Reader& reader, const Json& json, const std::string& path,
                      PerProcessSettings& per_process) {
  Fields fields(reader, json, path, {"include", "max_series"});
  fields.get("include", per_process.include);
  fields.get("max_series", per_process.max_series, 0, 10'000);
}

}  // namespace thx::config_json
