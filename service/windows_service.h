// Windows-only pieces of the service glue that main() needs beyond service/platform.h.
#pragma once

#include <string>
#include <vector>

namespace thx {

// The program's arguments (without the program name) as UTF-8. main()'s argv is in the ANSI code
// page and loses every character outside it; the UTF-16 command line keeps them all.
std::vector<std::string> command_line_arguments();

}  // namespace thx
