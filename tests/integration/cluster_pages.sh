#!/usr/bin/env bash
# SPDX-License-Identifier: MIT
# cluster_pages.sh -- a host joining reads the prefix a page at a time
# (10,000 keys each, at one revision): host A publishes 10,500 Services
# from its manifests (with their VIP claims, 21,000 keys); host B joins,
# reads the 10,500 Services' keys in 2 pages (not the VIP keys, which
# sort after them), and answers the first, some around the page
# boundary and the last with A's VIPs.
set -u
. "$top_srcdir/tests/integration/lib.sh"
. "$top_srcdir/tests/integration/cluster_lib.sh"

N=10500
cl_net a b
cl_etcd m1
mkdir -p "$TEST_TMP/man-a"
python3 - "$N" >"$TEST_TMP/man-a/svcs.yaml" <<'PY'
import sys
for i in range(int(sys.argv[1])):
    print("---\napiVersion: v1\nkind: Service\nmetadata: {name: svc-%d}\nspec: {}" % i)
PY
cl_daemon a --vip-range 127.96.0.0/16 --manifests "$TEST_TMP/man-a"
count() {
	cl_ectl get "$1" --prefix --keys-only --limit 1 -w json |
	    python3 -c 'import json,sys; print(json.load(sys.stdin).get("count", 0))'
}
for ((n = 0; n < 600; n++)); do
	[ "$(count /clusterip/hosts/)" -ge $N ] && [ "$(count /clusterip/vips/)" -ge $N ] && break
	sleep 0.2
done
[ "$(count /clusterip/vips/)" -ge $N ] || fail "A did not publish its $N Services"

cl_daemon b --vip-range 127.96.0.0/16
line=$(grep -E 'etcd: read [0-9]+ key' "${CL_LOG[b]}")
echo "$line" | grep -q "read $N key(s) .* in 2 page(s): $N services" ||
	fail "B's read: $line"
for i in 0 999 1000 8999 9000 $((N - 1)); do
	want=$(cl_dig a svc-$i.default.svc.cluster.local)
	[ -n "$want" ] || fail "A has no VIP for svc-$i"
	[ "$(cl_dig b svc-$i.default.svc.cluster.local)" = "$want" ] ||
		fail "B answers '$(cl_dig b svc-$i.default.svc.cluster.local)' for svc-$i, A $want"
done
pass "B joined $N Services in 2 pages of 10,000 keys and answers A's VIPs"
