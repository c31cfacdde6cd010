#!/usr/bin/env bash
# Side-by-side busbw of Open MPI's MPI_Allreduce over TCP (loopback) and GenCluster's gRPC ring all-reduce.
# Not part of CI: it installs Open MPI when missing and takes a minute or two.
#   scripts/bench-mpi.sh [ITERS]          (default 5 timed iterations after one warm-up)
# Environment: RANKS="2 4", SIZES="16MiB 64MiB", WARMUP=40 (ring warm-up iterations: the tiered JIT needs a few dozen).
# cpu_ms: user+system CPU of one rank's process during one all-reduce (mean over ranks and iterations); Open MPI
# busy-polls while it waits, so its figure includes spinning.
# Floor columns (c_tcp_busbw, c_uds_busbw, and c_tcp/mpi, c_uds/mpi: their ratios to mpi_busbw): the busbw of
# scripts/bench/c_ring_allreduce.c, a minimal ring all-reduce in plain C with no gRPC, HTTP/2 or protobuf (forked
# ranks, reduce-scatter + all-gather, non-blocking sockets + poll, reduction as data arrives; 3 warm-up iterations,
# then ITERS timed ones measured as mpi_allreduce measures them), over TCP loopback and over Unix domain sockets.
# They are the transport floor for a ring on this machine: what the ring algorithm alone costs over the kernel's
# socket path. A ring that puts gRPC on the same sockets is not expected to beat c_tcp_busbw, so c_tcp/mpi is about
# the best ratio to MPI that a ring over TCP can show here; c_uds/mpi shows what leaving TCP would buy. The C ring's
# wrong counts are not columns: a warning on stderr names any non-zero one.
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
gcc -O2 -o "$out/c_ring_allreduce" scripts/bench/c_ring_allreduce.c
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
ratio() { awk -v a="$1" -v b="$2" 'BEGIN { printf "%.2f", (b > 0 ? a / b : 0) }'; }
row() { printf '%-6s %-10s %12s %12s %8s %10s %10s %12s %12s %12s %12s %10s %10s\n' "$@"; }

echo "load average: $(cut -d' ' -f1-3 /proc/loadavg)"
row ranks bytes mpi_busbw ring_busbw ratio mpi_wrong ring_wrong mpi_cpu_ms ring_cpu_ms \
  c_tcp_busbw c_uds_busbw c_tcp/mpi c_uds/mpi
for n in $ranks_list; do
  for size in $sizes_list; do
    bytes=$(to_bytes "$size")
    mpi=$(mpirun --allow-run-as-root --oversubscribe --mca btl tcp,self --mca btl_tcp_if_include lo \
      -np "$n" "$out/mpi_allreduce" "$bytes" "$iters")
    ring=$("$trainer" bench allreduce --ranks "$n" --size "$bytes" --iters "$iters" --warmup "${WARMUP:-40}" 2>/dev/null)
    c_tcp=$("$out/c_ring_allreduce" "$n" "$bytes" "$iters" tcp)
    c_uds=$("$out/c_ring_allreduce" "$n" "$bytes" "$iters" uds)
    for line in "$c_tcp" "$c_uds"; do
      [ "$(field wrong "$line")" = 0 ] || echo "warning: c_ring_allreduce reported wrong elements: $line" >&2
    done
    mpi_bw=$(field busbw_GBs "$mpi"); ring_bw=$(field busbw_GBs "$ring")
    c_tcp_bw=$(field busbw_GBs "$c_tcp"); c_uds_bw=$(field busbw_GBs "$c_uds")
    row "$n" "$bytes" "$mpi_bw" "$ring_bw" "$(ratio "$ring_bw" "$mpi_bw")" \
      "$(field wrong "$mpi")" "$(field wrong "$ring")" "$(field cpu_ms "$mpi")" "$(field cpu_ms "$ring")" \
      "$c_tcp_bw" "$c_uds_bw" "$(ratio "$c_tcp_bw" "$mpi_bw")" "$(ratio "$c_uds_bw" "$mpi_bw")"
  done
done
