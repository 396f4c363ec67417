#!/usr/bin/env bash
# Bulk TCP throughput (Gbit/s) through a forwarder, or directly, with iperf3.
# Needs an iperf3 server behind --target (bench/fwd-backends.sh starts one on 15201).
#
#   bench/fwd-iperf.sh --target 127.0.0.1:15200 [--duration 10] [--streams 1] [--runs 3]
#                      [--client-cpus LIST] [--proxy-pid PID] [--label NAME] [--out FILE]
set -euo pipefail
. "$(dirname "$0")/fwd-lib.sh"
target=127.0.0.1:15200 duration=10 streams=1 runs=3 ccpus="" ppid_="" label=iperf out=""
while [ $# -gt 0 ]; do
  case "$1" in
    --target) target=$2; shift 2;; --duration) duration=$2; shift 2;;
    --streams) streams=$2; shift 2;; --runs) runs=$2; shift 2;;
    --client-cpus) ccpus=$2; shift 2;; --proxy-pid) ppid_=$2; shift 2;;
    --label) label=$2; shift 2;; --out) out=$2; shift 2;;
    -h|--help) sed -n '2,/^set /{/^#/p}' "$0"; exit 0;;
    *) echo "unknown arg $1" >&2; exit 2;;
  esac
done
pin=(); [ -n "$ccpus" ] && pin=(taskset -c "$ccpus")
tmp=$(mktemp -d /dev/shm/fwdiperf.XXXXXX); trap 'rm -rf "$tmp"' EXIT
h="label\trun\tgbit_s\tretransmits\tproxy_cpu_pct\tsteal_pct"
echo -e "$h"; [ -n "$out" ] && [ ! -s "$out" ] && echo -e "$h" > "$out"
for r in $(seq "$runs"); do
  p0=0 p1=0; [ -n "$ppid_" ] && p0=$(cpu_ticks $ppid_); t0=$(date +%s.%N); st0=$(steal_snapshot)
  "${pin[@]}" iperf3 -c "${target%:*}" -p "${target##*:}" -t "$duration" -P "$streams" -f g > "$tmp/out" 2>&1 || true
  [ -n "$ppid_" ] && p1=$(cpu_ticks $ppid_); el=$(echo "$(date +%s.%N) - $t0" | bc); st1=$(steal_snapshot)
  # last "sender"/"receiver" summary lines ([SUM] when -P > 1)
  g=$(awk '/receiver/ {g = $7} END {print g + 0}' "$tmp/out")
  rt=$(awk '/sender/ {rt = $9} END {print rt + 0}' "$tmp/out")
  pc=-; [ -n "$ppid_" ] && pc=$(echo "($p1 - $p0) * 100 / $HZ / $el" | bc)
  line="$label\t$r\t$g\t$rt\t$pc\t$(steal_pct "$st0" "$st1")"
  echo -e "$line"; [ -n "$out" ] && echo -e "$line" >> "$out"
  grep -q receiver "$tmp/out" || cat "$tmp/out" >&2
  sleep 1
done > >(tee "$tmp/rows")
wait; sleep 0.2
echo "# $label Gbit/s median $(awk -F'\t' '{print $3}' "$tmp/rows" | stats | awk '{printf "%s (min %s, max %s)", $1, $2, $3}')"
