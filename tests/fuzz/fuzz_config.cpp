// Fuzz target: the configuration loader on any bytes. It must never throw or crash, must either
// give a configuration or name at least one error, and what it accepts must respect the bounds
// the loader documents.
#include <chrono>
#include <cstddef>
#include <cstdint>
#include <string_view>

#include "config/config.h"
#include "tests/fuzz/fuzz_targets.h"

namespace thx::fuzz {

void config_one_input(std::string_view data) {
  const ConfigLoadResult result = load_config_text(data, "fuzz.json");
  THX_FUZZ_CHECK(result.config.has_value() == result.errors.empty());
  for (const ConfigError& error : result.errors) {
    THX_FUZZ_CHECK(!error.path.empty());
    THX_FUZZ_CHECK(!error.message.empty());
  }
  if (!result.config) {
    return;
  }
  const Config& config = *result.config;
  THX_FUZZ_CHECK(config.collection.interval >= std::chrono::milliseconds(100));
  THX_FUZZ_CHECK(config.collection.module_interval >= config.collection.interval);
  THX_FUZZ_CHECK(config.collection.max_heap_blocks_per_process >= 1);
  THX_FUZZ_CHECK(config.collection.kinds.contains(Kind::processes));
  THX_FUZZ_CHECK(!config.collection.kinds.contains(Kind::heap_blocks) ||
                 config.collection.kinds.contains(Kind::heaps));
  THX_FUZZ_CHECK(config.web.max_connections >= 1 && config.web.max_connections <= 1024);
}

}  // namespace thx::fuzz

#ifdef THX_FUZZ_ENTRY_POINT
extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  thx::fuzz::config_one_input({reinterpret_cast<const char*>(data), size});
  return 0;
}
#endif
