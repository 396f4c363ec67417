#!/usr/bin/env bash
# Memory of a running DNS server: RSS and PSS of its whole process tree, idle
# (right after loading) and after a short dnsperf warm-up (caches filled).
#
#   bench/dns-mem.sh --pid PID [--server 127.0.0.1] [--port 5300]
#                    [--queries FILE] [--warm 5] [--label NAME]
#
# PSS divides pages shared between forked workers (nsd) fairly; RSS double-counts them.
# Prints: label procs/threads rss_idle_kb pss_idle_kb rss_warm_kb pss_warm_kb
set -euo pipefail
. "$(dirname "$0")/dns-lib.sh"
pid="" server=127.0.0.1 port=5300 queries=/tmp/dnsbench/1000/queries.txt warm=5 label=dns
while [ $# -gt 0 ]; do
  case "$1" in
    --pid) pid=$2; shift 2;; --server) server=$2; shift 2;; --port) port=$2; shift 2;;
    --queries) queries=$2; shift 2;; --warm) warm=$2; shift 2;; --label) label=$2; shift 2;;
    -h|--help) sed -n '2,/^set /{/^#/p}' "$0"; exit 0;;
    *) echo "unknown arg $1" >&2; exit 2;;
  esac
done
[ -n "$pid" ] || { echo "--pid required" >&2; exit 2; }
idle=$(mem_kb "$pid")
dnsperf -s "$server" -p "$port" -d "$queries" -c 10 -q 100 -l "$warm" > /dev/null 2>&1 || true
echo -e "label\tprocs_threads\trss_idle_kb\tpss_idle_kb\trss_warm_kb\tpss_warm_kb"
echo -e "$label\t$(nthreads "$pid")\t$(echo "$idle" | tr " " "\t")\t$(mem_kb "$pid" | tr ' ' '\t')"
