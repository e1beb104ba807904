#!/usr/bin/env bash
# Installs the Debian 12 packages the build and the tests need, and only those that are missing.
#   install-build-deps.sh            the Linux build and its tests
#   install-build-deps.sh --windows  also mingw-w64 and Wine for the Windows .exe and its tests
#   install-build-deps.sh --style    also clang-format and clang-tidy
set -euo pipefail

packages=(cmake ninja-build g++ pkg-config git curl python3
          prometheus-cpp-dev libboost1.81-dev zlib1g-dev libspdlog-dev nlohmann-json3-dev libpcre2-dev
          googletest libgtest-dev libgmock-dev libbenchmark-dev prometheus python3-yaml libssl-dev
          openssl libyaml-cpp-dev libcrypt-dev apache2-utils chromium time)
case "${1:-}" in
  --windows) packages+=(mingw-w64 wine wine64 dpkg-dev wixl libz-mingw-w64-dev autoconf automake libtool
                       libltdl-dev) ;;
  --style) packages+=(clang-format clang-tidy) ;;
esac

missing=()
for package in "${packages[@]}"; do
  if ! dpkg-query -W -f='${Status}' "$package" 2>/dev/null | grep -q "install ok installed"; then
    missing+=("$package")
  fi
done
if ((${#missing[@]} == 0)); then
  exit 0
fi
echo "installing: ${missing[*]}" >&2
sudo_cmd=()
if [[ "$(id -u)" != 0 ]]; then
  sudo_cmd=(sudo)
fi
"${sudo_cmd[@]}" apt-get update -qq
DEBIAN_FRONTEND=noninteractive "${sudo_cmd[@]}" apt-get install -y -qq --no-install-recommends \
  "${missing[@]}" >&2
