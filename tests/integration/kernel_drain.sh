#!/bin/bash
# SPDX-License-Identifier: MIT
# The kernel data path's connections outlive changes and the daemon
# itself: an established TCP connection to an endpoint that leaves keeps
# working while new ones go elsewhere; a UDP flow moves at once (its
# conntrack entry deleted); a transfer in flight survives SIGKILL and a
# restart of the daemon. Needs root (else skipped).
. "$top_srcdir/tests/integration/proxy_lib.sh"
. "$top_srcdir/tests/integration/kernel_lib.sh"

VIP=127.96.8.10 VU=127.96.8.11 VS=127.96.8.12
PA=$(free_port) PB=$(free_port) PS=$(free_port)
UA=$(free_port udp) UB=$(free_port udp) SRC=$(free_port udp)
backend banner a 127.0.10.1 "$PA"
backend banner b 127.0.10.2 "$PB"
backend udpecho ua 127.0.10.1 "$UA"
backend udpecho ub 127.0.10.2 "$UB"
backend stream s 127.0.10.3 "$PS"
upod() {
	cat <<Y
apiVersion: v1
kind: Pod
metadata: {name: $1, labels: {app: u}}
spec: {containers: [{ports: [{name: p, containerPort: $3, protocol: UDP}]}]}
status: {podIP: $2}
---
Y
}
both() {
	svc tcp "$VIP" 80 t
	svc udp "$VU" 53 u "" "" UDP
	svc stream "$VS" 80 s
	pod s 127.0.10.3 "$PS" s
	pod a 127.0.10.1 "$PA" t
	upod ua 127.0.10.1 "$UA"
	[ "${1:-}" = a-only ] && return
	pod b 127.0.10.2 "$PB" t
	upod ub 127.0.10.2 "$UB"
}
both | manifest all.yaml
kstart --log-level debug
wait_table "$(ep 127.0.10.2 $UB)"
wait_table "$(ep 127.0.10.2 $PB)"

# A long-lived TCP connection that ends on b, and a UDP flow on ub.
mkfifo "$T/in"
for _ in $(seq 40); do
	exec 3<> "$T/in"
	$NSX python3 -c '
import socket, sys
s = socket.create_connection((sys.argv[1], 80), 5)
f = s.makefile("rwb", 0)
print(f.readline().decode().strip(), flush=True)
for line in sys.stdin:
    f.write(line.encode())
    print(f.readline().decode().strip(), flush=True)
' "$VIP" < "$T/in" > "$T/conn.out" 2>&1 &
	CPID=$!
	PIDS="$PIDS $CPID"
	for _ in $(seq 100); do [ -s "$T/conn.out" ] && break; sleep 0.05; done
	[ "$(head -1 "$T/conn.out")" = b ] && break
	exec 3>&-
	kill $CPID 2>/dev/null
	wait $CPID 2>/dev/null
	: > "$T/conn.out"
done
[ "$(head -1 "$T/conn.out")" = b ] || fail "no connection reached b in 40 tries"
for _ in $(seq 20); do
	r=$(kclient udp "$VU" 53 "$SRC")
	[ "$r" = "ub:x" ] && break
	# Another source port: another conntrack entry, another choice.
	SRC=$(free_port udp)
done
[ "$r" = "ub:x" ] || fail "no UDP flow reached ub: $r"

# b and ub leave.
both a-only | manifest all.yaml
wait_table "$(ep 127.0.10.2 $PB)" absent
wait_table "$(ep 127.0.10.2 $UB)" absent
# Endpoint changes of services without affinity or round-robin are
# element changes only: a netlink batch, not libnftables.
grep -q 'in one transaction (netlink batch: ' "$T/daemon.log" ||
    fail "the endpoint change was not a netlink batch: $(grep 'in one transaction' "$T/daemon.log")"
echo ping >&3
for _ in $(seq 100); do grep -q 'b:ping' "$T/conn.out" && break; sleep 0.05; done
grep -q 'b:ping' "$T/conn.out" ||
    fail "the established connection to b died: $(cat "$T/conn.out")"
out=$(for _ in 1 2 3 4 5 6; do
	$NSX python3 -c 'import socket,sys; s=socket.create_connection((sys.argv[1],80),5); print(s.makefile().readline().strip())' "$VIP"
done | sort -u | tr -d '\n')
[ "$out" = a ] || fail "new connections still reach b: $out"
echo "kernel: drain: the connection to b lives on, new ones go to a"
r=$(kclient udp "$VU" 53 "$SRC")
[ "$r" = "ua:x" ] || fail "the UDP flow did not move to ua: $r"
echo "kernel: drain: the UDP flow moved at once (conntrack entry deleted)"
exec 3>&-

# A transfer in flight while the daemon is killed and started again.
$NSX python3 "$T/client.py" slowread "$VS" 80 "$T/started" > "$T/bytes" &
RPID=$!
PIDS="$PIDS $RPID"
for _ in $(seq 100); do [ -s "$T/started" ] && break; sleep 0.05; done
kill -KILL "$DPID"
wait "$DPID" 2>/dev/null
DPID=""
table | grep -Eq "$(ep 127.0.10.3 $PS)" || fail "table gone with SIGKILL"
mv "$T/daemon.log" "$T/daemon.log.1"
kstart
wait_table "$(ep 127.0.10.3 $PS)"
kill -0 "$RPID" 2>/dev/null || fail "the transfer ended before the restart"
wait "$RPID" || fail "the transfer failed across the restart"
[ "$(cat "$T/bytes")" = 8388608 ] ||
    fail "the transfer across the restart got $(cat "$T/bytes") bytes"
echo "kernel: a transfer in flight survived SIGKILL and a restart"
pass
