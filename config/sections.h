// The sections of the configuration file, one reader each: JSON -> the settings type its consumer
// owns. Every rule a value must follow is in config/validators.h; these only say which rule
// applies where and check what spans several keys.
#pragma once

#include <string>

#include "config/json_reader.h"

namespace thx::config_json {

void read_web(Reader& reader, const Json& json, const std::string& path, WebSettings& web);
void read_collection(Reader& reader, const Json& json, const std::string& path,
                     CollectionSettings& collection);
void read_groups(Reader& reader, const Json& json, const std::string& path,
                 GroupingSettings& grouping);
void read_modules(Reader& reader, const Json& json, const std::string& path,
                  ModuleInventorySettings& modules);
void read_per_process(Reader& reader, const Json& json, const std::string& path,
                      PerProcessSettings& per_process);
void read_log(Reader& reader, const Json& json, const std::string& path, LogSettings& log);

// The whole document: the top-level keys, then each section present.
void read_config(Reader& reader, const Json& root, Config& config);

}  // namespace thx::config_json
