#!/bin/bash
# SPDX-License-Identifier: MIT
# dns_robust.sh -- a million random and mutated datagrams (DNS_FLOOD_COUNT)
# at the running daemon, forwarding to a real upstream; afterwards it must
# still answer every kind of question correctly, and exit cleanly.
. "$top_srcdir/tests/integration/dns_lib.sh"

FLOOD="$top_builddir/tests/integration/dns_flood"
[ -x "$FLOOD" ] || fail "$FLOOD not built"
M="$TEST_TMP/manifests"
write_manifests "$M"
start_upstream
start_dns "$M" --api-listen none --upstream "127.0.0.1:$UP_PORT" --upstream-timeout 300ms

VIP=$(dshort backend A)
[ -n "$VIP" ] || fail "no VIP before the flood"
"$FLOOD" 127.0.0.1 "$DNS_PORT" "${DNS_FLOOD_COUNT:-1000000}" "${DNS_FLOOD_SEED:-$RANDOM}" ||
    fail "dns_flood failed"
kill -0 "$DAEMON_PID" 2>/dev/null || fail "daemon died under the flood"
# Let queued upstream queries time out, then check the answers.
sleep 0.5
[ "$(dshort backend.default.svc.cluster.local A)" = "$VIP" ] || fail "A after the flood"
[ "$(dshort +tcp backend A)" = "$VIP" ] || fail "TCP after the flood"
[ "$(dshort db.default.svc.cluster.local A | sort | tr '\n' ' ')" = "127.0.20.1 127.0.20.2 " ] ||
    fail "headless after the flood"
dq _http._tcp.backend.default.svc.cluster.local SRV | grep -q "0 100 5000" || fail "SRV after the flood"
expect_status NXDOMAIN nosuch.default.svc.cluster.local A
[ "$(dshort www.example.com A)" = 192.0.2.80 ] || fail "forwarding after the flood"
pass "still answering correctly after the flood"
stop_daemon
pass "clean exit after the flood"
