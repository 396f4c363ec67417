#!/bin/bash
# SPDX-License-Identifier: MIT
# The forwarder's limits: an idle connection is closed after
# --proxy-idle-timeout while a busy one lives on; at --proxy-max-sessions
# accepting pauses (the next client waits, it is not refused) and resumes
# when a connection ends; --proxy-drain-timeout closes what a removed pod
# still holds.
. "$top_srcdir/tests/integration/proxy_lib.sh"

B1=$(free_port) B2=$(free_port)
V=$(rand_vip) VD=$(rand_vip)
backend banner a 127.0.10.19 "$B1"
backend banner b 127.0.10.20 "$B2"
docs() {
	svc held "$V" 7000 held
	svc drain "$VD" 7000 dr
	pod held-a 127.0.10.19 "$B1" held
}
{ docs; pod dr-b 127.0.10.20 "$B2" dr; } | manifest all.yaml
start_daemon --proxy-idle-timeout 400ms --proxy-max-sessions 3 \
    --proxy-drain-timeout 300ms
wait_listen "$V" 7000
wait_listen "$VD" 7000

python3 - "$V" 7000 <<'PY' || fail "idle timeout"
import socket, sys, time
vip, port = sys.argv[1], int(sys.argv[2])
def conn():
    s = socket.create_connection((vip, port), 2)
    s.settimeout(3)
    f = s.makefile("rwb")
    assert f.readline() == b"a\n"
    return s, f
# Busy: a line every 150 ms for 1.5 s keeps it open.
s, f = conn()
for i in range(10):
    time.sleep(0.15)
    f.write(b"x\n"); f.flush()
    assert f.readline() == b"a:x\n", i
s.close()
# Idle: closed by the forwarder between 0.4 and 2 x 0.4 s (+ slack).
s, f = conn()
t0 = time.monotonic()
assert f.readline() == b""
dt = time.monotonic() - t0
assert 0.35 <= dt <= 1.5, dt
print("idle: closed after %.2f s" % dt)
PY

python3 - "$V" 7000 <<'PY' || fail "connection cap"
import socket, sys, time
vip, port = sys.argv[1], int(sys.argv[2])
held = []
for _ in range(3):
    s = socket.create_connection((vip, port), 2)
    s.settimeout(2)
    assert s.recv(10) == b"a\n"
    held.append(s)
# The fourth waits in the backlog: connected by the kernel, no banner.
w = socket.create_connection((vip, port), 2)
w.settimeout(0.3)
try:
    d = w.recv(10)
    raise SystemExit("fourth served at the cap: %r" % d)
except socket.timeout:
    pass
held[0].close()
w.settimeout(2)
assert w.recv(10) == b"a\n"
print("max connections: the fourth waited, then was served")
PY

# Drain timeout: a held connection to a deleted pod is closed after 300 ms.
python3 - "$VD" 7000 "$T/m/all.yaml" > "$T/drain.out" 2>&1 <<'PY' &
import socket, sys, time
s = socket.create_connection((sys.argv[1], int(sys.argv[2])), 2)
s.settimeout(5)
f = s.makefile("rb")
assert f.readline() == b"b\n"
print("held", flush=True)
t0 = time.monotonic()
try:
    f.readline()
except ConnectionResetError:
    pass
print("closed after %.2f s" % (time.monotonic() - t0), flush=True)
PY
HP=$!
PIDS="$PIDS $HP"
for _ in $(seq 100); do grep -q held "$T/drain.out" && break; sleep 0.05; done
docs | manifest all.yaml
wait "$HP" || fail "drain timeout: $(cat "$T/drain.out")"
grep -q "closed after" "$T/drain.out" || fail "drain timeout: $(cat "$T/drain.out")"
echo "drain timeout: $(tail -1 "$T/drain.out")"

# SIGTERM with a connection open: the daemon still exits 0 (pass checks),
# its connections closed and freed.
python3 - "$V" 7000 > "$T/open.out" 2>&1 <<'PY' &
import socket, sys, time
s = socket.create_connection((sys.argv[1], int(sys.argv[2])), 2)
s.settimeout(5)
assert s.recv(10) == b"a\n"
print("open", flush=True)
try:
    print("closed:", s.recv(10), flush=True)
except ConnectionResetError:
    print("closed: reset", flush=True)
PY
OP=$!
PIDS="$PIDS $OP"
for _ in $(seq 100); do grep -q open "$T/open.out" && break; sleep 0.05; done
grep -q open "$T/open.out" || fail "open connection: $(cat "$T/open.out")"
pass
