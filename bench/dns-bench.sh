#!/usr/bin/env bash
# SPDX-License-Identifier: MIT
# dns-bench.sh -- clusteripd's DNS responder against Knot and NSD, in the same
# run, with the peer benchmark scripts (dns-qps.sh, dns-mem.sh, dns-peer.sh,
# copied from the shared benchmark kit). Prints the figures and the ratios
# clusteripd / peer.
#
#   bench/dns-bench.sh [--cipd PATH] [--peers "knot nsd"] [--duration 10]
#                      [--runs 2] [--port 5300] [--out DIR]
#
# Per server: (1) pinned: 1 worker on CPU 0, dnsperf on CPU 1, 1,000 services:
# qps and server CPU per query; (2) latency at a fixed 20k qps (p50/p99);
# (3) 100,000 services: start-to-first-answer and PSS (idle, warm).
# (1) and (2) run every server at once, each pinned to CPU 0 on its own port
# (--port, --port + 1, ...) and idle but for the one measured, and alternate
# the servers run by run: other work on the machine, which the benchmark
# lock does not hold off, then lands on all of them alike.
# clusteripd reads the same services from generated manifests (its own VIPs
# instead of 10.96.x.y). The 100,000 services carry no ports: with ports the
# bundled forwarder would open 100,000 listening sockets (over the fd limit).
# Needs dnsperf, knot, nsd (bench/dns-install-deps.sh). Takes ~5 minutes
# with the defaults.
set -euo pipefail
B=$(cd "$(dirname "$0")" && pwd)
. "$B/lib.sh"
cipd=${CIPD:-} peers="knot nsd" duration=10 runs=2 port=5300 out=""
while [ $# -gt 0 ]; do
  case "$1" in
    --cipd) cipd=$2; shift 2;; --peers) peers=$2; shift 2;;
    --duration) duration=$2; shift 2;; --runs) runs=$2; shift 2;;
    --port) port=$2; shift 2;; --out) out=$2; shift 2;;
    -h|--help) sed -n '2,/^set /{/^#/p}' "$0"; exit 0;;
    *) echo "unknown arg $1" >&2; exit 2;;
  esac
done
[ -n "$cipd" ] || cipd=$(command -v clusteripd || echo "$B/../server/clusteripd")
[ -x "$cipd" ] || { echo "clusteripd not found: --cipd PATH" >&2; exit 2; }
for t in dnsperf dig taskset; do command -v $t >/dev/null || { echo "$t missing: bench/dns-install-deps.sh" >&2; exit 2; }; done
out=${out:-/tmp/bench-results/dns-$(date +%Y%m%d-%H%M%S)}
mkdir -p "$out"
wd=$(mktemp -d /tmp/dnsbench/cip.XXXXXX)
cip_pid=""
trap '[ -n "$cip_pid" ] && stop_pid "$cip_pid"; for s in $peers; do "$B/dns-peer.sh" stop $s; done; rm -rf "$wd"' EXIT

for n in 1000 100000; do
  [ -s /tmp/dnsbench/$n/queries.txt ] || "$B/dns-gen-data.sh" --services $n
  # services.tsv -> one manifest of Services (svc-N in namespace default)
  mkdir -p "$wd/m-$n"
  awk -F'\t' -v ports=$([ $n = 1000 ] && echo 1 || echo 0) '{
    split($1, a, "."); printf "---\nkind: Service\nmetadata: {name: %s}\n", a[1]
    if (ports) printf "spec: {ports: [{name: http, port: %s, protocol: TCP}]}\n", $3
    else printf "spec: {}\n" }' /tmp/dnsbench/$n/services.tsv > "$wd/m-$n/services.yaml"
done

# start_cip N [CPUS] [PORT]: clusteripd with N services; sets cip_pid and cip_t (start-to-first-answer, s).
start_cip() {
  local n=$1 cpus=${2:-} port=${3:-$port} t0 i
  local run=("$cipd" --dns-listen 127.0.0.1:$port --api-listen none --state-dir "$wd/state-$n"
    --manifests "$wd/m-$n" --vip-range 127.64.0.0/10 --upstream 127.0.0.1:9 --log-level warn)
  [ -n "$cpus" ] && run=(taskset -c "$cpus" "${run[@]}")
  rm -rf "$wd/state-$n"; mkdir -p "$wd/state-$n"
  if dig +time=1 +tries=1 -p $port @127.0.0.1 svc-0.default.svc.cluster.local A > /dev/null 2>&1; then
    echo "something already answers on 127.0.0.1:$port" >&2; exit 1
  fi
  t0=$(date +%s.%N)
  "${run[@]}" 2> "$wd/cip-$n.log" &
  cip_pid=$!
  # Someone else answering on the port would be measured instead.
  sleep 0.2
  kill -0 $cip_pid 2>/dev/null || { echo "clusteripd exited:" >&2; cat "$wd/cip-$n.log" >&2; exit 1; }
  for ((i = 0; i < 6000; i++)); do
    if dig +time=1 +tries=1 -p $port @127.0.0.1 svc-0.default.svc.cluster.local A +short 2>/dev/null |
        grep -q '^127\.'; then
      cip_t=$(echo "$(date +%s.%N) - $t0" | bc); return 0
    fi
    kill -0 $cip_pid 2>/dev/null || { echo "clusteripd died:" >&2; tail "$wd/cip-$n.log" >&2; exit 1; }
    sleep 0.05
  done
  echo "clusteripd did not answer" >&2; exit 1
}

q1k=/tmp/dnsbench/1000/queries.txt
q100k=/tmp/dnsbench/100000/queries.txt
"$B/dns-qps.sh" --help > /dev/null
declare -A spid sport
i=0
for s in clusterip $peers; do
  sport[$s]=$((port + i)); i=$((i + 1))
  if [ $s = clusterip ]; then
    start_cip 1000 0 ${sport[$s]}; spid[$s]=$cip_pid
  else
    spid[$s]=$("$B/dns-peer.sh" start $s --port ${sport[$s]} --threads 1 --cpus 0)
  fi
done
echo "=== pinned (1 worker on cpu0, dnsperf on cpu1), 1,000 services; runs alternate between servers"
for r in $(seq $runs); do
  for s in clusterip $peers; do
    "$B/dns-qps.sh" --port ${sport[$s]} --queries $q1k --duration $duration --runs 1 \
      --client-cpus 1 --server-pid ${spid[$s]} --label $s-pinned --out "$out/dns-qps.tsv" | grep -v '^#'
  done
done
echo "=== latency at a fixed 20k qps; runs alternate between servers"
for r in $(seq $runs); do
  for s in clusterip $peers; do
    "$B/dns-qps.sh" --port ${sport[$s]} --queries $q1k --duration $duration --runs 1 --rate 20000 --percentiles \
      --client-cpus 1 --server-pid ${spid[$s]} --label $s-pinned-20k --out "$out/dns-latency.tsv" | grep -v '^#'
  done
done
stop_pid $cip_pid; cip_pid=""
for s in $peers; do "$B/dns-peer.sh" stop $s; done

for s in clusterip $peers; do
  echo "=== $s, 100,000 services: start-to-first-answer and memory"
  if [ $s = clusterip ]; then
    start_cip 100000; pid=$cip_pid; t=$cip_t
  else
    t0=$(date +%s.%N)
    pid=$("$B/dns-peer.sh" start $s --port $port --threads 1 --data /tmp/dnsbench/100000)
    t=$(echo "$(date +%s.%N) - $t0" | bc)
  fi
  echo -e "$s\t$t" | tee -a "$out/dns-startup.tsv"
  "$B/dns-mem.sh" --pid $pid --port $port --queries $q100k --label $s-100000 | tail -1 | tee -a "$out/dns-mem.tsv"
  if [ $s = clusterip ]; then stop_pid $cip_pid; cip_pid=""; else "$B/dns-peer.sh" stop $s; fi
done

# Figures and ratios (medians over runs).
med() { sort -g | awk '{v[NR] = $1} END {if (!NR) {print 0; exit} print (NR % 2) ? v[(NR + 1) / 2] : (v[NR / 2] + v[NR / 2 + 1]) / 2}'; }
fig() {	# fig SERVER -> "usq qps p99 pss_warm_mib startup_s runq_ms_per_s usq_quiet p99_quiet kernel_pct"
  local s=$1
  echo "$(awk -F'\t' -v l=$s-pinned '$1 == l && $3 > 0 {print $12 * 10000 / $3}' "$out/dns-qps.tsv" | med)" \
    "$(awk -F'\t' -v l=$s-pinned '$1 == l {print $3}' "$out/dns-qps.tsv" | med)" \
    "$(awk -F'\t' -v l=$s-pinned-20k '$1 == l {print $15}' "$out/dns-latency.tsv" | med)" \
    "$(awk -F'\t' -v l=$s-100000 '$1 == l {printf "%.1f", $6 / 1024}' "$out/dns-mem.tsv")" \
    "$(awk -F'\t' -v l=$s '$1 == l {print $2}' "$out/dns-startup.tsv")" \
    "$(awk -F'\t' -v l=$s-pinned-20k -v d=$duration '$1 == l {print $18 / d}' "$out/dns-latency.tsv" | med)" \
    "$(quietest $s-pinned "$out/dns-qps.tsv" '$12 * 10000 / $3')" \
    "$(quietest $s-pinned-20k "$out/dns-latency.tsv" '$15')" \
    "$(awk -F'\t' -v l=$s-pinned '$1 == l {print $19}' "$out/dns-qps.tsv" | med)"
}
# quietest LABEL FILE EXPR: EXPR of the run of LABEL whose server waited least for its core.
quietest() {
  awk -F'\t' -v l=$1 "\$1 == l && \$3 > 0 && (!n++ || \$18 < m) {m = \$18; v = $3} END {print v + 0}" "$2"
}
echo
echo "| server | µs CPU/query (pinned) | qps (pinned) | p99 ms @20k qps | server waited for its CPU @20k, ms/s | PSS MiB, 100k services (warm) | start-to-first-answer s, 100k | µs CPU/query, quietest run | p99 ms @20k, quietest run | kernel % of CPU (pinned) |"
echo "|---|---|---|---|---|---|---|---|---|---|"
for s in clusterip $peers; do
  read -r u q p m t w uq pq ks <<< "$(fig $s)"
  printf "| %s | %.2f | %.0f | %.3f | %.1f | %s | %.2f | %.2f | %.3f | %.0f |\n" $s $u $q $p $w $m $t $uq $pq $ks
done
echo "(waiting for the CPU: ~10-20 ms/s when quiet; 100+ ms/s means other tasks ran on the server's core and its p99 measures them)"
read -r cu cq cp cm ct cw cuq cpq _ <<< "$(fig clusterip)"
for s in $peers; do
  read -r u q p m t w uq pq _ <<< "$(fig $s)"
  awk -v s=$s -v cu=$cu -v cq=$cq -v cp=$cp -v cm=$cm -v ct=$ct -v u=$u -v q=$q -v p=$p -v m=$m -v t=$t \
      -v cuq=$cuq -v cpq=$cpq -v uq=$uq -v pq=$pq 'BEGIN {
    printf "clusterip / %s: CPU/query %.2fx, qps %.2fx, p99 %.2fx, PSS %.2fx, startup %.2fx;" \
      " quietest runs: CPU/query %.2fx, p99 %.2fx\n", s,
      u ? cu / u : 0, q ? cq / q : 0, p ? cp / p : 0, m ? cm / m : 0, t ? ct / t : 0,
      uq ? cuq / uq : 0, pq ? cpq / pq : 0 }'
done
echo "results: $out"
