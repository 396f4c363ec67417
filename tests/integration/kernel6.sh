#!/bin/bash
# SPDX-License-Identifier: MIT
# The kernel data path over IPv6, in a network namespace of its own: the
# VIPs of a dual-stack Service in --proxy-mode nftables are both served
# by the kernel (nothing listens on [VIP6]); [VIP6] reaches the IPv6
# endpoints only and VIP4 the IPv4 ones only; ClientIP affinity keyed by
# the IPv6 client; a family without endpoints is rejected (a TCP reset
# on [VIP6]) while VIP4 serves; a UDP flow over IPv6 moves at once when
# its endpoint leaves (its conntrack entry deleted); IPv6 connections
# are counted; SIGTERM deletes the table. Needs root (else skipped).
. "$top_srcdir/tests/integration/proxy_lib.sh"
. "$top_srcdir/tests/integration/kernel_lib.sh"

addrconfig "$KNS"
for a in fd00:90::1 fd00:90::2; do
	ip -n "$KNS" -6 addr add "$a/128" dev lo nodad || fail "addr $a"
done

VIP4=127.96.9.10 VIP6=fd00:96::10 STICKY6=fd00:96::11
ONLY4=127.96.9.12 ONLY6=fd00:96::12 UDP6=fd00:96::13
P=$(free_port) U=$(free_port udp)
backend http a-v4 127.0.10.1 "$P"
backend http a-v6 fd00:90::1 "$P"
backend http b-v4 127.0.10.2 "$P"
backend http b-v6 fd00:90::2 "$P"
backend udpecho ua fd00:90::1 "$U"
backend udpecho ub fd00:90::2 "$U"

all() {
	dual web "$VIP4" "$VIP6" web
	dual sticky 127.96.9.11 "$STICKY6" web "  sessionAffinity: ClientIP"
	dual only4 "$ONLY4" "$ONLY6" only4
	pod6 a "$P" web 127.0.10.1 fd00:90::1
	pod6 b "$P" web 127.0.10.2 fd00:90::2
	pod6 e "$P" only4 127.0.10.1
	svc6 echo "$UDP6" 5353 echo UDP
	pod6 ua "$U/UDP" echo fd00:90::1
	[ "${1:-}" = ua-only ] || pod6 ub "$U/UDP" echo fd00:90::2
}
all | manifest all.yaml
kstart --vip-range 127.96.0.0/16 --vip-range fd00:96::/112 --log-level debug
wait_table "$(ep fd00:90::2 $P)"
wait_table "$(ep fd00:90::2 $U)"
wait_table "$(ep 127.0.10.2 $P)"
$NSX ss -Hltn "src [$VIP6]" | grep -q . && fail "a listener on [$VIP6]"
$NSX ss -Hltn "src $VIP4" | grep -q . && fail "a listener on $VIP4"
$NSX ss -Hlun "src [$UDP6]" | grep -q . && fail "a listener on [$UDP6]"
echo "kernel6: both VIPs served by rules, nothing listens"

got6=$(khits "http://[$VIP6]/" 24 | sort -u | tr '\n' ' ')
[ "$got6" = "a-v6 b-v6 " ] || fail "over [$VIP6]:80 got: '$got6'"
got4=$(khits "http://$VIP4/" 24 | sort -u | tr '\n' ' ')
[ "$got4" = "a-v4 b-v4 " ] || fail "over $VIP4:80 got: '$got4'"
echo "kernel6: [VIP6] reaches the IPv6 endpoints, VIP4 the IPv4 ones"

got=$(khits "http://[$STICKY6]/" 12 | sort -u | wc -l)
[ "$got" = 1 ] || fail "ClientIP affinity over IPv6: $got endpoints for one client"
table | grep -A2 'set aff6-' | grep -q 'type ipv6_addr' ||
    fail "no IPv6 affinity set"
echo "kernel6: ClientIP affinity keyed by the IPv6 client"

# Refused (a reset), not timed out: the reject rule answered.
out=$($NSX python3 -c '
import socket, sys
try:
    socket.create_connection((sys.argv[1], 80), 5)
    print("connected")
except ConnectionRefusedError:
    print("refused")
except OSError as e:
    print("error", e)
' "$ONLY6")
[ "$out" = refused ] || fail "[$ONLY6] not refused at once: $out"
[ "$($NSX curl -sS --max-time 10 "http://$ONLY4/")" = a-v4 ] ||
    fail "the IPv4 VIP of a service without IPv6 endpoints"
echo "kernel6: no IPv6 endpoint: [VIP6] reset, VIP4 served"

# udp6 SRCPORT: one datagram to [UDP6]:5353 from a fixed source port.
udp6() {
	$NSX python3 - "$UDP6" "$1" <<'PY'
import socket, sys
s = socket.socket(socket.AF_INET6, socket.SOCK_DGRAM)
s.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
s.bind(("::", int(sys.argv[2])))
s.connect((sys.argv[1], 5353))
s.settimeout(2)
try:
    s.send(b"x")
    print(s.recv(100).decode())
except OSError as e:
    print("error", e)
PY
}
for _ in $(seq 20); do
	SRC=$(free_port udp)
	r=$(udp6 "$SRC")
	[ "$r" = "ub:x" ] && break
done
[ "$r" = "ub:x" ] || fail "no IPv6 UDP flow reached ub: $r"
all ua-only | manifest all.yaml
wait_table "$(ep fd00:90::2 $U)" absent
r=$(udp6 "$SRC")
[ "$r" = "ua:x" ] || fail "the IPv6 UDP flow did not move to ua: $r"
echo "kernel6: drain: the IPv6 UDP flow moved at once (conntrack entry deleted)"

table | grep -Eq "counter packets [1-9][0-9]* .*dnat ip6 to \[fd00:90::1\]:$P|fd00:90::1 \. $P counter packets [1-9]" ||
    fail "no IPv6 connection counted"
echo "kernel6: IPv6 connections counted per endpoint"

kstop
echo "kernel6: SIGTERM deleted the table"
pass
