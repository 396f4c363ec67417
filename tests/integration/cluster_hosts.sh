#!/usr/bin/env bash
# SPDX-License-Identifier: MIT
# cluster_hosts.sh -- three daemons sharing one registry through a real
# etcd, each in a network namespace of its own standing in for a host,
# all on one bridge (namespaces named cetc*): a Service applied through
# host A's API resolves to the same VIP on hosts B and C; a pod
# registered on host B with a TTL becomes an endpoint on A and C, takes
# a connection through the VIP from a client on C, and vanishes
# everywhere when its lease runs out; with etcd down every daemon keeps
# answering and says so in /readyz, and a change made after etcd
# returns reaches everyone.
set -u
. "$top_srcdir/tests/integration/lib.sh"
[ "$(id -u)" = 0 ] || { echo "SKIP: needs root (network namespaces)"; exit 77; }
command -v dig >/dev/null || { echo "SKIP: dig missing"; exit 77; }
. "$top_srcdir/tests/integration/etcd_lib.sh"

P=cetc$$
NETNS=()
cleanup_ns() {
	local n
	for n in "${NETNS[@]}"; do ip netns pids "$n" 2>/dev/null | xargs -r kill 2>/dev/null; done
	lib_cleanup
	for n in "${NETNS[@]}"; do ip netns del "$n" 2>/dev/null; done
}
trap cleanup_ns EXIT

ip netns add ${P}sw && NETNS+=(${P}sw) || fail "netns"
ip -n ${P}sw link add br0 type bridge && ip -n ${P}sw link set br0 up
i=2
for h in e a b c; do
	ip netns add $P$h && NETNS+=($P$h)
	ip -n $P$h link set lo up
	ip link add v$P$h type veth peer name eth0 netns $P$h
	ip link set v$P$h netns ${P}sw
	ip -n ${P}sw link set v$P$h master br0 up
	ip -n $P$h addr add 10.178.0.$i/24 dev eth0
	ip -n $P$h link set eth0 up
	i=$((i + 1))
done

# etcd in its own "host".
E=10.178.0.2
ETCD_URL="http://$E:2379"
ip netns exec ${P}e etcd --name m1 --data-dir "$TEST_TMP/m1" \
    --listen-client-urls "$ETCD_URL" --advertise-client-urls "$ETCD_URL" \
    --listen-peer-urls "http://$E:2380" --initial-advertise-peer-urls "http://$E:2380" \
    --initial-cluster "m1=http://$E:2380" >"$TEST_TMP/etcd.log" 2>&1 &
ETCD_PID=$!
TEST_PIDS+=("$ETCD_PID")
ectl() { ip netns exec ${P}e etcdctl --endpoints "$ETCD_URL" "$@"; }
for ((n = 0; n < 600; n++)); do ectl endpoint health >/dev/null 2>&1 && break; sleep 0.1; done
ectl endpoint health >/dev/null 2>&1 || fail "etcd did not start"

# Host A also serves a manifest file: its Service stays A's.
mkdir -p "$TEST_TMP/man-a"
cat >"$TEST_TMP/man-a/files.yaml" <<'Y'
apiVersion: v1
kind: Service
metadata: {name: filesvc}
spec:
  selector: {app: f}
  ports: [{port: 81}]
Y
declare -A LOG PID
addr() { case $1 in a) echo 10.178.0.3;; b) echo 10.178.0.4;; c) echo 10.178.0.5;; esac; }
for h in a b c; do
	DAEMON_PREFIX=(ip netns exec $P$h)
	start_daemon "$TEST_TMP/$h.log" --dns-listen 127.0.0.1:53 \
	    --api-listen 127.0.0.1:9901 --state-dir "$TEST_TMP/state-$h" \
	    --etcd "$ETCD_URL" --advertise-address "$(addr $h)" \
	    --etcd-lease-ttl 3s --upstream 127.0.0.1:9 \
	    $([ $h = a ] && echo --manifests "$TEST_TMP/man-a")
	LOG[$h]=$DAEMON_LOG PID[$h]=$DAEMON_PID
done
for h in a b c; do wait_log "${LOG[$h]}" 'etcd: read [0-9]+ key' 30; done
DAEMON_LOG=${LOG[a]}

api() { local h=$1; shift; ip netns exec $P$h curl -s -m 10 "$@"; }
digp() { ip netns exec $P$1 dig +short +time=2 +tries=1 @127.0.0.1 -p 53 "$2"; }
# poll_eq H NAME WANT: waits (60 s, a guard) for dig on H to answer WANT.
poll_eq() {
	local n got
	for ((n = 0; n < 300; n++)); do
		got=$(digp "$1" "$2")
		[ "$got" = "$3" ] && return 0
		sleep 0.2
	done
	fail "host $1: $2 answers '$got', not '$3'"
}

# A Service applied on A.
api a -X POST --data-binary @- http://127.0.0.1:9901/v1/apply >"$TEST_TMP/apply.out" <<'Y' || fail "apply on A"
apiVersion: v1
kind: Service
metadata: {name: web}
spec:
  selector: {app: web}
  ports: [{port: 8080, targetPort: 8080}]
Y
grep -q '"created"' "$TEST_TMP/apply.out" || fail "apply: $(cat "$TEST_TMP/apply.out")"
vip=$(digp a web.default.svc.cluster.local)
[ -n "$vip" ] || fail "no VIP on A"
poll_eq b web.default.svc.cluster.local "$vip"
poll_eq c web.default.svc.cluster.local "$vip"
[ "$(ectl get --print-value-only /clusterip/vips/$vip)" = /clusterip/services/default/web ] || fail "VIP not claimed in etcd"
pass "a Service applied on A has VIP $vip on A, B and C"

# Ownership: A's file Service reaches C and cannot be overwritten from B;
# the API's Service can be changed from B and deleted from C.
fvip=$(digp a filesvc.default.svc.cluster.local)
[ -n "$fvip" ] || fail "no VIP for A's file Service"
poll_eq c filesvc.default.svc.cluster.local "$fvip"
code=$(api b -o "$TEST_TMP/own.out" -w '%{http_code}' -X POST --data-binary \
    '{"apiVersion":"v1","kind":"Service","metadata":{"name":"filesvc"},"spec":{"ports":[{"port":82}]}}' \
    http://127.0.0.1:9901/v1/apply)
[ "$code" = 409 ] && grep -q 'etcd (host 10.178.0.3)' "$TEST_TMP/own.out" ||
	fail "overwriting A's file Service from B: $code $(cat "$TEST_TMP/own.out")"
code=$(api b -o "$TEST_TMP/upd.out" -w '%{http_code}' -X POST --data-binary \
    '{"apiVersion":"v1","kind":"Service","metadata":{"name":"web"},"spec":{"selector":{"app":"web"},"ports":[{"name":"h","port":8080,"targetPort":8080},{"name":"x","port":9090}]}}' \
    http://127.0.0.1:9901/v1/apply)
[ "$code" = 200 ] || fail "updating A's API Service from B: $code $(cat "$TEST_TMP/upd.out")"
for ((n = 0; n < 300; n++)); do
	api a http://127.0.0.1:9901/v1/services/default/web | grep -q 9090 && break
	sleep 0.2
done
api a http://127.0.0.1:9901/v1/services/default/web | grep -q 9090 || fail "B's change did not reach A"
[ "$(digp c web.default.svc.cluster.local)" = "$vip" ] || fail "the VIP moved on update"
pass "a file Service stays its host's (409 elsewhere); the API's Service changes from any host"

# A pod registered on B (TTL 4 s), serving on B's address.
ip netns exec ${P}b python3 -c '
import socket
s = socket.socket(); s.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
s.bind(("10.178.0.4", 8080)); s.listen(8)
while True:
    c, _ = s.accept(); c.sendall(b"hello from b\n"); c.close()
' &
TEST_PIDS+=($!)
for ((n = 0; n < 300; n++)); do
	ip netns exec ${P}b python3 -c 'import socket; socket.create_connection(("10.178.0.4", 8080), timeout=2)' 2>/dev/null && break
	sleep 0.1
done
api b -X PUT -d '{"labels":{"app":"web"},"ip":"10.178.0.4","ports":[{"port":8080}],"ttlSeconds":4}' \
    http://127.0.0.1:9901/v1/pods/default/web-b >/dev/null || fail "register on B"
for h in a c; do
	for ((n = 0; n < 300; n++)); do
		api $h http://127.0.0.1:9901/v1/endpoints/default/web | grep -q 10.178.0.4 && break
		sleep 0.2
	done
	api $h http://127.0.0.1:9901/v1/endpoints/default/web | grep -q 10.178.0.4 ||
		fail "host $h: the pod of B is no endpoint"
done
api c http://127.0.0.1:9901/v1/pods/default/web-b | grep -q 'etcd (host 10.178.0.4)' ||
	fail "host C does not name B as the pod's owner"
ip netns exec ${P}c "$top_builddir/client/clusterip" get pods -o wide | grep -Eq '^web-b .* 10\.178\.0\.4 +10\.178\.0\.4 ' ||
	fail "clusterip get pods -o wide on C: $(ip netns exec ${P}c "$top_builddir/client/clusterip" get pods -o wide)"
out=$(ip netns exec ${P}c python3 -c "
import socket; s = socket.create_connection(('$vip', 8080), timeout=10); print(s.recv(100).decode().strip())")
[ "$out" = "hello from b" ] || fail "through the VIP on C: '$out'"
pass "a pod registered on B is an endpoint on A and C and takes traffic from C"

# No heartbeat: the lease runs out on B, and the pod goes everywhere.
for h in a b c; do
	for ((n = 0; n < 300; n++)); do
		api $h http://127.0.0.1:9901/v1/pods/default/web-b | grep -q '"error"' && break
		sleep 0.2
	done
	api $h http://127.0.0.1:9901/v1/pods/default/web-b | grep -q '"error"' ||
		fail "host $h still has web-b after its lease ran out"
done
pass "the pod's lease ran out: gone on A, B and C"

# etcd down: every daemon answers, /readyz says so, once in the log.
kill -9 "$ETCD_PID"; wait "$ETCD_PID" 2>/dev/null
for h in a b c; do
	for ((n = 0; n < 300; n++)); do
		api $h http://127.0.0.1:9901/readyz | grep -q '"etcd": *"unreachable"' && break
		sleep 0.2
	done
	api $h http://127.0.0.1:9901/readyz | grep -q '"etcd": *"unreachable"' ||
		fail "host $h: /readyz does not say etcd is unreachable"
	[ "$(digp $h web.default.svc.cluster.local)" = "$vip" ] || fail "host $h stopped answering"
	[ "$(count_log "${LOG[$h]}" 'etcd: unreachable')" = 1 ] || fail "host $h: not one log line"
	api $h http://127.0.0.1:9901/metrics | grep -q '^clusterip_etcd_up 0' || fail "host $h: metric"
done
pass "etcd down: every host answers and says so in /readyz, the metric and one log line"

# etcd back: a change made on C reaches A and B.
ip netns exec ${P}e etcd --name m1 --data-dir "$TEST_TMP/m1" \
    --listen-client-urls "$ETCD_URL" --advertise-client-urls "$ETCD_URL" \
    --listen-peer-urls "http://$E:2380" --initial-advertise-peer-urls "http://$E:2380" \
    --initial-cluster "m1=http://$E:2380" >>"$TEST_TMP/etcd.log" 2>&1 &
ETCD_PID=$!
TEST_PIDS+=("$ETCD_PID")
for h in a b c; do
	for ((n = 0; n < 600; n++)); do
		[ "$(count_log "${LOG[$h]}" 'etcd: reachable')" -ge 2 ] && break
		sleep 0.1
	done
	[ "$(count_log "${LOG[$h]}" 'etcd: reachable')" -ge 2 ] || fail "host $h: etcd never back"
done
api c -X POST --data-binary '{"apiVersion":"v1","kind":"Service","metadata":{"name":"late"},"spec":{"selector":{"app":"late"},"ports":[{"port":80}]}}' \
    http://127.0.0.1:9901/v1/apply >/dev/null || fail "apply on C"
late=$(digp c late.default.svc.cluster.local)
[ -n "$late" ] || fail "no VIP for late on C"
poll_eq a late.default.svc.cluster.local "$late"
poll_eq b late.default.svc.cluster.local "$late"
pass "after etcd returned, a Service applied on C reached A and B"

# Deleted through B's API: gone on A and C, its VIP key released.
api b -X DELETE http://127.0.0.1:9901/v1/services/default/late >/dev/null || fail "delete on B"
poll_eq a late.default.svc.cluster.local ""
poll_eq c late.default.svc.cluster.local ""
for ((n = 0; n < 300; n++)); do
	[ -z "$(ectl get /clusterip/vips/$late)" ] && break
	sleep 0.2
done
[ -z "$(ectl get /clusterip/vips/$late)" ] || fail "the VIP key of a deleted Service stayed"
pass "a Service deleted on B is gone on A and C and its VIP is free"
