# thx_link_delay_loaded(TARGET DLL FUNCTION...): TARGET calls FUNCTIONs of DLL without DLL in its
# static import table; the DLL is loaded at the first call. A DLL that is not a KnownDLL (such as
# version.dll) is otherwise searched for in the .exe's folder first when the program starts, before
# main() can restrict the search: main() calls SetDefaultDllDirectories(System32) first, so the
# delayed load finds only the system's copy. tests/windows/known_dlls_test.sh checks the table.
#
# mingw-w64: an import library with delay-load thunks made by dlltool from a .def listing the
# functions. MSVC: /DELAYLOAD and delayimp.lib.
function(thx_link_delay_loaded target dll)
  if(MSVC)
    target_link_libraries(${target} PRIVATE ${dll} delayimp)
    target_link_options(${target} INTERFACE "/DELAYLOAD:${dll}.dll")
    return()
  endif()
  find_program(THX_DLLTOOL NAMES ${CMAKE_SYSTEM_PROCESSOR}-w64-mingw32-dlltool dlltool REQUIRED)
  set(def "${CMAKE_CURRENT_BINARY_DIR}/${dll}.delay.def")
  set(lib "${CMAKE_CURRENT_BINARY_DIR}/lib${dll}_delay.a")
  list(JOIN ARGN "\n" functions)
  file(WRITE "${def}.new" "LIBRARY ${dll}.dll\nEXPORTS\n${functions}\n")
  file(COPY_FILE "${def}.new" "${def}" ONLY_IF_DIFFERENT)
  if(NOT EXISTS "${lib}" OR "${def}" IS_NEWER_THAN "${lib}")
    execute_process(COMMAND ${THX_DLLTOOL} --input-def "${def}" --output-delaylib "${lib}"
                    RESULT_VARIABLE rc)
    if(NOT rc EQUAL 0)
      message(FATAL_ERROR "dlltool could not make the delay-load library for ${dll}.dll")
    endif()
  endif()
  target_link_libraries(${target} PRIVATE "${lib}")
endfunction()
