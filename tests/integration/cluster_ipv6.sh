#!/usr/bin/env bash
# SPDX-License-Identifier: MIT
# cluster_ipv6.sh -- IPv6 VIPs are shared through etcd like IPv4 ones:
# two daemons (hosts a, b) on a real etcd, with the same ranges (a host
# refuses a VIP outside its own). A dual-stack Service and an IPv6-only
# one applied on A are stored in etcd with their IPv6 VIPs
# (spec.clusterIPs, ipFamilies) and resolve on B to A's addresses, both
# families.
set -u
. "$top_srcdir/tests/integration/lib.sh"
. "$top_srcdir/tests/integration/cluster_lib.sh"

cl_dig6() { ip netns exec $CL_P$1 dig +short +time=2 +tries=1 @127.0.0.1 -p 53 AAAA "$2"; }
cl_net a b
cl_etcd m1
cl_daemon a --vip-range 127.96.0.0/16 --vip-range fd00:ca::/112
cl_daemon b --vip-range 127.96.0.0/16 --vip-range fd00:ca::/112
cl_apply a '{"apiVersion":"v1","kind":"Service","metadata":{"name":"dual"},"spec":{"selector":{"app":"d"},"ipFamilyPolicy":"RequireDualStack","ipFamilies":["IPv4","IPv6"],"ports":[{"port":80}]}}'
cl_apply a '{"apiVersion":"v1","kind":"Service","metadata":{"name":"six"},"spec":{"selector":{"app":"s"},"ipFamilies":["IPv6"],"ports":[{"port":80}]}}'
v4=$(cl_dig a dual.default.svc.cluster.local)
v6=$(cl_dig6 a dual.default.svc.cluster.local)
s6=$(cl_dig6 a six.default.svc.cluster.local)
case "$v6" in fd00:ca:*) ;; *) fail "A's IPv6 VIP for dual: '$v6'";; esac
case "$s6" in fd00:ca:*) ;; *) fail "A's IPv6 VIP for six: '$s6'";; esac
[ -n "$v4" ] || fail "no IPv4 VIP for dual on A"
# etcd's copy names them: the VIPs travel, not just the names.
for ((n = 0; n < 300; n++)); do
	cl_ectl get /clusterip/services/default/six --print-value-only | grep -q "\"clusterIP\":\"$s6\"" && break
	sleep 0.2
done
val=$(cl_ectl get /clusterip/services/default/dual --print-value-only)
echo "$val" | grep -q "\"clusterIPs\":\[\"$v4\",\"$v6\"\]" ||
	fail "etcd's copy of dual lacks its VIPs: $val"
val=$(cl_ectl get /clusterip/services/default/six --print-value-only)
echo "$val" | grep -q "\"clusterIP\":\"$s6\"" ||
	fail "etcd's copy of six lacks its IPv6 VIP: $val"
cl_poll_dig b dual.default.svc.cluster.local "$v4"
for ((n = 0; n < 300; n++)); do
	[ "$(cl_dig6 b dual.default.svc.cluster.local)" = "$v6" ] &&
	    [ "$(cl_dig6 b six.default.svc.cluster.local)" = "$s6" ] && break
	sleep 0.2
done
[ "$(cl_dig6 b dual.default.svc.cluster.local)" = "$v6" ] ||
	fail "B answers '$(cl_dig6 b dual.default.svc.cluster.local)' AAAA for dual, A $v6"
[ "$(cl_dig6 b six.default.svc.cluster.local)" = "$s6" ] ||
	fail "B answers '$(cl_dig6 b six.default.svc.cluster.local)' AAAA for six, A $s6"
pass "IPv6 VIPs applied on A (dual-stack and IPv6-only) are B's too"
