#!/usr/bin/env bash
# Connection churn through translation: wrk with a new connection per
# request ("Connection: close") for --duration seconds (30 by default)
# against each target, each in a network namespace of its own (fresh
# conntrack table, no TIME_WAIT sockets left by the run before; the
# host's nftables and sysctls are never touched). Targets:
#
#   direct     one nginx backend, no translation
#   kernel2a   the daemon's kernel path (--proxy-mode nftables), a Service
#              with two endpoints on two addresses (127.0.10.1 and
#              127.0.10.2, port 18090)
#   kernel2p   the same with two ports of one address (127.0.10.1:18090
#              and :18091)
#   numgen2a   one hand-written rule, "dnat ip to numgen random mod 2 map
#              { 0 : A, 1 : B }", two addresses, no ct timeout policy
#   numgen2p   the same rule with two ports of one address
#   kernel2v   the daemon's kernel path, two Services (two VIPs) with the
#              same one endpoint (127.0.10.1:18090), a wrk for each VIP at
#              once with half the connections each: one client port
#              reaches the backend through either VIP
#   numgen2v   the same with two hand-written "dnat ip to A" rules, one
#              for each VIP, no ct timeout policy (not run by default)
#
# Every 2 s it prints the backends' accepted connections per second
# (TcpPassiveOpens; one per request), conntrack's entries, TIME_WAIT
# sockets, SYN retransmits and ours% (the CPU share of wrk and nginx: a
# dip with it is the machine's other load, one without it a collapse);
# before and after each run, the nstat and conntrack -S counters that
# tell why.
#
#   bench/fwd-churn.sh [--builddir DIR] [--duration 30] [--conns 50]
#                      [--targets "direct kernel2a kernel2p numgen2a numgen2p kernel2v"]
#                      [--lb random|round-robin]
#                      [--sysctl "net.ipv4.tcp_tw_reuse=0 ..."]
#
# --sysctl sets namespaced sysctls inside each run's namespace (what a host
# could set), to measure their effect; a comma stands for a space
# ("net.ipv4.ip_local_port_range=1024,65535"). Needs root, wrk, nginx-light,
# conntrack, nstat (Debian: wrk nginx-light conntrack iproute2).
set -euo pipefail
here=$(cd "$(dirname "$0")" && pwd)
builddir=$here/.. duration=30 conns=50 lb=random sysctls=""
targets="direct kernel2a kernel2p numgen2a numgen2p kernel2v"
inner=""
while [ $# -gt 0 ]; do
  case "$1" in
    --builddir) builddir=$2; shift 2;; --duration) duration=$2; shift 2;;
    --conns) conns=$2; shift 2;; --targets) targets=$2; shift 2;;
    --lb) lb=$2; shift 2;; --sysctl) sysctls=$2; shift 2;;
    --in-netns) inner=$2; shift 2;;
    -h|--help) sed -n '2,/^set /{/^#/p}' "$0"; exit 0;;
    *) echo "unknown arg $1" >&2; exit 2;;
  esac
done
[ "$(id -u)" = 0 ] || { echo "needs root (network namespaces, nftables)" >&2; exit 2; }
# shellcheck source=SCRIPTDIR/lib.sh
. "$here/lib.sh"
need_tools "apt-get install wrk nginx-light conntrack iproute2" wrk nginx conntrack nstat taskset
[ "$duration" -le 30 ] || { echo "--duration at most 30" >&2; exit 2; }

if [ -z "$inner" ]; then
  ns=""
  # shellcheck disable=SC2016 # on_exit evaluates the text when the script ends
  on_exit '[ -z "$ns" ] || ip netns del "$ns" 2>/dev/null'
  echo "load average: $(cut -d' ' -f1-3 /proc/loadavg); $(nproc) CPUs;" \
    "sysctls in the namespaces: ${sysctls:-none}"
  for t in $targets; do
    ns=cipchurn$$-$t
    ip netns add "$ns"
    ip -n "$ns" link set lo up
    for s in $sysctls; do ip netns exec "$ns" sysctl -qw "${s//,/ }"; done
    ip netns exec "$ns" "$0" --in-netns "$t" --builddir "$builddir" \
      --duration "$duration" --conns "$conns" --lb "$lb" || echo "=== $t failed"
    ip netns del "$ns"; ns=""
  done
  echo "load average: $(cut -d' ' -f1-3 /proc/loadavg)"
  exit 0
fi

# ---- inside the namespace of target $inner
t=$inner
bench_workdir fwdchurn
VIP=127.96.255.90 VIP2=127.96.255.91
A=127.0.10.1 B=127.0.10.2

# nginx on A:18090, B:18090, A:18091 (pinned to CPU 0; wrk to CPU 1).
nginx_start() {
  local nd=$wd/nginx
  mkdir -p "$nd/tmp"
  cat > "$nd/nginx.conf" <<N
worker_processes 1; daemon off; pid $nd/nginx.run; error_log $nd/error.log;
worker_rlimit_nofile 65536; events { worker_connections 16384; }
http { access_log off; default_type text/plain;
  client_body_temp_path $nd/tmp; proxy_temp_path $nd/tmp; fastcgi_temp_path $nd/tmp;
  uwsgi_temp_path $nd/tmp; scgi_temp_path $nd/tmp;
  server { listen $A:18090 backlog=4096; listen $B:18090 backlog=4096;
    listen $A:18091 backlog=4096; location / { return 200 "ok\n"; } }
}
N
  taskset -c 0 nginx -e "$nd/error.log" -p "$nd" -c "$nd/nginx.conf" > "$nd/out" 2>&1 &
  npid=$!
  # shellcheck disable=SC2016 # on_exit evaluates the text when the script ends
  on_exit 'stop_pid "$npid"'
  for hp in $A:18090 $B:18090 $A:18091; do
    for _ in $(seq 100); do curl -sf "http://$hp/" > /dev/null 2>&1 && continue 2; sleep 0.1; done
    echo "nginx not answering on $hp" >&2; cat "$nd/error.log" >&2; exit 1
  done
}

# service NAME VIP: a Service on VIP:18080 selecting the pods.
service() {
  cat <<Y
---
apiVersion: v1
kind: Service
metadata: {name: $1, annotations: {clusterip.io/lb-algorithm: $lb}}
spec:
  selector: {bench: web}
  clusterIP: $2
  ports: [{name: http, port: 18080, targetPort: http}]
Y
}

# manifest ADDR:PORT...: Service "web" on VIP:18080, a pod for each.
manifest() {
  local i=0 e
  service web "$VIP"
  for e in "$@"; do
    i=$((i + 1))
    cat <<Y
---
apiVersion: v1
kind: Pod
metadata: {name: web-$i, labels: {bench: web}}
spec: {containers: [{ports: [{name: http, containerPort: ${e#*:}}]}]}
status: {podIP: ${e%:*}}
Y
  done
}

# numgen_table ADDR:PORT ADDR:PORT: the hand-written rule.
numgen_table() {
  nft -f - <<N
table ip cipchurn {
  chain out {
    type nat hook output priority -100; policy accept;
    ip daddr $VIP tcp dport 18080 dnat to numgen random mod 2 map { 0 : ${1%:*} . ${1#*:}, 1 : ${2%:*} . ${2#*:} }
  }
}
N
  on_exit 'nft delete table ip cipchurn 2>/dev/null'
  for _ in $(seq 50); do curl -sf "http://$VIP:18080/" > /dev/null 2>&1 && return; sleep 0.1; done
  echo "numgen rule not answering" >&2; exit 1
}

# vips_table ADDR:PORT: VIP and VIP2 each translated to ADDR:PORT.
vips_table() {
  nft -f - <<N
table ip cipchurn {
  chain out {
    type nat hook output priority -100; policy accept;
    ip daddr $VIP tcp dport 18080 dnat to $1
    ip daddr $VIP2 tcp dport 18080 dnat to $1
  }
}
N
  # shellcheck disable=SC2016 # on_exit evaluates the text when the script ends
  on_exit 'nft delete table ip cipchurn 2>/dev/null'
}

# counters: "name value" lines of the counters compared before/after.
counters() {
  {
  nstat -asz TcpPassiveOpens TcpActiveOpens TcpRetransSegs TcpAttemptFails \
    TcpEstabResets TcpOutRsts TcpExtTCPSynRetrans TcpExtTW TcpExtTWRecycled \
    TcpExtTWKilled TcpExtTCPTimeWaitOverflow TcpExtPAWSEstab \
    TcpExtTCPChallengeACK TcpExtListenDrops TcpExtListenOverflows \
    TcpExtTCPAbortOnData | awk '!/^#/ {print $1, $2}'
  conntrack -S 2>/dev/null | tr -s ' \t' '\n' | awk -F= '
    /=/ {s[$1] += $2} END {for (k in s) if (k != "cpu") print "ct_" k, s[k]}'
  } | sort
}
counter() { awk -v k="$1" '$1 == k {print $2; f = 1} END {if (!f) print 0}' "$2"; }
tw_socks() { awk '/^TCP:/ {for (i = 2; i < NF; i++) if ($i == "tw") print $(i + 1)}' /proc/net/sockstat; }
ct_count() { cat /proc/sys/net/netfilter/nf_conntrack_count 2>/dev/null || conntrack -C; }

nginx_start
case $t in
direct) hp=$A:18090;;
kernel2a|kernel2p)
  daemon=$(find_daemon "$builddir/server/clusteripd")
  if [ "$t" = kernel2a ]; then manifest $A:18090 $B:18090; else manifest $A:18090 $A:18091; fi > "$wd/m/web.yaml"
  cipd_start "$daemon" "$VIP" 0 --proxy-mode nftables
  hp=$VIP:18080;;
numgen2a) numgen_table $A:18090 $B:18090; hp=$VIP:18080;;
numgen2p) numgen_table $A:18090 $A:18091; hp=$VIP:18080;;
numgen2v) vips_table $A:18090; hp="$VIP:18080 $VIP2:18080";;
kernel2v)
  daemon=$(find_daemon "$builddir/server/clusteripd")
  { manifest $A:18090; service web2 "$VIP2"; } > "$wd/m/web.yaml"
  cipd_start "$daemon" "$VIP" 0 --proxy-mode nftables
  for _ in $(seq 100); do curl -sf "http://$VIP2:18080/" > /dev/null 2>&1 && break; sleep 0.1; done
  hp="$VIP:18080 $VIP2:18080";;
*) echo "unknown target $t" >&2; exit 2;;
esac

echo "=== $t: ${duration}s, $conns connections, Connection: close, to $hp"
counters > "$wd/c0"
# one wrk per address, the connections shared out
# shellcheck disable=SC2086 # one or two addresses
set -- $hp
wpids="" i=0
for h in "$@"; do
  i=$((i + 1))
  taskset -c 1 wrk -t1 -c"$((conns / $#))" -d"${duration}s" -H "Connection: close" \
    "http://$h/" > "$wd/wrk$i.out" 2>&1 &
  wpids="$wpids $!"
done
wpids=${wpids# } wpid=${wpids%% *}
# shellcheck disable=SC2016 # on_exit evaluates the text when the script ends
on_exit 'kill $wpids 2>/dev/null'
# ours%: CPU time of nginx and wrk (with the kernel work done on their
# behalf) over the window, in % of all CPUs: when it drops with conn/s,
# other processes on the machine took the CPU.
ncpu=$(nproc)
printf '%6s %9s %9s %8s %9s %6s\n' "t_s" "conn/s" "ct_count" "tw_sock" "syn_retr" "ours%"
p0=$(counter TcpPassiveOpens "$wd/c0") r0=$(counter TcpExtTCPSynRetrans "$wd/c0") s=0
# shellcheck disable=SC2086 # the wrk PIDs
u0=$(cpu_ticks "$npid" $wpids)
while kill -0 "$wpid" 2>/dev/null && [ "$s" -lt $((duration + 10)) ]; do
  sleep 2; s=$((s + 2))
  nstat -asz TcpPassiveOpens TcpExtTCPSynRetrans | awk '!/^#/ {print $1, $2}' > "$wd/cs"
  p1=$(counter TcpPassiveOpens "$wd/cs") r1=$(counter TcpExtTCPSynRetrans "$wd/cs")
  # shellcheck disable=SC2086 # the wrk PIDs
  u1=$(cpu_ticks "$npid" $wpids) ours=-
  kill -0 "$wpid" 2>/dev/null && ours=$(((u1 - u0) * 100 / (2 * HZ * ncpu)))
  printf '%6d %9d %9d %8d %9d %6s\n' "$s" $(((p1 - p0) / 2)) "$(ct_count)" "$(tw_socks)" \
    $((r1 - r0)) "$ours"
  p0=$p1 r0=$r1 u0=$u1
done
# shellcheck disable=SC2086 # the wrk PIDs
wait $wpids || true
counters > "$wd/c1"
cat "$wd"/wrk*.out > "$wd/wrk.out"
awk '/Requests\/sec/ {r += $2} /Socket errors/ {x = $0; sub(/.*errors: /, "", x); e = e x " "}
  /Non-2xx/ {n += $NF}
  END {printf "req/s %.0f; socket errors: %s; non-2xx: %s\n", r, (e == "" ? "none" : e), (n == "" ? 0 : n)}' "$wd/wrk.out"
echo "counters that moved (after - before):"
join "$wd/c0" "$wd/c1" 2>/dev/null | awk '$3 != $2 {printf "  %s %d\n", $1, $3 - $2}' ||
  paste "$wd/c0" "$wd/c1"
