#!/usr/bin/env bash
# Cross-builds the Windows (x86_64, mingw-w64) dependencies of
# toolhelp_exporter from Debian's source packages into one static install
# prefix, and caches that prefix.
#
#   THX_WINDOWS_DEPS=$(deploy/windows/build-deps.sh)
#
# The prefix path is the last line on stdout; all progress goes to stderr.
#
# Environment:
#   THX_DEPS_CACHE     cache directory
#                      (default: ${XDG_CACHE_HOME:-$HOME/.cache}/toolhelp_exporter)
#   THX_DEPS_REBUILD=1 ignore a finished cached prefix and build it again
#   THX_DEPS_KEEP_WORK=1 keep the unpacked sources and build trees
set -euo pipefail

# Everything this script and its children print goes to stderr; fd 3 keeps
# the real stdout for the final prefix line.
exec 3>&1 1>&2

# Host compiler settings from the environment must not leak into the cross
# build (they are not part of the cache key either).
unset CC CXX CFLAGS CXXFLAGS CPPFLAGS LDFLAGS

SCRIPT_DIR="$(cd -- "$(dirname -- "${BASH_SOURCE[0]}")" && pwd)"
SCRIPT_FILE="${SCRIPT_DIR}/$(basename -- "${BASH_SOURCE[0]}")"
readonly SCRIPT_DIR SCRIPT_FILE
readonly TOOLCHAIN="${SCRIPT_DIR}/mingw-w64-x86_64.cmake"
readonly TRIPLE=x86_64-w64-mingw32
readonly MINGW_CXX="${TRIPLE}-g++-posix"

# OpenSSL (password hashing, random salts, HTTPS) and libxcrypt (bcrypt password
# hashes for --web.config.file): not CMake projects, each has its own block below
# (build_openssl, build_libxcrypt).
readonly OPENSSL_PACKAGES=(openssl)
readonly LIBXCRYPT_PACKAGES=(libxcrypt)

# Debian source packages, in build order (spdlog needs fmt). The HTTP server
# is Boost.Beast/Asio, header-only: its headers are copied from the host's
# libboost1.81-dev (the same headers serve both platforms); zlib for mingw is
# Debian's libz-mingw-w64-dev (static libz.a, found in /usr/x86_64-w64-mingw32).
# yaml-cpp reads --web.config.file (the exporter-toolkit's YAML).
readonly SOURCE_PACKAGES=(prometheus-cpp fmtlib spdlog nlohmann-json3 googletest pcre2 yaml-cpp
                          "${LIBXCRYPT_PACKAGES[@]}" "${OPENSSL_PACKAGES[@]}")
readonly BOOST_HEADERS=/usr/include/boost

# Debian binary packages this script needs on the build machine.
readonly HOST_PACKAGES=(
  mingw-w64
  gcc-mingw-w64-x86-64-posix
  g++-mingw-w64-x86-64-posix
  binutils-mingw-w64-x86-64
  mingw-w64-x86-64-dev
  libz-mingw-w64-dev
  libboost1.81-dev
  dpkg-dev
  cmake
  make
  patch
  xz-utils
  perl
  autoconf
  automake
  libtool
  libltdl-dev
)

readonly DEB_SRC_BASENAME=toolhelp-exporter-deb-src

log() { printf '[build-deps] %s\n' "$*" >&2; }
die() { printf '[build-deps] ERROR: %s\n' "$*" >&2; exit 1; }

as_root() {
  if [[ "$(id -u)" -eq 0 ]]; then
    "$@"
  elif command -v sudo >/dev/null 2>&1; then
    sudo "$@"
  else
    die "need root for '$*' but sudo is not installed"
  fi
}

apt_as_root() {
  as_root env DEBIAN_FRONTEND=noninteractive "$@"
}

# ---------------------------------------------------------------------------
# apt: source entries, host tools
# ---------------------------------------------------------------------------

# True when apt has downloaded at least one source index (Sources file).
# apt-get update drops the indexes of entries that are gone, so this also
# tells that a deb-src entry is configured; it is much cheaper than asking
# apt-get indextargets, which matters for the cached (warm) path.
have_source_indexes() {
  local lists=""
  eval "$(apt-config shell lists Dir::State::lists/d)"
  [[ -n "$lists" ]] || lists=/var/lib/apt/lists/
  compgen -G "${lists%/}/*_Sources*" >/dev/null
}

# True when apt's configuration has a deb-src entry (downloaded or not).
have_deb_src_entry() {
  local targets
  # shellcheck disable=SC2016 # $(FILENAME) is apt's placeholder, not bash's
  targets="$(apt-get indextargets --format '$(FILENAME)' 'Created-By: Sources' 2>/dev/null || true)"
  [[ -n "$targets" ]]
}

# Prints deb822 stanzas that mirror every enabled "Types: deb" stanza of a
# .sources file pointing at a Debian archive, with "Types: deb-src".
deb822_src_stanzas() {
  awk '
    BEGIN { RS = ""; FS = "\n" }
    {
      types = ""; enabled = 1; debian = 0; out = ""
      for (i = 1; i <= NF; i++) {
        line = $i
        if (line ~ /^[ \t]*#/) continue
        if (tolower(line) ~ /^types:/) {
          types = " " substr(line, 7) " "
          gsub(/[ \t]+/, " ", types)
          line = "Types: deb-src"
        } else if (tolower(line) ~ /^enabled:[ \t]*no/) {
          enabled = 0
        } else if (tolower(line) ~ /^uris:/ && line ~ /debian/) {
          debian = 1
        }
        out = out line "\n"
      }
      if (enabled && debian && types ~ / deb /) printf "%s\n", out
    }
  ' "$@"
}

# Prints one-line deb-src entries mirroring the Debian "deb" lines.
oneline_src_entries() {
  sed -n -E '/debian/s/^[[:space:]]*deb([[:space:]])/deb-src\1/p' "$@"
}

ensure_deb_src() {
  if have_deb_src_entry; then
    return 0
  fi
  log "apt has no deb-src entry; adding one that mirrors the Debian deb entries"
  local dir=/etc/apt/sources.list.d content f
  local -a sources_files=() list_files=()
  for f in "$dir"/*.sources; do
    [[ -f "$f" && "$(basename "$f")" != "${DEB_SRC_BASENAME}.sources" ]] && sources_files+=("$f")
  done
  [[ -f /etc/apt/sources.list ]] && list_files+=(/etc/apt/sources.list)
  for f in "$dir"/*.list; do
    [[ -f "$f" && "$(basename "$f")" != "${DEB_SRC_BASENAME}.list" ]] && list_files+=("$f")
  done

  local added=0
  if ((${#sources_files[@]})); then
    content="$(deb822_src_stanzas "${sources_files[@]}")"
    if [[ -n "$content" ]]; then
      printf '# Added by toolhelp_exporter deploy/windows/build-deps.sh\n%s\n' "$content" \
        | as_root tee "$dir/${DEB_SRC_BASENAME}.sources" >/dev/null
      log "wrote $dir/${DEB_SRC_BASENAME}.sources"
      added=1
    fi
  fi
  if ((${#list_files[@]})); then
    content="$(oneline_src_entries "${list_files[@]}")"
    if [[ -n "$content" ]]; then
      printf '# Added by toolhelp_exporter deploy/windows/build-deps.sh\n%s\n' "$content" \
        | as_root tee "$dir/${DEB_SRC_BASENAME}.list" >/dev/null
      log "wrote $dir/${DEB_SRC_BASENAME}.list"
      added=1
    fi
  fi
  ((added)) || die "found no Debian 'deb' entry to mirror as deb-src; add a deb-src entry to apt's sources by hand"
}

apt_update() {
  log "apt-get update"
  apt_as_root apt-get update -q >&2 || die "apt-get update failed"
}

missing_host_packages() {
  local installed
  # one dpkg-query for all (it complains about unknown names; those count as missing)
  installed="$(dpkg-query -W -f='${Package} ${db:Status-Status}\n' "${HOST_PACKAGES[@]}" 2>/dev/null || true)"
  local p
  for p in "${HOST_PACKAGES[@]}"; do
    grep -qxF "$p installed" <<<"$installed" || printf '%s\n' "$p"
  done
}

prepare_apt() {
  local need_update=0
  local -a missing
  mapfile -t missing < <(missing_host_packages)
  if ! have_source_indexes; then
    ensure_deb_src
    need_update=1
  fi
  if ((${#missing[@]})) || ((need_update)); then
    apt_update
  fi
  if ((${#missing[@]})); then
    log "installing: ${missing[*]}"
    apt_as_root apt-get install -y -q --no-install-recommends "${missing[@]}" >&2 \
      || die "apt-get install ${missing[*]} failed"
  fi
  ((need_update == 0)) || have_source_indexes || die "apt has no source index even after apt-get update; check the deb-src entries in apt's sources"
}

# Prints "<source package> <version>" for every version apt knows of the
# given source packages (one apt-cache call for all of them).
source_package_versions() {
  apt-cache showsrc --only-source "$@" 2>/dev/null \
    | awk '/^Package:/ { pkg = $2 } /^Version:/ { print pkg, $2 }'
}

# Sorts versions (one a line on stdin) newest first, without duplicates.
sort_versions_newest_first() {
  local v i
  local -a sorted=()
  while read -r v; do
    [[ -n "$v" ]] || continue
    for ((i = 0; i < ${#sorted[@]}; i++)); do
      [[ "$v" == "${sorted[i]}" ]] && continue 2
      if dpkg --compare-versions "$v" gt "${sorted[i]}"; then
        break
      fi
    done
    sorted=("${sorted[@]:0:i}" "$v" "${sorted[@]:i}")
  done
  if ((${#sorted[@]})); then
    printf '%s\n' "${sorted[@]}"
  fi
}

# ---------------------------------------------------------------------------
# cache key
# ---------------------------------------------------------------------------

# CANDIDATES[pkg]: every version apt offers, newest first (space separated);
# VERSION[pkg]: the one actually fetched (the newest that downloads).
declare -A CANDIDATES=()
declare -A VERSION=()

compute_key() {
  local pkg
  {
    for pkg in "${SOURCE_PACKAGES[@]}"; do
      printf 'src %s %s\n' "$pkg" "${CANDIDATES[$pkg]}"
    done
    printf 'cxx %s\n' "$("$MINGW_CXX" --version | head -n 1)"
    printf 'cxx-full %s\n' "$("$MINGW_CXX" -dumpfullversion 2>/dev/null || "$MINGW_CXX" -dumpversion)"
    printf 'mingw-crt %s\n' "$(dpkg-query -W -f='${Version}' mingw-w64-x86-64-dev 2>/dev/null || echo unknown)"
    printf 'cmake %s\n' "$(cmake --version | head -n 1)"
    printf 'boost %s\n' "$(dpkg-query -W -f='${Version}' libboost1.81-dev 2>/dev/null || echo unknown)"
    # libxcrypt's configure is generated here: the autotools' versions shape it.
    printf 'autotools %s\n' "$(dpkg-query -W -f='${Package}=${Version} ' autoconf automake libtool 2>/dev/null || echo unknown)"
    printf 'script %s\n' "$(sha256sum < "$SCRIPT_FILE" | cut -d' ' -f1)"
    printf 'toolchain %s\n' "$(sha256sum < "$TOOLCHAIN" | cut -d' ' -f1)"
  } | sha256sum | cut -c1-16
}

# ---------------------------------------------------------------------------
# building
# ---------------------------------------------------------------------------

CURRENT_PKG=""
CURRENT_LOG=""

# run_logged STEP CMD...: runs CMD with its output appended to the current
# package's log; on failure names the package, the step and the log.
run_logged() {
  local step="$1"; shift
  {
    printf '\n+ %s\n' "$*"
  } >>"$CURRENT_LOG"
  if ! "$@" >>"$CURRENT_LOG" 2>&1; then
    log "----- last lines of $CURRENT_LOG -----"
    tail -n 25 "$CURRENT_LOG" >&2 || true
    log "--------------------------------------"
    die "${CURRENT_PKG}: ${step} failed; full log: ${CURRENT_LOG}"
  fi
}

# Debian unpacks "<source>_<epoch>:<upstream>-<revision>" into
# "<source>-<upstream>".
source_dir() {
  local pkg="$1" v="${VERSION[$1]}"
  v="${v#*:}"
  v="${v%-*}"
  printf '%s/%s-%s\n' "$SRC_DIR" "$pkg" "$v"
}

# cmake_package PKG CMAKE-ARGS...: configure, build and install one package.
cmake_package() {
  local pkg="$1"; shift
  local src build start
  src="$(source_dir "$pkg")"
  build="$BUILD_DIR/$pkg"
  CURRENT_PKG="$pkg"
  CURRENT_LOG="$LOG_DIR/$pkg.log"
  : >"$CURRENT_LOG"
  [[ -f "$src/CMakeLists.txt" ]] || die "$pkg: no CMakeLists.txt in $src (see $LOG_DIR/apt-get-source.log)"
  start=$SECONDS
  log "building $pkg ${VERSION[$pkg]} (log: $CURRENT_LOG)"
  run_logged configure cmake -S "$src" -B "$build" -G "Unix Makefiles" \
    -DCMAKE_TOOLCHAIN_FILE="$TOOLCHAIN" \
    -DTHX_WINDOWS_DEPS="$PREFIX" \
    -DCMAKE_BUILD_TYPE=Release \
    -DCMAKE_INSTALL_PREFIX="$PREFIX" \
    -DCMAKE_INSTALL_LIBDIR=lib \
    -DBUILD_SHARED_LIBS=OFF \
    -DBUILD_TESTING=OFF \
    -DCMAKE_FIND_USE_PACKAGE_REGISTRY=OFF \
    "$@"
  run_logged build cmake --build "$build" -j"$(nproc)"
  run_logged install cmake --install "$build"
  log "  $pkg done in $((SECONDS - start)) s"
}

build_all() {
  cmake_package prometheus-cpp \
    -DENABLE_PULL=OFF \
    -DENABLE_PUSH=OFF \
    -DENABLE_COMPRESSION=OFF \
    -DENABLE_TESTING=OFF \
    -DUSE_THIRDPARTY_LIBRARIES=OFF \
    -DGENERATE_PKGCONFIG=OFF

  cmake_package fmtlib \
    -DFMT_DOC=OFF \
    -DFMT_TEST=OFF \
    -DFMT_FUZZ=OFF \
    -DFMT_INSTALL=ON

  cmake_package spdlog \
    -DSPDLOG_FMT_EXTERNAL=ON \
    -DSPDLOG_BUILD_SHARED=OFF \
    -DSPDLOG_BUILD_EXAMPLE=OFF \
    -DSPDLOG_BUILD_EXAMPLE_HO=OFF \
    -DSPDLOG_BUILD_TESTS=OFF \
    -DSPDLOG_BUILD_TESTS_HO=OFF \
    -DSPDLOG_BUILD_BENCH=OFF \
    -DSPDLOG_INSTALL=ON

  cmake_package nlohmann-json3 \
    -DJSON_BuildTests=OFF \
    -DJSON_Install=ON \
    -DJSON_MultipleHeaders=ON

  cmake_package googletest \
    -DBUILD_GMOCK=ON \
    -DINSTALL_GTEST=ON \
    -Dgtest_build_tests=OFF \
    -Dgmock_build_tests=OFF

  cmake_package pcre2 \
    -DBUILD_STATIC_LIBS=ON \
    -DPCRE2_BUILD_PCRE2_8=ON \
    -DPCRE2_BUILD_PCRE2_16=OFF \
    -DPCRE2_BUILD_PCRE2_32=OFF \
    -DPCRE2_SUPPORT_JIT=OFF \
    -DPCRE2_SUPPORT_UNICODE=ON \
    -DPCRE2_BUILD_PCRE2GREP=OFF \
    -DPCRE2_BUILD_TESTS=OFF \
    -DPCRE2_SUPPORT_LIBZ=OFF \
    -DPCRE2_SUPPORT_LIBBZ2=OFF \
    -DPCRE2_SUPPORT_LIBEDIT=OFF \
    -DPCRE2_SUPPORT_LIBREADLINE=OFF \
    -DPCRE2_SHOW_REPORT=OFF

  # The library alone: no tests, parse tools or contrib (graphbuilder, anchordict).
  cmake_package yaml-cpp \
    -DYAML_BUILD_SHARED_LIBS=OFF \
    -DYAML_CPP_BUILD_TESTS=OFF \
    -DYAML_CPP_BUILD_TOOLS=OFF \
    -DYAML_CPP_BUILD_CONTRIB=OFF \
    -DYAML_CPP_INSTALL=ON

  build_libxcrypt
  build_openssl
}

# ---------------------------------------------------------------------------
# libxcrypt: crypt_rn for the bcrypt hashes of basic_auth_users
# ---------------------------------------------------------------------------

# Debian's libxcrypt source is a git snapshot without a generated configure:
# autoreconf first (autoconf, automake, libtool). Only the bcrypt family is
# compiled in: $2b$, $2a$ and $2y$ (htpasswd -B writes $2y$; without bcrypt_y
# crypt_rn refuses it). No shared library, no obsolete DES API, no xcrypt.h
# compatibility header; --disable-werror because mingw's GCC warns where the
# Linux one does not. The static library and crypt.h are all that is kept.
readonly LIBXCRYPT_CONFIGURE_OPTIONS=(
  --disable-shared --enable-static --disable-werror --disable-dependency-tracking
  --enable-hashes=bcrypt,bcrypt_a,bcrypt_y --disable-obsolete-api
  --disable-xcrypt-compat-files
)

build_libxcrypt() {
  local pkg=libxcrypt src build start
  src="$(source_dir "$pkg")"
  build="$BUILD_DIR/$pkg"
  CURRENT_PKG="$pkg"
  CURRENT_LOG="$LOG_DIR/$pkg.log"
  : >"$CURRENT_LOG"
  [[ -f "$src/configure.ac" ]] || die "$pkg: no configure.ac in $src (see $LOG_DIR/apt-get-source.log)"
  start=$SECONDS
  log "building $pkg ${VERSION[$pkg]} (log: $CURRENT_LOG)"
  run_logged autoreconf autoreconf -fi "$src"
  mkdir -p -- "$build"
  pushd "$build" >/dev/null
  run_logged configure "$src/configure" --host="$TRIPLE" CC="${TRIPLE}-gcc-posix" \
    --prefix="$PREFIX" --libdir="$PREFIX/lib" "${LIBXCRYPT_CONFIGURE_OPTIONS[@]}"
  run_logged build make -j"$(nproc)"
  mkdir -p -- "$PREFIX/include" "$PREFIX/lib"
  run_logged install cp -- crypt.h "$PREFIX/include/"
  run_logged install cp -- .libs/libcrypt.a "$PREFIX/lib/"
  popd >/dev/null
  log "  $pkg done in $((SECONDS - start)) s"
}

# ---------------------------------------------------------------------------
# OpenSSL: libcrypto (PBKDF2, SHA-256, RAND_bytes) and libssl (HTTPS)
# ---------------------------------------------------------------------------

# Debian's openssl source package, cross-built with OpenSSL's own Configure
# (perl and make, no CMake): the two static libraries and their headers only,
# none of the programs, tests, manuals, engines or loadable modules, and
# without algorithms and protocols the exporter never uses (fewer files to
# compile: CI pays for this build on every clean run). no-autoload-config:
# the service never reads an openssl.cnf (OPENSSLDIR is a build path that
# means nothing on the Windows machine). RAND_bytes seeds from the system
# (CryptGenRandom in advapi32, a KnownDLL).
readonly OPENSSL_CONFIGURE_OPTIONS=(
  no-shared no-tests no-dso no-engine no-module no-legacy no-autoload-config
  no-async no-comp no-ui-console no-ssl-trace
  no-dtls no-sctp no-srtp no-psk no-srp no-ct no-ocsp no-cms no-ts no-cmp no-rfc3779
  no-aria no-bf no-camellia no-cast no-gost no-idea no-md4 no-mdc2 no-rc2 no-rc4 no-rc5
  no-rmd160 no-seed no-sm2 no-sm3 no-sm4 no-whirlpool no-ec2m no-siphash no-scrypt
  no-ocb no-multiblock
)

build_openssl() {
  local pkg=openssl src build start
  src="$(source_dir "$pkg")"
  build="$BUILD_DIR/$pkg"
  CURRENT_PKG="$pkg"
  CURRENT_LOG="$LOG_DIR/$pkg.log"
  : >"$CURRENT_LOG"
  [[ -f "$src/Configure" ]] || die "$pkg: no Configure in $src (see $LOG_DIR/apt-get-source.log)"
  start=$SECONDS
  log "building $pkg ${VERSION[$pkg]} (log: $CURRENT_LOG)"
  mkdir -p -- "$build"
  pushd "$build" >/dev/null
  run_logged configure perl "$src/Configure" mingw64 "${OPENSSL_CONFIGURE_OPTIONS[@]}" \
    --cross-compile-prefix="${TRIPLE}-" CC=gcc-posix --prefix="$PREFIX" --libdir=lib
  # The libraries alone (make's build_libs and install_dev would build the
  # programs' helper library too).
  run_logged generate make -j"$(nproc)" build_generated
  run_logged build make -j"$(nproc)" libcrypto.a libssl.a
  mkdir -p -- "$PREFIX/include/openssl" "$PREFIX/lib"
  run_logged install cp -- "$src"/include/openssl/*.h include/openssl/*.h "$PREFIX/include/openssl/"
  run_logged install cp -- libcrypto.a libssl.a "$PREFIX/lib/"
  popd >/dev/null
  log "  $pkg done in $((SECONDS - start)) s"
}

# Fetches and unpacks one source package: the newest version that downloads
# (a mirror may list a version in its index whose files it does not serve).
fetch_source() {
  local pkg="$1" v upstream
  CURRENT_PKG="$pkg"
  CURRENT_LOG="$LOG_DIR/apt-get-source.log"
  for v in ${CANDIDATES[$pkg]}; do
    printf '\n+ apt-get source %s=%s\n' "$pkg" "$v" >>"$CURRENT_LOG"
    # apt-get source unpacks with dpkg-source -x, which applies Debian's patches.
    if (cd "$SRC_DIR" && apt-get source -q --only-source "${pkg}=${v}") >>"$CURRENT_LOG" 2>&1; then
      VERSION[$pkg]="$v"
      log "  $pkg $v"
      return 0
    fi
    log "  $pkg $v could not be fetched, trying an older version"
    upstream="${v#*:}"
    (cd "$SRC_DIR" && rm -rf -- "${pkg}"_* "${pkg}-${upstream%-*}")
  done
  log "----- last lines of $CURRENT_LOG -----"
  tail -n 25 "$CURRENT_LOG" >&2 || true
  die "$pkg: apt-get source failed for every version (${CANDIDATES[$pkg]}); full log: $CURRENT_LOG"
}

fetch_sources() {
  local pkg
  : >"$LOG_DIR/apt-get-source.log"
  log "fetching and unpacking Debian sources"
  for pkg in "${SOURCE_PACKAGES[@]}"; do
    fetch_source "$pkg"
  done
}

# Boost.Beast and Boost.Asio are header-only: the host's Boost headers go into
# the prefix, where the cross build's find_package(Boost) looks.
copy_boost_headers() {
  [[ -f "$BOOST_HEADERS/version.hpp" ]] || die "no Boost headers in $BOOST_HEADERS (install libboost1.81-dev)"
  log "copying the Boost headers from $BOOST_HEADERS"
  mkdir -p -- "$PREFIX/include"
  cp -a -- "$BOOST_HEADERS" "$PREFIX/include/boost"
}

# ---------------------------------------------------------------------------
# main
# ---------------------------------------------------------------------------

main() {
  local total_start=$SECONDS
  prepare_apt

  local pkg all_versions
  all_versions="$(source_package_versions "${SOURCE_PACKAGES[@]}")"
  for pkg in "${SOURCE_PACKAGES[@]}"; do
    CANDIDATES[$pkg]="$(awk -v p="$pkg" '$1 == p { print $2 }' <<<"$all_versions" \
      | sort_versions_newest_first | tr '\n' ' ')"
    CANDIDATES[$pkg]="${CANDIDATES[$pkg]% }"
    [[ -n "${CANDIDATES[$pkg]}" ]] \
      || die "apt knows no source package '$pkg' (is a deb-src entry for Debian 12 configured?)"
  done

  local cache_root="${THX_DEPS_CACHE:-${XDG_CACHE_HOME:-$HOME/.cache}/toolhelp_exporter}"
  mkdir -p -- "$cache_root"
  cache_root="$(cd -- "$cache_root" && pwd)"

  local key
  key="$(compute_key)"
  PREFIX="$cache_root/mingw-$key"
  local stamp="$PREFIX/.thx-deps-complete"

  if [[ "${THX_DEPS_REBUILD:-0}" != 1 && -f "$stamp" ]]; then
    log "cached prefix is complete: $PREFIX"
    printf '%s\n' "$PREFIX" >&3
    return 0
  fi

  # One build per cache directory at a time.
  exec 9>"$cache_root/.lock"
  if ! flock -n 9; then
    log "waiting for another build-deps.sh run in $cache_root"
    flock 9
  fi
  if [[ "${THX_DEPS_REBUILD:-0}" != 1 && -f "$stamp" ]]; then
    log "cached prefix was completed by another run: $PREFIX"
    printf '%s\n' "$PREFIX" >&3
    return 0
  fi

  WORK_DIR="$cache_root/work-$key"
  SRC_DIR="$WORK_DIR/src"
  BUILD_DIR="$WORK_DIR/build"
  LOG_DIR="$WORK_DIR/logs"
  rm -rf -- "$PREFIX" "$WORK_DIR"
  mkdir -p -- "$PREFIX" "$SRC_DIR" "$BUILD_DIR" "$LOG_DIR"
  log "building into $PREFIX (work dir $WORK_DIR)"

  fetch_sources
  build_all
  copy_boost_headers

  # Record what went in, keep the logs, then mark the prefix complete (last).
  local info="$PREFIX/share/toolhelp_exporter-deps"
  mkdir -p -- "$info"
  {
    printf 'key %s\n' "$key"
    for pkg in "${SOURCE_PACKAGES[@]}"; do
      printf 'source %s %s\n' "$pkg" "${VERSION[$pkg]}"
    done
    printf 'compiler %s\n' "$("$MINGW_CXX" --version | head -n 1)"
  } >"$info/manifest.txt"
  cp -r -- "$LOG_DIR" "$info/logs"
  if [[ "${THX_DEPS_KEEP_WORK:-0}" != 1 ]]; then
    rm -rf -- "$WORK_DIR"
  fi
  printf '%s\n' "$key" >"$stamp"

  log "done in $((SECONDS - total_start)) s: $PREFIX"
  printf '%s\n' "$PREFIX" >&3
}

main "$@"
