#!/usr/bin/env bash
# Side-by-side busbw of Open MPI's MPI_Allreduce over TCP (loopback) and GenCluster's gRPC ring all-reduce.
# Not part of CI: it installs Open MPI when missing and takes a minute or two.
#   scripts/bench-mpi.sh [ITERS]          (default 5 timed iterations after one warm-up)
# Environment: RANKS="2 4", SIZES="16MiB 64MiB", WARMUP=40 (ring warm-up iterations: the tiered JIT needs a few dozen).
# cpu_ms: user+system CPU of one rank's process during one all-reduce (mean over ranks and iterations); Open MPI
# busy-polls while it waits, so its figure includes spinning.
set -euo pipefail
cd "$(dirname "$0")/.."

iters=${1:-5}
ranks_list=${RANKS:-"2 4"}
sizes_list=${SIZES:-"16MiB 64MiB"}

if ! command -v mpicc >/dev/null 2>&1 || ! command -v mpirun >/dev/null 2>&1; then
  sudo_cmd=()
  [ "$(id -u)" -ne 0 ] && sudo_cmd=(sudo -n)
  "${sudo_cmd[@]}" env DEBIAN_FRONTEND=noninteractive apt-get update -qq
  "${sudo_cmd[@]}" env DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends openmpi-bin libopenmpi-dev gcc libc6-dev >/dev/null
fi

out=artifacts/bench
mkdir -p "$out"
mpicc -O2 -o "$out/mpi_allreduce" scripts/bench/mpi_allreduce.c
dotnet build src/GenCluster.Trainer -c Release -nologo -clp:NoSummary -v q >/dev/null
trainer=src/GenCluster.Trainer/bin/Release/net10.0/gencluster-trainer

to_bytes() {
  local v=$1
  case "$v" in
    *GiB) echo $(( ${v%GiB} * 1024 * 1024 * 1024 )) ;;
    *MiB) echo $(( ${v%MiB} * 1024 * 1024 )) ;;
    *KiB) echo $(( ${v%KiB} * 1024 )) ;;
    *) echo "$v" ;;
  esac
}
field() { sed -n "s/.*$1=\([0-9.]*\).*/\1/p" <<<"$2"; }

echo "load average: $(cut -d' ' -f1-3 /proc/loadavg)"
printf '%-6s %-10s %12s %12s %8s %10s %10s %12s %12s\n' ranks bytes mpi_busbw ring_busbw ratio mpi_wrong ring_wrong mpi_cpu_ms ring_cpu_ms
for n in $ranks_list; do
  for size in $sizes_list; do
    bytes=$(to_bytes "$size")
    mpi=$(mpirun --allow-run-as-root --oversubscribe --mca btl tcp,self --mca btl_tcp_if_include lo \
      -np "$n" "$out/mpi_allreduce" "$bytes" "$iters")
    ring=$("$trainer" bench allreduce --ranks "$n" --size "$bytes" --iters "$iters" --warmup "${WARMUP:-40}" 2>/dev/null)
    mpi_bw=$(field busbw_GBs "$mpi"); ring_bw=$(field busbw_GBs "$ring")
    ratio=$(awk -v a="$ring_bw" -v b="$mpi_bw" 'BEGIN { printf "%.2f", (b > 0 ? a / b : 0) }')
    printf '%-6s %-10s %12s %12s %8s %10s %10s %12s %12s\n' "$n" "$bytes" "$mpi_bw" "$ring_bw" "$ratio" \
      "$(field wrong "$mpi")" "$(field wrong "$ring")" "$(field cpu_ms "$mpi")" "$(field cpu_ms "$ring")"
  done
done
