# One warning policy for every target of ours: warnings are errors on both compilers. C++ only
# (the one assembly file, exporter/openssl/, is assembled without them).
add_library(thx_warnings INTERFACE)
target_compile_options(thx_warnings INTERFACE
  "$<$<COMPILE_LANGUAGE:CXX>:-Wall;-Wextra;-Wpedantic;-Werror>"
  "$<$<COMPILE_LANGUAGE:CXX>:-Wshadow;-Wnon-virtual-dtor;-Wold-style-cast;-Wcast-align>"
  "$<$<COMPILE_LANGUAGE:CXX>:-Woverloaded-virtual;-Wnull-dereference;-Wformat=2>"
  "$<$<COMPILE_LANGUAGE:CXX>:-Wimplicit-fallthrough;-Wmisleading-indentation>"
  # gcc only: clang rejects these as unknown options (an error with -Werror).
  "$<$<AND:$<COMPILE_LANGUAGE:CXX>,$<CXX_COMPILER_ID:GNU>>:-Wduplicated-cond;-Wlogical-op;-Wuseless-cast>")
