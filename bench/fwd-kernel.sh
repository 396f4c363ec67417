#!/usr/bin/env bash
# The kernel data path (--proxy-mode nftables) beside the userspace
# forwarder, HAProxy and direct, in one run: wrk keep-alive and wrk with a
# new connection per request ("Connection: close") against two nginx
# backends (round-robin), each for --duration seconds (30 by default, so
# that conntrack's churn effects show). Everything runs inside a network
# namespace of its own (the host's nftables are never touched); the
# backends and wrk are pinned to CPU 1, proxies to CPU 0.
#
# No process is the proxy in the kernel path: its cost lands in the
# softirq and system time of the clients and backends. So the figure
# compared is whole-machine CPU per request, from /proc/stat (user, nice,
# system, irq, softirq of all CPUs, over the wrk run, divided by its
# requests); on a busy machine it includes the others' work: run it on a
# quiet one, and read "idle%" (the machine's idle share at the start).
#
#   bench/fwd-kernel.sh [--builddir DIR] [--duration 30] [--conns 50]
#                       [--targets "direct kernel userspace haproxy"]
#                       (or any of them, and "conntrack", "nat1")
#                       [--rounds 1] [--split]
#                       [--modes "keepalive close"] [--out DIR]
#                       [--lb round-robin|random]
#
# The service balances round-robin by default, as HAProxy does (in the
# kernel path: a chain of its own); --lb random puts it in the kernel
# path's endpoint maps (no chain), as most services are.
#
# Target "conntrack" (not run by default) is direct with conntrack
# tracking every packet (a table of one rule that counts new
# connections): the part of the kernel path's cost that any NAT pays.
# Target "nat1" (not run by default) is one hand-written rule, nothing
# else: `dnat to numgen random mod 2 map { ... }` in an output NAT chain,
# the least a NAT to the two backends can be; the kernel path beside it
# shows what the daemon's table adds.
#
# --split puts wrk on CPU 0 and the backends on CPU 1, as a client and a
# backend container on cores of their own would be, and pins no proxy:
# for direct, nat1 and kernel, whose req/s is then bound by the busier
# core instead of their sum (the proxies would share wrk's core).
#
# --rounds N runs the whole list of targets N times, interleaved, so that
# a slow spell of the machine spreads over all of them; the summary gives
# each target's median row.
#
# Needs root, wrk, nginx-light, haproxy (Debian). Prints one row per
# target and mode with ratios to HAProxy and direct.
set -euo pipefail
here=$(cd "$(dirname "$0")" && pwd)
builddir=$here/.. duration=30 conns=50 targets="direct kernel userspace haproxy"
modes="keepalive close" out=/tmp/bench-results/kernel lb=round-robin rounds=1
split=""
while [ $# -gt 0 ]; do
  case "$1" in
    --builddir) builddir=$2; shift 2;; --duration) duration=$2; shift 2;;
    --conns) conns=$2; shift 2;; --targets) targets=$2; shift 2;;
    --modes) modes=$2; shift 2;; --out) out=$2; shift 2;;
    --lb) lb=$2; shift 2;; --rounds) rounds=$2; shift 2;;
    --split) split=1; shift;;
    --in-netns) in_netns=1; shift;;
    -h|--help) sed -n '2,/^set /{/^#/p}' "$0"; exit 0;;
    *) echo "unknown arg $1" >&2; exit 2;;
  esac
done
[ "$(id -u)" = 0 ] || { echo "needs root (a network namespace, nftables)" >&2; exit 2; }
# shellcheck source=SCRIPTDIR/lib.sh
. "$here/lib.sh"
need_tools "apt-get install wrk haproxy nginx-light" wrk haproxy nginx taskset
summary() {
  echo
  echo "=== whole-machine CPU per request (µs), from /proc/stat"
  # One row per target and mode: with --rounds, the round of median req/s.
  awk -F'\t' 'NR > 1 { k = $1 SUBSEP $2; c = ++cnt[k]; row[k, c] = $0
      if (!($1 in seen)) { seen[$1] = 1; order[++n] = $1 } ms[$2] = 1 }
    function ratio(a, t, m, ref) { return (((ref, m) in a) && a[ref, m] > 0) ? sprintf("%.2fx", a[t, m] / a[ref, m]) : "-" }
    END {
      for (k in cnt) {  # sort the rounds of k by req/s, keep the middle one
        for (x = 1; x <= cnt[k]; x++) for (y = x + 1; y <= cnt[k]; y++) {
          split(row[k, x], fx, "\t"); split(row[k, y], fy, "\t")
          if (fy[3] + 0 < fx[3] + 0) { tmp = row[k, x]; row[k, x] = row[k, y]; row[k, y] = tmp } }
        split(row[k, int((cnt[k] + 1) / 2)], f, "\t")
        r[k] = f[3]; p[k] = f[4]; u[k] = f[5]; i[k] = f[6]; e[k] = f[7] }
      printf "%-10s %-9s %8s %8s %8s %6s %-8s | %-10s %-10s %-10s\n", "target", "mode", "req/s", "p99 ms", "us/req", "idle%", "errors",
        "us vs hap", "us vs dir", "req vs dir"
      for (j = 1; j <= n; j++) for (m in ms) { t = order[j]; if (!((t, m) in r)) continue
        printf "%-10s %-9s %8.0f %8.3f %8.2f %6s %-8s | %-10s %-10s %-10s\n", t, m, r[t, m], p[t, m], u[t, m], i[t, m], e[t, m],
          ratio(u, t, m, "haproxy"), ratio(u, t, m, "direct"), ratio(r, t, m, "direct") }
    }' "$tsv"
  # The same ratios round by round (each target against direct of its own
  # round), then their median: less moved by a slow spell of the machine.
  awk -F'\t' 'NR > 1 { r[$1, $2, $8] = $3; u[$1, $2, $8] = $5; t[$1] = 1; m[$2] = 1; if ($8 > nr) nr = $8 }
    function med(a, n,   x, y, tmp) { for (x = 1; x <= n; x++) for (y = x + 1; y <= n; y++) if (a[y] < a[x]) { tmp = a[x]; a[x] = a[y]; a[y] = tmp }
      return n % 2 ? a[(n + 1) / 2] : (a[n / 2] + a[n / 2 + 1]) / 2 }
    END { if (nr < 2) exit; print ""; print "=== per round, against direct of the same round (median of " nr " rounds)"
      for (tt in t) for (mm in m) { if (tt == "direct") continue; n = 0; s = ""
        for (k = 1; k <= nr; k++) if (((tt, mm, k) in r) && r["direct", mm, k] > 0) {
          rq[++n] = r[tt, mm, k] / r["direct", mm, k]; us[n] = u[tt, mm, k] / u["direct", mm, k]; s = s sprintf(" %.2f", rq[n]) }
        if (n) printf "%-10s %-9s req/s %.2fx (rounds:%s), CPU/req %.2fx\n", tt, mm, med(rq, n), s, med(us, n) }
    }' "$tsv"
}

mkdir -p "$out"; tsv=$out/fwd-kernel.tsv
# Each target of each round runs in a network namespace of its own, so no
# target meets another's conntrack entries or TIME_WAIT sockets (the same
# VIP and ports, translated differently, collapse a run of new
# connections into SYN retransmits).
if [ -z "${in_netns:-}" ]; then
  echo -e "target\tmode\treq_s\tp99_ms\tbusy_us_per_req\tidle_pct_before\terrors\tround" > "$tsv"
  ns=cipbench$$
  trap 'ip netns del "$ns" 2>/dev/null' EXIT
  for round in $(seq "$rounds"); do
    for t in $targets; do
      ip netns add "$ns"
      ip -n "$ns" link set lo up
      ip netns exec "$ns" "$0" --in-netns --builddir "$builddir" --duration "$duration" \
        --conns "$conns" --targets "$t" --modes "$modes" --out "$out" --lb "$lb" \
        --rounds "$round/$rounds" ${split:+--split}
      ip netns del "$ns"
    done
  done
  summary "$tsv"
  exit
fi
daemon=$(find_daemon "$builddir/server/clusteripd")
bench_workdir fwdkernel
on_exit '"$here/fwd-backends.sh" stop > /dev/null 2>&1'
on_exit '"$here/fwd-peer.sh" stop haproxy > /dev/null 2>&1'

VIP=127.96.255.80
web_manifest "$VIP" "$lb" > "$wd/m/bench.yaml"
"$here/fwd-backends.sh" start --cpus 1 --iperf-port 0 > /dev/null
wrkcpu=1 proxycpu=0
[ -z "$split" ] || wrkcpu=0 proxycpu=0,1

# idle_pct: the machine's idle share over one second.
idle_pct() {
  local a b
  a=$(awk '/^cpu / {print $5 + $6, $2 + $3 + $4 + $5 + $6 + $7 + $8 + $9}' /proc/stat)
  sleep 1
  b=$(awk '/^cpu / {print $5 + $6, $2 + $3 + $4 + $5 + $6 + $7 + $8 + $9}' /proc/stat)
  echo "$a $b" | awk '{d = $4 - $2; printf "%.0f", d ? ($3 - $1) * 100 / d : 0}'
}

# measure TARGET MODE HOSTPORT: one wrk run, one row.
measure() {
  local hdr=() idle b0 b1 o
  [ "$2" = close ] && hdr=(-H "Connection: close")
  idle=$(idle_pct)
  b0=$(busy_ticks)
  o=$(taskset -c "$wrkcpu" wrk -t1 -c"$conns" -d"${duration}s" --latency "${hdr[@]}" "http://$3/" 2>&1)
  b1=$(busy_ticks)
  echo "$o" | awk -v t="$1" -v m="$2" -v b="$((b1 - b0))" -v hz="$HZ" -v idle="$idle" -v rd="${rounds%%/*}" '
    function ms(v) { if (v ~ /us$/) return v / 1000; if (v ~ /ms$/) return v + 0; if (v ~ /s$/) return v * 1000; return v }
    / 99%/ { p99 = ms($2) }
    /requests in/ { n = $1 }
    /Requests\/sec/ { rps = $2 }
    /Socket errors/ { err = $0; sub(/.*errors: /, "", err); gsub(/ /, "", err) }
    END { printf "%s\t%s\t%.0f\t%.3f\t%.2f\t%s\t%s\t%s\n", t, m, rps, p99,
      (n > 0 ? b / hz * 1e6 / n : 0), idle, (err == "" ? "0" : err), rd }'
}

for t in $targets; do
  case $t in
  direct) hp=127.0.0.1:18081;;
  conntrack)  # direct, but every packet through conntrack: the floor of NAT
    nft -f - <<'N'
table inet cipbench-ct {
  chain out { type filter hook output priority 0; policy accept; ct state new counter; }
}
N
    hp=127.0.0.1:18081;;
  nat1)  # the least NAT: one rule
    nft -f - <<N
table ip cipbench-nat {
  chain out {
    type nat hook output priority -100; policy accept;
    ip daddr $VIP tcp dport 18080 dnat to numgen random mod 2 map { 0 : 127.0.0.1 . 18081, 1 : 127.0.0.1 . 18082 }
  }
}
N
    hp=$VIP:18080;;
  kernel) cipd_start "$daemon" "$VIP" "" --proxy-mode nftables; hp=$VIP:18080;;
  userspace) cipd_start "$daemon" "$VIP" "$proxycpu" --proxy-mode userspace; hp=$VIP:18080;;
  haproxy) "$here/fwd-peer.sh" start haproxy --threads 1 --cpus "$proxycpu" > /dev/null; hp=127.0.0.1:18080;;
  *) echo "unknown target $t" >&2; exit 2;;
  esac
  for m in $modes; do
    echo "=== $t $m (${duration}s, round $rounds)" >&2
    measure "$t" "$m" "$hp" >> "$tsv"
  done
  case $t in
  kernel|userspace) stop_pid "$dpid"; dpid="";;
  haproxy) "$here/fwd-peer.sh" stop haproxy > /dev/null;;
  conntrack) nft delete table inet cipbench-ct;;
  nat1) nft delete table ip cipbench-nat;;
  esac
done
exit

