#!/bin/bash
# SPDX-License-Identifier: MIT
# Interface mode inside network namespaces: a bridge joins the daemon's
# namespace and a client's; the daemon adds the VIP to its interface
# (--vip-interface), the client reaches it by ARP and gets a reply; a
# Service that goes takes its VIP with it, and on SIGTERM every VIP is
# removed. Needs root (else skipped).
. "$top_srcdir/tests/integration/proxy_lib.sh"

[ "$(id -u)" = 0 ] || skip "needs root"
command -v ip > /dev/null || skip "ip (iproute2) missing"
S=$$
ND=cipd$S NC=cipc$S NB=cipb$S
ip netns add "$NB" 2> /dev/null || skip "cannot create network namespaces"
EXTRA_CLEANUP="ip netns del $ND 2>/dev/null; ip netns del $NC 2>/dev/null; ip netns del $NB 2>/dev/null"
ip netns add "$ND" && ip netns add "$NC" || fail "netns add"
ip -n "$NB" link add br0 type bridge || skip "no bridge support"
ip -n "$NB" link set br0 up
for ns in "$ND" "$NC"; do
	ip -n "$NB" link add "v$ns" type veth peer name eth0 netns "$ns" ||
	    skip "no veth support"
	ip -n "$NB" link set "v$ns" master br0 up
	ip -n "$ns" link set lo up
	ip -n "$ns" link set eth0 up
done
ip -n "$ND" addr add 10.231.0.1/24 dev eth0
ip -n "$NC" addr add 10.231.0.2/24 dev eth0

VIP=10.231.0.200 VIP2=10.231.0.201
NSX="ip netns exec $ND"
PA=$(free_port)
backend http a 127.0.10.1 "$PA"
{
	svc web "$VIP" 80 web
	svc web2 "$VIP2" 80 web
	pod web-a 127.0.10.1 "$PA" web
} | manifest all.yaml
start_daemon --vip-interface eth0 --vip-range 10.231.0.128/25
wait_listen "$VIP" 80
wait_listen "$VIP2" 80
for v in "$VIP" "$VIP2"; do
	ip -n "$ND" -4 addr show dev eth0 | grep -q "inet $v/32" ||
	    fail "VIP $v not on eth0: $(ip -n "$ND" -4 addr show dev eth0)"
done

out=$(ip netns exec "$NC" curl -sS --max-time 5 "http://$VIP/") ||
    fail "client could not reach the VIP"
[ "$out" = a ] || fail "client got '$out'"
ip -n "$NC" neigh show "$VIP" | grep -q lladdr || fail "no ARP entry for the VIP"
echo "netns: client reached $VIP by ARP: $out"

{ svc web "$VIP" 80 web; pod web-a 127.0.10.1 "$PA" web; } | manifest all.yaml
for _ in $(seq 100); do
	ip -n "$ND" -4 addr show dev eth0 | grep -q "inet $VIP2/" || break
	sleep 0.05
done
ip -n "$ND" -4 addr show dev eth0 | grep -q "inet $VIP2/" &&
    fail "VIP of the deleted service still on eth0"
echo "netns: the deleted service's VIP left eth0"

term_daemon
ip -n "$ND" -4 addr show dev eth0 | grep -q "inet $VIP/" &&
    fail "VIP still on eth0 after exit"
echo "netns: VIP removed on exit"
pass
