#!/bin/bash
# SPDX-License-Identifier: MIT
# Balancing through the VIP with real curl and real backends: random
# spreads, round-robin alternates exactly, least-connections fills the
# emptier endpoint, ClientIP affinity pins each source address, on every
# port of the service alike.
. "$top_srcdir/tests/integration/proxy_lib.sh"

P1=$(free_port) P2=$(free_port) B1=$(free_port) B2=$(free_port)
Q1=$(free_port) Q2=$(free_port)
VR=$(rand_vip) VRR=$(rand_vip) VLC=$(rand_vip) VAF=$(rand_vip) VA2=$(rand_vip)
VA3=$(rand_vip)
backend http a 127.0.10.11 "$P1"
backend http b 127.0.10.12 "$P2"
backend banner a 127.0.10.11 "$B1"
backend banner b 127.0.10.12 "$B2"
backend http a 127.0.10.11 "$Q1"
backend http b 127.0.10.12 "$Q2"
# twoport NAME VIP APP A_PORTS B_PORTS: a ClientIP service with ports
# 80 and 81 to named ports p and q, and pods NAME-a, NAME-b with the given
# port lists.
twoport() {
	cat <<Y
apiVersion: v1
kind: Service
metadata: {name: $1, namespace: default}
spec:
  selector: {app: $3}
  clusterIP: $2
  sessionAffinity: ClientIP
  ports:
  - {name: p, port: 80, targetPort: p}
  - {name: q, port: 81, targetPort: q}
---
apiVersion: v1
kind: Pod
metadata: {name: $1-a, labels: {app: $3}}
spec: {containers: [{ports: [$4]}]}
status: {podIP: 127.0.10.11}
---
apiVersion: v1
kind: Pod
metadata: {name: $1-b, labels: {app: $3}}
spec: {containers: [{ports: [$5]}]}
status: {podIP: 127.0.10.12}
---
Y
}
{
	svc rnd "$VR" 80 web "" random
	svc rr "$VRR" 80 web "" round-robin
	svc lc "$VLC" 7000 held "" least-connections
	svc aff "$VAF" 80 web "  sessionAffinity: ClientIP
  sessionAffinityConfig: {clientIP: {timeoutSeconds: 60}}"
	pod web-a 127.0.10.11 "$P1" web
	pod web-b 127.0.10.12 "$P2" web
	pod held-a 127.0.10.11 "$B1" held
	pod held-b 127.0.10.12 "$B2" held
	twoport aff2 "$VA2" two "{name: p, containerPort: $P1}, {name: q, containerPort: $Q1}" \
	    "{name: p, containerPort: $P2}, {name: q, containerPort: $Q2}"
	# aff3-a serves port 80 only.
	twoport aff3 "$VA3" three "{name: p, containerPort: $P1}" \
	    "{name: p, containerPort: $P2}, {name: q, containerPort: $Q2}"
} | manifest all.yaml
start_daemon
for v in "$VR:80" "$VRR:80" "$VLC:7000" "$VAF:80" "$VA2:80" "$VA2:81" \
    "$VA3:80" "$VA3:81"; do
	wait_listen "${v%:*}" "${v#*:}"
done

# random: 200 new connections, each endpoint at least 30 %.
out=$(hits "http://$VR/" 200) || fail "random: a request failed"
na=$(echo "$out" | grep -c '^a$') nb=$(echo "$out" | grep -c '^b$')
[ $((na + nb)) -eq 200 ] || fail "random: $na + $nb replies, not 200"
[ "$na" -ge 60 ] && [ "$nb" -ge 60 ] || fail "random: a=$na b=$nb"
echo "random: a=$na b=$nb"

# round-robin: strictly alternating.
out=$(hits "http://$VRR/" 20 | tr -d '\n') || fail "round-robin: a request failed"
case "$out" in
abababababababababab|babababababababababa) ;;
*) fail "round-robin order: $out" ;;
esac
echo "round-robin: $out"

# least-connections: with held connections, new ones go to the emptier.
python3 - "$VLC" 7000 "http://127.0.0.1:$APIPORT/metrics" <<'PY' || fail "least-connections"
import socket, sys, time, urllib.request
vip, port, metrics = sys.argv[1], int(sys.argv[2]), sys.argv[3]
def settle(want):
    # A connection ends when both sides have closed: wait for the gauge.
    key = 'clusterip_forward_connections_active{service="default/lc",endpoint="default/held-a"} '
    for _ in range(100):
        for line in urllib.request.urlopen(metrics).read().decode().splitlines():
            if line.startswith(key) and int(line.split()[-1]) == want:
                return
        time.sleep(0.02)
    raise SystemExit("held-a never reached %d open connections" % want)
def conn():
    s = socket.create_connection((vip, port), 2)
    s.settimeout(2)
    name = s.makefile("rb").readline().strip().decode()
    return s, name
held = [conn() for _ in range(4)]
names = sorted(n for _, n in held)
assert names == ["a", "a", "b", "b"], names
# Close both of a's: the next two must both go to a.
for s, n in held:
    if n == "a":
        s.close()
settle(0)
new = [conn() for _ in range(2)]
assert [n for _, n in new] == ["a", "a"], [n for _, n in new]
# Now a has 2, b has 2; hold 2 more on b's side by closing a's again.
for s, n in new:
    s.close()
settle(0)
third = [conn() for _ in range(3)]
got = sorted(n for _, n in third)
# a at 0 and b at 2: a, a, then a tie -> either.
assert got[:2] == ["a", "a"], got
print("least-connections:", names, [n for _, n in new], got)
PY

# ClientIP affinity: each source address sticks to one endpoint.
for src in 127.0.0.21 127.0.0.22 127.0.0.23; do
	out=$(for _ in $(seq 12); do
		curl -sS --max-time 5 --interface "$src" "http://$VAF/" || echo ERR
	done | sort | uniq -c)
	[ "$(echo "$out" | wc -l)" -eq 1 ] || fail "affinity from $src: $out"
	echo "$out" | grep -q ERR && fail "affinity from $src: errors"
	echo "affinity $src: $(echo $out)"
done

# Affinity is the service's, not a port's: a client pinned through port
# 80 reaches the same endpoint through port 81 (and back). Eight clients:
# pins kept per port would agree for all of them once in 256 runs.
seen=""
for i in $(seq 31 38); do
	src=127.0.0.$i
	out=$(for port in 80 81 81 80 81 80; do
		curl -sS --max-time 5 --interface "$src" "http://$VA2:$port/" || echo ERR
	done | sort | uniq -c)
	[ "$(echo "$out" | wc -l)" -eq 1 ] || fail "affinity across ports from $src: $out"
	echo "$out" | grep -q ERR && fail "affinity across ports from $src: errors"
	seen="$seen $(echo "$out" | awk '{print $2}')"
done
echo "affinity across ports 80 and 81, per client:$seen"

# A client pinned to an endpoint without the port it asks for is served
# by another, and its pin stays: port 80 keeps its endpoint.
seen=""
for i in $(seq 41 48); do
	src=127.0.0.$i
	out=$(for port in 80 81 80 81 80; do
		echo "$port $(curl -sS --max-time 5 --interface "$src" "http://$VA3:$port/" || echo ERR)"
	done)
	echo "$out" | grep -q ERR && fail "port without endpoint from $src: $out"
	echo "$out" | grep -q '^81 a$' && fail "port 81 reached aff3-a from $src"
	[ "$(echo "$out" | awk '$1 == 80 {print $2}' | sort -u | wc -l)" -eq 1 ] ||
	    fail "port 80 pin moved by port 81 from $src: $(echo $out)"
	seen="$seen $(echo "$out" | awk '$1 == 80 {print $2; exit}')"
done
echo "affinity kept past a port one endpoint lacks, per client:$seen"
pass
