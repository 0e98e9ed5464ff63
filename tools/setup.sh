#!/usr/bin/env bash
# Installs the Debian 12 packages Roster builds against, only when some are missing.
# Safe to run repeatedly: with everything present it makes no network call.
# See ../shared/BUILD_NOTES.md for why each package is here (and why no unversioned
# libboost-*-dev: it would remove the 1.81 packages).
set -euo pipefail

packages=(
  g++ cmake ninja-build make pkg-config ccache
  libboost1.81-dev libboost-json1.81-dev libboost-url1.81-dev
  librocksdb-dev capnproto libcapnp-dev
  libspdlog-dev libfmt-dev libssl-dev libcli11-dev
  libgtest-dev libgmock-dev libbenchmark-dev
  libjemalloc-dev
  curl wrk
)

missing=()
for p in "${packages[@]}"; do
  if ! dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed"; then
    missing+=("$p")
  fi
done

if [ ${#missing[@]} -eq 0 ]; then
  exit 0
fi

echo "setup: installing ${missing[*]}" >&2
if [ "$(id -u)" -ne 0 ]; then
  SUDO=sudo
else
  SUDO=
fi
export DEBIAN_FRONTEND=noninteractive
$SUDO apt-get update -qq
$SUDO apt-get install -y -qq --no-install-recommends "${missing[@]}"
