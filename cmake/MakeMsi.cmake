# Run as a script (cmake -P) by the `msi_package` target and by cpack: builds the Windows installer from
# deploy/windows/msi/toolhelp_exporter.wxs with Debian's wixl.
# Inputs: WIXL, WXS, EXE, CUSTOM_ACTION_DLL, EXAMPLE_CONFIG, README, LICENSE, OUTPUT, STRIP
# (optional: strips the .exe's debug information first), or ARGS_FILE setting them; and either
# MSI_VERSION (a.b.c) or SOURCE_DIR + FALLBACK_VERSION, from which the version comes:
#
# An MSI compares only the first three fields of its version (each a.b below 256, c below 65536),
# so `git describe` maps into them with the commits since the release in the third:
#   v1.2.3                 -> 1.2.3000
#   v1.2.3-4-gabc1234      -> 1.2.3004
#   no release tag yet     -> FALLBACK with the commit count of HEAD (0.1.0 at commit 57: 0.1.57)
# so every later commit installs as an upgrade of an earlier one.
if(ARGS_FILE)
  include("${ARGS_FILE}")  # the inputs above, written by cmake/Packaging.cmake
endif()
if(NOT MSI_VERSION)
  execute_process(
    COMMAND git -C "${SOURCE_DIR}" describe --tags --always --match "v[0-9]*"
    OUTPUT_VARIABLE describe OUTPUT_STRIP_TRAILING_WHITESPACE ERROR_QUIET RESULT_VARIABLE rc)
  if(rc EQUAL 0 AND describe MATCHES "^v([0-9]+)\\.([0-9]+)\\.([0-9]+)(-([0-9]+)-g[0-9a-f]+)?")
    set(major "${CMAKE_MATCH_1}")
    set(minor "${CMAKE_MATCH_2}")
    set(patch "${CMAKE_MATCH_3}")
    set(commits "${CMAKE_MATCH_5}")
    if(commits STREQUAL "")
      set(commits 0)
    endif()
    math(EXPR build "${patch} * 1000 + ${commits}")
  else()
    string(REGEX MATCH "^([0-9]+)\\.([0-9]+)\\.([0-9]+)" ignored "${FALLBACK_VERSION}")
    set(major "${CMAKE_MATCH_1}")
    set(minor "${CMAKE_MATCH_2}")
    set(patch "${CMAKE_MATCH_3}")
    execute_process(
      COMMAND git -C "${SOURCE_DIR}" rev-list --count HEAD
      OUTPUT_VARIABLE count OUTPUT_STRIP_TRAILING_WHITESPACE ERROR_QUIET RESULT_VARIABLE rc)
    if(NOT rc EQUAL 0 OR count STREQUAL "")
      set(count 0)
    endif()
    math(EXPR build "${patch} + ${count}")
  endif()
  if(build GREATER 65535)
    set(build 65535)
  endif()
  set(MSI_VERSION "${major}.${minor}.${build}")
endif()
if(NOT MSI_VERSION MATCHES "^[0-9]+\\.[0-9]+\\.[0-9]+$")
  message(FATAL_ERROR "MakeMsi: MSI_VERSION must be a.b.c, got '${MSI_VERSION}'")
endif()
get_filename_component(output_dir "${OUTPUT}" DIRECTORY)
get_filename_component(output_name "${OUTPUT}" NAME_WE)
file(MAKE_DIRECTORY "${output_dir}")
# wixl takes file names relative to the folder it runs in (absolute ones fail): stage every
# file there, the .exe without its debug information, as in the zip.
set(stage "${output_dir}/${output_name}.stage")
file(REMOVE_RECURSE "${stage}")
file(MAKE_DIRECTORY "${stage}")
file(COPY_FILE "${EXE}" "${stage}/toolhelp_exporter.exe")
if(STRIP)
  execute_process(COMMAND "${STRIP}" --strip-debug "${stage}/toolhelp_exporter.exe"
                  RESULT_VARIABLE rc)
  if(NOT rc EQUAL 0)
    message(FATAL_ERROR "MakeMsi: ${STRIP} failed on ${EXE}")
  endif()
endif()
file(COPY_FILE "${CUSTOM_ACTION_DLL}" "${stage}/custom_action.dll")
file(COPY_FILE "${EXAMPLE_CONFIG}" "${stage}/toolhelp_exporter.example.json")
file(COPY_FILE "${README}" "${stage}/README-windows.txt")
file(COPY_FILE "${LICENSE}" "${stage}/LICENSE.txt")
execute_process(
  COMMAND "${WIXL}" -a x64 -D "Version=${MSI_VERSION}" -D "Exe=toolhelp_exporter.exe"
          -D "CustomActionDll=custom_action.dll" -D "ExampleConfig=toolhelp_exporter.example.json"
          -D "Readme=README-windows.txt" -D "License=LICENSE.txt" -o "${OUTPUT}" "${WXS}"
  WORKING_DIRECTORY "${stage}" RESULT_VARIABLE rc ERROR_VARIABLE errors)
if(NOT rc EQUAL 0)
  message(FATAL_ERROR "wixl failed (${rc}) building ${OUTPUT}:\n${errors}")
endif()
file(REMOVE_RECURSE "${stage}")
message(STATUS "Built ${OUTPUT} (MSI version ${MSI_VERSION})")
