#!/bin/bash
# SPDX-License-Identifier: MIT
# Out of descriptors: with a tiny RLIMIT_NOFILE the forwarder runs out of
# file descriptors under held connections; it must neither spin (accept
# pauses) nor die, drops new UDP flows with a sparing log line, and serves
# again once connections close.
. "$top_srcdir/tests/integration/proxy_lib.sh"

command -v prlimit > /dev/null || skip "prlimit (util-linux) missing"
B=$(free_port) U=$(free_port udp)
V=$(rand_vip) VU=$(rand_vip)
backend banner a 127.0.10.21 "$B"
backend udpecho u 127.0.10.21 "$U"
{
	svc held "$V" 7000 held
	pod held-a 127.0.10.21 "$B" held
	svc dgram "$VU" 53 dgram "" "" UDP
	pod dgram-1 127.0.10.21 "$U" dgram "" UDP
} | manifest all.yaml
DAEMON_WRAP="prlimit --nofile=64:64 --"
start_daemon
wait_listen "$V" 7000

python3 - "$V" 7000 "$DPID" "$VU" <<'PY' || fail "descriptor exhaustion"
import os, socket, sys, time
vip, port, pid, uvip = sys.argv[1], int(sys.argv[2]), sys.argv[3], sys.argv[4]
hz = os.sysconf("SC_CLK_TCK")
def cpu():
    f = open("/proc/%s/stat" % pid).read().rsplit(")", 1)[1].split()
    return (int(f[11]) + int(f[12])) / hz
held, served, reset = [], 0, 0
for _ in range(80):
    # Out of descriptors for the backend socket, the daemon resets the
    # client; on loopback that reset can land before connect() returns.
    try:
        s = socket.create_connection((vip, port), 2)
    except ConnectionResetError:
        reset += 1
        continue
    s.settimeout(0.2)
    held.append(s)
for s in held:
    try:
        if s.recv(10) == b"a\n":
            served += 1
    except (socket.timeout, ConnectionResetError):
        pass
assert 0 < served < 80, served
# Saturated: the daemon must idle, not spin on accept.
c0, t0 = cpu(), time.monotonic()
time.sleep(1.0)
use = (cpu() - c0) / (time.monotonic() - t0)
assert use < 0.2, "daemon busy at %.0f %% while out of descriptors" % (use * 100)
# New UDP clients get no flow socket either: dropped, logged sparingly.
for _ in range(200):
    u = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
    u.sendto(b"x", (uvip, 53))
    u.close()
time.sleep(0.3)
for s in held:
    s.close()
time.sleep(0.5)
# Served again.
for _ in range(50):
    try:
        s = socket.create_connection((vip, port), 2)
        s.settimeout(2)
        if s.recv(10) == b"a\n":
            break
    except OSError:
        time.sleep(0.1)
else:
    raise SystemExit("not serving after the connections closed")
print("emfile: %d of 80 served at the limit (%d reset at connect), "
      "%.0f %% CPU, serving again" % (served, reset, use * 100))
PY
grep -q "pausing" "$T/daemon.log" || echo "note: accept never hit EMFILE (socket() did)"
n=$(grep -c "udp flow" "$T/daemon.log")
[ "$n" -ge 1 ] || fail "no UDP flow failure logged while out of descriptors"
[ "$n" -le 5 ] || fail "$n log lines for 200 UDP flows refused within a second"
pass
