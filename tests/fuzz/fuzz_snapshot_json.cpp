// Fuzz target: snapshot_from_json on any JSON document. The bytes are parsed without exceptions
// (nlohmann's own parser is not ours to test); snapshot_from_json may only throw the documented
// SnapshotFormatError. What it accepts must survive a round trip: written as JSON text and read
// back, it is the same snapshot.
#include <cstddef>
#include <cstdint>
#include <string>
#include <string_view>

#include <nlohmann/json.hpp>

#include "collector/model/snapshot_json.h"
#include "tests/fuzz/fuzz_targets.h"

namespace thx::fuzz {

void snapshot_json_one_input(std::string_view data) {
  const nlohmann::json document =
      nlohmann::json::parse(data.begin(), data.end(), nullptr, /*allow_exceptions=*/false);
  if (document.is_discarded()) {
    return;
  }
  Snapshot snapshot;
  try {
    snapshot = snapshot_from_json(document);
  } catch (const SnapshotFormatError& error) {
    THX_FUZZ_CHECK(std::string_view(error.what()).substr(0, 1) == "$");  // names the JSON path
    return;
  }
  const std::string text = snapshot_to_json_text(snapshot);
  const nlohmann::json written =
      nlohmann::json::parse(text.begin(), text.end(), nullptr, /*allow_exceptions=*/false);
  THX_FUZZ_CHECK(!written.is_discarded());
  THX_FUZZ_CHECK(snapshot_from_json(written) == snapshot);
}

}  // namespace thx::fuzz

#ifdef THX_FUZZ_ENTRY_POINT
extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  thx::fuzz::snapshot_json_one_input({reinterpret_cast<const char*>(data), size});
  return 0;
}
#endif
