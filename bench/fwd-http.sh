#!/usr/bin/env bash
# HTTP requests/s and latency percentiles through a TCP forwarder (or directly to a
# backend) with wrk. Server-agnostic: --target is any host:port serving HTTP.
#
#   bench/fwd-http.sh --target 127.0.0.1:18080 [--mode keepalive|close] [--duration 10]
#                     [--conns 50] [--threads 1] [--runs 3] [--client-cpus LIST]
#                     [--proxy-pid PID] [--backend-pid PID] [--label NAME] [--out FILE]
#
# --mode close   sends "Connection: close": every request is a new proxied TCP connection
# --proxy-pid / --backend-pid: CPU use of those process trees is reported (% of one core)
# Prints one TSV row per run, then the median (min..max) of req/s.
set -euo pipefail
. "$(dirname "$0")/fwd-lib.sh"
target=127.0.0.1:18080 mode=keepalive duration=10 conns=50 threads=1 runs=3
ccpus="" ppid_="" bpid="" label=http out=""
while [ $# -gt 0 ]; do
  case "$1" in
    --target) target=$2; shift 2;; --mode) mode=$2; shift 2;;
    --duration) duration=$2; shift 2;; --conns) conns=$2; shift 2;;
    --threads) threads=$2; shift 2;; --runs) runs=$2; shift 2;;
    --client-cpus) ccpus=$2; shift 2;; --proxy-pid) ppid_=$2; shift 2;;
    --backend-pid) bpid=$2; shift 2;; --label) label=$2; shift 2;; --out) out=$2; shift 2;;
    -h|--help) sed -n '2,/^set /{/^#/p}' "$0"; exit 0;;
    *) echo "unknown arg $1" >&2; exit 2;;
  esac
done
hdr=(); [ "$mode" = close ] && hdr=(-H "Connection: close")
pin=(); [ -n "$ccpus" ] && pin=(taskset -c "$ccpus")
tmp=$(mktemp -d /dev/shm/fwdhttp.XXXXXX); trap 'rm -rf "$tmp"' EXIT
h="label\tmode\trun\treq_s\tp50_ms\tp90_ms\tp99_ms\tmax_ms\tsock_errors\tnon2xx\twrk_cpu_pct\tproxy_cpu_pct\tbackend_cpu_pct\tsteal_pct"
echo -e "$h"; [ -n "$out" ] && [ ! -s "$out" ] && echo -e "$h" > "$out"
ms='function ms(v) { if (v ~ /us$/) return v / 1000; if (v ~ /ms$/) return v + 0; if (v ~ /m$/) return v * 60000; return v * 1000 }'
for r in $(seq "$runs"); do
  p0=0 p1=0 b0=0 b1=0; st0=$(steal_snapshot)
  [ -n "$ppid_" ] && p0=$(cpu_ticks $ppid_); [ -n "$bpid" ] && b0=$(cpu_ticks $bpid)
  "${pin[@]}" /usr/bin/time -f 'TIME %U %S %e' -o "$tmp/time" \
    wrk -t"$threads" -c"$conns" -d"${duration}s" --latency "${hdr[@]}" "http://$target/" > "$tmp/out" 2>&1 || true
  [ -n "$ppid_" ] && p1=$(cpu_ticks $ppid_); [ -n "$bpid" ] && b1=$(cpu_ticks $bpid)
  st1=$(steal_snapshot); el=$(awk '/^TIME/ {print $4}' "$tmp/time")
  row=$(awk "$ms"' /Requests\/sec/ {rq = $2} /^ +50%/ {p50 = ms($2)} /^ +90%/ {p90 = ms($2)} /^ +99%/ {p99 = ms($2)}
    /^ +Latency +[0-9]/ {mx = ms($4)} /Socket errors/ {gsub(/,/, ""); e = $4 + $6 + $8 + $10} /Non-2xx/ {n = $5}
    END {printf "%.0f\t%.3f\t%.3f\t%.3f\t%.1f\t%d\t%d", rq, p50, p90, p99, mx, e, n}' "$tmp/out")
  wcpu=$(awk '/^TIME/ {printf "%.0f", ($2 + $3) * 100 / $4}' "$tmp/time")
  pc=-; [ -n "$ppid_" ] && pc=$(echo "($p1 - $p0) * 100 / $HZ / $el" | bc)
  bc_=-; [ -n "$bpid" ] && bc_=$(echo "($b1 - $b0) * 100 / $HZ / $el" | bc)
  line="$label\t$mode\t$r\t$row\t$wcpu\t$pc\t$bc_\t$(steal_pct "$st0" "$st1")"
  echo -e "$line"; [ -n "$out" ] && echo -e "$line" >> "$out"
  grep -q 'Requests/sec' "$tmp/out" || cat "$tmp/out" >&2
  sleep 1
done > >(tee "$tmp/rows")
wait; sleep 0.2
echo "# $label $mode req/s median $(awk -F'\t' '{print $4}' "$tmp/rows" | stats | awk '{printf "%s (min %s, max %s)", $1, $2, $3}')," \
  "p99 ms median $(awk -F'\t' '{print $7}' "$tmp/rows" | stats | awk '{print $1}')"
