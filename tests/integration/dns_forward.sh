#!/bin/bash
# SPDX-License-Identifier: MIT
# dns_forward.sh -- names outside the cluster zone go to a real upstream
# (ldns-testns): relayed answers, TCP for TCP clients, TC asked again over TCP, the
# cache, SERVFAIL on timeout, the in-flight cap, never forwarding to itself,
# IPv6 upstreams, answers from the address asked on wildcard listeners.
. "$top_srcdir/tests/integration/dns_lib.sh"

M="$TEST_TMP/manifests"
write_manifests "$M"
start_upstream
API_PORT=$(free_port)
start_dns "$M" --api-listen "127.0.0.1:$API_PORT" --upstream "127.0.0.1:$UP_PORT" \
    --upstream-timeout 600ms

out=$(dq www.example.com A)
echo "$out" | grep -q "192.0.2.80" || fail "forwarded: $out"
echo "$out" | grep -q "flags: qr aa" && fail "aa on a forwarded answer"
pass "forwarded over UDP, answer relayed with the client's ID"
[ "$(dshort +tcp tcp.example.com A)" = 192.0.2.81 ] || fail "TCP client not forwarded over TCP"
pass "a TCP client's query goes upstream over TCP"
[ "$(dshort nosuch A)" = 192.0.2.99 ] || fail "short form of no service not forwarded"
pass "short names of no service are forwarded"
out=$(dq +ignore +notcp big.example.com TXT)
echo "$out" | grep -Eq "^;; flags:[a-z ]* tc[ ;]" && fail "TC passed on: $out"
echo "$out" | grep -q '"full answer over tcp"' || fail "TC not retried over TCP: $out"
pass "TC upstream: the daemon asks again over TCP, the client gets the full answer"
out=$(dq nx.example.com A)
echo "$out" | grep -q "status: NXDOMAIN" || fail "NXDOMAIN relayed: $out"

# The cache: after the upstream is gone, cached names still answer.
[ "$(dshort cached.example.com A)" = 192.0.2.77 ] || fail "cached name"
sleep 1.1
kill "$UP_PID"; wait "$UP_PID" 2>/dev/null
out=$(dq CACHED.example.com A)
echo "$out" | grep -q "192.0.2.77" || fail "not from the cache: $out"
echo "$out" | grep -Eq "^CACHED\.example\.com\.[[:space:]]+29[0-9][[:space:]]" || fail "cached TTL not lowered / case: $out"
dq nx.example.com A | grep -q "status: NXDOMAIN" || fail "negative answer not cached"
pass "cache: positive and negative answers, TTL lowered, question case kept"

# Every upstream down: SERVFAIL within the timeout.
start=$(date +%s%N)
expect_status SERVFAIL www.example.net A
ms=$(( ($(date +%s%N) - start) / 1000000 ))
[ "$ms" -lt 1900 ] || fail "SERVFAIL took ${ms} ms"
pass "SERVFAIL when every upstream fails (${ms} ms)"

out=$(curl -s "http://127.0.0.1:$API_PORT/metrics")
echo "$out" | grep -Eq '^clusterip_dns_cache_hits_total [1-9]' || fail "cache hits metric"
echo "$out" | grep -Eq '^clusterip_upstream_queries_total\{result="ok"\} [1-9]' || fail "upstream ok metric"
echo "$out" | grep -Eq '^clusterip_upstream_duration_seconds_count [1-9]' || fail "duration histogram"
pass "upstream and cache metrics"
stop_daemon

# Never ourselves: an upstream equal to our own address is left out.
start_dns "$M" --api-listen none --upstream "127.0.0.1:$(free_port)" --upstream-max-inflight 1 \
    --upstream-timeout 1500ms
SELF=$DNS_PORT
stop_daemon
DNS_PORT=$SELF
start_daemon "$TEST_TMP/self.log" --dns-listen "127.0.0.1:$DNS_PORT" --state-dir "$TEST_TMP/state" \
    --manifests "$M" --api-listen none --upstream "127.0.0.1:$DNS_PORT"
grep -q "not forwarding to 127.0.0.1 port $DNS_PORT" "$TEST_TMP/self.log" || fail "no warning about self"
expect_status REFUSED www.example.com A
[ "$(dshort backend A)" != "" ] || fail "cluster names with no upstream"
pass "an upstream that is ourselves is refused (logged); cluster names still answer"
stop_daemon

# IPv6: an upstream at [::1] is forwarded to, and our own IPv6 listener
# as an upstream is left out like the IPv4 one.
if python3 -c 'import socket; socket.socket(socket.AF_INET6).bind(("::1", 0))' 2>/dev/null; then
	UP6=$(free_port)
	ldns-testns -6 -p "$UP6" "$top_srcdir/tests/integration/dns_upstream.data" \
	    >"$TEST_TMP/upstream6.log" 2>&1 &
	TEST_PIDS+=($!)
	for ((i = 0; i < 100; i++)); do
		dig +time=1 +tries=1 -p "$UP6" @::1 www.example.com +short 2>/dev/null |
		    grep -q 192.0.2.80 && break
		sleep 0.05
	done
	[ "$i" -lt 100 ] || fail "ldns-testns on ::1 did not answer"
	start_dns "$M" --api-listen none --upstream "[::1]:$UP6"
	[ "$(dshort www.example.com A)" = 192.0.2.80 ] || fail "not forwarded to [::1]:$UP6"
	stop_daemon
	P6=$(free_port)
	start_daemon "$TEST_TMP/self6.log" --dns-listen "127.0.0.1:$DNS_PORT" \
	    --dns-listen "[::1]:$P6" --state-dir "$TEST_TMP/state" --manifests "$M" \
	    --api-listen none --upstream "[::1]:$P6"
	grep -q "not forwarding to ::1 port $P6" "$TEST_TMP/self6.log" ||
	    fail "no warning about our own IPv6 address"
	expect_status REFUSED www.example.com A
	stop_daemon
	pass "IPv6 upstreams: forwarded to; our own IPv6 listener left out"
fi

# A wildcard listener answers from the address it was asked at, for
# forwarded names (answered later, from the upstream's reply) as for ours:
# dig drops a reply from another source and would time out.
start_upstream
WPORT=$(free_port)
W6=()
python3 -c 'import socket; socket.socket(socket.AF_INET6).bind(("::1", 0))' 2>/dev/null &&
	W6=(--dns-listen "[::]:$WPORT")
start_daemon "$TEST_TMP/wild.log" --dns-listen "0.0.0.0:$WPORT" "${W6[@]}" \
    --state-dir "$TEST_TMP/state" --manifests "$M" --vip-range "$VIP_RANGE" \
    --api-listen none --upstream "127.0.0.1:$UP_PORT"
for a in 127.0.0.2 127.0.0.3; do
	[ "$(dig +short +time=2 +tries=1 -p "$WPORT" @$a www.example.com A)" = 192.0.2.80 ] ||
	    fail "forwarded answer through the wildcard listener at $a"
	[ -n "$(dig +short +time=2 +tries=1 -p "$WPORT" @$a backend A)" ] ||
	    fail "local answer through the wildcard listener at $a"
done
if [ ${#W6[@]} -gt 0 ]; then
	[ "$(dig +short +time=2 +tries=1 -p "$WPORT" @::1 www.example.com A)" = 192.0.2.80 ] ||
	    fail "forwarded answer through the IPv6 wildcard listener"
fi
stop_daemon
kill "$UP_PID"; wait "$UP_PID" 2>/dev/null
pass "wildcard listeners answer forwarded and local names from the address asked"

# The in-flight cap: a silent upstream holds the first query; the second
# gets SERVFAIL at once.
python3 - "$TEST_TMP/silent.port" <<'PY' &
import socket, sys, time
s = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
s.bind(("127.0.0.1", 0))
open(sys.argv[1], "w").write(str(s.getsockname()[1]))
time.sleep(20)
PY
TEST_PIDS+=($!)
for ((i = 0; i < 100; i++)); do [ -s "$TEST_TMP/silent.port" ] && break; sleep 0.05; done
start_dns "$M" --api-listen none --upstream "127.0.0.1:$(cat "$TEST_TMP/silent.port")" \
    --upstream-max-inflight 1 --upstream-timeout 3s
python3 - "$DNS_PORT" <<'PY' || fail "in-flight cap"
import socket, struct, sys, time
port = int(sys.argv[1])
def q(name, qid):
    wire = b"".join(bytes([len(l)]) + l.encode() for l in name.split(".")) + b"\0"
    return struct.pack("!HHHHHH", qid, 0x0100, 1, 0, 0, 0) + wire + struct.pack("!HH", 1, 1)
u = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
u.settimeout(1)
u.sendto(q("one.example.com", 1), ("127.0.0.1", port))
time.sleep(0.1)
u.sendto(q("two.example.com", 2), ("127.0.0.1", port))
data, _ = u.recvfrom(4096)
qid, flags = struct.unpack("!HH", data[:4])
if qid != 2 or flags & 0xf != 2:
    print("want SERVFAIL for id 2, got id", qid, "rcode", flags & 0xf); sys.exit(1)
# the first one times out upstream: SERVFAIL after the timeout (3 s)
t0 = time.time()
u.settimeout(5)
data, _ = u.recvfrom(4096)
qid, flags = struct.unpack("!HH", data[:4])
if qid != 1 or flags & 0xf != 2:
    print("want SERVFAIL for id 1, got id", qid, "rcode", flags & 0xf); sys.exit(1)
if not 2.0 < time.time() - t0 + 0.1 < 4.0:
    print("timeout took", time.time() - t0); sys.exit(1)
PY
pass "in-flight cap: SERVFAIL beyond it; SERVFAIL after the upstream timeout"
stop_daemon

# TCP clients gone before their forwarded answers: an upstream that
# accepts over TCP and never answers holds the queries past the timeout,
# and the SERVFAILs are dropped with the clients (closed or reset).
python3 - "$TEST_TMP/mute.port" <<'PY' &
import socket, sys, time
s = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
s.bind(("127.0.0.1", 0))
s.listen(64)
open(sys.argv[1], "w").write(str(s.getsockname()[1]))
held, end = [], time.time() + 20
s.settimeout(0.2)
while time.time() < end:
    try:
        held.append(s.accept()[0])
    except socket.timeout:
        pass
PY
TEST_PIDS+=($!)
for ((i = 0; i < 100; i++)); do [ -s "$TEST_TMP/mute.port" ] && break; sleep 0.05; done
start_dns "$M" --api-listen none --upstream "127.0.0.1:$(cat "$TEST_TMP/mute.port")" \
    --upstream-timeout 500ms
python3 - "$DNS_PORT" <<'PY' || fail "TCP clients leaving early"
import socket, struct, sys
port = int(sys.argv[1])
wire = b"".join(bytes([len(l)]) + l.encode() for l in "held.example.com".split(".")) + b"\0"
for i in range(20):
    m = struct.pack("!HHHHHH", i, 0x0100, 1, 0, 0, 0) + wire + struct.pack("!HH", 1, 1)
    t = socket.create_connection(("127.0.0.1", port), 2)
    t.sendall(struct.pack("!H", len(m)) + m)
    if i % 2:	# half of them reset the connection rather than close it
        t.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER, struct.pack("ii", 1, 0))
    t.close()
PY
sleep 1
kill -0 "$DAEMON_PID" || fail "daemon died after TCP clients left early"
expect_status SERVFAIL +tcp held.example.com A
[ -n "$(dshort +tcp backend A)" ] || fail "TCP answers after clients left early"
stop_daemon
pass "forwarded answers of TCP clients that left are dropped"
