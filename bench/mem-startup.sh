#!/usr/bin/env bash
# SPDX-License-Identifier: MIT
# mem-startup.sh -- clusteripd with many services: start-to-first-DNS-answer
# (wall and CPU time) and memory (RSS and PSS from /proc/PID/smaps_rollup,
# idle and after queries).
#
#   bench/mem-startup.sh [--cipd PATH] [--services 100000] [--pods 0]
#                        [--runs 3] [--port 5399] [--warm 0] [--keep-state]
#
# The manifest is the one of bench/dns-bench.sh: one file of Services
# svc-N in namespace default, "spec: {}" (no ports, no selector). --pods N
# adds N pods and gives every service a selector app=svc-N (pod i serves
# service i), so the selector and membership paths are measured too.
# --keep-state starts the runs after the first with the VIP state file of
# the previous run (a restart) instead of an empty state directory.
# --warm S runs dnsperf for S seconds before the second memory reading.
# Prints one line per run and the medians:
#   run start_s cpu_s rss_idle_kb pss_idle_kb rss_warm_kb pss_warm_kb
# cpu_s is the daemon's user+system time up to the first answer: less
# sensitive than start_s to other load on the machine.
set -euo pipefail
B=$(cd "$(dirname "$0")" && pwd)
# shellcheck source=SCRIPTDIR/lib.sh
. "$B/lib.sh"
cipd="" services=100000 pods=0 runs=3 port=5399 warm=0 keep=0
while [ $# -gt 0 ]; do
  case "$1" in
    --cipd) cipd=$2; shift 2;; --services) services=$2; shift 2;;
    --pods) pods=$2; shift 2;; --runs) runs=$2; shift 2;;
    --port) port=$2; shift 2;; --warm) warm=$2; shift 2;;
    --keep-state) keep=1; shift;;
    -h|--help) sed -n '2,/^set /{/^#/p}' "$0"; exit 0;;
    *) echo "unknown arg $1" >&2; exit 2;;
  esac
done
[ -n "$cipd" ] || cipd=$(command -v clusteripd || echo "$B/../server/clusteripd")
cipd=$(find_daemon "$cipd")
need_tools "apt-get install bind9-dnsutils" dig
[ "$warm" = 0 ] || need_tools "--warm needs it" dnsperf

bench_workdir mem-startup
awk -v n="$services" -v np="$pods" 'BEGIN {
  for (i = 0; i < n; i++) {
    printf "---\nkind: Service\nmetadata: {name: svc-%d}\n", i
    if (i < np) printf "spec: {selector: {app: svc-%d}}\n", i
    else printf "spec: {}\n"
  }
  for (i = 0; i < np; i++)
    printf "---\nkind: Pod\nmetadata: {name: pod-%d, labels: {app: svc-%d}}\n" \
      "status: {podIP: 10.%d.%d.%d}\n", i, i, 1 + int(i / 65536),
      int(i / 256) % 256, i % 256
}' > "$wd/m/services.yaml"
awk -v n="$services" 'BEGIN { srand(7); for (j = 0; j < 20000; j++)
  printf "svc-%d.default.svc.cluster.local A\n", int(rand() * n) }' > "$wd/queries.txt"
last=$((services - 1))

if dig +time=1 +tries=1 -p "$port" @127.0.0.1 svc-0.default.svc.cluster.local A > /dev/null 2>&1; then
  echo "something already answers on 127.0.0.1:$port" >&2; exit 1
fi
echo -e "run\tstart_s\tcpu_s\trss_idle_kb\tpss_idle_kb\trss_warm_kb\tpss_warm_kb" | tee "$wd/runs.tsv"
for ((r = 1; r <= runs; r++)); do
  [ "$keep" = 1 ] || { rm -rf "$wd/state"; mkdir -p "$wd/state"; }
  t0=$(date +%s.%N)
  "$cipd" --dns-listen 127.0.0.1:$port --api-listen none --state-dir "$wd/state" \
    --manifests "$wd/m" --vip-range 127.64.0.0/10 --upstream 127.0.0.1:9 \
    --log-level warn 2> "$wd/cip.log" &
  pid=$!
  dpid=$pid
  ok=0
  for ((i = 0; i < 20000; i++)); do
    if dig +time=1 +tries=1 -p "$port" @127.0.0.1 svc-$last.default.svc.cluster.local A +short 2>/dev/null |
        grep -q '^127\.'; then
      ok=1; break
    fi
    kill -0 "$pid" 2>/dev/null || break
    sleep 0.01
  done
  t=$(echo "$(date +%s.%N) - $t0" | bc)
  cpu=$(echo "scale=3; $(cpu_ticks "$pid") / $HZ" | bc)
  [ "$ok" = 1 ] || { echo "clusteripd gave no answer:" >&2; tail "$wd/cip.log" >&2; exit 1; }
  sleep 0.5
  idle=$(mem_kb "$pid")
  if [ "$warm" != 0 ]; then
    dnsperf -s 127.0.0.1 -p "$port" -d "$wd/queries.txt" -c 4 -l "$warm" > /dev/null 2>&1 || true
  fi
  warmkb=$(mem_kb "$pid")
  echo -e "$r\t$t\t$cpu\t$(echo "$idle" | tr ' ' '\t')\t$(echo "$warmkb" | tr ' ' '\t')" | tee -a "$wd/runs.tsv"
  stop_pid "$pid"
  pid="" dpid=""
done
med=median
for c in 2 3 4 5 6 7; do
  med="$med\t$(awk -F'\t' -v c=$c 'NR > 1 {print $c}' "$wd/runs.tsv" | stats | cut -d' ' -f1)"
done
echo -e "$med"
