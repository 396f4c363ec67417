# Shell functions for bench/fwd-*.sh (source it; not run directly).
# shellcheck shell=bash

# tree_pids PID...: the PIDs and all their descendants (multi-process servers: nsd, nginx, socat).
tree_pids() {
  local p
  for p in "$@"; do
    [ -d /proc/$p ] || continue
    echo "$p"
    # shellcheck disable=SC2046
    tree_pids $(cat /proc/$p/task/*/children 2>/dev/null)
  done
}

# cpu_ticks PID...: user+system clock ticks of those processes and their descendants (all
# threads), plus the ticks of children they already reaped (socat's forked workers).
cpu_ticks() {
  local t=0 p
  for p in $(tree_pids "$@"); do
    t=$((t + $(awk '{sub(/^.*\) /, ""); print $12 + $13 + $14 + $15}' /proc/$p/stat 2>/dev/null || echo 0)))
  done
  echo $t
}

# mem_kb PID...: "RSS_KB PSS_KB" summed over the process tree (PSS splits shared pages fairly).
mem_kb() {
  local p
  for p in $(tree_pids "$@"); do cat /proc/$p/smaps_rollup 2>/dev/null; done |
    awk '/^Rss:/ {r += $2} /^Pss:/ {s += $2} END {print r + 0, s + 0}'
}

# nthreads PID...: total threads / processes of the tree, as "P procs, T threads".
nthreads() {
  local p n=0 t=0
  for p in $(tree_pids "$@"); do n=$((n + 1)); t=$((t + $(ls /proc/$p/task | wc -l))); done
  echo "$n procs, $t threads"
}

# stats: read numbers on stdin, print "median min max".
stats() { sort -g | awk '{v[NR] = $1} END {if (!NR) {print "- - -"; exit} m = (NR % 2) ? v[(NR + 1) / 2] : (v[NR / 2] + v[NR / 2 + 1]) / 2; print m, v[1], v[NR]}'; }

# stop_pid PID: TERM, wait up to 10 s, then KILL. Only ever called with PIDs we started.
stop_pid() {
  local p=$1
  kill -TERM "$p" 2>/dev/null || return 0
  for _ in $(seq 50); do kill -0 "$p" 2>/dev/null || return 0; sleep 0.2; done
  kill -KILL "$p" 2>/dev/null || true
}

HZ=$(getconf CLK_TCK); export HZ

# udp_rcvbuf_errors: system-wide count of UDP datagrams dropped because a socket buffer was full.
udp_rcvbuf_errors() { awk '/^Udp:/ && $2 ~ /^[0-9]/ {print $6}' /proc/net/snmp; }

# steal_snapshot: "steal total" jiffies of the whole machine; steal_pct A B: % of CPU time the
# hypervisor gave to someone else between two snapshots (noise indicator on a VM).
steal_snapshot() { awk '/^cpu / {print $9, $2 + $3 + $4 + $5 + $6 + $7 + $8 + $9}' /proc/stat; }
steal_pct() { echo "$1 $2" | awk '{d = $4 - $2; printf "%.1f", d ? ($3 - $1) * 100 / d : 0}'; }
