#!/bin/bash
# SPDX-License-Identifier: MIT
# dns_headless.sh -- the Kubernetes DNS schema of headless services over
# real UDP with dig: Pod hostname/subdomain and Endpoints hostnames (one
# shared by two addresses), publishNotReadyAddresses, an address in two
# subsets of an Endpoints object, SRV ports from endpoints, two pods on
# one address, and PTR of the endpoints of any service.
. "$top_srcdir/tests/integration/dns_lib.sh"

M="$TEST_TMP/manifests"
mkdir -p "$M"
cat >"$M/headless.yaml" <<'YAML'
apiVersion: v1
kind: Service
metadata: {name: kv}
spec:
  clusterIP: None
  selector: {app: kv}
  ports: [{name: client, port: 2379}]
---
apiVersion: v1
kind: Pod
metadata: {name: kv-0, labels: {app: kv}}
spec: {hostname: kv-0, subdomain: kv}
status: {podIP: 127.0.60.1}
---
apiVersion: v1
kind: Pod
metadata: {name: kv-1, labels: {app: kv}}
spec: {hostname: kv-1, subdomain: kv}
status: {podIP: 127.0.60.2}
---
# another pod on kv-1's address (host network): one A for the service
apiVersion: v1
kind: Pod
metadata: {name: kv-host, labels: {app: kv}}
status: {podIP: 127.0.60.2}
---
apiVersion: v1
kind: Pod
metadata: {name: kv-2, labels: {app: kv}}
spec: {hostname: kv-2, subdomain: kv}
status:
  podIP: 127.0.60.3
  conditions: [{type: Ready, status: "False"}]
---
# the same pods, not-ready ones published
apiVersion: v1
kind: Service
metadata: {name: kv-peers}
spec:
  clusterIP: None
  publishNotReadyAddresses: true
  selector: {app: kv}
---
# no selector, no ports: Endpoints give addresses, hostnames and ports
apiVersion: v1
kind: Service
metadata: {name: ext-db}
spec: {clusterIP: None}
---
apiVersion: v1
kind: Endpoints
metadata: {name: ext-db}
subsets:
- addresses: [{ip: 127.0.70.1, hostname: primary}, {ip: 127.0.70.2, hostname: primary}]
  ports: [{name: pg, port: 5432}]
- addresses: [{ip: 127.0.70.1, hostname: primary}, {ip: 127.0.70.3}]
  ports: [{name: metrics, port: 9187}]
---
# a ClusterIP service: its endpoints have PTRs too
apiVersion: v1
kind: Service
metadata: {name: front}
spec:
  selector: {app: front}
  ports: [{port: 80}]
---
apiVersion: v1
kind: Service
metadata: {name: front-admin}
spec:
  selector: {app: front}
  ports: [{port: 81}]
---
apiVersion: v1
kind: Pod
metadata: {name: front-0, labels: {app: front}}
status: {podIP: 127.0.80.1}
YAML
start_dns "$M" --api-listen none --upstream 127.0.0.1:9 --dns-ttl 5
grep -q "unknown field" "$DAEMON_LOG" && fail "warnings: $(grep 'unknown field' "$DAEMON_LOG")"
pass "hostname, subdomain, publishNotReadyAddresses, subsets read without warnings"

D=cluster.local
S=kv.default.svc.$D
out=$(dshort $S A | sort | tr '\n' ' ')
[ "$out" = "127.0.60.1 127.0.60.2 " ] || fail "headless A: '$out'"
[ "$(dq $S A | grep -c '^kv\.default.*[[:space:]]A[[:space:]]')" = 2 ] || fail "an address repeated: $(dq $S A)"
[ "$(dshort kv-0.$S A)" = 127.0.60.1 ] || fail "hostname A"
[ "$(dshort kv-1.$S A)" = 127.0.60.2 ] || fail "hostname A kv-1"
expect_status NXDOMAIN kv-2.$S A
expect_status NXDOMAIN 127-0-60-1.$S A
[ "$(dshort 127-0-60-2.$S A)" = 127.0.60.2 ] || fail "dashed name of the pod without hostname"
pass "headless A: each ready address once; HOSTNAME.S.N.svc; no dashed name beside a hostname"

out=$(dq _client._tcp.$S SRV)
for t in kv-0 kv-1 127-0-60-2; do
	echo "$out" | grep -Eq "SRV[[:space:]]+0 100 2379 $t\.kv\.default\.svc\.cluster\.local\.\$" || fail "SRV $t: $out"
done
[ "$(echo "$out" | grep -Ec '^[^;].*IN[[:space:]]+SRV')" = 3 ] || fail "SRV count: $out"
echo "$out" | sed -n '/ADDITIONAL SECTION/,$p' | grep -Eq '^kv-0\.kv\.default.*127\.0\.60\.1$' || fail "SRV additional: $out"
pass "headless SRV: targets by hostname"

# kv-0's hostname is kv's (its subdomain), not kv-peers'
out=$(dshort "$(reverse_name 127.0.60.1)" PTR | sort | tr '\n' ' ')
[ "$out" = "127-0-60-1.kv-peers.default.svc.$D. kv-0.kv.default.svc.$D. " ] || fail "PTR kv-0: '$out'"
out=$(dshort "$(reverse_name 127.0.60.2)" PTR | sort | tr '\n' ' ')
[ "$out" = "127-0-60-2.kv-peers.default.svc.$D. 127-0-60-2.kv.default.svc.$D. kv-1.kv.default.svc.$D. " ] ||
    fail "PTR of a shared address: '$out'"
pass "PTR by hostname, one per name and service"

P=kv-peers.default.svc.$D
out=$(dshort $P A | sort | tr '\n' ' ')
[ "$out" = "127.0.60.1 127.0.60.2 127.0.60.3 " ] || fail "publishNotReadyAddresses A: '$out'"
[ "$(dshort 127-0-60-3.$P A)" = 127.0.60.3 ] || fail "not-ready endpoint name"
[ "$(dshort "$(reverse_name 127.0.60.3)" PTR)" = 127-0-60-3.$P. ] || fail "not-ready PTR"
pass "publishNotReadyAddresses: not-ready endpoints in A and PTR"

E=ext-db.default.svc.$D
out=$(dshort primary.$E A | sort | tr '\n' ' ')
[ "$out" = "127.0.70.1 127.0.70.2 " ] || fail "shared hostname: '$out'"
out=$(dq $E SRV)
for r in "5432 primary" "9187 primary" "9187 127-0-70-3"; do
	echo "$out" | grep -Eq "SRV[[:space:]]+0 100 ${r% *} ${r#* }\.ext-db\.default\.svc\.cluster\.local\.\$" || fail "SRV $r: $out"
done
[ "$(echo "$out" | grep -Ec '^[^;].*IN[[:space:]]+SRV')" = 3 ] || fail "SRV from endpoints count: $out"
[ "$(dshort _pg._tcp.$E SRV)" = "0 100 5432 primary.$E." ] || fail "_pg._tcp from endpoint ports"
expect_status NXDOMAIN _nope._tcp.$E SRV
[ "$(dshort "$(reverse_name 127.0.70.1)" PTR)" = primary.$E. ] || fail "Endpoints hostname PTR"
pass "Endpoints: shared hostname, one address in two subsets, SRV ports from endpoints"

out=$(dshort "$(reverse_name 127.0.80.1)" PTR | sort | tr '\n' ' ')
[ "$out" = "127-0-80-1.front-admin.default.svc.$D. 127-0-80-1.front.default.svc.$D. " ] ||
    fail "PTR of a ClusterIP endpoint: '$out'"
expect_flag aa "$(reverse_name 127.0.80.1)" PTR
pass "PTR of an endpoint of ClusterIP services: both names"
stop_daemon
