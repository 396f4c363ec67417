#!/usr/bin/env bash
# SPDX-License-Identifier: MIT
# cluster_faults.sh -- three daemons (hosts a, b, c in network namespaces
# on one bridge) on a real 3-member etcd cluster, and what goes wrong:
# one member killed; the member under the watches killed in the middle
# of a burst of changes; a host cut off while others change things and
# etcd compacts its history; every member killed and brought back; a
# daemon killed, whose pods vanish everywhere after its lease's TTL.
# No change may be lost and every host must agree at the end.
set -u
. "$top_srcdir/tests/integration/lib.sh"
. "$top_srcdir/tests/integration/cluster_lib.sh"

cl_net a b c
cl_etcd m1 m2 m3
for h in a b c; do
	mkdir -p "$TEST_TMP/man-$h"
	cl_daemon $h --etcd-lease-ttl 3s --manifests "$TEST_TMP/man-$h"
done
svc() { printf '{"apiVersion":"v1","kind":"Service","metadata":{"name":"%s"},"spec":{"selector":{"app":"%s"},"ports":[{"port":80}]}}' "$1" "$1"; }

# One member (the first of every daemon's list) killed.
cl_member_kill m1
cl_apply a "$(svc one)"
vip=$(cl_dig a one.default.svc.cluster.local)
[ -n "$vip" ] || fail "no VIP for one on A"
cl_poll_dig b one.default.svc.cluster.local "$vip"
cl_poll_dig c one.default.svc.cluster.local "$vip"
pass "one etcd member down: a Service applied on A reached B and C"
cl_member_start m1 "m1 m2 m3"

# The member the watches moved to killed during a burst of changes.
for i in $(seq 1 10); do cl_apply c "$(svc burst$i)"; done &
bpid=$!
cl_member_kill m2
wait $bpid || fail "the burst on C failed"
for i in $(seq 11 20); do cl_apply c "$(svc burst$i)"; done
for h in a b; do
	for i in $(seq 1 20); do
		cl_poll_dig $h burst$i.default.svc.cluster.local \
		    "$(cl_dig c burst$i.default.svc.cluster.local)"
	done
done
pass "a member killed under the watches mid-burst: all 20 changes on A and B"
cl_member_start m2 "m1 m2 m3"

# B cut off; meanwhile A changes things and etcd compacts its history.
ip -n ${CL_P}b link set eth0 down
cl_poll_api b /readyz '"etcd": *"unreachable"'
cl_apply a "$(svc while-away)"
cl_api a -X DELETE http://127.0.0.1:9901/v1/services/default/burst1 >/dev/null
rev=$(cl_ectl get /clusterip/ --prefix --limit 1 -w json | python3 -c 'import json,sys; print(json.load(sys.stdin)["header"]["revision"])')
cl_ectl compaction "$rev" >/dev/null || fail "compaction"
[ -n "$(cl_dig b burst1.default.svc.cluster.local)" ] || fail "B lost burst1 while cut off"
ip -n ${CL_P}b link set eth0 up
cl_poll_dig b while-away.default.svc.cluster.local "$(cl_dig a while-away.default.svc.cluster.local)"
cl_poll_dig b burst1.default.svc.cluster.local ""
wait_log "${CL_LOG[b]}" 'compacted away: reading everything again' 30
cl_poll_api b /readyz '"etcd": *"connected"'
pass "B cut off across a compaction: read everything again, no change lost"

# Every member killed: every host answers; back, a change reaches all.
for m in m1 m2 m3; do cl_member_kill $m; done
for h in a b c; do
	cl_poll_api $h /readyz '"etcd": *"unreachable"'
	[ "$(cl_dig $h one.default.svc.cluster.local)" = "$vip" ] || fail "host $h stopped answering"
done
for m in m1 m2 m3; do cl_member_start $m "m1 m2 m3"; done
for h in a b c; do cl_poll_api $h /readyz '"etcd": *"connected"'; done
cl_apply b "$(svc after)"
after=$(cl_dig b after.default.svc.cluster.local)
cl_poll_dig a after.default.svc.cluster.local "$after"
cl_poll_dig c after.default.svc.cluster.local "$after"
pass "all members down: every host kept answering; after, a change reached all"

# A daemon killed: its pods (from its manifests) vanish with its host
# lease. (A pod registered with a TTL holds a lease of its own:
# cluster_podlease.sh.)
printf 'kind: Pod\nmetadata: {name: on-b, labels: {app: one}}\nstatus: {podIP: 10.178.0.4}\n' \
    >"$TEST_TMP/man-b/on-b.yaml"
cl_poll_api a /v1/pods/default/on-b '"name": *"on-b"'
cl_poll_api c /v1/pods/default/on-b '"name": *"on-b"'
kill -9 "${CL_PID[b]}"
cl_poll_api a /v1/pods/default/on-b '"name": *"on-b"' absent
cl_poll_api c /v1/pods/default/on-b '"name": *"on-b"' absent
for h in a c; do
	[ "$(cl_dig $h one.default.svc.cluster.local)" = "$vip" ] || fail "host $h stopped answering"
done
pass "daemon B killed: A and C serve on, B's pod gone after its lease's TTL"
