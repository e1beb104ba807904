# One warning policy for every target of ours: warnings are errors on both compilers.
add_library(thx_warnings INTERFACE)
target_compile_options(thx_warnings INTERFACE
  -Wall -Wextra -Wpedantic -Werror
  -Wshadow -Wnon-virtual-dtor -Wold-style-cast -Wcast-align -Woverloaded-virtual
  -Wnull-dereference -Wformat=2 -Wimplicit-fallthrough -Wmisleading-indentation
  # gcc only: clang rejects these as unknown options (an error with -Werror).
  "$<$<CXX_COMPILER_ID:GNU>:-Wduplicated-cond;-Wlogical-op;-Wuseless-cast>")
