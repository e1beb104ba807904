# Run by cpack after the Windows zip (CPACK_POST_BUILD_SCRIPTS, set in cmake/Packaging.cmake):
# builds the MSI beside it, named like it, from the same files.
foreach(package IN LISTS CPACK_PACKAGE_FILES)
  if(package MATCHES "[.]zip$")
    string(REGEX REPLACE "[.]zip$" ".msi" msi "${package}")
    execute_process(COMMAND "${CMAKE_COMMAND}" ${CPACK_THX_MSI_ARGS} "-DOUTPUT=${msi}"
                            -P "${CPACK_THX_MAKE_MSI}"
                    RESULT_VARIABLE rc)
    if(NOT rc EQUAL 0)
      message(FATAL_ERROR "cpack: the MSI could not be built")
    endif()
  endif()
endforeach()
