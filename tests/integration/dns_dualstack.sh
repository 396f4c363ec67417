#!/bin/bash
# SPDX-License-Identifier: MIT
# dns_dualstack.sh -- dual-stack services over real UDP with dig: a range
# per family, A and AAAA of the VIPs, IPv6 single-stack, headless AAAA
# per endpoint with CoreDNS's dashed IPv6 names, SRV additional A and
# AAAA, PTR in the IPv6 range's ip6.arpa zone and for IPv6 endpoints,
# and the refusal of RequireDualStack without an IPv6 range. The daemon
# routes an IPv6 range to lo in loopback mode, which needs CAP_NET_ADMIN:
# it runs in a network namespace of the test's own, so the host's routes
# stay as they are; without root, in an unprivileged user namespace with
# its own network namespace (unshare -rn) when the kernel allows it.
command -v ip >/dev/null || { echo "SKIP: no ip(8) (iproute2)"; exit 77; }
if [ -z "${CIP_DNS6_USERNS:-}" ] && [ "$(id -u)" != 0 ]; then
	unshare -rn true 2>/dev/null ||
	    { echo "SKIP: an IPv6 VIP range needs CAP_NET_ADMIN"; exit 77; }
	CIP_DNS6_USERNS=1 exec unshare -rn bash "$0" "$@"
fi
. "$top_srcdir/tests/integration/dns_lib.sh"

if [ -n "${CIP_DNS6_USERNS:-}" ]; then
	# A network namespace of our own already.
	ip link set lo up || fail "cannot bring lo up"
else
	NS="cip-dns6-$$"
	ip netns add "$NS" 2>/dev/null || { echo "SKIP: cannot create network namespaces"; exit 77; }
	dual_cleanup() {
		lib_cleanup
		ip netns del "$NS" 2>/dev/null
	}
	trap dual_cleanup EXIT
	ip -n "$NS" link set lo up
	DAEMON_PREFIX=(ip netns exec "$NS")
	dq() {
		ip netns exec "$NS" dig +time=2 +tries=1 -p "$DNS_PORT" @127.0.0.1 "$@" 2>&1
	}
fi

M="$TEST_TMP/manifests"
mkdir -p "$M"
cat >"$M/dual.yaml" <<'YAML'
apiVersion: v1
kind: Service
metadata: {name: web}
spec:
  selector: {app: web}
  ipFamilyPolicy: PreferDualStack
  ports: [{name: http, port: 80}]
---
apiVersion: v1
kind: Service
metadata: {name: six}
spec:
  selector: {app: web}
  ipFamilies: [IPv6]
  clusterIP: "fd00:96::20"
  ports: [{port: 80}]
---
apiVersion: v1
kind: Service
metadata: {name: hl}
spec:
  clusterIP: None
  selector: {app: hl}
  ipFamilyPolicy: RequireDualStack
  ports: [{name: http, port: 80}]
---
apiVersion: v1
kind: Pod
metadata: {name: web-1, labels: {app: web}}
status:
  podIP: 127.0.90.1
  podIPs: [{ip: 127.0.90.1}, {ip: "fd00:90::1"}]
---
apiVersion: v1
kind: Pod
metadata: {name: hl-0, labels: {app: hl}}
status:
  podIPs: [{ip: "5678:abcd::1"}, {ip: 127.0.91.1}]
---
apiVersion: v1
kind: Pod
metadata: {name: hl-1, labels: {app: hl}}
spec: {hostname: hl-1, subdomain: hl}
status: {podIP: "fd00:91::2"}
YAML

start_dns "$M" --vip-range fd00:96::/112 --api-listen none \
    --upstream 127.0.0.1:9 --dns-ttl 5
D=cluster.local

v4=$(dshort web.default.svc.$D A)
v6=$(dshort web.default.svc.$D AAAA)
case "$v4" in 127.$VIP_NET.*) ;; *) fail "A of a dual-stack service: '$v4'" ;; esac
case "$v6" in fd00:96::*) ;; *) fail "AAAA of a dual-stack service: '$v6'" ;; esac
expect_flag aa web.default.svc.$D AAAA
[ "$(dshort six.default.svc.$D AAAA)" = fd00:96::20 ] || fail "AAAA of an IPv6 service"
[ -z "$(dshort six.default.svc.$D A)" ] || fail "A of an IPv6-only service"
expect_status NOERROR six.default.svc.$D A
pass "A and AAAA of the VIPs, IPv6 single-stack"

out=$(dq _http._tcp.web.default.svc.$D SRV)
echo "$out" | grep -Eq "^web\.default\.svc\.$D\.[[:space:]].*A[[:space:]]+$v4\$" || fail "SRV additional A: $out"
echo "$out" | grep -Eq "^web\.default\.svc\.$D\.[[:space:]].*AAAA[[:space:]]+$v6\$" || fail "SRV additional AAAA: $out"
pass "SRV: A and AAAA in additional"

H=hl.default.svc.$D
out=$(dshort $H AAAA | sort | tr '\n' ' ')
[ "$out" = "5678:abcd::1 fd00:91::2 " ] || fail "headless AAAA: '$out'"
[ "$(dshort $H A)" = 127.0.91.1 ] || fail "headless A"
[ "$(dshort 5678-abcd--1.$H AAAA)" = 5678:abcd::1 ] || fail "dashed IPv6 name"
[ "$(dshort 127-0-91-1.$H A)" = 127.0.91.1 ] || fail "dashed IPv4 name of a dual pod"
[ "$(dshort hl-1.$H AAAA)" = fd00:91::2 ] || fail "hostname AAAA"
expect_status NOERROR 5678-abcd--1.$H A
out=$(dq $H SRV)
echo "$out" | grep -Eq "^5678-abcd--1\.$H\.[[:space:]].*AAAA[[:space:]]+5678:abcd::1\$" || fail "headless SRV additional AAAA: $out"
pass "headless: AAAA per endpoint, CoreDNS's dashed IPv6 names, SRV additional"

[ "$(dshort -x "$v6")" = web.default.svc.$D. ] || fail "PTR of the IPv6 VIP"
[ "$(dshort -x fd00:96::20)" = six.default.svc.$D. ] || fail "PTR of a requested IPv6 VIP"
expect_status NXDOMAIN -x fd00:96::ffff
expect_flag aa -x fd00:96::ffff
[ "$(dshort -x 5678:abcd::1)" = 5678-abcd--1.$H. ] || fail "PTR of an IPv6 endpoint"
[ "$(dshort -x fd00:91::2)" = hl-1.$H. ] || fail "PTR of an IPv6 endpoint by hostname"
pass "PTR: the ip6.arpa zone of the range, IPv6 endpoints"

# A restart gives the same VIPs of both families (the state file keeps both).
stop_daemon
python3 -c 'import json, sys; sys.exit("fd00:96::/112" not in [r["range"] for r in json.load(open(sys.argv[1]))["ranges"]])' \
    "$TEST_TMP/state/vips.json" || fail "state file: no IPv6 range"
start_dns "$M" --vip-range fd00:96::/112 --api-listen none \
    --upstream 127.0.0.1:9 --dns-ttl 5
[ "$(dshort web.default.svc.$D AAAA)" = "$v6" ] || fail "IPv6 VIP changed over a restart"
[ "$(dshort web.default.svc.$D A)" = "$v4" ] || fail "IPv4 VIP changed over a restart"
stop_daemon
pass "both VIPs stable over a restart"

# Without an IPv6 range: RequireDualStack is refused with file and line.
out=$("$CIPD" --vip-range "$VIP_RANGE" --manifests "$M" --api-listen none \
    --state-dir "$TEST_TMP/state" --upstream 127.0.0.1:9 --check-config 2>&1) && fail "RequireDualStack accepted"
echo "$out" | grep -q "dual.yaml:[0-9]*:[0-9]*: service default/.*not configured" ||
    fail "refusal without position: $out"
pass "single-stack daemon refuses dual-stack requirements with file:line"
