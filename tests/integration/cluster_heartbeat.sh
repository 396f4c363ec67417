#!/usr/bin/env bash
# SPDX-License-Identifier: MIT
# cluster_heartbeat.sh -- a heartbeat to any host renews a pod's lease:
# three daemons (hosts a, b, c) on a real etcd. A pod registered on B
# with ttlSeconds 10 gets its heartbeats on C only: C renews the pod's
# own lease in etcd (200 with the time left), and the pod stays on A, B
# and C for well past its TTL (B's own timer asks etcd before removing
# it). Once the heartbeats stop it vanishes from every host, etcd
# included, and a heartbeat to C then gets 404.
set -u
. "$top_srcdir/tests/integration/lib.sh"
. "$top_srcdir/tests/integration/cluster_lib.sh"

cl_net a b c
cl_etcd m1
for h in a b c; do cl_daemon $h --etcd-lease-ttl 300s; done

pk=/clusterip/hosts/$(cl_addr b)/pods/default/roamer
cl_api b -X PUT -d '{"labels":{"app":"r"},"ip":"10.178.0.4","ports":[{"port":80}],"ttlSeconds":10}' \
    http://127.0.0.1:9901/v1/pods/default/roamer >/dev/null || fail "register on B"
for h in a c; do cl_poll_api $h /v1/pods/default/roamer '"name": *"roamer"'; done

# heartbeat_c: POST .../heartbeat on C; prints the HTTP code.
heartbeat_c() {
	cl_api c -o "$TEST_TMP/hb.out" -w '%{http_code}' -X POST \
	    http://127.0.0.1:9901/v1/pods/default/roamer/heartbeat
}
code=$(heartbeat_c)
[ "$code" = 200 ] && grep -Eq '"ttlSeconds": *([1-9]|10)\b' "$TEST_TMP/hb.out" ||
	fail "heartbeat on C: $code $(cat "$TEST_TMP/hb.out")"
pass "a heartbeat to C for B's pod answers 200 with the lease's time left"

# Heartbeats to C only, every second, for three TTLs (by the clock, so a
# slow machine sends fewer of them, never a shorter window).
end=$((SECONDS + 30))
while [ $SECONDS -lt $end ]; do
	code=$(heartbeat_c)
	[ "$code" = 200 ] || fail "heartbeat on C: $code $(cat "$TEST_TMP/hb.out")"
	sleep 1
done
for h in a b c; do
	cl_api $h http://127.0.0.1:9901/v1/pods/default/roamer | grep -q '"name": *"roamer"' ||
		fail "host $h lost the pod while C renewed its lease"
done
[ -n "$(cl_ectl get $pk --keys-only)" ] || fail "the pod's key left etcd while C renewed its lease"
grep -q 'lease of pod default/roamer expired' "${CL_LOG[b]}" &&
	fail "B expired the pod by its own timer"
pass "heartbeats to C alone keep B's pod on A, B, C and in etcd for 3x its TTL"

# The heartbeats stop: the lease runs out in etcd, the pod goes everywhere.
for h in a b c; do cl_poll_api $h /v1/pods/default/roamer '"name": *"roamer"' absent; done
[ -z "$(cl_ectl get $pk --keys-only)" ] || fail "the pod's key outlived its lease"
code=$(heartbeat_c)
[ "$code" = 404 ] || fail "heartbeat on C after the lease ran out: $code $(cat "$TEST_TMP/hb.out")"
pass "heartbeats stopped: the pod gone from A, B, C and etcd; C answers 404"
