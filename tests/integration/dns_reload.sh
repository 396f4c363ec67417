#!/bin/bash
# SPDX-License-Identifier: MIT
# dns_reload.sh -- SIGHUP applies the DNS settings of the configuration file
# with no restart: answer and negative TTLs, the cluster domain, the
# upstream servers (forwarded names answered by the new ones, the old
# servers' answers dropped from the cache, their queries still in flight
# counted against the cap), the cache size; a changed
# dns-listen is announced as taking effect at restart and the bound
# address keeps answering; a refused file changes nothing.
. "$top_srcdir/tests/integration/dns_lib.sh"

M="$TEST_TMP/manifests"
write_manifests "$M"
start_upstream
UP1=$UP_PORT

# A second upstream knowing www.example.com by another address.
cat >"$TEST_TMP/up2.data" <<'DATA'
ENTRY_BEGIN
MATCH opcode qtype qname
ADJUST copy_id
REPLY QR RD RA NOERROR
SECTION QUESTION
www.example.com. IN A
SECTION ANSWER
www.example.com. 60 IN A 192.0.2.180
ENTRY_END

ENTRY_BEGIN
MATCH opcode qtype qname
ADJUST copy_id sleep=1
REPLY QR RD RA NOERROR
SECTION QUESTION
inflight.example.com. IN A
SECTION ANSWER
inflight.example.com. 60 IN A 192.0.2.181
ENTRY_END

ENTRY_BEGIN
MATCH opcode qtype qname
ADJUST copy_id sleep=2
REPLY QR RD RA NOERROR
SECTION QUESTION
held.example.com. IN A
SECTION ANSWER
held.example.com. 60 IN A 192.0.2.182
ENTRY_END
DATA
UP2=$(free_port)
ldns-testns -v -p "$UP2" "$TEST_TMP/up2.data" >"$TEST_TMP/up2.log" 2>&1 &
TEST_PIDS+=($!)
for ((i = 0; i < 100; i++)); do
	dig +time=1 +tries=1 -p "$UP2" @127.0.0.1 www.example.com +short 2>/dev/null |
	    grep -q 192.0.2.180 && break
	sleep 0.05
done
[ "$i" -lt 100 ] || fail "second ldns-testns did not answer"

# Every DNS setting comes from the file, so that SIGHUP re-reads it.
DNS_PORT=$(free_port)
OTHER_PORT=$(free_port)
CONF="$TEST_TMP/clusteripd.yaml"
# write_conf DOMAIN TTL NEGTTL UPSTREAM_PORT CACHE LISTEN_PORT [VIP_RANGE]
write_conf() {
	cat >"$CONF" <<YAML
dns-listen: ["127.0.0.1:$6"]
api-listen: none
state-dir: $TEST_TMP/state
manifests: $M
vip-range: ${7:-$VIP_RANGE}
cluster-domain: $1
dns-ttl: $2
dns-negative-ttl: $3
upstream: ["127.0.0.1:$4"]
upstream-timeout: 5s
dns-cache-size: $5
${MAXQ:+upstream-max-inflight: $MAXQ}
YAML
}
# ttl_of NAME TYPE: the TTL of the first record of the answer or authority.
ttl_of() {
	dq "$1" "$2" | awk '/^;; (ANSWER|AUTHORITY) SECTION/ {s = 1; next} s && NF >= 5 {print $2; exit}'
}

write_conf cluster.local 5 5 "$UP1" 100 "$DNS_PORT"
mkdir -p "$TEST_TMP/state"
start_daemon "$TEST_TMP/daemon.log" -c "$CONF"

VIP=$(dshort backend.default.svc.cluster.local A)
[ -n "$VIP" ] || fail "no answer for backend"
[ "$(ttl_of backend.default.svc.cluster.local A)" = 5 ] || fail "TTL before reload"
[ "$(ttl_of nope.default.svc.cluster.local A)" = 5 ] || fail "negative TTL before reload"
[ "$(dshort www.example.com A)" = 192.0.2.80 ] || fail "first upstream"
pass "before SIGHUP: TTL 5, negative TTL 5, first upstream (answer now cached)"

write_conf cluster.test 42 7 "$UP2" 50 "$DNS_PORT"
kill -HUP "$DAEMON_PID"
wait_log "$TEST_TMP/daemon.log" "dns: settings reloaded: cluster.test"
grep -q "dns-listen changes take effect" "$TEST_TMP/daemon.log" &&
    fail "dns-listen warning with dns-listen unchanged"

out=$(dq backend.default.svc.cluster.test A)
echo "$out" | grep -q "status: NOERROR" || fail "new cluster domain: $out"
[ "$(dshort backend.default.svc.cluster.test A)" = "$VIP" ] || fail "VIP under the new domain"
[ "$(ttl_of backend.default.svc.cluster.test A)" = 42 ] || fail "TTL after reload: $out"
[ "$(ttl_of _http._tcp.backend.default.svc.cluster.test SRV)" = 42 ] || fail "SRV TTL after reload"
expect_status NXDOMAIN nope.default.svc.cluster.test A
out=$(dq nope.default.svc.cluster.test A)
echo "$out" | grep -Eq "^cluster\.test\.[[:space:]]+7[[:space:]]+IN[[:space:]]+SOA[[:space:]].* 7\$" ||
    fail "negative TTL after reload: $out"
pass "after SIGHUP: cluster domain, TTL 42, negative TTL 7 in the SOA"

[ "$(dshort www.example.com A)" = 192.0.2.180 ] || fail "not forwarded to the new upstream"
pass "forwarded names go to the new upstream; the old one's cached answer is gone"

# A refused file keeps every running setting.
echo "dns-ttl: [" >"$CONF"
kill -HUP "$DAEMON_PID"
wait_log "$TEST_TMP/daemon.log" "configuration refused"
[ "$(ttl_of backend.default.svc.cluster.test A)" = 42 ] || fail "TTL changed by a refused file"
pass "a refused configuration changes no DNS setting"

# dns-listen needs a restart: said so, and the bound address still answers.
write_conf cluster.test 42 7 "$UP2" 50 "$OTHER_PORT"
kill -HUP "$DAEMON_PID"
wait_log "$TEST_TMP/daemon.log" "dns-listen changes take effect at restart"
[ "$(dshort backend.default.svc.cluster.test A)" = "$VIP" ] || fail "bound address after reload"
pass "a changed dns-listen is logged as taking effect at restart"

# Back to the bound address: no warning this time. A query held by the
# second upstream (it answers after a second) while the reload switches
# to the first is still answered, by the second.
write_conf cluster.test 42 7 "$UP1" 50 "$DNS_PORT"
n=$(count_log "$TEST_TMP/daemon.log" "dns: settings reloaded")
w=$(count_log "$TEST_TMP/daemon.log" "dns-listen changes take effect")
dig +time=4 +tries=1 -p "$DNS_PORT" @127.0.0.1 inflight.example.com A >"$TEST_TMP/inflight.out" 2>&1 &
qpid=$!
wait_log "$TEST_TMP/up2.log" "inflight\.example\.com"
kill -HUP "$DAEMON_PID"
wait "$qpid"
grep -q "192\.0\.2\.181" "$TEST_TMP/inflight.out" ||
    fail "a query across the reload: $(cat "$TEST_TMP/inflight.out")"
for ((i = 0; i < 200; i++)); do
	[ "$(count_log "$TEST_TMP/daemon.log" "dns: settings reloaded")" -gt "$n" ] && break
	sleep 0.05
done
[ "$i" -lt 200 ] || fail "no reload logged"
[ "$(count_log "$TEST_TMP/daemon.log" "dns-listen changes take effect")" = "$w" ] ||
    fail "dns-listen warning for the bound address"
[ "$(dshort www.example.com A)" = 192.0.2.80 ] || fail "back to the first upstream"
pass "a query across a reload is answered; upstreams switched back"

# reload_to PORT: the upstream becomes 127.0.0.1:PORT, once reloaded.
reload_to() {
	local n i
	n=$(count_log "$TEST_TMP/daemon.log" "dns: settings reloaded")
	write_conf cluster.test 42 7 "$1" 50 "$DNS_PORT"
	kill -HUP "$DAEMON_PID"
	for ((i = 0; i < 200; i++)); do
		[ "$(count_log "$TEST_TMP/daemon.log" "dns: settings reloaded")" -gt "$n" ] && return 0
		sleep 0.05
	done
	fail "no reload logged"
}
# Two reloads while a query is held upstream (two seconds): the second
# must not cancel the query the first left on the replaced servers.
reload_to "$UP2"
dig +time=6 +tries=1 -p "$DNS_PORT" @127.0.0.1 held.example.com A >"$TEST_TMP/held.out" 2>&1 &
qpid=$!
wait_log "$TEST_TMP/up2.log" "held\.example\.com"
reload_to "$UP1"
reload_to "$UP2"
wait "$qpid"
grep -q "192\.0\.2\.182" "$TEST_TMP/held.out" ||
    fail "a query across two reloads: $(cat "$TEST_TMP/held.out")"
pass "a query across two reloads in a row is answered"

# The in-flight cap counts the queries left on replaced servers: with a cap
# of one, a query held across a reload leaves no room for another.
MAXQ=1
reload_to "$UP2"
n=$(count_log "$TEST_TMP/up2.log" "held\.example\.com")
dig +time=6 +tries=1 -p "$DNS_PORT" @127.0.0.1 held.example.com A >"$TEST_TMP/held.out" 2>&1 &
qpid=$!
for ((i = 0; i < 200; i++)); do
	[ "$(count_log "$TEST_TMP/up2.log" "held\.example\.com")" -gt "$n" ] && break
	sleep 0.05
done
[ "$i" -lt 200 ] || fail "the held query did not reach the upstream"
reload_to "$UP1"
expect_status SERVFAIL www.example.com A
wait "$qpid"
grep -q "192\.0\.2\.182" "$TEST_TMP/held.out" ||
    fail "the held query across the reload: $(cat "$TEST_TMP/held.out")"
[ "$(dshort www.example.com A)" = 192.0.2.80 ] || fail "forwarding once the held query is answered"
MAXQ=
pass "the in-flight cap counts queries left on replaced upstreams"

# vip-range waits for a restart: the VIPs keep their names in PTR.
ptr_want=$(dshort -x "$VIP")
[ "$ptr_want" = "backend.default.svc.cluster.test." ] || fail "PTR of $VIP: $ptr_want"
n=$(count_log "$TEST_TMP/daemon.log" "dns: settings reloaded")
write_conf cluster.test 42 7 "$UP2" 50 "$DNS_PORT" "127.$(((VIP_NET + 1) % 256)).0.0/16"
kill -HUP "$DAEMON_PID"
wait_log "$TEST_TMP/daemon.log" "vip-range and vip-interface changes take effect at restart"
for ((i = 0; i < 200; i++)); do
	[ "$(count_log "$TEST_TMP/daemon.log" "dns: settings reloaded")" -gt "$n" ] && break
	sleep 0.05
done
[ "$(dshort -x "$VIP")" = "$ptr_want" ] ||
    fail "PTR of $VIP after a vip-range change: $(dq -x "$VIP")"
# An address of the range no service holds: ours to deny, not forwarded.
expect_status NXDOMAIN -x "127.$VIP_NET.255.254"
expect_flag aa -x "127.$VIP_NET.255.254"
pass "a changed vip-range leaves the reverse zone as the VIPs are"

stop_daemon
