#!/bin/bash
# SPDX-License-Identifier: MIT
# fwd6_netif.sh -- interface mode with IPv6, across network namespaces of
# the test's own joined by a veth pair: clusteripd adds a dual-stack
# service's IPv6 VIP as a /128 without duplicate address detection,
# announces it by an unsolicited neighbour advertisement that the
# neighbour learns the VIP's link-layer address from, the neighbour
# reaches [VIP6]:80 (again after forgetting it, by neighbour discovery)
# and VIP4:80, each reaching the endpoint of its family; SIGTERM removes
# the addresses. Needs root.
. "$top_srcdir/tests/integration/proxy_lib.sh"

[ "$(id -u)" = 0 ] || skip "needs root"
command -v ip > /dev/null || skip "ip (iproute2) missing"
NA=cip6na$$ NB=cip6nb$$
ip netns add "$NA" 2> /dev/null || skip "cannot create network namespaces"
EXTRA_CLEANUP="ip netns del $NA 2>/dev/null; ip netns del $NB 2>/dev/null"
ip netns add "$NB" || fail "netns add"
ip -n "$NA" link add veth-x type veth peer name veth-y netns "$NB" ||
    skip "no veth support"
for ns in "$NA" "$NB"; do ip -n "$ns" link set lo up; done
ip -n "$NA" link set veth-x up
ip -n "$NB" link set veth-y up
ip -n "$NA" addr add 10.252.1.1/24 dev veth-x
ip -n "$NA" -6 addr add fd00:252::1/64 dev veth-x nodad
ip -n "$NB" addr add 10.252.1.2/16 dev veth-y
ip -n "$NB" -6 addr add fd00:252::2/64 dev veth-y nodad
# The VIP range is on the link: the neighbour resolves its addresses by ND.
ip -n "$NB" -6 route add fd00:250::/112 dev veth-y
# ... and, like arp_accept for IPv4, learns from unsolicited advertisements
# (RFC 9131: Linux does so on a forwarding interface, as a router would).
ip netns exec "$NB" sysctl -qw net.ipv6.conf.veth-y.accept_untracked_na=1 ||
    skip "no accept_untracked_na (kernel before 5.18)"
ip netns exec "$NB" sysctl -qw net.ipv6.conf.veth-y.forwarding=1 ||
    fail "cannot set forwarding on veth-y"
MAC_X=$(ip netns exec "$NA" cat /sys/class/net/veth-x/address)

NSX="ip netns exec $NA"
VIP4=10.252.0.20 VIP6=fd00:250::20
P=$(free_port)
backend http a-v4 127.0.10.1 "$P"
backend http a-v6 fd00:252::1 "$P"
cat <<Y | manifest web.yaml
apiVersion: v1
kind: Service
metadata: {name: web}
spec:
  selector: {app: web}
  ipFamilyPolicy: RequireDualStack
  clusterIPs: [$VIP4, "$VIP6"]
  ports: [{name: p, port: 80, targetPort: p}]
---
apiVersion: v1
kind: Pod
metadata: {name: a, labels: {app: web}}
spec:
  containers:
  - ports: [{name: p, containerPort: $P}]
status: {podIPs: [{ip: 127.0.10.1}, {ip: "fd00:252::1"}]}
Y
start_daemon --vip-interface veth-x --vip-range 10.252.0.0/24 \
    --vip-range fd00:250::/112 --log-level debug

on_x6() { ip -n "$NA" -6 -o addr show dev veth-x | grep "inet6 $VIP6/128"; }
for _ in $(seq 100); do on_x6 > /dev/null && break; sleep 0.05; done
out=$(on_x6) || fail "$VIP6/128 not on veth-x: $(ip -n "$NA" -6 addr show dev veth-x)"
echo "$out" | grep -q nodad || fail "$VIP6 added with DAD: $out"
echo "$out" | grep -q tentative && fail "$VIP6 tentative: $out"
ip -n "$NA" -6 route show table local | grep -q "fd00:250::/112" &&
    fail "interface mode routed the whole range to lo"
echo "$NAME: $VIP6/128 on veth-x without DAD"

ok=0
for _ in $(seq 100); do
	ip -n "$NB" -6 neigh show "$VIP6" dev veth-y | grep -qi "lladdr $MAC_X" && { ok=1; break; }
	sleep 0.05
done
[ $ok = 1 ] || fail "no advertisement for $VIP6 reached veth-y: $(ip -n "$NB" -6 neigh show dev veth-y)"
grep -q "announced $VIP6 on veth-x" "$T/daemon.log" || fail "no announcement logged"
echo "$NAME: unsolicited NA: the neighbour maps $VIP6 to veth-x's $MAC_X"

out=$(ip netns exec "$NB" curl -sS --max-time 10 "http://[$VIP6]/") ||
    fail "the neighbour could not reach [$VIP6]:80"
[ "$out" = a-v6 ] || fail "over [$VIP6]:80 the neighbour got '$out'"
ip -n "$NB" -6 neigh flush dev veth-y
out=$(ip netns exec "$NB" curl -sS --max-time 10 "http://[$VIP6]/") ||
    fail "the neighbour could not reach [$VIP6]:80 by neighbour discovery"
[ "$out" = a-v6 ] || fail "after ND the neighbour got '$out'"
out=$(ip netns exec "$NB" curl -sS --max-time 10 "http://$VIP4/") ||
    fail "the neighbour could not reach $VIP4:80"
[ "$out" = a-v4 ] || fail "over $VIP4:80 the neighbour got '$out'"
echo "$NAME: the neighbour reaches [$VIP6]:80 (a-v6, by ND too) and $VIP4:80 (a-v4)"

term_daemon
on_x6 > /dev/null && fail "$VIP6 left on veth-x after SIGTERM"
ip -n "$NA" -4 -o addr show dev veth-x | grep -q "$VIP4/32" &&
    fail "$VIP4 left on veth-x after SIGTERM"
ip -n "$NA" -6 -o addr show dev veth-x | grep -q "fd00:252::1/64" ||
    fail "the interface's own IPv6 address was removed"
echo "$NAME: SIGTERM removed both VIPs, kept the interface's addresses"
pass
