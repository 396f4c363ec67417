#!/bin/bash
# SPDX-License-Identifier: MIT
# The idle timeout follows reloads: after more distinct values than
# libevent's 256 common timeouts per event base, a new connection is still
# closed after the timeout the configuration names.
. "$top_srcdir/tests/integration/proxy_lib.sh"

B=$(free_port)
V=$(rand_vip)
backend banner a 127.0.10.23 "$B"
{ svc idle "$V" 7000 idle; pod idle-a 127.0.10.23 "$B" idle; } | manifest all.yaml
echo "proxy-idle-timeout: 60000" > "$T/c.yaml"
start_daemon -c "$T/c.yaml"
wait_listen "$V" 7000

python3 - "$V" 7000 "$DPID" "$T/c.yaml" <<'PY' || fail "idle timeout after many reloads"
import os, signal, socket, sys, time
vip, port, pid, conf = sys.argv[1], int(sys.argv[2]), int(sys.argv[3]), sys.argv[4]
def conn():
    s = socket.create_connection((vip, port), 2)
    s.settimeout(5)
    assert s.recv(10) == b"a\n"
    return s
def reload(ms):
    open(conf, "w").write("proxy-idle-timeout: %d\n" % ms)
    os.kill(pid, signal.SIGHUP)
held = []
# 260 distinct timeouts, each taken up by a connection made after its
# reload (the forwarder reads the value per connection).
for i in range(260):
    reload(60000 + i)
    time.sleep(0.02)
    held.append(conn())
reload(300)
time.sleep(0.2)
s = conn()
t0 = time.monotonic()
try:
    d = s.recv(10)
except socket.timeout:
    sys.exit("a connection idle for 5 s was not closed (timeout 300 ms)")
assert d == b"", d
print("closed after %.2f s with the 261st timeout" % (time.monotonic() - t0))
PY
grep -q "common timeouts" "$T/daemon.log" ||
	echo "note: libevent never ran out of common timeouts"
pass
