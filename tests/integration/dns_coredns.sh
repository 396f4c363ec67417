#!/bin/bash
# SPDX-License-Identifier: MIT
# dns_coredns.sh -- the cluster zone answers as CoreDNS's kubernetes plugin
# answers the same objects: a table of queries over services with ports and
# without endpoints, headless services with and without hostnames and
# ports, ExternalNames to outside and to a service, unknown names, the
# zone's structural names, and reverse lookups. Our own fixtures, real dig.
. "$top_srcdir/tests/integration/dns_lib.sh"

N=testns
D=$N.svc.cluster.local
NET=${VIP_RANGE%.0.0/16}	# 127.X
V1=$NET.0.1
V2=$NET.0.2
DATA=$TEST_TMP/upstream.data
cat > "$DATA" <<'EOF'
ENTRY_BEGIN
MATCH opcode qtype qname
ADJUST copy_id
REPLY QR RD RA NOERROR
SECTION QUESTION
ext.interwebs.test. IN A
SECTION ANSWER
ext.interwebs.test. 5 IN A 192.0.2.34
ENTRY_END
EOF
command -v ldns-testns >/dev/null 2>&1 || { echo "skip: ldns-testns missing"; exit 77; }
UP_PORT=$(free_port)
ldns-testns -p "$UP_PORT" "$DATA" >"$TEST_TMP/upstream.log" 2>&1 &
TEST_PIDS+=("$!")

M=$TEST_TMP/manifests
mkdir -p "$M"
cat > "$M/fixtures.yaml" <<YAML
kind: Service
metadata: {name: svc1, namespace: $N}
spec:
  clusterIP: $V1
  selector: {app: svc1}
  ports: [{name: http, port: 80, targetPort: 8080}]
---
kind: Pod
metadata: {name: svc1-a, namespace: $N, labels: {app: svc1}}
status: {podIP: 127.0.30.10}
---
kind: Service
metadata: {name: svcempty, namespace: $N}
spec:
  clusterIP: $V2
  selector: {app: nothing}
  ports: [{name: http, port: 80}]
---
kind: Service
metadata: {name: hdls1, namespace: $N}
spec:
  clusterIP: None
  ports: [{name: http, port: 80}]
---
kind: Endpoints
metadata: {name: hdls1, namespace: $N}
subsets:
- addresses:
  - {ip: 127.0.30.2}
  - {ip: 127.0.30.3}
  - {ip: 127.0.30.4, hostname: dup-name}
  - {ip: 127.0.30.5, hostname: dup-name}
  ports: [{name: http, port: 80}]
---
kind: Service
metadata: {name: hdlsprtls, namespace: $N}
spec: {clusterIP: None}
---
kind: Endpoints
metadata: {name: hdlsprtls, namespace: $N}
subsets:
- addresses: [{ip: 127.0.30.20}]
---
kind: Service
metadata: {name: external, namespace: $N}
spec: {type: ExternalName, externalName: ext.interwebs.test}
---
kind: Service
metadata: {name: external-to-service, namespace: $N}
spec: {type: ExternalName, externalName: svc1.$D}
YAML

start_dns "$M" --api-listen none --upstream "127.0.0.1:$UP_PORT"

# answers NAME TYPE: the answer records as "owner ttl type data", sorted.
answers() {
	dq +noall +answer "$1" "$2" | awk '{ $3 = ""; print }' | sed 's/  */ /g' | sort
}
# expect NAME TYPE RCODE AUTH RECORD...: the rcode, the SOA in authority or
# not (soa / -), and exactly these answer records ("owner ttl type data").
expect() {
	local name=$1 type=$2 rc=$3 auth=$4 out want got
	shift 4
	out=$(dq "$name" "$type")
	echo "$out" | grep -q "status: $rc," || fail "$name $type: want $rc: $out"
	echo "$out" | grep -Eq "^;; flags:[a-z ]* aa[ ;]" || fail "$name $type: no aa"
	if [ "$auth" = soa ]; then
		echo "$out" | grep -Eq "^cluster\.local\.[[:space:]].*SOA" ||
		    fail "$name $type: no SOA of cluster.local: $out"
	fi
	want=$(printf '%s\n' "$@" | sed '/^$/d' | sort)
	got=$(answers "$name" "$type")
	[ "$got" = "$want" ] || fail "$name $type: got
$got
want
$want"
}

# Services, with and without endpoints.
expect svc1.$D A NOERROR - "svc1.$D. 5 A $V1"
expect svcempty.$D A NOERROR - "svcempty.$D. 5 A $V2"
expect svc1.$D SRV NOERROR - "svc1.$D. 5 SRV 0 100 80 svc1.$D."
expect svcempty.$D SRV NOERROR - "svcempty.$D. 5 SRV 0 100 80 svcempty.$D."
expect _http._tcp.svc1.$D SRV NOERROR - "_http._tcp.svc1.$D. 5 SRV 0 100 80 svc1.$D."
expect _http._tcp.svcempty.$D SRV NOERROR - \
    "_http._tcp.svcempty.$D. 5 SRV 0 100 80 svcempty.$D."
dq svc1.$D SRV | grep -Eq "^svc1\.$D\.[[:space:]]+5[[:space:]]+IN[[:space:]]+A[[:space:]]+$V1$" ||
    fail "SRV without the A in additional"
pass "services: A, SRV on the name and on _port._proto, with and without endpoints"

# Headless: every address, hostnames shared by several addresses.
expect hdls1.$D A NOERROR - "hdls1.$D. 5 A 127.0.30.2" "hdls1.$D. 5 A 127.0.30.3" \
    "hdls1.$D. 5 A 127.0.30.4" "hdls1.$D. 5 A 127.0.30.5"
expect hdlsprtls.$D A NOERROR - "hdlsprtls.$D. 5 A 127.0.30.20"
expect 127-0-30-20.hdlsprtls.$D A NOERROR - "127-0-30-20.hdlsprtls.$D. 5 A 127.0.30.20"
expect 127-0-30-2.hdls1.$D A NOERROR - "127-0-30-2.hdls1.$D. 5 A 127.0.30.2"
expect 127-0-30-3.hdls1.$D A NOERROR - "127-0-30-3.hdls1.$D. 5 A 127.0.30.3"
expect dup-name.hdls1.$D A NOERROR - "dup-name.hdls1.$D. 5 A 127.0.30.4" \
    "dup-name.hdls1.$D. 5 A 127.0.30.5"
got=$(answers _http._tcp.hdls1.$D SRV | awk '{ print $1, $3, $4, $6, $7 }')
want=$(printf '%s\n' "_http._tcp.hdls1.$D. SRV 0 80 127-0-30-2.hdls1.$D." \
    "_http._tcp.hdls1.$D. SRV 0 80 127-0-30-3.hdls1.$D." \
    "_http._tcp.hdls1.$D. SRV 0 80 dup-name.hdls1.$D." | sort)
[ "$got" = "$want" ] || fail "headless SRV: got
$got"
out=$(dq _http._tcp.hdls1.$D SRV)
for a in 127-0-30-2.hdls1.$D./127.0.30.2 127-0-30-3.hdls1.$D./127.0.30.3 \
    dup-name.hdls1.$D./127.0.30.4 dup-name.hdls1.$D./127.0.30.5; do
	echo "$out" | grep -Eq "^${a%/*}[[:space:]].*A[[:space:]]+${a#*/}$" ||
	    fail "headless SRV additional ${a%/*}: $out"
done
pass "headless: every address, dashed and host names, a hostname on two addresses, SRV"

# ExternalName: the CNAME, and the target's records for other types.
expect external.$D CNAME NOERROR - "external.$D. 5 CNAME ext.interwebs.test."
got=$(answers external.$D A)
[ "$got" = "$(printf '%s\n' "external.$D. 5 CNAME ext.interwebs.test." \
    "ext.interwebs.test. 5 A 192.0.2.34" | sort)" ] || fail "ExternalName A: $got"
expect external-to-service.$D A NOERROR - \
    "external-to-service.$D. 5 CNAME svc1.$D." "svc1.$D. 5 A $V1"
expect endpoint.external.$D CNAME NXDOMAIN soa
pass "ExternalName: CNAME, the outside target's A, a service target's A; no names below it"

# Names that do not exist, and types a name does not have.
expect svc1.$D AAAA NOERROR soa
expect svc0.$D AAAA NXDOMAIN soa
expect svc0.$D A NXDOMAIN soa
expect svc0.svc-nons.svc.cluster.local A NXDOMAIN soa
expect bogusendpoint.hdls1.$D A NXDOMAIN soa
expect bogusendpoint.svc0.$D A NXDOMAIN soa
expect svc1.$D SOA NOERROR soa
pass "unknown services, namespaces and endpoints: NXDOMAIN; other types: NODATA, with the SOA"

# The zone's structure.
[ "$(dshort dns-version.cluster.local TXT)" = '"1.1.0"' ] || fail "dns-version"
for n in svc.cluster.local pod.cluster.local $D; do
	expect "$n" A NOERROR soa
	expect "$n" NS NOERROR soa
done
expect foo.cluster.local NS NXDOMAIN soa
expect foo.svc.cluster.local NS NXDOMAIN soa
pass "dns-version; svc, pod and namespace names exist (NODATA); others do not"

# Reverse lookups.
rev() { echo "$1" | awk -F. '{ print $4"."$3"."$2"."$1".in-addr.arpa" }'; }
[ "$(dshort "$(rev "$V1")" PTR)" = "svc1.$D." ] || fail "PTR of a VIP"
[ "$(dshort "$(rev 127.0.30.2)" PTR)" = "127-0-30-2.hdls1.$D." ] || fail "PTR of an endpoint"
[ "$(dshort "$(rev 127.0.30.4)" PTR)" = "dup-name.hdls1.$D." ] || fail "PTR of a named endpoint"
[ "$(dshort "$(rev 127.0.30.10)" PTR)" = "127-0-30-10.svc1.$D." ] ||
    fail "PTR of a ClusterIP service's endpoint"
pass "PTR: VIPs, endpoints by address and by hostname, endpoints of ClusterIP services"
stop_daemon
pass "dns_coredns.sh"
