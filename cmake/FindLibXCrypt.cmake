# Finds libxcrypt (crypt_rn, for bcrypt password hashes): Debian's libcrypt-dev on Linux, a static
# build in the Windows dependency prefix for the .exe. Defines the imported target LibXCrypt::crypt.
find_path(LibXCrypt_INCLUDE_DIR NAMES crypt.h)
find_library(LibXCrypt_LIBRARY NAMES crypt libcrypt.a)

include(FindPackageHandleStandardArgs)
find_package_handle_standard_args(LibXCrypt REQUIRED_VARS LibXCrypt_LIBRARY LibXCrypt_INCLUDE_DIR)

if(LibXCrypt_FOUND AND NOT TARGET LibXCrypt::crypt)
  add_library(LibXCrypt::crypt UNKNOWN IMPORTED)
  set_target_properties(LibXCrypt::crypt PROPERTIES
    IMPORTED_LOCATION "${LibXCrypt_LIBRARY}"
    INTERFACE_INCLUDE_DIRECTORIES "${LibXCrypt_INCLUDE_DIR}")
endif()
mark_as_advanced(LibXCrypt_INCLUDE_DIR LibXCrypt_LIBRARY)
