#!/bin/bash
# SPDX-License-Identifier: MIT
# The kernel data path in interface mode: the daemon's namespace holds
# the VIPs on its eth0 (a bridge joins it, a client's namespace and an
# endpoints' one), translates what arrives on prerouting, forwards it,
# and masquerades it so the endpoints' replies come back through it (the
# client and the endpoints share the bridge: without that the replies
# would bypass the translation and the test fails). The daemon turned
# forwarding on; both endpoints are reached, affinity pins, a VIP
# without endpoints rejects TCP and UDP from the neighbour, a UDP
# service answers, SIGTERM deletes the table.
# Needs root (else skipped).
. "$top_srcdir/tests/integration/proxy_lib.sh"
. "$top_srcdir/tests/integration/kernel_lib.sh"

S=$$
ND=$KNS NC=cipkc$S NE=cipke$S
kbridge "cipkb$S" 10.232.0 - "$ND" "$NC" "$NE"
ip -n "$NE" addr add 10.232.0.4/24 dev eth0
# The daemon turns forwarding on in its namespace (interface mode).
ip netns exec "$ND" sysctl -qw net.ipv4.ip_forward=0
VIP=10.232.0.200 VAFF=10.232.0.201 VNONE=10.232.0.202 VU=10.232.0.203
VNU=10.232.0.204

NSX="ip netns exec $NE"
P=$(free_port) PU=$(free_port udp)
backend http a 10.232.0.3 "$P"
backend http b 10.232.0.4 "$P"
backend udpecho ua 10.232.0.3 "$PU"
NSX="ip netns exec $ND"
{
	svc web "$VIP" 80 web
	svc aff "$VAFF" 80 web "  sessionAffinity: ClientIP"
	svc none "$VNONE" 80 nothing
	svc none-udp "$VNU" 53 nothing "" "" UDP
	svc udp "$VU" 53 u "" "" UDP
	pod a 10.232.0.3 "$P" web
	pod b 10.232.0.4 "$P" web
	pod ua 10.232.0.3 "$PU" u "" UDP
} | manifest all.yaml
kstart --vip-interface eth0 --vip-range 10.232.0.128/25
wait_table "$(ep 10.232.0.4 $P)"
wait_table "$(ep 10.232.0.3 $PU)"
table | grep -q 'masquerade' || fail "no masquerade in interface mode"
for _ in $(seq 100); do
	ip -n "$ND" -4 addr show dev eth0 | grep -q "inet $VU/32" && break
	sleep 0.05
done
ip -n "$ND" -4 addr show dev eth0 | grep -q "inet $VIP/32" ||
    fail "VIP not on eth0"
[ "$($NSX sysctl -n net.ipv4.ip_forward)" = 1 ] &&
    grep -q "kernel: net.ipv4.ip_forward set to 1" "$T/daemon.log" ||
    fail "IPv4 forwarding not turned on (and logged) by the daemon"

NSX="ip netns exec $NC"
out=$(khits "http://$VIP/" 30 | sort | uniq -c)
echo "$out" | grep -q ' a$' && echo "$out" | grep -q ' b$' ||
    fail "neighbour: both endpoints not reached: $out"
out=$(khits "http://$VAFF/" 12 | sort -u | wc -l)
[ "$out" = 1 ] || fail "neighbour: affinity gave $out endpoints"
echo "kernel iface: a neighbour reaches both endpoints; affinity pins"

out=$($NSX python3 -c '
import socket, sys
s = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
s.settimeout(3)
s.sendto(b"x", (sys.argv[1], int(sys.argv[2])))
print(s.recv(100).decode())' "$VU" 53) || fail "neighbour: no UDP answer"
[ "$out" = "ua:x" ] || fail "neighbour: UDP answer '$out'"
[ "$(kclient refused "$VNONE" 80)" = refused ] ||
    fail "neighbour: no endpoint, TCP not reset"
# ICMP errors to one host are rate-limited by the kernel (1/s): retried.
for _ in 1 2 3 4 5; do
	# The client's own address: a fixed source port from eth0.
	r=$(kclient udp "$VNU" 53 "$PU" 0.0.0.0)
	[ "$r" = refused ] && break
	sleep 1
done
[ "$r" = refused ] ||
    fail "neighbour: no endpoint, UDP not refused by ICMP: $r"
echo "kernel iface: UDP answered; no endpoint: TCP reset, ICMP unreachable"

NSX="ip netns exec $ND"
kstop
ip -n "$ND" -4 addr show dev eth0 | grep -q "inet $VIP/" &&
    fail "VIP left on eth0"
echo "kernel iface: SIGTERM deleted the table and the VIPs"
pass
