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
. "$top_srcdir/tests/integration/cluster_lib.sh"

cl_net a b c
cl_etcd m1

# Host A also serves a manifest file: its Service stays A's.
cl_manifest a <<'Y'
apiVersion: v1
kind: Service
metadata: {name: filesvc}
spec:
  selector: {app: f}
  ports: [{port: 81}]
Y
for h in a b c; do
	cl_daemon $h --etcd-lease-ttl 3s \
	    $([ $h = a ] && echo --manifests "$TEST_TMP/man-a")
done
DAEMON_LOG=${CL_LOG[a]}

# A Service applied on A.
cl_api a -X POST --data-binary @- http://127.0.0.1:9901/v1/apply >"$TEST_TMP/apply.out" <<'Y' || fail "apply on A"
apiVersion: v1
kind: Service
metadata: {name: web}
spec:
  selector: {app: web}
  ports: [{port: 8080, targetPort: 8080}]
Y
grep -q '"created"' "$TEST_TMP/apply.out" || fail "apply: $(cat "$TEST_TMP/apply.out")"
vip=$(cl_dig a web.default.svc.cluster.local)
[ -n "$vip" ] || fail "no VIP on A"
cl_poll_dig b web.default.svc.cluster.local "$vip"
cl_poll_dig c web.default.svc.cluster.local "$vip"
[ "$(cl_ectl get --print-value-only /clusterip/vips/$vip)" = /clusterip/services/default/web ] || fail "VIP not claimed in etcd"
pass "a Service applied on A has VIP $vip on A, B and C"

# Ownership: A's file Service reaches C and cannot be overwritten from B;
# the API's Service can be changed from B and deleted from C.
fvip=$(cl_dig a filesvc.default.svc.cluster.local)
[ -n "$fvip" ] || fail "no VIP for A's file Service"
cl_poll_dig c filesvc.default.svc.cluster.local "$fvip"
code=$(cl_api b -o "$TEST_TMP/own.out" -w '%{http_code}' -X POST --data-binary \
    '{"apiVersion":"v1","kind":"Service","metadata":{"name":"filesvc"},"spec":{"ports":[{"port":82}]}}' \
    http://127.0.0.1:9901/v1/apply)
[ "$code" = 409 ] && grep -q 'etcd (host 10.178.0.3)' "$TEST_TMP/own.out" ||
	fail "overwriting A's file Service from B: $code $(cat "$TEST_TMP/own.out")"
code=$(cl_api b -o "$TEST_TMP/upd.out" -w '%{http_code}' -X POST --data-binary \
    '{"apiVersion":"v1","kind":"Service","metadata":{"name":"web"},"spec":{"selector":{"app":"web"},"ports":[{"name":"h","port":8080,"targetPort":8080},{"name":"x","port":9090}]}}' \
    http://127.0.0.1:9901/v1/apply)
[ "$code" = 200 ] || fail "updating A's API Service from B: $code $(cat "$TEST_TMP/upd.out")"
for ((n = 0; n < 300; n++)); do
	cl_api a http://127.0.0.1:9901/v1/services/default/web | grep -q 9090 && break
	sleep 0.2
done
cl_api a http://127.0.0.1:9901/v1/services/default/web | grep -q 9090 || fail "B's change did not reach A"
[ "$(cl_dig c web.default.svc.cluster.local)" = "$vip" ] || fail "the VIP moved on update"
pass "a file Service stays its host's (409 elsewhere); the API's Service changes from any host"

# A pod registered on B (TTL 4 s), serving on B's address.
cl_greeter b 10.178.0.4 8080 "hello from b"
cl_api b -X PUT -d '{"labels":{"app":"web"},"ip":"10.178.0.4","ports":[{"port":8080}],"ttlSeconds":4}' \
    http://127.0.0.1:9901/v1/pods/default/web-b >/dev/null || fail "register on B"
for h in a c; do
	for ((n = 0; n < 300; n++)); do
		cl_api $h http://127.0.0.1:9901/v1/endpoints/default/web | grep -q 10.178.0.4 && break
		sleep 0.2
	done
	cl_api $h http://127.0.0.1:9901/v1/endpoints/default/web | grep -q 10.178.0.4 ||
		fail "host $h: the pod of B is no endpoint"
done
cl_api c http://127.0.0.1:9901/v1/pods/default/web-b | grep -q 'etcd (host 10.178.0.4)' ||
	fail "host C does not name B as the pod's owner"
ip netns exec ${CL_P}c "$top_builddir/client/clusterip" get pods -o wide | grep -Eq '^web-b .* 10\.178\.0\.4 +10\.178\.0\.4 ' ||
	fail "clusterip get pods -o wide on C: $(ip netns exec ${CL_P}c "$top_builddir/client/clusterip" get pods -o wide)"
cl_greeting c "$vip" 8080 "hello from b" || fail "through the VIP on C: '$CL_GOT'"
pass "a pod registered on B is an endpoint on A and C and takes traffic from C"

# No heartbeat: the lease runs out on B, and the pod goes everywhere.
for h in a b c; do
	for ((n = 0; n < 300; n++)); do
		cl_api $h http://127.0.0.1:9901/v1/pods/default/web-b | grep -q '"error"' && break
		sleep 0.2
	done
	cl_api $h http://127.0.0.1:9901/v1/pods/default/web-b | grep -q '"error"' ||
		fail "host $h still has web-b after its lease ran out"
done
pass "the pod's lease ran out: gone on A, B and C"

# etcd down: every daemon answers, /readyz says so, once in the log.
cl_member_kill m1
for h in a b c; do
	for ((n = 0; n < 300; n++)); do
		cl_api $h http://127.0.0.1:9901/readyz | grep -q '"etcd": *"unreachable"' && break
		sleep 0.2
	done
	cl_api $h http://127.0.0.1:9901/readyz | grep -q '"etcd": *"unreachable"' ||
		fail "host $h: /readyz does not say etcd is unreachable"
	[ "$(cl_dig $h web.default.svc.cluster.local)" = "$vip" ] || fail "host $h stopped answering"
	[ "$(count_log "${CL_LOG[$h]}" 'etcd: unreachable')" = 1 ] || fail "host $h: not one log line"
	cl_api $h http://127.0.0.1:9901/metrics | grep -q '^clusterip_etcd_up 0' || fail "host $h: metric"
done
pass "etcd down: every host answers and says so in /readyz, the metric and one log line"

# etcd back: a change made on C reaches A and B.
cl_member_start m1 m1
for h in a b c; do
	for ((n = 0; n < 600; n++)); do
		[ "$(count_log "${CL_LOG[$h]}" 'etcd: reachable')" -ge 2 ] && break
		sleep 0.1
	done
	[ "$(count_log "${CL_LOG[$h]}" 'etcd: reachable')" -ge 2 ] || fail "host $h: etcd never back"
done
cl_api c -X POST --data-binary '{"apiVersion":"v1","kind":"Service","metadata":{"name":"late"},"spec":{"selector":{"app":"late"},"ports":[{"port":80}]}}' \
    http://127.0.0.1:9901/v1/apply >/dev/null || fail "apply on C"
late=$(cl_dig c late.default.svc.cluster.local)
[ -n "$late" ] || fail "no VIP for late on C"
cl_poll_dig a late.default.svc.cluster.local "$late"
cl_poll_dig b late.default.svc.cluster.local "$late"
pass "after etcd returned, a Service applied on C reached A and B"

# Deleted through B's API: gone on A and C, its VIP key released.
cl_api b -X DELETE http://127.0.0.1:9901/v1/services/default/late >/dev/null || fail "delete on B"
cl_poll_dig a late.default.svc.cluster.local ""
cl_poll_dig c late.default.svc.cluster.local ""
for ((n = 0; n < 300; n++)); do
	[ -z "$(cl_ectl get /clusterip/vips/$late)" ] && break
	sleep 0.2
done
[ -z "$(cl_ectl get /clusterip/vips/$late)" ] || fail "the VIP key of a deleted Service stayed"
pass "a Service deleted on B is gone on A and C and its VIP is free"
