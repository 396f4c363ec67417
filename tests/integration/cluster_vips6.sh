#!/usr/bin/env bash
# SPDX-License-Identifier: MIT
# cluster_vips6.sh -- IPv6 VIPs are claimed in etcd like IPv4 ones: two
# daemons (hosts a and b) allocate VIPs for 300 new dual-stack Services
# at the same moment, 150 each, from an IPv6 /119 and an IPv4 /23 (512
# addresses each) so that their hash-derived choices of both families
# collide, often both for one Service (which then moves once, not once
# per lost claim): when both settle, no two Services share a VIP of
# either family, both hosts agree on every one, and etcd's VIP keys
# (both families) say the same.
set -u
. "$top_srcdir/tests/integration/lib.sh"
. "$top_srcdir/tests/integration/cluster_lib.sh"

N=300
cl_net a b
cl_etcd m1
for h in a b; do
	cl_daemon $h --vip-range 127.96.0.0/23 --vip-range fd00:cb::/119
done
gen() {
	python3 - "$1" "$N" <<'PY'
import sys
for i in range(int(sys.argv[2]) // 2):
    print("---\napiVersion: v1\nkind: Service\nmetadata: {name: s%s-%d}\n"
          "spec: {selector: {app: x%d}, ipFamilyPolicy: RequireDualStack, "
          "ipFamilies: [IPv4, IPv6], ports: [{port: 80}]}" % (sys.argv[1], i, i))
PY
}
gen a >"$TEST_TMP/a.yaml"
gen b >"$TEST_TMP/b.yaml"
cl_apply_at_once a b

# Succeeds once both hosts list the same VIP pairs.
check() {
	cl_services a b || return 1
	python3 - "$N" "$TEST_TMP/svcs-a.json" "$TEST_TMP/svcs-b.json" <<'PY'
import json, sys
n = int(sys.argv[1])
maps = []
for f in sys.argv[2:]:
    items = json.load(open(f))["items"]
    maps.append({i["metadata"]["name"]: tuple(i["spec"].get("clusterIPs") or ())
                 for i in items})
a, b = maps
if len(a) != n or a != b:
    sys.exit("hosts differ: %d and %d services, %d differences" % (len(a), len(b),
             sum(1 for k in a if a.get(k) != b.get(k))))
for fam in (0, 1):
    ips = [v[fam] for v in a.values() if len(v) == 2]
    if len(ips) != n or len(set(ips)) != n:
        sys.exit("family %d: %d distinct VIPs for %d services" % (fam, len(set(ips)), n))
PY
}
cl_until "no agreement" check
races=$(cl_count_logs 'vips/fd00:cb:.* is held by' a b)
moved=$(cl_count_logs 'moved to VIP' a b)
twice=$(cl_count_logs 'no longer holds VIP .*: not moved again' a b)
echo "IPv6 VIP claims that lost a race: $races; services moved: $moved; second losses not moved again: $twice"
[ "$races" -gt 0 ] || fail "no IPv6 VIP race happened: the test proves nothing"
[ "$twice" -gt 0 ] || fail "no Service lost both its claims: the test proves nothing"

# etcd's VIP keys: one per VIP of each Service, naming the Service.
cl_ectl get /clusterip/vips/ --prefix >"$TEST_TMP/vips.txt"
python3 - "$N" "$TEST_TMP/vips.txt" "$TEST_TMP/svcs-a.json" <<'PY' || fail "etcd's VIP keys disagree"
import json, sys
n = int(sys.argv[1])
lines = open(sys.argv[2]).read().split("\n")
keys = dict(zip(lines[0::2], lines[1::2]))
keys.pop("", None)
bad = []
for i in json.load(open(sys.argv[3]))["items"]:
    name = i["metadata"]["name"]
    for ip in i["spec"]["clusterIPs"]:
        if keys.get("/clusterip/vips/" + ip) != "/clusterip/services/default/" + name:
            bad.append((name, ip))
if bad or len(keys) != 2 * n:
    sys.exit("%d keys, %d VIPs without their key, e.g. %s" % (len(keys), len(bad), bad[:3]))
PY
pass "$N dual-stack Services allocated at once on two hosts: unique VIPs of both families, both hosts and etcd agree"
