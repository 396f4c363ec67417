#!/bin/bash
# SPDX-License-Identifier: MIT
# dns_netns.sh -- the glibc resolver: inside a network namespace whose
# /etc/netns/NAME/resolv.conf names the daemon (on the namespace's
# 127.0.0.1:53) with the cluster search list, `getent hosts backend`
# resolves to the VIP. Needs root (skipped otherwise).
. "$top_srcdir/tests/integration/dns_lib.sh"

[ "$(id -u)" = 0 ] || { echo "skip: needs root"; exit 77; }
for tool in ip getent; do
	command -v "$tool" >/dev/null 2>&1 || { echo "skip: $tool missing"; exit 77; }
done
NS=cipdns$$
ip netns add "$NS" 2>/dev/null || { echo "skip: cannot create a network namespace"; exit 77; }
netns_cleanup() {
	lib_cleanup
	ip netns del "$NS" 2>/dev/null
	rm -rf "/etc/netns/$NS"
}
trap netns_cleanup EXIT
ip -n "$NS" link set lo up
mkdir -p "/etc/netns/$NS"
cat >"/etc/netns/$NS/resolv.conf" <<CONF
nameserver 127.0.0.1
search default.svc.cluster.local svc.cluster.local cluster.local
options ndots:5 timeout:1 attempts:1
CONF

M="$TEST_TMP/manifests"
write_manifests "$M"
mkdir -p "$TEST_TMP/state"
# No --upstream: the namespace's resolv.conf names the daemon itself,
# which it must refuse to forward to. The wildcard address (inside our own
# namespace) also shows answers leave from the address the query came to.
DAEMON_LOG="$TEST_TMP/daemon.log"
ip netns exec "$NS" "$CIPD" --dns-listen 0.0.0.0:53 --api-listen none --vip-range "$VIP_RANGE" \
    --state-dir "$TEST_TMP/state" --manifests "$M" 2>"$DAEMON_LOG" &
DAEMON_PID=$!	# ip netns exec execs the daemon: the same process
TEST_PIDS+=("$DAEMON_PID")
wait_log "$DAEMON_LOG" "startup complete"
grep -q "not forwarding to 127.0.0.1 port 53" "$TEST_TMP/daemon.log" || fail "forwarding to itself"

VIP=$(ip netns exec "$NS" dig +short +time=1 @127.0.0.1 backend.default.svc.cluster.local A)
[ -n "$VIP" ] || fail "no VIP"
# dig rejects an answer from another source address than it asked
out=$(ip netns exec "$NS" dig +time=1 +tries=1 @127.0.0.2 backend.default.svc.cluster.local A 2>&1)
echo "$out" | grep -q "$VIP" || fail "wildcard listener, 127.0.0.2: $out"
echo "$out" | grep -qi "unexpected source" && fail "answer from the wrong address: $out"
pass "wildcard listener answers from the address asked (IP_PKTINFO)"
for name in backend backend.default backend.default.svc backend.default.svc.cluster.local; do
	out=$(ip netns exec "$NS" getent hosts "$name") || fail "getent hosts $name failed"
	echo "$out" | grep -q "^$VIP[[:space:]].*backend" || fail "getent hosts $name: $out"
done
pass "getent hosts backend (and longer forms) -> $VIP"
# (getent hosts, not ahosts: AI_ADDRCONFIG finds no address but loopback here)
out=$(ip netns exec "$NS" getent hosts db) || fail "getent db"
echo "$out" | grep -Eq '^127\.0\.20\.[12][[:space:]]+db\.default\.svc\.cluster\.local' || fail "headless: $out"
pass "getent hosts db -> an endpoint of the headless service"
start=$(date +%s%N)
ip netns exec "$NS" getent hosts www.example.com && fail "forwarded to nowhere?"
ms=$(( ($(date +%s%N) - start) / 1000000 ))
[ "$ms" -lt 3000 ] || fail "an unknown name took ${ms} ms"
pass "a name outside the cluster fails fast without upstreams (${ms} ms)"
