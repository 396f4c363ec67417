#!/bin/bash
# SPDX-License-Identifier: MIT
# The kernel data path in interface mode over IPv6: the daemon's
# namespace holds IPv6 VIPs on its eth0, which a bridge joins to a
# client's namespace and an endpoints' one. The client reaches the VIPs
# by neighbour discovery (nothing but the VIP being on eth0 answers
# it), the daemon translates on prerouting, forwards (it turned IPv6
# forwarding on itself, and logged it) and masquerades, so the
# endpoints' replies come back through it. Both endpoints are reached,
# a UDP service answers, a VIP without endpoints rejects TCP (reset)
# and UDP (ICMPv6 unreachable); route_localnet is left alone; an open
# connection shows as active on its endpoint in /metrics (a conntrack
# dump at each scrape), and no longer once closed, with its bytes
# counted when conntrack accounting is on; a connect refused by an
# endpoint is counted as its connect failure (conntrack's destroy
# event), one that completed is not, and the dump runs on another thread
# than the loop; SIGTERM deletes the table and the VIPs; with IPv4 VIP
# ranges only, conntrack's events of other addresses are never read (a
# socket filter), a refused IPv4 connect still counted; with /proc/sys
# read-only the daemon warns that it cannot turn
# forwarding on, and runs. Needs root.
. "$top_srcdir/tests/integration/proxy_lib.sh"
. "$top_srcdir/tests/integration/kernel_lib.sh"

S=$$
ND=$KNS NC=cip6kc$S NE=cip6ke$S
kbridge "cip6kb$S" 10.234.0 fd00:234 "$ND" "$NC" "$NE"
ip -n "$NE" -6 addr add fd00:234::4/64 dev eth0 nodad
# The daemon must turn forwarding on: the test does not.
ip netns exec "$ND" sysctl -qw net.ipv6.conf.all.forwarding=0
ip netns exec "$ND" sysctl -qw net.ipv4.ip_forward=0
VIP=fd00:234::1a0 VNONE=fd00:234::1a1 VU=fd00:234::1a2
VNU=fd00:234::1a3 VH=fd00:234::1a4 VDEAD=fd00:234::1a5

NSX="ip netns exec $NE"
P=$(free_port) PU=$(free_port udp) PB=$(free_port) PD=$(free_port)
backend http a fd00:234::3 "$P"
backend http b fd00:234::4 "$P"
backend udpecho ua fd00:234::3 "$PU"
backend banner ha fd00:234::4 "$PB"
NSX="ip netns exec $ND"
{
	svc6 web "$VIP" 80 web
	svc6 none "$VNONE" 80 nothing
	svc6 none-udp "$VNU" 53 nothing UDP
	svc6 udp "$VU" 53 u UDP
	svc6 held "$VH" 7 held
	pod6 a "$P" web fd00:234::3
	pod6 b "$P" web fd00:234::4
	pod6 ua "$PU/UDP" u fd00:234::3
	pod6 ha "$PB" held fd00:234::4
	# Ready, but nothing listens on its port: connects are refused.
	svc6 dead "$VDEAD" 80 dead
	pod6 dead "$PD" dead fd00:234::4
} | manifest all.yaml
kstart --vip-interface eth0 --vip-range 10.234.0.128/25 \
    --vip-range fd00:234::100/120 --log-level debug --kernel-conntrack-events
wait_table "$(ep fd00:234::4 $P)"
wait_table "$(ep fd00:234::3 $PU)"
for _ in $(seq 100); do
	ip -n "$ND" -6 addr show dev eth0 | grep -q "inet6 $VH/128" && break
	sleep 0.05
done
for v in "$VIP" "$VU" "$VH"; do
	ip -n "$ND" -6 addr show dev eth0 | grep -q "inet6 $v/128" ||
	    fail "$v not on eth0: $(ip -n "$ND" -6 addr show dev eth0)"
done
[ "$($NSX sysctl -n net.ipv6.conf.all.forwarding)" = 1 ] ||
    fail "IPv6 forwarding not turned on in the daemon's namespace"
grep -q "kernel: net.ipv6.conf.all.forwarding set to 1" "$T/daemon.log" ||
    fail "turning IPv6 forwarding on was not logged"
[ "$($NSX sysctl -n net.ipv4.conf.eth0.route_localnet)" = 0 ] ||
    fail "route_localnet turned on"
echo "kernel6 iface: VIPs on eth0, IPv6 forwarding turned on and logged"

NSX="ip netns exec $NC"
$NSX curl -sS --max-time 10 -o /dev/null "http://[$VIP]/" ||
    fail "the neighbour cannot reach [$VIP]:80"
out=$(khits "http://[$VIP]/" 30 | sort | uniq -c)
echo "$out" | grep -q ' a$' && echo "$out" | grep -q ' b$' ||
    fail "neighbour: both endpoints not reached: $out"
ip -n "$NC" -6 neigh show "$VIP" | grep -q lladdr ||
    fail "the neighbour has no ND entry for $VIP"
echo "kernel6 iface: a neighbour reaches both endpoints by neighbour discovery"

out=$(kclient udp "$VU" 53 "$(free_port udp)")
[ "$out" = "ua:x" ] || fail "neighbour: UDP over [$VU]:53 answered '$out'"
[ "$(kclient refused "$VNONE" 80)" = refused ] ||
    fail "neighbour: no endpoint, TCP not reset"
# ICMPv6 errors are rate-limited by the kernel: retried.
SRC=$(free_port udp)
for _ in 1 2 3 4 5; do
	r=$(kclient udp "$VNU" 53 "$SRC")
	[ "$r" = refused ] && break
	sleep 1
done
[ "$r" = refused ] ||
    fail "neighbour: no endpoint, UDP not refused by ICMPv6: $r"
echo "kernel6 iface: UDP answered; no endpoint: TCP reset, ICMPv6 unreachable"

# scrape SERIES: the value of one series of /metrics (empty if absent).
scrape() {
	ip netns exec "$ND" curl -sS --max-time 5 \
	    "http://127.0.0.1:$APIPORT/metrics" | grep -F "$1 " | sed 's/.* //'
}
# active N: until clusterip_forward_connections_active of endpoint ha
# reads N (a scrape dumps conntrack), 10 s at most.
active() {
	local got=""
	for _ in $(seq 100); do
		got=$(ip netns exec "$ND" curl -sS --max-time 5 \
		    "http://127.0.0.1:$APIPORT/metrics" | grep -E \
		    '^clusterip_forward_connections_active\{service="default/held",endpoint="default/ha"\} ')
		[ "${got##* }" = "$1" ] && return 0
		sleep 0.1
	done
	fail "active connections of ha: '$got', not $1"
}
active 0
# Bytes are read only with conntrack accounting on (not the daemon's
# choice: it is the whole namespace's).
ip netns exec "$ND" sysctl -qw net.netfilter.nf_conntrack_acct=1 ||
    fail "cannot turn conntrack accounting on"
$NSX python3 - "$VH" "$T" <<'PY' &
import os, socket, sys, time
s = socket.create_connection((sys.argv[1], 7), 10)
s.settimeout(60)
f = s.makefile("rb")
if f.readline().strip() != b"ha":
    sys.exit(1)
open(sys.argv[2] + "/held", "w").write("open\n")
while not os.path.exists(sys.argv[2] + "/release"):
    time.sleep(0.05)
s.close()
PY
HP=$!
PIDS="$PIDS $HP"
for _ in $(seq 200); do [ -f "$T/held" ] && break; sleep 0.05; done
[ -f "$T/held" ] || fail "no connection through [$VH]:7"
active 1
[ "$(scrape 'clusterip_service_connections_active{service="default/held"}')" = 1 ] ||
    fail "the open connection is not active on its service"
for dir in to_endpoint to_client; do
	ip netns exec "$ND" curl -sS --max-time 5 \
	    "http://127.0.0.1:$APIPORT/metrics" | grep -Eq \
	    '^clusterip_forward_bytes_total\{service="default/held",endpoint="default/ha",direction="'$dir'"\} [1-9]' ||
	    fail "no bytes $dir counted for ha"
done
touch "$T/release"
wait "$HP" || fail "the held connection failed"
active 0
echo "kernel6 iface: /metrics: an open connection is active on its endpoint, then not; its bytes counted"

# The scrape's dump ran on another thread of the daemon than its loop
# (the main thread, whose id is the daemon's pid): the debug lines of
# the dump and of its hand-over name them.
line=$(grep "kernel: conntrack read: .* on thread " "$T/daemon.log" | tail -1)
wtid=${line##*on thread }
line=$(grep "kernel: conntrack read handed over on thread " "$T/daemon.log" | tail -1)
ltid=${line##*handed over on thread }
ltid=${ltid%%:*}
[ -n "$wtid" ] && [ -n "$ltid" ] || fail "no debug lines of the conntrack read"
[ "$ltid" = "$DPID" ] || fail "hand-over on thread $ltid, not the loop's ($DPID)"
[ "$wtid" != "$ltid" ] || fail "the conntrack dump ran on the loop's thread"
[ -d "/proc/$DPID/task/$wtid" ] || fail "thread $wtid is not the daemon's"
echo "kernel6 iface: /metrics: the conntrack dump ran off the loop (thread $wtid, loop $ltid)"

[ "$(kclient refused "$VDEAD" 80)" = refused ] ||
    fail "a connect to an endpoint with no listener was not refused"
# Counted when its conntrack entry goes (the table's CLOSE timeout).
got=""
for _ in $(seq 300); do
	got=$(scrape 'clusterip_forward_connect_failures_total{service="default/dead",endpoint="default/dead"}')
	[ -n "$got" ] && [ "$got" -ge 1 ] && break
	sleep 0.1
done
[ "$got" = 1 ] || fail "refused connect: connect failures of dead: '$got', not 1"
[ "$(scrape 'clusterip_service_connect_failures_total{service="default/dead"}')" = 1 ] ||
    fail "refused connect not counted for the service"
# The held connection completed its handshake: once its entry is gone,
# still no failure.
if command -v conntrack > /dev/null; then
	for _ in $(seq 300); do
		ip netns exec "$ND" conntrack -L -f ipv6 -d "$VH" 2> /dev/null |
		    grep -q . || break
		sleep 0.1
	done
fi
got=$(scrape 'clusterip_forward_connect_failures_total{service="default/held",endpoint="default/ha"}')
[ "${got:-0}" = 0 ] || fail "a completed connection counted as a failed connect: $got"
echo "kernel6 iface: /metrics: a refused connect counted as a connect failure of its endpoint"

NSX="ip netns exec $ND"
kstop
ip -n "$ND" -6 addr show dev eth0 | grep -q "inet6 $VIP/" &&
    fail "VIP left on eth0"
echo "kernel6 iface: SIGTERM deleted the table and the VIPs"

# IPv4 VIP ranges only: the kernel hands the daemon only the destroy
# events of TCP and UDP entries sent into them (a socket filter). An
# entry to another address leaves conntrack unread; a refused connect to
# a VIP is read and counted.
V4=10.234.0.140
{
	svc dead4 "$V4" 80 dead4
	pod dead4 10.234.0.3 "$PD" dead4
} | manifest all.yaml
kstart --vip-interface eth0 --vip-range 10.234.0.128/25 --log-level debug \
    --kernel-conntrack-events
wait_table "$(ep 10.234.0.3 "$PD")"
grep -q "kernel: conntrack events filtered in the kernel: TCP and UDP to the IPv4 VIP range$" \
    "$T/daemon.log" || fail "IPv4 conntrack events not filtered"
if command -v conntrack > /dev/null; then
	$NSX conntrack -I -p tcp -s 10.234.0.2 -d 10.99.0.5 --sport 1000 \
	    --dport 80 --state ESTABLISHED -t 100 -u SEEN_REPLY,ASSURED \
	    > /dev/null 2>&1 || fail "conntrack -I"
	$NSX conntrack -D -p tcp -d 10.99.0.5 > /dev/null 2>&1 ||
	    fail "conntrack -D"
fi
NSX="ip netns exec $NC"
[ "$(kclient refused "$V4" 80)" = refused ] ||
    fail "IPv4: a connect to an endpoint with no listener was not refused"
NSX="ip netns exec $ND"
got=""
for _ in $(seq 300); do
	got=$(scrape 'clusterip_forward_connect_failures_total{service="default/dead4",endpoint="default/dead4"}')
	[ -n "$got" ] && [ "$got" -ge 1 ] && break
	sleep 0.1
done
[ "$got" = 1 ] || fail "IPv4 refused connect: connect failures: '$got', not 1"
# The last scrape's line: every event read was a translated entry's.
line=$(grep "kernel: conntrack read handed over on thread " "$T/daemon.log" | tail -1)
counts=${line##*so far: }
read -r nread _ ntrans _ <<< "$counts"
[ -n "$ntrans" ] && [ "$ntrans" -ge 1 ] ||
    fail "no translated destroy event read: $counts"
[ "$nread" = "$ntrans" ] ||
    fail "destroy events outside the VIP range were read: $counts"
kstop
echo "kernel6 iface: IPv4 VIP range: only its conntrack events read ($counts)"

# Where /proc/sys is read-only (a container without the sysctl), the
# daemon cannot turn forwarding on: it says so, and runs.
$NSX sysctl -qw net.ipv6.conf.all.forwarding=0
cat > "$T/rosys.sh" <<'SH'
#!/bin/sh
mount --bind /proc/sys /proc/sys &&
    mount -o remount,bind,ro /proc/sys && exec "$@"
SH
chmod +x "$T/rosys.sh"
DAEMON_WRAP="unshare -m $T/rosys.sh" kstart --vip-interface eth0 \
    --vip-range 10.234.0.128/25 --vip-range fd00:234::100/120 --log-level debug
# Without --kernel-conntrack-events no destroy event is subscribed to.
! grep -q "conntrack events" "$T/daemon.log" ||
    fail "conntrack events read without --kernel-conntrack-events"
grep -q "kernel: net.ipv6.conf.all.forwarding is off and cannot be set" \
    "$T/daemon.log" || fail "no warning for a read-only /proc/sys"
[ "$($NSX sysctl -n net.ipv6.conf.all.forwarding)" = 0 ] ||
    fail "forwarding set through a read-only /proc/sys?"
kstop
echo "kernel6 iface: a read-only /proc/sys: forwarding left off, warned"
pass
