// `toolhelp_exporter snapshot`: one snapshot printed as a table (a quick look, like tlist and
// ListDLLs on Windows) or as JSON.
#pragma once

#include <ostream>

#include "collector/model/snapshot.h"

namespace thx {

void print_snapshot_table(const Snapshot& snapshot, std::ostream& out);

}  // namespace thx
