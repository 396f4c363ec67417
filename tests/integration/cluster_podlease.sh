#!/usr/bin/env bash
# SPDX-License-Identifier: MIT
# cluster_podlease.sh -- a pod registered with a TTL holds an etcd lease
# of its own: two daemons (hosts a, b) on a real etcd, host leases of
# 300 s. A pod registered on B with ttlSeconds 20 is on a lease of that
# TTL (not B's), a heartbeat to B renews it in etcd, and once B is
# killed (SIGKILL: nothing revoked, B's host lease lives on) the pod
# still vanishes from A when its own lease runs out, while B's manifest
# pod, on the host lease, stays.
set -u
. "$top_srcdir/tests/integration/lib.sh"
. "$top_srcdir/tests/integration/cluster_lib.sh"

cl_net a b
cl_etcd m1
cl_manifest b <<'YAML'
apiVersion: v1
kind: Pod
metadata: {name: file-b, labels: {app: x}}
status: {podIP: 10.178.0.4}
YAML
cl_daemon a --etcd-lease-ttl 300s
cl_daemon b --etcd-lease-ttl 300s --manifests "$TEST_TMP/man-b"
cl_api b -X PUT -d '{"labels":{"app":"x"},"ip":"10.178.0.9","ports":[{"port":80}],"ttlSeconds":20}' \
    http://127.0.0.1:9901/v1/pods/default/leased >/dev/null || fail "register on B"
cl_poll_api a /v1/pods/default/leased '"name": *"leased"'
cl_poll_api a /v1/pods/default/file-b '"name": *"file-b"'

# lease_of KEY: the etcd lease of KEY, in hex as etcdctl takes it.
lease_of() {
	cl_ectl get "$1" -w json | python3 -c '
import json, sys
kv = json.load(sys.stdin).get("kvs", [])
print("%x" % kv[0].get("lease", 0) if kv else "")'
}
# granted/remaining TTL of lease L.
lease_ttl() {
	cl_ectl lease timetolive "$1" -w json | python3 -c '
import json, sys
d = json.load(sys.stdin)
print(d.get("granted-ttl", 0), d.get("ttl", -1))'
}
pk=/clusterip/hosts/10.178.0.4/pods/default/leased
hk=/clusterip/hosts/10.178.0.4/pods/default/file-b
pl=$(lease_of $pk)
hl=$(lease_of $hk)
[ -n "$pl" ] && [ "$pl" != 0 ] || fail "the leased pod's key holds no lease"
[ "$pl" != "$hl" ] || fail "the leased pod rides on the host's lease $hl"
read -r granted left <<<"$(lease_ttl "$pl")"
[ "$granted" = 20 ] || fail "the pod's lease has TTL $granted, not 20"
pass "a pod registered with ttlSeconds 20 holds a 20 s lease of its own"

# A heartbeat renews it in etcd: its time to live goes back up.
for ((n = 0; n < 300; n++)); do
	read -r granted left <<<"$(lease_ttl "$pl")"
	[ "$left" -le 17 ] && break
	sleep 0.2
done
[ "$left" -le 17 ] || fail "the pod's lease is not running down ($left s left)"
before=$left
cl_api b -X POST http://127.0.0.1:9901/v1/pods/default/leased/heartbeat \
    | grep -q '"ttlSeconds"' || fail "heartbeat on B"
for ((n = 0; n < 300; n++)); do
	read -r granted left <<<"$(lease_ttl "$pl")"
	[ "$left" -gt "$before" ] && break
	sleep 0.2
done
[ "$left" -gt "$before" ] || fail "a heartbeat did not renew the pod's lease ($left s left)"
pass "a heartbeat to B renews the pod's lease in etcd ($before s -> $left s)"

# B dies without a word: the pod goes with its own lease, not B's.
kill -9 "${CL_PID[b]}"
cl_poll_api a /v1/pods/default/leased '"name": *"leased"' absent
[ -z "$(cl_ectl get $pk --keys-only)" ] || fail "the pod's key outlived its lease"
cl_api a http://127.0.0.1:9901/v1/pods/default/file-b | grep -q '"name": *"file-b"' ||
	fail "B's manifest pod left before B's 300 s host lease ran out"
pass "B killed: its leased pod gone from A and etcd with its own lease, B's file pod still there"
