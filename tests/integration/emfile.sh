#!/bin/bash
# SPDX-License-Identifier: MIT
# emfile.sh -- out of descriptors under held TCP clients, the DNS server and
# the control API (TCP and unix socket) pause accepting instead of spinning
# on accept, DNS keeps answering over UDP, and both accept again once the
# clients have gone. (The forwarder's case: proxy_emfile.sh.)
. "$top_srcdir/tests/integration/dns_lib.sh"

command -v prlimit >/dev/null || { echo "skip: prlimit (util-linux) missing"; exit 77; }
M="$TEST_TMP/manifests"
write_manifests "$M"
API_PORT=$(free_port)
SOCK="$TEST_TMP/api.sock"
DAEMON_PREFIX=(prlimit --nofile=48:48 --)
start_dns "$M" --api-listen "127.0.0.1:$API_PORT" --api-socket "$SOCK" \
    --upstream 127.0.0.1:9 --dns-tcp-max-clients 500 --dns-tcp-idle-timeout 60s \
    --api-timeout 60s
VIP=$(dshort backend A)
[ -n "$VIP" ] || fail "no answer before the test"

# exhaust KIND: holds 60 connections to the DNS port ("dns"), the API port
# ("api") or the API socket ("unix"); the daemon must then idle, answer
# DNS over UDP, and serve KIND again once they are closed.
exhaust() {
	python3 - "$1" "$DNS_PORT" "$API_PORT" "$SOCK" "$DAEMON_PID" "$VIP" <<'PY'
import os, socket, struct, sys, time
kind, port, api_port, sock, pid, vip = sys.argv[1], int(sys.argv[2]), int(sys.argv[3]), sys.argv[4], sys.argv[5], sys.argv[6]
hz = os.sysconf("SC_CLK_TCK")
def cpu():
    f = open("/proc/%s/stat" % pid).read().rsplit(")", 1)[1].split()
    return (int(f[11]) + int(f[12])) / hz
def query(qid):
    name = b"".join(bytes([len(l)]) + l.encode() for l in "backend.default.svc.cluster.local".split(".")) + b"\0"
    return struct.pack("!HHHHHH", qid, 0x0100, 1, 0, 0, 0) + name + struct.pack("!HH", 1, 1)
def connect():
    if kind == "unix":
        s = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
        s.settimeout(2)
        s.connect(sock)
        return s
    return socket.create_connection(("127.0.0.1", port if kind == "dns" else api_port), 2)
def udp_ok():
    u = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
    u.settimeout(2)
    u.sendto(query(7), ("127.0.0.1", port))
    data = u.recv(4096)
    u.close()
    return data[:2] == b"\0\x07" and socket.inet_aton(vip) in data
def served():
    t = connect()
    t.settimeout(2)
    if kind == "dns":
        q = query(9)
        t.sendall(struct.pack("!H", len(q)) + q)
    else:
        t.sendall(b"GET /healthz HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n")
    data = b""
    while True:
        chunk = t.recv(4096)
        if not chunk:
            break
        data += chunk
        if kind == "dns" and len(data) >= 2 and len(data) >= 2 + struct.unpack("!H", data[:2])[0]:
            break
    t.close()
    if kind == "dns":
        return data[2:4] == b"\0\x09" and socket.inet_aton(vip) in data
    return data.startswith(b"HTTP/1.1 200")
held = []
for _ in range(60):
    try:
        held.append(connect())
    except OSError:
        break	# a full unix backlog refuses at once
assert len(held) >= 40, "only %d connections held" % len(held)
time.sleep(0.5)
# Saturated: the daemon must idle, not spin on accept.
c0, t0 = cpu(), time.monotonic()
time.sleep(1.5)
use = (cpu() - c0) / (time.monotonic() - t0)
assert use < 0.2, "%s: daemon busy at %.0f %% while out of descriptors" % (kind, use * 100)
assert udp_ok(), "%s: no UDP answer while descriptors are out" % kind
for s in held:
    s.close()
# Accepting resumes (a paused listener retries after a second).
for _ in range(50):
    try:
        if served():
            break
    except OSError:
        pass
    time.sleep(0.1)
else:
    raise SystemExit("%s: not served again after the clients went" % kind)
PY
}

exhaust dns || fail "DNS over TCP out of descriptors"
grep -q "dns: accept: Too many open files" "$TEST_TMP/daemon.log" ||
    fail "EMFILE on DNS not logged: $(tail -3 "$TEST_TMP/daemon.log")"
pass "out of descriptors: DNS TCP accepting pauses, UDP answers, TCP resumes"
exhaust api || fail "API over TCP out of descriptors"
exhaust unix || fail "API over its unix socket out of descriptors"
grep -q "api: accept: Too many open files; pausing" "$TEST_TMP/daemon.log" ||
    fail "EMFILE on the API not logged: $(tail -3 "$TEST_TMP/daemon.log")"
[ "$(grep -c "api: accept:" "$TEST_TMP/daemon.log")" -lt 20 ] ||
    fail "the API's EMFILE logged $(grep -c "api: accept:" "$TEST_TMP/daemon.log") times"
kill -0 "$DAEMON_PID" || fail "daemon died"
pass "out of descriptors: the API pauses accepting on TCP and its unix socket, then serves again"
stop_daemon
