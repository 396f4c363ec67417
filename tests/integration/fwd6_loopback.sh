#!/bin/bash
# SPDX-License-Identifier: MIT
# fwd6_loopback.sh -- a dual-stack Service in loopback mode, in a network
# namespace of the test's own (the range's local route on lo never
# touches the host): the daemon routes the IPv6 VIP range to lo and
# removes the route on exit; curl over [VIP6]:port reaches the IPv6
# endpoints only and over VIP4:port the IPv4 ones only (per-family
# balancing, as kube-proxy); a refused IPv6 endpoint is retried on
# another; ClientIP affinity over IPv6; a family without endpoints is
# reset at once while the other serves; an httpGet readiness probe over
# IPv6 lets an IPv6-only pod in and out; UDP over IPv6 answered from the
# VIP; drain (a held connection outlives its endpoint); dig AAAA and PTR;
# describe svc and get svc -o wide; --user; metrics per endpoint; without
# CAP_NET_ADMIN an IPv6 range is refused at start with that reason; a
# route left by SIGKILL is taken over by the next run, someone else's is
# left alone. Needs root.
. "$top_srcdir/tests/integration/proxy_lib.sh"

[ "$(id -u)" = 0 ] || skip "needs root"
command -v ip > /dev/null || skip "ip (iproute2) missing"
command -v dig > /dev/null || skip "dig missing"
ND=cip6lo$$
ip netns add "$ND" 2> /dev/null || skip "cannot create network namespaces"
EXTRA_CLEANUP="ip netns del $ND 2>/dev/null"
NSX="ip netns exec $ND"
ip -n "$ND" link set lo up
addrconfig "$ND"
for a in fd00:90::1 fd00:90::3 fd00:90::4; do
	ip -n "$ND" -6 addr add "$a/128" dev lo nodad || fail "addr $a"
done

VIP4=127.96.7.10 VIP6=fd00:96::10
STICKY6=fd00:96::11 ONLY4=fd00:96::12 UDP6=fd00:96::13
P=$(free_port) U=$(free_port udp) Q=$(free_port) B=$(free_port)
DRAIN6=fd00:96::15
backend http a-v4 127.0.10.1 "$P"
backend http a-v6 fd00:90::1 "$P"
backend http b-v4 127.0.10.2 "$P"
backend http c-v6 fd00:90::3 "$P"
# fd00:90::4 (pod d) is local but nothing listens: refused, retried.
backend udpecho u6 fd00:90::1 "$U"
backend banner a6 fd00:90::1 "$B"
backend banner c6 fd00:90::3 "$B"
# Healthy while the flag file exists.
backend http h-v6 fd00:90::4 "$Q" "$T/h.flag"

{
	dual web "$VIP4" "$VIP6" web
	dual sticky 127.96.7.11 "$STICKY6" web \
	    "  sessionAffinity: ClientIP"
	dual only4 127.96.7.12 "$ONLY4" only4
	pod6 a "$P" web 127.0.10.1 fd00:90::1
	pod6 b "$P" web 127.0.10.2
	pod6 c "$P" web fd00:90::3
	pod6 d "$P" web fd00:90::4
	pod6 e "$P" only4 127.0.10.1
	cat <<Y
apiVersion: v1
kind: Service
metadata: {name: probed}
spec:
  selector: {app: probed}
  ipFamilies: [IPv6]
  clusterIP: "fd00:96::14"
  ports: [{name: p, port: 80, targetPort: p}]
---
apiVersion: v1
kind: Pod
metadata: {name: h, labels: {app: probed}}
spec:
  containers:
  - ports: [{name: p, containerPort: $Q}]
    readinessProbe:
      httpGet: {path: /healthz, port: p}
      periodSeconds: 1
      failureThreshold: 1
status: {podIP: "fd00:90::4"}
---
apiVersion: v1
kind: Service
metadata: {name: echo}
spec:
  selector: {app: echo}
  ipFamilies: [IPv6]
  clusterIP: "$UDP6"
  ports: [{name: u, port: 5353, targetPort: u, protocol: UDP}]
---
apiVersion: v1
kind: Pod
metadata: {name: u6, labels: {app: echo}}
spec:
  containers:
  - ports: [{name: u, containerPort: $U, protocol: UDP}]
status: {podIP: "fd00:90::1"}
Y
} | manifest all.yaml
# drain6 [all]: an IPv6-only round-robin Service over a6 and c6, or c6
# alone once a6 has gone.
drain6() {
	cat <<Y
apiVersion: v1
kind: Service
metadata: {name: drain6}
spec:
  selector: {app: drain6}
  ipFamilies: [IPv6]
  clusterIP: "$DRAIN6"
  ports: [{name: b, port: 7000, targetPort: p}]
---
Y
	[ "${1:-}" = all ] && pod6 a6 "$B" drain6 fd00:90::1
	pod6 c6 "$B" drain6 fd00:90::3
}
drain6 all | manifest drain6.yaml

# Without CAP_NET_ADMIN the IPv6 range cannot be routed: refused at start.
if command -v setpriv > /dev/null; then
	$NSX setpriv --bounding-set -net_admin --inh-caps -net_admin \
	    "$top_builddir/server/clusteripd" --manifests "$T/m" \
	    --state-dir "$T/state" --dns-listen "127.0.0.1:$(free_port both)" \
	    --api-listen none --upstream 127.0.0.1:9 \
	    --vip-range 127.96.0.0/16 --vip-range fd00:96::/112 \
	    > /dev/null 2> "$T/nocap.log" && fail "started without CAP_NET_ADMIN"
	grep -q "fd00:96::/112: IPv6 VIPs refused: .*CAP_NET_ADMIN" "$T/nocap.log" ||
	    fail "refusal without its reason: $(cat "$T/nocap.log")"
	ip -n "$ND" -6 route show table local | grep -q "fd00:96::/112" &&
	    fail "a route was left by the refused start"
	echo "$NAME: IPv6 range refused without CAP_NET_ADMIN, with the reason"
fi

start_daemon --vip-range 127.96.0.0/16 --vip-range fd00:96::/112 \
    --log-level debug
ip -n "$ND" -6 route show table local | grep -q "^local fd00:96::/112 dev lo" ||
    fail "no local route for the range: $(ip -n "$ND" -6 route show table local)"
# wait6 ADDR PORT [udp]: until the forwarder listens there.
wait6() {
	local f=t
	[ "${3:-}" = udp ] && f=u
	for _ in $(seq 100); do
		$NSX ss -Hl"$f"n "src [$1]:$2" | grep -q . && return 0
		sleep 0.05
	done
	fail "nothing listens on [$1]:$2/${3:-tcp}"
}
wait6 "$VIP6" 80
wait6 "$STICKY6" 80
wait6 "$UDP6" 5353 udp
wait_listen "$VIP4" 80
echo "$NAME: local route on lo; listeners on [VIP6]:80 and VIP4:80"

got6=$($NSX bash -c "$(declare -f hits); hits 'http://[$VIP6]/' 24" | sort -u | tr '\n' ' ')
[ "$got6" = "a-v6 c-v6 " ] || fail "over [$VIP6]:80 got: '$got6'"
got4=$($NSX bash -c "$(declare -f hits); hits http://$VIP4/ 24" | sort -u | tr '\n' ' ')
[ "$got4" = "a-v4 b-v4 " ] || fail "over $VIP4:80 got: '$got4'"
echo "$NAME: [VIP6] reaches the IPv6 endpoints (a-v6 c-v6), VIP4 the IPv4 ones (a-v4 b-v4)"

# d was chosen now and then and refused: retried, never seen by a client.
metrics() { $NSX curl -sS --max-time 10 "http://127.0.0.1:$APIPORT/metrics"; }
m=$(metrics)
echo "$m" | grep -q '^clusterip_forward_connect_failures_total{service="default/web",endpoint="default/d"} [1-9]' ||
    fail "no failed connect to d counted: $(echo "$m" | grep 'default/d')"
echo "$m" | grep -q '^clusterip_forward_connections_total{service="default/web",endpoint="default/c"} [1-9]' ||
    fail "no connection to c counted"
echo "$m" | grep -q '^clusterip_forward_retries_total{service="default/web"} [1-9]' ||
    fail "no retry counted: $(echo "$m" | grep retries)"
echo "$NAME: a refused IPv6 endpoint retried elsewhere; metrics per endpoint"

got=$($NSX bash -c "$(declare -f hits); hits 'http://[$STICKY6]/' 12" | sort -u | wc -l)
[ "$got" = 1 ] || fail "ClientIP affinity over IPv6: $got endpoints for one client"
echo "$NAME: ClientIP affinity keyed by the IPv6 client"

wait6 "$ONLY4" 80
out=$($NSX curl -sS --max-time 10 "http://[$ONLY4]/" 2>&1) && fail "[$ONLY4] answered: $out"
echo "$out" | grep -qi "reset\|connect\|empty reply" || fail "[$ONLY4]: $out"
# Accepted and reset by the forwarder, not refused by the kernel.
metrics | grep -q '^clusterip_forward_no_endpoint_total{service="default/only4"} [1-9]' ||
    fail "[$ONLY4]: no reset for want of an endpoint counted"
[ "$($NSX curl -sS --max-time 10 http://127.96.7.12/)" = a-v4 ] ||
    fail "the IPv4 VIP of a service without IPv6 endpoints"
echo "$NAME: no IPv6 endpoint: [VIP6] reset at once, VIP4 served"

# probed STATE: waits (30 s at most) until [fd00:96::14]:80 is served by
# h-v6 (in) or reset for want of a ready endpoint (out).
probed() {
	local out
	for _ in $(seq 300); do
		out=$($NSX curl -sS --max-time 5 "http://[fd00:96::14]/" 2>/dev/null)
		case "$1:$out" in in:h-v6 | out:) return 0 ;; esac
		sleep 0.1
	done
	fail "probe over IPv6: h never went $1 (last answer '$out')"
}
probed out
touch "$T/h.flag"
probed in
grep -q "health: default/h is ready" "$T/daemon.log" || fail "h's probe verdict not logged"
rm -f "$T/h.flag"
probed out
grep -q "health: default/h is not ready" "$T/daemon.log" || fail "h's failure not logged"
echo "$NAME: an httpGet probe over IPv6 takes an IPv6-only pod in and out"

out=$($NSX python3 - "$UDP6" <<'PY'
import socket, sys
s = socket.socket(socket.AF_INET6, socket.SOCK_DGRAM)
s.settimeout(10)
s.sendto(b"ping", (sys.argv[1], 5353))
d, a = s.recvfrom(100)
print(d.decode(), a[0])
PY
) || fail "no UDP answer over [$UDP6]:5353"
[ "$out" = "u6:ping $UDP6" ] || fail "UDP over IPv6: '$out'"
echo "$NAME: UDP over [VIP6] answered by the endpoint, from the VIP"

aaaa=$($NSX dig +short +time=2 +tries=3 -p "$DNSPORT" @127.0.0.1 web.default.svc.cluster.local AAAA)
[ "$aaaa" = "$VIP6" ] || fail "AAAA: '$aaaa'"
ptr=$($NSX dig +short +time=2 +tries=3 -p "$DNSPORT" @127.0.0.1 -x "$VIP6")
[ "$ptr" = web.default.svc.cluster.local. ] || fail "PTR of $VIP6: '$ptr'"
echo "$NAME: dig AAAA and PTR of the IPv6 VIP"

# Drain over IPv6: a connection held to a6 outlives a6's removal while
# new connections go to c6 only.
wait6 "$DRAIN6" 7000
mkfifo "$T/ctl6"
$NSX python3 - "$DRAIN6" "$T/ctl6" > "$T/drain6.out" 2>&1 <<'PY' &
import socket, sys
vip, ctl = sys.argv[1], sys.argv[2]
for _ in range(6):
    s = socket.create_connection((vip, 7000), 5)
    s.settimeout(10)
    f = s.makefile("rwb")
    if f.readline().strip() == b"a6":
        break
    s.close()
else:
    raise SystemExit("never reached a6")
print("held", flush=True)
open(ctl).read()            # until a6 is gone
f.write(b"ping\n"); f.flush()
print(f.readline().strip().decode(), flush=True)
PY
HP=$!
for _ in $(seq 200); do grep -q held "$T/drain6.out" && break; sleep 0.05; done
grep -q held "$T/drain6.out" || fail "drain over IPv6: $(cat "$T/drain6.out")"
drain6 | manifest drain6.yaml
ok=0
for _ in $(seq 200); do
	n=$($NSX python3 - "$DRAIN6" <<'PY'
import socket, sys
names = []
for _ in range(4):
    s = socket.create_connection((sys.argv[1], 7000), 5)
    s.settimeout(5)
    names.append(s.makefile("rb").readline().strip().decode())
    s.close()
print(" ".join(names))
PY
)
	[ "$n" = "c6 c6 c6 c6" ] && { ok=1; break; }
	sleep 0.05
done
[ $ok = 1 ] || { echo x > "$T/ctl6"; fail "drain over IPv6: new connections still reach a6: $n"; }
echo go > "$T/ctl6"
wait "$HP" || fail "drain over IPv6: held connection: $(cat "$T/drain6.out")"
grep -q '^a6:ping$' "$T/drain6.out" || fail "drain over IPv6: $(cat "$T/drain6.out")"
echo "$NAME: drain over IPv6: the held connection to a6 answered after a6 went, new ones reached c6"

CLI() { $NSX "$top_builddir/client/clusterip" --server "http://127.0.0.1:$APIPORT" "$@"; }
out=$(CLI describe svc web) || fail "describe svc web"
echo "$out" | grep -Eq "^IP Family Policy: +RequireDualStack$" || fail "describe: $out"
echo "$out" | grep -Eq "^IP Families: +IPv4,IPv6$" || fail "describe: $out"
echo "$out" | grep -Eq "^IP: +$VIP4$" || fail "describe: $out"
echo "$out" | grep -Eq "^IPs: +$VIP4,$VIP6$" || fail "describe: $out"
CLI get svc -o wide | grep -Eq "^web +ClusterIP +$VIP4,$VIP6 " ||
    fail "get svc -o wide: $(CLI get svc -o wide)"
CLI get svc | grep -Eq "^web +ClusterIP +$VIP4 " || fail "get svc: $(CLI get svc)"
echo "$NAME: describe svc and get svc -o wide show both addresses"

term_daemon
ip -n "$ND" -6 route show table local | grep -q "fd00:96::/112" &&
    fail "local route left after exit"
echo "$NAME: the local route went with the daemon"

# Dropped to another user, the daemon keeps CAP_NET_ADMIN for the removal.
if id nobody > /dev/null 2>&1; then
	chmod 711 "$T"		# the state directory is reached through it
	start_daemon --vip-range 127.96.0.0/16 --vip-range fd00:96::/112 --user nobody
	grep -q "dropped to user nobody, capabilities: .*cap_net_admin" "$T/daemon.log" ||
	    fail "no CAP_NET_ADMIN kept: $(grep dropped "$T/daemon.log")"
	wait6 "$VIP6" 80
	ip -n "$ND" -6 route show table local | grep -q "^local fd00:96::/112 dev lo" ||
	    fail "no local route under --user"
	term_daemon
	ip -n "$ND" -6 route show table local | grep -q "fd00:96::/112" &&
	    fail "local route left after exit under --user"
	echo "$NAME: --user nobody: the route added before the drop, removed after"
fi

# A daemon killed without a word leaves its route; the next run takes it
# over (it is of the daemon's protocol) and removes it at exit.
start_daemon --vip-range 127.96.0.0/16 --vip-range fd00:96::/112
kill -KILL "$DPID"; wait "$DPID" 2>/dev/null; DPID=""
ip -n "$ND" -6 route show table local | grep -q "^local fd00:96::/112 dev lo proto 193" ||
    fail "no route of the daemon's protocol left by SIGKILL: $(ip -n "$ND" -6 route show table local)"
start_daemon --vip-range 127.96.0.0/16 --vip-range fd00:96::/112
grep -q "local route of fd00:96::/112 on lo, left by an earlier run, taken over" "$T/daemon.log" ||
    fail "stale route not taken over: $(grep -i route "$T/daemon.log")"
wait6 "$VIP6" 80
term_daemon
ip -n "$ND" -6 route show table local | grep -q "fd00:96::/112" &&
    fail "a route taken over was left after exit"
echo "$NAME: a route left by SIGKILL taken over by the next run, removed at its exit"

# Someone else's route for the range is used and left in place.
ip -n "$ND" -6 route add local fd00:96::/112 dev lo table local proto boot ||
    fail "cannot add a route of another protocol"
start_daemon --vip-range 127.96.0.0/16 --vip-range fd00:96::/112
grep -q "already on lo" "$T/daemon.log" || fail "someone else's route not seen"
grep -q "taken over" "$T/daemon.log" && fail "someone else's route taken over"
term_daemon
# (iproute2 prints no "proto boot": it is the default.)
r=$(ip -n "$ND" -6 route show table local | grep "^local fd00:96::/112 dev lo") ||
    fail "someone else's route removed: $(ip -n "$ND" -6 route show table local)"
case $r in *"proto 193"*) fail "someone else's route replaced: $r" ;; esac
ip -n "$ND" -6 route del local fd00:96::/112 dev lo table local
echo "$NAME: someone else's route for the range used and left in place"
pass
