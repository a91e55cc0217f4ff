#!/usr/bin/env bash
# Installs, from Debian 12 packages, whatever Sened needs to build and test and
# is not there yet. Safe to run again: it only installs what is missing.
set -euo pipefail

packages=(
  build-essential cmake ninja-build ccache pkg-config clang
  libboost1.81-dev libboost-json1.81-dev libboost-url1.81-dev
  libssl-dev openssl libsqlite3-dev sqlite3 libicu-dev
  postgresql-15 libpq-dev
  libspdlog-dev libcli11-dev libtomlplusplus-dev libzip-dev
  libgtest-dev libgmock-dev libbenchmark-dev
  curl ca-certificates unzip python3
  # Go and golang.org/x/mod: the independent journal checker (tests/interop/tlogcheck)
  golang-go golang-golang-x-mod-dev
)

missing=()
for p in "${packages[@]}"; do
  if ! dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q 'install ok installed'; then
    missing+=("$p")
  fi
done

# Node.js runs the tus-js-client test (tests/e2e/tus). Checked by command, not
# by package: a Node.js from another source already brings its own npm.
command -v node >/dev/null 2>&1 || missing+=(nodejs)
command -v npm >/dev/null 2>&1 || missing+=(npm)

if [ ${#missing[@]} -eq 0 ]; then
  exit 0
fi

echo "installing: ${missing[*]}"
sudo_cmd=()
if [ "$(id -u)" -ne 0 ]; then
  sudo_cmd=(sudo)
fi
export DEBIAN_FRONTEND=noninteractive
"${sudo_cmd[@]}" apt-get update -qq
"${sudo_cmd[@]}" apt-get install -y -qq --no-install-recommends "${missing[@]}"
