#!/usr/bin/env bash
# Measure DNS queries/s (and latency) of any server with dnsperf. Server-agnostic:
# point it at a peer (bench/dns-peer.sh) or at the project's server.
#
#   bench/dns-qps.sh --server 127.0.0.1 --port 5300 [--queries FILE] [--duration 15]
#                    [--clients 10] [--threads 1] [--outstanding 100] [--runs 3]
#                    [--client-cpus 1] [--server-pid PID] [--label NAME]
#                    [--rate QPS] [--percentiles] [--out results.tsv]
#
# --queries      dnsperf input (default /tmp/dnsbench/1000/queries.txt, see gen-dns-data.sh)
# --client-cpus  pin dnsperf with taskset -c (leave empty to let it float)
# --server-pid   PID of the server: its CPU use (whole process tree) is reported
# --outstanding  dnsperf -q. Keep it below what the server's UDP receive buffer holds
#                (~200 datagrams at the default rmem 212992): -q 1000 loses ~800 queries of
#                the first burst, which then block their slots for the 5 s timeout.
# --rate         cap the offered load (dnsperf -Q); for latency-at-fixed-load runs
# --percentiles  run dnsperf -v and compute p50/p99/p99.9 from per-query latencies
#                (costs dnsperf CPU: use together with --rate, not for peak qps)
# Prints one TSV row per run, then "median (min..max)" of qps and average latency.
set -euo pipefail
. "$(dirname "$0")/dns-lib.sh"
server=127.0.0.1 port=5300 queries=/tmp/dnsbench/1000/queries.txt duration=15
clients=10 threads=1 outstanding=100 runs=3 ccpus="" spid="" label=dns rate="" pct=0 out=""
while [ $# -gt 0 ]; do
  case "$1" in
    --server) server=$2; shift 2;;      --port) port=$2; shift 2;;
    --queries) queries=$2; shift 2;;    --duration) duration=$2; shift 2;;
    --clients) clients=$2; shift 2;;    --threads) threads=$2; shift 2;;
    --outstanding) outstanding=$2; shift 2;; --runs) runs=$2; shift 2;;
    --client-cpus) ccpus=$2; shift 2;;  --server-pid) spid=$2; shift 2;;
    --label) label=$2; shift 2;;        --rate) rate=$2; shift 2;;
    --percentiles) pct=1; shift;;       --out) out=$2; shift 2;;
    -h|--help) sed -n '2,/^set /{/^#/p}' "$0"; exit 0;;
    *) echo "unknown arg $1" >&2; exit 2;;
  esac
done
tmp=$(mktemp -d /dev/shm/dnsqps.XXXXXX); trap 'rm -rf "$tmp"' EXIT
args=(-s "$server" -p "$port" -d "$queries" -c "$clients" -T "$threads" -l "$duration" -q "$outstanding")
[ -n "$rate" ] && args+=(-Q "$rate")
[ "$pct" = 1 ] && args+=(-v)
pin=(); [ -n "$ccpus" ] && pin=(taskset -c "$ccpus")

hdr="label\trun\tqps\tavg_ms\tmax_ms\tstddev_ms\tlost\tlost_pct\tnxdomain_pct\tresp_bytes\tdnsperf_cpu_pct\tserver_cpu_pct\tudp_rcvbuf_errs\tp50_ms\tp99_ms\tp999_ms\tsteal_pct"
echo -e "$hdr"; [ -n "$out" ] && [ ! -s "$out" ] && echo -e "$hdr" > "$out"
for r in $(seq "$runs"); do
  e0=$(udp_rcvbuf_errors); st0=$(steal_snapshot); c0=0; [ -n "$spid" ] && c0=$(cpu_ticks $spid)
  "${pin[@]}" /usr/bin/time -f 'TIME %U %S %e' -o "$tmp/time" dnsperf "${args[@]}" > "$tmp/out" 2> "$tmp/err" || true
  e1=$(udp_rcvbuf_errors); st1=$(steal_snapshot); c1=0; [ -n "$spid" ] && c1=$(cpu_ticks $spid)
  awk '/Queries per second/ {q = $4} /Average Latency/ {a = $4; gsub(/[(),]/, "", $8); m = $8}
       /Latency StdDev/ {sd = $4} /Queries lost/ {l = $3; lp = $4; gsub(/[()%]/, "", lp)}
       /Average packet size/ {rs = $7}
       /Response codes/ {for (i = 3; i <= NF; i++) if ($i ~ /NXDOMAIN/) {nx = $(i + 2); gsub(/[(),%]/, "", nx)}}
       END {printf "%.0f\t%.3f\t%.3f\t%.3f\t%d\t%s\t%s\t%s", q, a * 1000, m * 1000, sd * 1000, l, lp, nx + 0, rs}' "$tmp/out" > "$tmp/row"
  dcpu=$(awk '/^TIME/ {printf "%.0f", ($2 + $3) * 100 / $4}' "$tmp/time")
  scpu=-; [ -n "$spid" ] && scpu=$(( (c1 - c0) * 100 / HZ / duration ))
  p="-\t-\t-"
  [ "$pct" = 1 ] && p=$(awk '/^> / {print $NF * 1000}' "$tmp/out" | sort -g |
    awk '{v[NR] = $1} END {printf "%.3f\t%.3f\t%.3f", v[int(NR * .5)], v[int(NR * .99)], v[int(NR * .999)]}')
  row="$label\t$r\t$(cat "$tmp/row")\t$dcpu\t$scpu\t$((e1 - e0))\t$p\t$(steal_pct "$st0" "$st1")"
  echo -e "$row"; [ -n "$out" ] && echo -e "$row" >> "$out"
  grep -q 'Queries per second' "$tmp/out" || { echo "dnsperf failed:" >&2; cat "$tmp/err" >&2; }
  sleep 1
done | tee "$tmp/rows"
echo "# $label qps median $(awk -F'\t' '{print $3}' "$tmp/rows" | stats | awk '{printf "%s (min %s, max %s)", $1, $2, $3}')," \
  "avg latency ms median $(awk -F'\t' '{print $4}' "$tmp/rows" | stats | awk '{print $1}')," \
  "lost total $(awk -F'\t' '{s += $7} END {print s + 0}' "$tmp/rows")"
