#!/bin/bash
# SPDX-License-Identifier: MIT
# dns_policy.sh -- who gets forwarded names (dns-allow: REFUSED outside
# the list, over UDP and TCP, the cache included, cluster names still
# answered), RD=0 answered from the cache only, the dns-short-names modes,
# all of them changed by SIGHUP; bad settings refused by --check-config.
. "$top_srcdir/tests/integration/dns_lib.sh"

M="$TEST_TMP/manifests"
write_manifests "$M"
# A namespace named like a public domain: its S.N short form is api.dev.
cat >"$M/dev.yaml" <<'YAML'
kind: Service
metadata: {name: api, namespace: dev}
spec:
  selector: {app: api}
  ports: [{port: 80}]
YAML
start_upstream

# Everything the test changes comes from the file, so SIGHUP re-reads it.
DNS_PORT=$(free_port)
API_PORT=$(free_port)
CONF="$TEST_TMP/clusteripd.yaml"
LISTEN="\"127.0.0.1:$DNS_PORT\""
if python3 -c 'import socket; socket.socket(socket.AF_INET6).bind(("::1", 0))' 2>/dev/null; then
	HAVE_V6=1
	LISTEN="$LISTEN, \"[::1]:$DNS_PORT\""
fi
# write_conf SHORT_NAMES ALLOW...: the configuration with these settings.
write_conf() {
	local short=$1 a
	shift
	{
		echo "dns-listen: [$LISTEN]"
		echo "api-listen: \"127.0.0.1:$API_PORT\""
		echo "state-dir: $TEST_TMP/state"
		echo "manifests: $M"
		echo "vip-range: $VIP_RANGE"
		echo "upstream: [\"127.0.0.1:$UP_PORT\"]"
		echo "dns-short-names: $short"
		echo "dns-allow:"
		for a in "$@"; do echo "  - \"$a\""; done
	} >"$CONF"
}
# reload: SIGHUP, then wait for the DNS settings to be taken.
reload() {
	local n
	n=$(count_log "$TEST_TMP/daemon.log" "dns: settings reloaded")
	kill -HUP "$DAEMON_PID"
	for ((i = 0; i < 200; i++)); do
		[ "$(count_log "$TEST_TMP/daemon.log" "dns: settings reloaded")" -gt "$n" ] && return 0
		sleep 0.05
	done
	fail "no reload logged"
}
metric() {	# metric NAME{LABELS}: its value
	curl -s "http://127.0.0.1:$API_PORT/metrics" | awk -v m="$1" '$1 == m {print $2}'
}

mkdir -p "$TEST_TMP/state"
write_conf all 127.0.0.2/32
start_daemon "$TEST_TMP/daemon.log" -c "$CONF"
VIP=$(dshort backend.default.svc.cluster.local A)
[ -n "$VIP" ] || fail "no answer for backend"
API_VIP=$(dshort api.dev.svc.cluster.local A)
[ -n "$API_VIP" ] || fail "no answer for api.dev"

# 127.0.0.1 is outside 127.0.0.2/32: forwarded names are refused.
expect_status REFUSED -b 127.0.0.1 www.example.com A
expect_status REFUSED -b 127.0.0.1 +tcp www.example.com A
[ "$(dshort -b 127.0.0.1 backend A)" = "$VIP" ] || fail "short form for a refused client"
[ "$(dshort -b 127.0.0.1 +tcp backend.default.svc.cluster.local A)" = "$VIP" ] ||
	fail "cluster name over TCP for a refused client"
expect_status NXDOMAIN -b 127.0.0.1 nope.default.svc.cluster.local A
pass "outside dns-allow: REFUSED for other names (UDP, TCP), cluster names answered"
[ "$(dshort -b 127.0.0.2 www.example.com A)" = 192.0.2.80 ] || fail "allowed client not forwarded"
[ "$(dshort -b 127.0.0.2 +tcp tcp.example.com A)" = 192.0.2.81 ] || fail "allowed TCP client not forwarded"
# The name is cached now: the cache does not answer the refused client.
expect_status REFUSED -b 127.0.0.1 www.example.com A
pass "inside dns-allow: forwarded; cached answers not given outside it"
n=$(metric 'clusterip_dns_refused_total{reason="not-allowed"}')
[ "${n:-0}" -ge 3 ] || fail "refusals not counted: ${n:-none}"
curl -s "http://127.0.0.1:$API_PORT/metrics" |
	grep -q '^clusterip_dns_queries_total{qtype="A",rcode="REFUSED"} [1-9]' ||
	fail "no REFUSED in the query counter"
pass "refusals counted (clusterip_dns_refused_total{reason=\"not-allowed\"} $n)"

# RD=0: from the cache only; a miss is REFUSED, cluster names answered.
out=$(dq -b 127.0.0.2 +norec www.example.com A)
echo "$out" | grep -q "192.0.2.80" || fail "RD=0 cached name: $out"
expect_status REFUSED -b 127.0.0.2 +norec norec.example.com A
[ "$(dshort -b 127.0.0.2 +norec backend A)" = "$VIP" ] || fail "RD=0 cluster name"
[ "$(dshort -b 127.0.0.2 norec.example.com A)" = 192.0.2.64 ] || fail "RD=1 after an RD=0 miss"
[ "$(dshort -b 127.0.0.2 +norec norec.example.com A)" = 192.0.2.64 ] || fail "RD=0 once cached"
n=$(metric 'clusterip_dns_refused_total{reason="no-recursion"}')
[ "${n:-0}" -ge 1 ] || fail "RD=0 refusal not counted"
pass "RD=0: answered from the cache, REFUSED on a miss, cluster names answered"

# dns-short-names all (the default): api.dev is the service.
[ "$(dshort -b 127.0.0.2 api.dev A)" = "$API_VIP" ] || fail "all: api.dev"
[ "$(dshort -b 127.0.0.2 backend.default A)" = "$VIP" ] || fail "all: backend.default"
pass "dns-short-names all: S, S.N, S.N.svc answered"

# SIGHUP: the whole loopback allowed, single-label short names.
write_conf single-label 127.0.0.0/8
reload
[ "$(dshort -b 127.0.0.1 www.example.com A)" = 192.0.2.80 ] || fail "allow list not reloaded"
pass "SIGHUP: a new dns-allow is applied"
if [ -n "${HAVE_V6:-}" ]; then
	out=$(dig +time=2 +tries=1 -p "$DNS_PORT" @::1 www.example.com A 2>&1)
	echo "$out" | grep -q "status: REFUSED," || fail "::1 outside 127.0.0.0/8: $out"
	[ "$(dig +time=2 +tries=1 +short -p "$DNS_PORT" @::1 backend A)" = "$VIP" ] ||
		fail "::1: cluster name"
	pass "an IPv6 client is matched against IPv6 entries only"
fi
[ "$(dshort api.dev A)" = 192.0.2.60 ] || fail "single-label: api.dev not forwarded"
[ "$(dshort backend.default A)" = 192.0.2.62 ] || fail "single-label: backend.default not forwarded"
[ "$(dshort backend A)" = "$VIP" ] || fail "single-label: backend"
[ "$(dshort api.dev.svc A)" = "$API_VIP" ] || fail "single-label: api.dev.svc"
dq api.dev.svc A | grep -q "flags: qr aa" || fail "single-label: api.dev.svc not authoritative"
pass "dns-short-names single-label: S and S.N.svc answered, S.N forwarded"

write_conf off 127.0.0.0/8
reload
[ "$(dshort backend A)" = 192.0.2.61 ] || fail "off: backend not forwarded"
[ "$(dshort api.dev.svc A)" = 192.0.2.63 ] || fail "off: api.dev.svc not forwarded"
[ "$(dshort api.dev.svc.cluster.local A)" = "$API_VIP" ] || fail "off: full name"
pass "dns-short-names off: only the full names are ours"

# An empty list forwards for nobody.
write_conf all
reload
expect_status REFUSED www.example.com A
[ "$(dshort backend A)" = "$VIP" ] || fail "empty dns-allow: cluster names"
pass "an empty dns-allow refuses every forwarded name"

# A refused configuration keeps the running one.
write_conf all 10.0.0.1/8
kill -HUP "$DAEMON_PID"
wait_log "$TEST_TMP/daemon.log" 'configuration refused.*dns-allow: "10.0.0.1/8" has bits set beyond /8 \(10.0.0.0/8\?\)'
expect_status REFUSED www.example.com A
pass "a bad dns-allow on SIGHUP is refused with its reason, the running list kept"
stop_daemon

out=$("$CIPD" -c /dev/null --state-dir "$TEST_TMP/state" --dns-allow 192.0.2.0/33 --check-config 2>&1) &&
	fail "--check-config took a /33"
echo "$out" | grep -q 'dns-allow: "192.0.2.0/33": prefix /33 is longer' || fail "reason: $out"
out=$("$CIPD" -c /dev/null --state-dir "$TEST_TMP/state" --dns-short-names some --check-config 2>&1) &&
	fail "--check-config took dns-short-names some"
echo "$out" | grep -q 'dns-short-names: "some" is not all, single-label or off' || fail "reason: $out"
out=$("$CIPD" -c /dev/null --state-dir "$TEST_TMP/state" --dns-allow 10.1.0.0/16 \
    --dns-allow fd00::/8 --dns-short-names off --check-config 2>&1) || fail "--check-config: $out"
echo "$out" | grep -A2 '^dns-allow:' | grep -q 'fd00::/8' || fail "flags not printed: $out"
pass "--check-config: bad dns-allow and dns-short-names refused, good ones printed"
