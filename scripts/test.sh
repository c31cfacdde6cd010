#!/usr/bin/env bash
# Builds GenCluster and runs the whole test suite. Installs missing prerequisites first.
set -euo pipefail
cd "$(dirname "$0")/.."

bash scripts/prereqs.sh
dotnet build GenCluster.sln -c Release -nologo -clp:NoSummary

log=$(mktemp)
trap 'rm -f "$log"' EXIT
set +e
# A test that hangs fails after 10 minutes, named, instead of holding the run until the CI limit.
dotnet test GenCluster.sln -c Release --no-build -nologo --blame-hang-timeout 10m --blame-hang-dump-type none "$@" 2>&1 | tee "$log"
status=${PIPESTATUS[0]}
set -e

# One plain closing line for the whole run, summed over the test projects.
awk '
  /(Passed|Failed)! +- +Failed: / {
    for (i = 1; i <= NF; i++) {
      if ($i == "Failed:") { v = $(i+1); gsub(",", "", v); failed += v }
      if ($i == "Passed:") { v = $(i+1); gsub(",", "", v); passed += v }
      if ($i == "Skipped:") { v = $(i+1); gsub(",", "", v); skipped += v }
    }
  }
  END { printf "tests: %d passed, %d failed, %d skipped\n", passed, failed, skipped }
' "$log"
exit "$status"
