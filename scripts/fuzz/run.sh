#!/usr/bin/env bash
# Fuzzes the ring's parsers (HTTP/2 frames, HPACK, ring messages and the handshake) and the job-spec parser with
# afl-fuzz (AFL++) through SharpFuzz, each for a bounded time, starting from the committed seed corpus
# (tests/GenCluster.Fuzz/corpus/<target>/). Prints, per target, executions, executions per second, corpus size (queue
# entries), crashes and hangs; copies crashing and hanging inputs to artifacts/fuzz/findings/<target>/ with their
# stack traces, and exits 1 when any target crashed or hung.
#
#   scripts/fuzz/run.sh [all|ring-frame|hpack|ring-message|job-spec] [--seconds N] [--timeout-ms N] [--save-corpus] [--keep]
#
#   --seconds N     fuzzing time per target (default 600)
#   --timeout-ms N  an input running longer is a hang (default 5000)
#   --save-corpus   minimize each target's queue (afl-cmin) and keep that in the corpus as q-<hash> (replacing older q-*)
#   --keep          keep the work folder (instrumented build, afl-fuzz output) and print where it is
#
# Needs afl-fuzz (Debian package afl++, installed when missing and run as root) and the SharpFuzz.CommandLine tool of
# the repository's tool manifest (.config/dotnet-tools.json, restored here). Changes no system setting.
set -euo pipefail
cd "$(dirname "$0")/../.."

all_targets=(ring-frame hpack ring-message job-spec)
target=all
seconds=600
timeout_ms=5000
save_corpus=0
keep=0

usage() { sed -n '2,19p' "$0" | sed 's/^# \{0,1\}//'; }

while [[ $# -gt 0 ]]; do
  case "$1" in
    --seconds) seconds="${2:?--seconds needs a number}"; shift 2 ;;
    --timeout-ms) timeout_ms="${2:?--timeout-ms needs a number}"; shift 2 ;;
    --save-corpus) save_corpus=1; shift ;;
    --keep) keep=1; shift ;;
    -h|--help) usage; exit 0 ;;
    -*) echo "run.sh: unknown option $1" >&2; usage >&2; exit 2 ;;
    *) target="$1"; shift ;;
  esac
done

if [[ ! "$seconds" =~ ^[1-9][0-9]*$ ]]; then echo "run.sh: --seconds must be a positive whole number, got '$seconds'" >&2; exit 2; fi
if [[ ! "$timeout_ms" =~ ^[1-9][0-9]*$ ]]; then echo "run.sh: --timeout-ms must be a positive whole number, got '$timeout_ms'" >&2; exit 2; fi
if [[ "$target" == all ]]; then
  targets=("${all_targets[@]}")
elif [[ " ${all_targets[*]} " == *" $target "* ]]; then
  targets=("$target")
else
  echo "run.sh: unknown target '$target'; expected all or one of: ${all_targets[*]}" >&2
  exit 2
fi

if ! command -v afl-fuzz >/dev/null; then
  if [[ $(id -u) -ne 0 ]]; then
    echo "run.sh: afl-fuzz is missing; install the afl++ package (apt-get install afl++) or run this script as root to have it installed" >&2
    exit 2
  fi
  echo "installing afl++"
  apt-get update -qq
  DEBIAN_FRONTEND=noninteractive apt-get install -y -qq afl++ >/dev/null
fi
dotnet tool restore >/dev/null

work=$(mktemp -d "${TMPDIR:-/tmp}/gencluster-fuzz.XXXXXX")
cleanup() {
  if [[ $keep -eq 1 ]]; then echo "work folder kept: $work"; else rm -rf "$work"; fi
}
trap cleanup EXIT

# Two copies of the harness: instrumented for afl-fuzz, plain for replaying findings (instrumented code needs
# afl-fuzz's shared memory to run).
echo "building the harness (Release) into $work"
dotnet publish tests/GenCluster.Fuzz/GenCluster.Fuzz.csproj -c Release -o "$work/plain" -nologo -clp:NoSummary -v:q >"$work/build.log" 2>&1 \
  || { cat "$work/build.log" >&2; exit 1; }
cp -a "$work/plain" "$work/bin"

# Only the namespaces that hold the parsers carry instrumentation: coverage elsewhere would only add noise.
instrument() {
  local dll="$1"; shift
  dotnet sharpfuzz "$work/bin/$dll" "$@" >/dev/null || { echo "run.sh: sharpfuzz could not instrument $dll" >&2; exit 1; }
}
instrument gencluster-trainer.dll GenCluster.Trainer.Distributed
instrument GenCluster.Contracts.dll GenCluster.Contracts.Jobs GenCluster.Contracts.Models
instrument GenCluster.Grains.dll GenCluster.Grains.Jobs
instrument gencluster.dll GenCluster.Silo.Api

export AFL_SKIP_BIN_CHECK=1                      # the target is dotnet, instrumented by SharpFuzz, not by afl-cc
export AFL_SKIP_CPUFREQ=1                        # leave the CPU governor alone
export AFL_I_DONT_CARE_ABOUT_MISSING_CRASHES=1   # leave /proc/sys/kernel/core_pattern alone
export AFL_NO_AFFINITY=1                         # the cores may be busy with other work
export AFL_NO_UI=1
export AFL_FORKSRV_INIT_TMOUT=60000              # a loaded machine starts .NET slowly
export AFL_ALLOW_TMP=1                           # the work folder is mktemp's own (mode 0700), not a shared one
export DOTNET_CLI_TELEMETRY_OPTOUT=1
export DOTNET_PROCESSOR_COUNT=1                  # lets the harness run the thread pool's work on one thread (stable traces)

dotnet_path=$(command -v dotnet)                 # afl-fuzz and afl-cmin want the target's path
stat_of() { awk -F' *: *' -v key="$1" '$1 == key { print $2 }' "$2"; }

results=()
failed=0
for t in "${targets[@]}"; do
  out="$work/findings/$t"
  dict=()
  [[ -f "tests/GenCluster.Fuzz/dictionaries/$t.dict" ]] && dict=(-x "tests/GenCluster.Fuzz/dictionaries/$t.dict")
  echo "fuzzing $t for $seconds s (log: $out.log)"
  mkdir -p "$out"
  rm -rf "artifacts/fuzz/findings/$t"
  status=0
  afl-fuzz -i "tests/GenCluster.Fuzz/corpus/$t" -o "$out" -t "$timeout_ms" -m none -V "$seconds" "${dict[@]}" \
    -- "$dotnet_path" "$work/bin/GenCluster.Fuzz.dll" run "$t" >"$out.log" 2>&1 || status=$?
  stats="$out/default/fuzzer_stats"
  if [[ ! -f "$stats" ]]; then
    echo "run.sh: afl-fuzz did not start for $t (exit $status); the end of its log:" >&2
    tail -n 30 "$out.log" >&2
    failed=1
    results+=("$t - - - - -")
    continue
  fi

  execs=$(stat_of execs_done "$stats")
  run_time=$(stat_of run_time "$stats")
  [[ -z "$run_time" || "$run_time" -eq 0 ]] && run_time=$(( $(stat_of last_update "$stats") - $(stat_of start_time "$stats") ))
  per_second=$(awk -v e="$execs" -v s="$run_time" 'BEGIN { printf "%.0f", (s > 0 ? e / s : 0) }')
  corpus=$(stat_of corpus_count "$stats")
  crashes=$(find "$out/default/crashes" -type f -name 'id:*' | wc -l)
  hangs=$(find "$out/default/hangs" -type f -name 'id:*' | wc -l)
  results+=("$t $execs $per_second $corpus $crashes $hangs")

  if [[ $crashes -gt 0 || $hangs -gt 0 ]]; then
    failed=1
    keep_dir="artifacts/fuzz/findings/$t"
    mkdir -p "$keep_dir"
    n=0
    for f in "$out/default/crashes"/id:*; do [[ -f "$f" ]] && cp "$f" "$keep_dir/crash-$(sha1sum "$f" | cut -c1-12)" && n=$((n + 1)); done
    for f in "$out/default/hangs"/id:*; do [[ -f "$f" ]] && cp "$f" "$keep_dir/hang-$(sha1sum "$f" | cut -c1-12)"; done
    if [[ $n -gt 0 ]]; then
      timeout 300 dotnet "$work/plain/GenCluster.Fuzz.dll" replay "$t" "$keep_dir"/crash-* >"$keep_dir/replay.txt" 2>&1 || true
    fi
    # A hang under afl-fuzz may be the machine's load: run the first few again alone, with a generous limit.
    for f in $(find "$keep_dir" -name 'hang-*' | sort | head -n 5); do
      if timeout 60 dotnet "$work/plain/GenCluster.Fuzz.dll" replay "$t" "$f" >/dev/null 2>&1; then
        echo "$f: finished when run again alone (a slow run, not a hang?)" >>"$keep_dir/replay.txt"
      else
        echo "$f: still running after 60 s when run again alone" >>"$keep_dir/replay.txt"
      fi
    done
    echo "$t: $crashes crashes, $hangs hangs; inputs in $keep_dir (replayed in $keep_dir/replay.txt)"
  fi

  if [[ $save_corpus -eq 1 ]]; then
    minimized="$work/minimized/$t"
    if afl-cmin -i "$out/default/queue" -o "$minimized" -t "$timeout_ms" -m none -- "$dotnet_path" "$work/bin/GenCluster.Fuzz.dll" run "$t" >"$out.cmin.log" 2>&1; then
      # The queue started from the corpus, so afl-cmin's pick of it replaces the earlier q-* entries.
      rm -f "tests/GenCluster.Fuzz/corpus/$t"/q-*
      known=$(sha1sum "tests/GenCluster.Fuzz/corpus/$t"/* | cut -c1-40)
      added=0
      for f in "$minimized"/*; do
        [[ -f "$f" ]] || continue
        hash=$(sha1sum "$f" | cut -c1-40)
        if ! grep -qx "$hash" <<<"$known"; then
          cp "$f" "tests/GenCluster.Fuzz/corpus/$t/q-${hash:0:12}"
          added=$((added + 1))
        fi
      done
      echo "$t: afl-cmin kept $(find "$minimized" -type f | wc -l) of $corpus queue entries; the corpus now has $added q-* entries"
    else
      echo "run.sh: afl-cmin failed for $t; see the end of $out.cmin.log" >&2
      tail -n 10 "$out.cmin.log" >&2
    fi
  fi
done

echo
printf '%-14s %12s %8s %8s %8s %6s\n' target executions exec/s corpus crashes hangs
for r in "${results[@]}"; do
  # shellcheck disable=SC2086
  printf '%-14s %12s %8s %8s %8s %6s\n' $r
done
exit "$failed"
