# CMake toolchain file: cross-compile for 64-bit Windows with Debian's
# mingw-w64 GCC, posix thread model (std::thread, std::jthread and
# std::stop_token need it; the "-win32" compilers lack them).
#
#   cmake -S . -B build-win \
#         -DCMAKE_TOOLCHAIN_FILE=deploy/windows/mingw-w64-x86_64.cmake \
#         -DTHX_WINDOWS_DEPS="$(deploy/windows/build-deps.sh)"
#
# THX_WINDOWS_DEPS is the install prefix made by build-deps.sh (prometheus-cpp,
# fmt, spdlog, nlohmann-json, googletest, pcre2, yaml-cpp, libxcrypt, OpenSSL,
# the Boost headers). It is read from the CMake cache variable of that name or,
# failing that, from the environment variable of the same name.

set(CMAKE_SYSTEM_NAME Windows)
set(CMAKE_SYSTEM_PROCESSOR x86_64)

set(THX_MINGW_TRIPLE x86_64-w64-mingw32)

set(CMAKE_C_COMPILER   ${THX_MINGW_TRIPLE}-gcc-posix)
set(CMAKE_CXX_COMPILER ${THX_MINGW_TRIPLE}-g++-posix)
set(CMAKE_RC_COMPILER  ${THX_MINGW_TRIPLE}-windres)

# Dependency prefix: cache variable first, environment second.
if(NOT THX_WINDOWS_DEPS AND DEFINED ENV{THX_WINDOWS_DEPS} AND NOT "$ENV{THX_WINDOWS_DEPS}" STREQUAL "")
  set(THX_WINDOWS_DEPS "$ENV{THX_WINDOWS_DEPS}" CACHE PATH
      "Install prefix of the cross-built Windows dependencies (deploy/windows/build-deps.sh)")
endif()
if(THX_WINDOWS_DEPS AND NOT IS_ABSOLUTE "${THX_WINDOWS_DEPS}")
  message(FATAL_ERROR "THX_WINDOWS_DEPS must be an absolute path, got '${THX_WINDOWS_DEPS}'")
endif()

# try_compile() projects re-read this file; hand them the prefix too.
# (list(FIND) rather than IN_LIST: this file also runs under the old policy
# settings of dependencies with an old cmake_minimum_required.)
list(FIND CMAKE_TRY_COMPILE_PLATFORM_VARIABLES THX_WINDOWS_DEPS _thx_index)
if(_thx_index EQUAL -1)
  list(APPEND CMAKE_TRY_COMPILE_PLATFORM_VARIABLES THX_WINDOWS_DEPS)
endif()
unset(_thx_index)

set(CMAKE_FIND_ROOT_PATH /usr/${THX_MINGW_TRIPLE})
if(THX_WINDOWS_DEPS)
  list(APPEND CMAKE_FIND_ROOT_PATH "${THX_WINDOWS_DEPS}")
  # find_package(OpenSSL): the static libssl.a and libcrypto.a that build-deps.sh installs there
  # (CMakeLists.txt sets OPENSSL_USE_STATIC_LIBS for Windows).
  if(NOT OPENSSL_ROOT_DIR)
    set(OPENSSL_ROOT_DIR "${THX_WINDOWS_DEPS}")
  endif()
endif()

# Host programs from the host; libraries, headers and CMake packages only
# from the target roots above.
set(CMAKE_FIND_ROOT_PATH_MODE_PROGRAM NEVER)
set(CMAKE_FIND_ROOT_PATH_MODE_LIBRARY ONLY)
set(CMAKE_FIND_ROOT_PATH_MODE_INCLUDE ONLY)
set(CMAKE_FIND_ROOT_PATH_MODE_PACKAGE ONLY)

# Link the GCC runtime (libstdc++, libgcc, libwinpthread) statically so that
# an .exe imports only DLLs that ship with Windows.
set(CMAKE_EXE_LINKER_FLAGS_INIT "-static")
set(CMAKE_SHARED_LINKER_FLAGS_INIT "-static-libgcc -static-libstdc++")
set(CMAKE_MODULE_LINKER_FLAGS_INIT "-static-libgcc -static-libstdc++")
