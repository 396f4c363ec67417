#!/usr/bin/env bash
# SPDX-License-Identifier: MIT
# cluster_vips.sh -- two daemons (hosts a and b in network namespaces)
# allocate VIPs for 1,000 new Services at the same moment, 500 each,
# from a /21 so that their hash-derived choices collide often: when both
# settle, no two Services share a VIP, both hosts agree on every one,
# and etcd's VIP keys say the same.
set -u
. "$top_srcdir/tests/integration/lib.sh"
. "$top_srcdir/tests/integration/cluster_lib.sh"

cl_net a b
cl_etcd m1
for h in a b; do cl_daemon $h --vip-range 127.96.0.0/21; done
gen() {
	python3 - "$1" <<'PY'
import sys
for i in range(500):
    print("---\napiVersion: v1\nkind: Service\nmetadata: {name: s%s-%d}\n"
          "spec: {selector: {app: x%d}, ports: [{port: 80}]}" % (sys.argv[1], i, i))
PY
}
gen a >"$TEST_TMP/a.yaml"
gen b >"$TEST_TMP/b.yaml"
cl_apply_at_once a b

# Succeeds once both hosts list the same 1,000 VIPs.
check() {
	cl_services a b || return 1
	python3 - "$TEST_TMP/svcs-a.json" "$TEST_TMP/svcs-b.json" <<'PY'
import json, sys
maps = []
for f in sys.argv[1:]:
    items = json.load(open(f))["items"]
    maps.append({i["metadata"]["name"]: i["spec"].get("clusterIP") for i in items})
a, b = maps
if len(a) != 1000 or a != b:
    sys.exit("hosts differ: %d and %d services, %d differences" % (len(a), len(b),
             sum(1 for k in a if a.get(k) != b.get(k))))
ips = list(a.values())
if None in ips or len(set(ips)) != 1000:
    sys.exit("%d distinct VIPs for 1000 services" % len(set(ips)))
PY
}
cl_until "no agreement" check
moved=$(cl_count_logs 'moved to VIP' a b)
echo "services that lost a VIP race and moved: $moved"
[ "$moved" -gt 0 ] || fail "no VIP race happened: the test proves nothing"

# etcd's VIP keys: one per Service, naming the Service that has it.
cl_ectl get /clusterip/vips/ --prefix >"$TEST_TMP/vips.txt"
python3 - "$TEST_TMP/vips.txt" "$TEST_TMP/svcs-a.json" <<'PY' || fail "etcd's VIP keys disagree"
import json, sys
lines = open(sys.argv[1]).read().split("\n")
keys = dict(zip(lines[0::2], lines[1::2]))
svcs = {i["metadata"]["name"]: i["spec"]["clusterIP"] for i in json.load(open(sys.argv[2]))["items"]}
bad = [n for n, ip in svcs.items() if keys.get("/clusterip/vips/" + ip) != "/clusterip/services/default/" + n]
if bad or len([k for k in keys if k]) != 1000:
    sys.exit("%d keys, %d services without their key, e.g. %s" % (len(keys), len(bad), bad[:3]))
PY
pass "1,000 Services allocated at once on two hosts: unique VIPs, both hosts and etcd agree"
