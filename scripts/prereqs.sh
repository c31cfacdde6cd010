#!/usr/bin/env bash
# Installs what GenCluster's build and tests need and the machine lacks. Safe to run repeatedly.
# Debian packages are installed when running as root (or with passwordless sudo); otherwise the
# missing ones are named and the script fails, so nothing is silently skipped.
set -euo pipefail

# command-that-must-exist:debian-package. "run" (scripts/local.sh) needs only what training needs; the default,
# "test", adds what the test suite uses (readelf, a real redis-server, promtool, a headless chromium for the job page, ip and tc
# for the multi-host test bed in network namespaces).
profile=${1:-test}
required=(
  "dotnet:"
  "npm:npm"
)
if [ "$profile" = test ]; then
  required+=(
    "readelf:binutils"
    "redis-server:redis-server"
    "promtool:prometheus"
    "chromium:chromium"
    "ip:iproute2"
    "tc:iproute2"
  )
fi

missing_pkgs=()
for pair in "${required[@]}"; do
  cmd=${pair%%:*}
  pkg=${pair#*:}
  command -v "$cmd" >/dev/null 2>&1 && continue
  if [ -z "$pkg" ]; then
    echo "prereqs: '$cmd' is required and cannot be installed by this script (install the .NET 10 SDK)" >&2
    exit 1
  fi
  missing_pkgs+=("$pkg")
done

if [ ${#missing_pkgs[@]} -gt 0 ]; then
  sudo_cmd=()
  if [ "$(id -u)" -ne 0 ]; then
    if sudo -n true 2>/dev/null; then sudo_cmd=(sudo -n); else
      echo "prereqs: missing Debian packages: ${missing_pkgs[*]} (run as root or install them)" >&2
      exit 1
    fi
  fi
  echo "prereqs: installing ${missing_pkgs[*]}"
  "${sudo_cmd[@]}" env DEBIAN_FRONTEND=noninteractive apt-get update -qq
  "${sudo_cmd[@]}" env DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends "${missing_pkgs[@]}" >/dev/null
fi
