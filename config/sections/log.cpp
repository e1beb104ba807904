// $.log: level and optional rotating file (service/settings.h).
#include "config/sections.h"

namespace thx::config_json {

void read_log(Reader& reader, const Json& json, const std::string& path, LogSettings& log) {
  Fields fields(reader, json, path, {"level", "file", "file_max_bytes", "file_max_files"});
  fields.get("level", log.level, log_level_problem);
  fields.get("file", log.file);
  fields.get("file_max_bytes", log.file_max_bytes, 1024, std::size_t{1} << 30U);
  fields.get("file_max_files", log.file_max_files, 1, 1000);
}

}  // namespace thx::config_json
