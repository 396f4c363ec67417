#!/usr/bin/env bash
# SPDX-License-Identifier: MIT
# cluster_endpoints.sh -- Endpoints objects (Services without selector)
# shared through a real etcd: hosts a, c run from the start, b joins
# later. A selectorless Service and its Endpoints applied through A's
# API reach C, where a client connects through the VIP to the backend on
# A's address; the Endpoints of A's manifest file go to etcd under A's
# key space on A's lease; B, joining, reads both; a changed Endpoints
# object replaces its addresses everywhere, and one removed from A's
# file leaves every host and etcd.
set -u
. "$top_srcdir/tests/integration/lib.sh"
. "$top_srcdir/tests/integration/cluster_lib.sh"

cl_net a b c
cl_etcd m1
A=$(cl_addr a)
cl_manifest a <<Y
apiVersion: v1
kind: Service
metadata: {name: filesvc}
spec:
  ports: [{port: 81, targetPort: 8081}]
---
apiVersion: v1
kind: Endpoints
metadata: {name: filesvc}
subsets:
- addresses: [{ip: $A}]
  ports: [{port: 8081}]
Y
cl_daemon a --manifests "$TEST_TMP/man-a"
cl_daemon c

# The backend, on A's address.
cl_greeter a "$A" 8080 "hello from a"

cl_apply a "{\"apiVersion\":\"v1\",\"kind\":\"List\",\"items\":[
 {\"apiVersion\":\"v1\",\"kind\":\"Service\",\"metadata\":{\"name\":\"ext\"},
  \"spec\":{\"ports\":[{\"port\":80,\"targetPort\":8080}]}},
 {\"apiVersion\":\"v1\",\"kind\":\"Endpoints\",\"metadata\":{\"name\":\"ext\"},
  \"subsets\":[{\"addresses\":[{\"ip\":\"$A\"}],\"ports\":[{\"port\":8080}]}]}]}"
vip=$(cl_dig a ext.default.svc.cluster.local)
[ -n "$vip" ] || fail "no VIP for ext on A"
cl_poll_dig c ext.default.svc.cluster.local "$vip"
cl_poll_api c /v1/endpoints/default/ext "\"ip\": *\"$A\""
ek=/clusterip/hosts/$A/endpoints/default/ext
[ -n "$(cl_ectl get $ek --keys-only)" ] || fail "no key $ek in etcd"
cl_greeting c "$vip" 80 "hello from a" || fail "through the VIP on C: '$CL_GOT'"
pass "a selectorless Service and its Endpoints applied on A forward on C to A's backend"

# A's file Endpoints: under A's key space, on A's host lease.
fk=/clusterip/hosts/$A/endpoints/default/filesvc
cl_poll_api c /v1/endpoints/default/filesvc "\"ip\": *\"$A\""
lease=$(cl_ectl get $fk -w json | python3 -c '
import json, sys
kv = json.load(sys.stdin).get("kvs", [])
print(kv[0].get("lease", 0) if kv else "")')
[ -n "$lease" ] && [ "$lease" != 0 ] || fail "A's file Endpoints key holds no lease"
pass "the Endpoints of A's manifest file reach C, on A's lease in etcd"

# B joins: the full read brings both.
cl_daemon b
cl_poll_api b /v1/endpoints/default/ext "\"ip\": *\"$A\""
cl_poll_api b /v1/endpoints/default/filesvc "\"ip\": *\"$A\""
pass "B, joining, reads both Endpoints objects"

# A changed Endpoints object replaces its addresses everywhere.
cl_apply a '{"apiVersion":"v1","kind":"Endpoints","metadata":{"name":"ext"},
 "subsets":[{"addresses":[{"ip":"10.178.0.77"}],"ports":[{"port":8080}]}]}'
for h in b c; do
	cl_poll_api $h /v1/endpoints/default/ext '"ip": *"10.178.0.77"'
	cl_poll_api $h /v1/endpoints/default/ext "\"ip\": *\"$A\"" absent
done
pass "a changed Endpoints object replaces its addresses on B and C"

# Removed from A's file: gone from every host and from etcd.
cl_manifest a <<Y
apiVersion: v1
kind: Service
metadata: {name: filesvc}
spec:
  ports: [{port: 81, targetPort: 8081}]
Y
for h in b c; do cl_poll_api $h /v1/endpoints/default/filesvc "\"ip\": *\"$A\"" absent; done
for ((n = 0; n < 300; n++)); do
	[ -z "$(cl_ectl get $fk --keys-only)" ] && break
	sleep 0.2
done
[ -z "$(cl_ectl get $fk --keys-only)" ] || fail "$fk is still in etcd"
pass "Endpoints removed from A's file leave B, C and etcd"
