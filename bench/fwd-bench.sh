#!/usr/bin/env bash
# The forwarder against HAProxy and nginx (stream), in the same run: wrk
# keep-alive, wrk with a new connection per request, and one iperf3
# stream, each proxy pinned to CPU 0 with the backends and the load
# generator on CPU 1. HAProxy runs twice: as configured by default
# ("haproxy") and with "option splice-auto" ("haproxy-splice"). Each of
# --runs rounds runs every proxy once, in turn. Prints
# medians of req/s, p99 latency and proxy CPU per request, per
# connection and per Gbit/s, with ratios to both HAProxy runs.
#
#   bench/fwd-bench.sh [--builddir DIR] [--duration 10] [--runs 1]
#                      [--peers "haproxy haproxy-splice nginx"] [--out DIR]
#                      [--max-others 25]
#
# Needs wrk, iperf3, nginx-light, libnginx-mod-stream, haproxy (Debian).
set -euo pipefail
here=$(cd "$(dirname "$0")" && pwd)
builddir=$here/.. duration=10 runs=1 peers="haproxy haproxy-splice nginx" out=/tmp/bench-results/fwd
max_others=25
while [ $# -gt 0 ]; do
  case "$1" in
    --builddir) builddir=$2; shift 2;; --duration) duration=$2; shift 2;;
    --runs) runs=$2; shift 2;; --peers) peers=$2; shift 2;; --out) out=$2; shift 2;;
    --max-others) max_others=$2; shift 2;;
    -h|--help) sed -n '2,/^set /{/^#/p}' "$0"; exit 0;;
    *) echo "unknown arg $1" >&2; exit 2;;
  esac
done
# shellcheck source=SCRIPTDIR/lib.sh
. "$here/lib.sh"
daemon=$(find_daemon "$builddir/server/clusteripd")
need_tools "apt-get install wrk iperf3 haproxy nginx-light libnginx-mod-stream" \
  wrk iperf3 haproxy nginx taskset
mkdir -p "$out"; rm -f "$out"/fwd-http.tsv "$out"/fwd-iperf.tsv
bench_workdir fwdbench-cip
on_exit '"$here/fwd-backends.sh" stop'
for p in $peers; do on_exit "\"\$here/fwd-peer.sh\" stop ${p%-splice} > /dev/null 2>&1"; done

VIP=127.96.255.80
{
web_manifest "$VIP"
cat <<Y
---
apiVersion: v1
kind: Service
metadata: {name: iperf}
spec:
  selector: {bench: iperf}
  clusterIP: 127.96.255.81
  ports: [{port: 15200, targetPort: 15201}]
---
apiVersion: v1
kind: Pod
metadata: {name: iperf-1, labels: {bench: iperf}}
spec: {containers: [{ports: [{containerPort: 15201}]}]}
status: {podIP: 127.0.0.1}
Y
} > "$wd/m/bench.yaml"

"$here/fwd-backends.sh" start --cpus 1
bpid=$(cat /tmp/fwdbench/backends/nginx-master.pid)
common=(--duration "$duration" --runs 1 --client-cpus 1)

run_one() {  # label pid http-target iperf-target iperf-pid (round in $r)
  local m
  for m in keepalive close; do
    "$here/fwd-http.sh" --target "$3" --mode $m "${common[@]}" --proxy-pid "$2" \
      --backend-pid "$bpid" --label "$1" --first-run "$r" --out "$out/fwd-http.tsv"
  done
  "$here/fwd-iperf.sh" --target "$4" "${common[@]}" --proxy-pid "$5" \
    --label "$1" --first-run "$r" --out "$out/fwd-iperf.tsv"
}

run_cipd() {
  cipd_start "$daemon" "$VIP" 0
  run_one clusteripd "$dpid" "$VIP:18080" 127.96.255.81:15200 "$dpid"
  stop_pid "$dpid"; dpid=""
}

run_peer() {  # label
  local peer=$1 popt=() pid ipid
  [ "$1" = haproxy-splice ] && peer=haproxy popt=(--splice)
  pid=$("$here/fwd-peer.sh" start "$peer" --threads 1 --cpus 0 "${popt[@]}")
  ipid=$pid; [ -f "/tmp/fwdbench/$peer/iperf.pid" ] && ipid=$(cat "/tmp/fwdbench/$peer/iperf.pid")
  run_one "$1" "$pid" 127.0.0.1:18080 127.0.0.1:15200 "$ipid"
  "$here/fwd-peer.sh" stop "$peer"
}

# Rounds: each runs every proxy once, so that load which comes and goes
# on the machine falls on all of them alike rather than on one.
for r in $(seq "$runs"); do
  echo "=== round $r of $runs: clusteripd"
  run_cipd
  for p in $peers; do
    echo "=== round $r of $runs: $p"
    run_peer "$p"
  done
done

# Ratio columns: "hap" is HAProxy as configured by default, "haps" with
# splice-auto; "-" when that peer did not run. others%: the machine's busy time
# beside the proxy, the backends and wrk (fwd-http.sh), % of one core: high or
# uneven values mean the figures are disturbed: runs above --max-others are
# left out of the medians (runs: kept/all) unless every run of that proxy and
# mode is. kern%: the share of the proxy's CPU spent in the kernel.
echo
echo "=== summary (medians; proxy CPU per request = proxy CPU share / req/s)"
awk -F'\t' -v maxo="$max_others" 'NR > 1 && $1 != "label" {
    k = $1 "\t" $2; t[k]++
    if (!(k in seen)) { seen[k] = 1; order[++no] = k }
    # Rows are read twice (the file is given twice): the disturbed runs of a
    # proxy and mode are left out unless all of its runs were disturbed.
    if (FNR == NR) { if ($15 + 0 <= maxo) quiet[k]++; next }
    if (quiet[k] > 0 && $15 + 0 > maxo) next
    n[k]++; rq[k, n[k]] = $4; p99[k, n[k]] = $7; cpu[k, n[k]] = $12; oth[k, n[k]] = $15 + 0; ks[k, n[k]] = $16 + 0
  }
  function med(a, k, c,   i, j, t, v) {
    for (i = 1; i <= c; i++) v[i] = a[k, i]
    for (i = 1; i <= c; i++) for (j = i + 1; j <= c; j++) if (v[j] < v[i]) { t = v[i]; v[i] = v[j]; v[j] = t }
    return (c % 2) ? v[(c + 1) / 2] : (v[c / 2] + v[c / 2 + 1]) / 2
  }
  function ratio(a, ref, k, m) { return ((ref, m) in a && a[ref, m] > 0) ? sprintf("%.2fx", a[k] / a[ref, m]) : "-" }
  END {
    for (i = 1; i <= no; i++) {
      k = order[i]; r = med(rq, k, n[k]); c = med(cpu, k, n[k])
      us[k] = r > 0 ? c / 100 * 1e6 / r : 0; req[k] = r; lat[k] = med(p99, k, n[k])
      split(k, f, "\t"); us[f[1], f[2]] = us[k]; req[f[1], f[2]] = r; lat[f[1], f[2]] = lat[k]
    }
    printf "%-15s %-9s %5s %8s %5s %7s %5s %8s %7s | %-17s %-17s %-17s\n", "proxy", "mode", "runs", "req/s", "cpu%", "us/req", "kern%", "p99 ms",
      "others%", "us/req vs hap/haps", "req/s vs hap/haps", "p99 vs hap/haps"
    for (i = 1; i <= no; i++) {
      k = order[i]; split(k, f, "\t"); m = f[2]
      printf "%-15s %-9s %5s %8.0f %5.0f %7.2f %5.0f %8.3f %7.0f | %-17s %-17s %-17s\n", f[1], m, n[k] "/" t[k] / 2, req[k], med(cpu, k, n[k]), us[k],
        med(ks, k, n[k]), lat[k],
        med(oth, k, n[k]),
        ratio(us, "haproxy", k, m) " / " ratio(us, "haproxy-splice", k, m),
        ratio(req, "haproxy", k, m) " / " ratio(req, "haproxy-splice", k, m),
        ratio(lat, "haproxy", k, m) " / " ratio(lat, "haproxy-splice", k, m)
    }
  }' "$out/fwd-http.tsv" "$out/fwd-http.tsv"
echo
awk -F'\t' 'NR > 1 && $1 != "label" {
    n[$1]++; g[$1, n[$1]] = $3; c[$1, n[$1]] = $5
    if (!($1 in seen)) { seen[$1] = 1; order[++no] = $1 }
  }
  function med(a, k, cnt,   i, j, t, v) {
    for (i = 1; i <= cnt; i++) v[i] = a[k, i]
    for (i = 1; i <= cnt; i++) for (j = i + 1; j <= cnt; j++) if (v[j] < v[i]) { t = v[i]; v[i] = v[j]; v[j] = t }
    return (cnt % 2) ? v[(cnt + 1) / 2] : (v[cnt / 2] + v[cnt / 2 + 1]) / 2
  }
  function ratio(a, k, ref) { return (ref in a && a[ref] > 0) ? sprintf("%.2fx", a[k] / a[ref]) : "-" }
  END {
    for (i = 1; i <= no; i++) {
      k = order[i]; gb[k] = med(g, k, n[k]); cp[k] = med(c, k, n[k]); pg[k] = gb[k] > 0 ? cp[k] / gb[k] : 0
    }
    printf "%-15s %12s %6s %14s | %-19s %-19s\n", "proxy", "iperf3 Gb/s", "cpu%", "cpu% per Gb/s",
      "Gb/s vs hap/haps", "cpu/Gb vs hap/haps"
    for (i = 1; i <= no; i++) {
      k = order[i]
      printf "%-15s %12.1f %6.0f %14.1f | %-19s %-19s\n", k, gb[k], cp[k], pg[k],
        ratio(gb, k, "haproxy") " / " ratio(gb, k, "haproxy-splice"),
        ratio(pg, k, "haproxy") " / " ratio(pg, k, "haproxy-splice")
    }
  }' "$out/fwd-iperf.tsv"
