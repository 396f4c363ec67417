#!/usr/bin/env bash
# SPDX-License-Identifier: MIT
# cluster_hbfind.sh -- a heartbeat for a pod that this host's watch has
# not brought yet is answered from etcd, not with 404: two daemons
# (hosts b, c) on a real etcd. A pod key on a lease of its own, under a
# host that runs no daemon (10.178.0.9) and with a value C does not
# apply, is never in C's registry: a heartbeat to C finds it in etcd
# and renews its lease (200, the lease's TTL back up); a pod no host
# has gets 404. Then 15 pods registered on B, each heartbeaten on C as
# soon as etcd holds its key: never a 404.
set -u
. "$top_srcdir/tests/integration/lib.sh"
. "$top_srcdir/tests/integration/cluster_lib.sh"

cl_net b c
cl_etcd m1
for h in b c; do cl_daemon $h --etcd-lease-ttl 300s; done

# heartbeat H NAME: POST .../heartbeat on H; prints the HTTP code.
heartbeat() {
	cl_api $1 -o "$TEST_TMP/hb.out" -w '%{http_code}' -X POST \
	    http://127.0.0.1:9901/v1/pods/default/$2/heartbeat
}

lease=$(cl_ectl lease grant 60 | awk '{print $2}')
[ -n "$lease" ] || fail "no lease from etcd"
cl_ectl put --lease="$lease" /clusterip/hosts/10.178.0.9/pods/default/ghost \
    '{"host":"10.178.0.9"}' >/dev/null || fail "put the ghost pod"
cl_until "C warns of the ghost's value" grep -q 'pods/default/ghost: not one object' "${CL_LOG[c]}"
# Let some of the lease's 60 s go, so that a renewal shows.
cl_until "the ghost's lease to fall below 58 s" sh -c \
    "ip netns exec ${CL_P}e etcdctl --endpoints $CL_EPS lease timetolive $lease | grep -Eq 'remaining\(([0-9]|[1-4][0-9]|5[0-7])s\)'"
code=$(heartbeat c ghost)
[ "$code" = 200 ] && grep -Eq '"ttlSeconds": *(59|60)\b' "$TEST_TMP/hb.out" ||
	fail "heartbeat on C for a pod only etcd has: $code $(cat "$TEST_TMP/hb.out")"
cl_ectl lease timetolive "$lease" | grep -Eq 'remaining\((59|60)s\)' ||
	fail "the ghost's lease was not renewed: $(cl_ectl lease timetolive "$lease")"
code=$(heartbeat c nobody)
[ "$code" = 404 ] || fail "heartbeat on C for a pod no host has: $code $(cat "$TEST_TMP/hb.out")"
pass "C renews a pod it does not have from its key in etcd; 404 for one nobody has"

for ((i = 0; i < 15; i++)); do
	cl_api b -o /dev/null -X PUT -d '{"labels":{"app":"r"},"ip":"10.178.0.4","ports":[{"port":80}],"ttlSeconds":60}' \
	    http://127.0.0.1:9901/v1/pods/default/p$i || fail "register p$i on B"
	for ((n = 0; n < 600; n++)); do
		[ -n "$(cl_ectl get /clusterip/hosts/$(cl_addr b)/pods/default/p$i --keys-only)" ] && break
		sleep 0.05
	done
	code=$(heartbeat c p$i)
	[ "$code" = 200 ] || fail "heartbeat on C for p$i, in etcd: $code $(cat "$TEST_TMP/hb.out")"
done
pass "15 pods registered on B: a heartbeat on C as soon as etcd holds each gets 200"
