#!/usr/bin/env bash
# SPDX-License-Identifier: MIT
# cluster_stop.sh -- a clean stop revokes the host's lease: two daemons
# (hosts a, b) on a real etcd with a lease TTL of 300 s; B's pod and
# Service (from its manifest file) vanish from A within the 60 s guard
# of cl_poll_api after B gets SIGTERM -- long before the TTL would take
# them -- while A's own objects stay. A daemon killed with SIGKILL is
# cluster_faults.sh's: its keys go with the TTL.
set -u
. "$top_srcdir/tests/integration/lib.sh"
. "$top_srcdir/tests/integration/cluster_lib.sh"

cl_net a b
cl_etcd m1
mkdir -p "$TEST_TMP/man-a" "$TEST_TMP/man-b"
cat > "$TEST_TMP/man-b/b.yaml" <<'YAML'
apiVersion: v1
kind: Service
metadata: {name: on-b}
spec: {selector: {app: on-b}, ports: [{port: 80}]}
---
apiVersion: v1
kind: Pod
metadata: {name: on-b-1, labels: {app: on-b}}
status: {podIP: 10.178.0.4}
YAML
cat > "$TEST_TMP/man-a/a.yaml" <<'YAML'
apiVersion: v1
kind: Pod
metadata: {name: on-a-1, labels: {app: on-b}}
status: {podIP: 10.178.0.3}
YAML
cl_daemon a --etcd-lease-ttl 300s --manifests "$TEST_TMP/man-a"
cl_daemon b --etcd-lease-ttl 300s --manifests "$TEST_TMP/man-b"
cl_poll_api a /v1/pods/default/on-b-1 '"name": *"on-b-1"'
vip=$(cl_dig b on-b.default.svc.cluster.local)
[ -n "$vip" ] || fail "no VIP for on-b on B"
cl_poll_dig a on-b.default.svc.cluster.local "$vip"

kill -TERM "${CL_PID[b]}"
rc=0
wait "${CL_PID[b]}" || rc=$?
[ "$rc" = 0 ] || fail "B exited with status $rc"
grep -q "lease of host 10.178.0.4 revoked" "${CL_LOG[b]}" ||
	fail "B did not revoke its lease: $(tail -5 "${CL_LOG[b]}")"
# Gone at once in etcd, then from A through its watch.
[ -z "$(cl_ectl get /clusterip/hosts/10.178.0.4/ --prefix --keys-only)" ] ||
	fail "B's keys still in etcd after its stop"
cl_poll_api a /v1/pods/default/on-b-1 '"name": *"on-b-1"' absent
cl_poll_dig a on-b.default.svc.cluster.local ""
cl_api a http://127.0.0.1:9901/v1/pods/default/on-a-1 | grep -q '"name": *"on-a-1"' ||
	fail "A lost its own pod"
pass "SIGTERM on B: its lease revoked, its pod and Service gone from A before the TTL"
