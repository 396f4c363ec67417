#!/bin/bash
# SPDX-License-Identifier: MIT
# Bytes through the VIP: 1 GiB arrives intact (same sha256), a client that
# stops reading holds the backend back (bounded memory) and then gets every
# byte, and UDP datagrams are echoed back from the VIP itself, one flow per
# client until it idles out.
. "$top_srcdir/tests/integration/proxy_lib.sh"

H=$(free_port) U=$(free_port udp) S=$(free_port)
VB=$(rand_vip) VU=$(rand_vip) VS=$(rand_vip)
backend hash h 127.0.10.15 "$H"
backend stream s 127.0.10.15 "$S"
backend udpecho u 127.0.10.15 "$U"
{
	svc bulk "$VB" 9000 bulk
	svc dgram "$VU" 53 dgram "" "" UDP
	svc stream "$VS" 9001 stream
	pod stream-1 127.0.10.15 "$S" stream
	pod bulk-1 127.0.10.15 "$H" bulk
	pod dgram-1 127.0.10.15 "$U" dgram "" UDP
} | manifest all.yaml
start_daemon --udp-idle-timeout 300ms
wait_listen "$VB" 9000

# UDP: replies come from VIP:53, one flow per client.
python3 - "$VU" 53 <<'PY' || fail "udp"
import socket, sys
vip, port = sys.argv[1], int(sys.argv[2])
for i in range(2):
    s = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
    s.settimeout(0.5)
    for n in range(3):
        msg = b"hello %d %d" % (i, n)
        for _ in range(10):
            s.sendto(msg, (vip, port))
            try:
                d, a = s.recvfrom(2048)
                break
            except socket.timeout:
                continue
        else:
            raise SystemExit("no reply")
        assert d == b"u:" + msg, d
        assert a == (vip, port), a
# One flow: the same endpoint socket while busy, a new one after idling.
import time
s = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
s.settimeout(0.5)
def flow_port():
    for _ in range(10):
        s.sendto(b"port?", (vip, port))
        try:
            return s.recvfrom(100)[0]
        except socket.timeout:
            continue
    raise SystemExit("no reply")
p1 = flow_port()
for _ in range(5):
    time.sleep(0.1)
    assert flow_port() == p1
time.sleep(1.0)
assert flow_port() != p1, "flow outlived its idle timeout"
print("udp: echoed from %s:%d; flows idle out" % (vip, port))
PY

# A client that stops reading: what it cannot take waits in the kernel
# and in a bounded queue, the backend is held back, and every byte of the
# 8 MiB arrives, in order, once it reads again.
wait_listen "$VS" 9001
python3 - "$VS" 9001 "$DPID" <<'PY' || fail "slow reader"
import hashlib, socket, sys, time
vip, port, pid = sys.argv[1], int(sys.argv[2]), sys.argv[3]
def rss_kb():
    for line in open("/proc/%s/status" % pid):
        if line.startswith("VmRSS:"):
            return int(line.split()[1])
BIG = bytes(range(256)) * 4096
want = b"".join(BIG[i % 256 * 4096:][:4096] for i in range(8 * 1024 * 1024 // 4096))
rss0 = rss_kb()
s = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
s.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, 4096)
s.connect((vip, port))
time.sleep(1.5)
grown = rss_kb() - rss0
assert grown < 1024, "RSS grew by %d KiB for a client that does not read" % grown
s.settimeout(10)
got = bytearray()
while True:
    b = s.recv(1 << 16)
    if not b:
        break
    got += b
assert len(got) == len(want), (len(got), len(want))
assert hashlib.sha256(got).digest() == hashlib.sha256(want).digest(), "bytes differ"
print("slow reader: 8 MiB intact, RSS grew %d KiB while it did not read" % grown)
PY

# 1 GiB of random bytes, made once and kept for later runs, sent with
# sendfile and hashed by the backend.
# The file is named after its sha256, so one rename publishes both.
dir=${TMPDIR:-/tmp}
BLOB=$(ls "$dir"/clusterip-proxy-1g-*.bin 2>/dev/null | head -1)
if [ -z "$BLOB" ] || [ "$(stat -c %s "$BLOB")" != 1073741824 ]; then
	head -c 1G /dev/urandom > "$T/blob" || fail "cannot write 1 GiB to $T"
	BLOB=$dir/clusterip-proxy-1g-$(sha256sum "$T/blob" | cut -d' ' -f1).bin
	mv "$T/blob" "$BLOB" || fail "cannot keep $BLOB"
fi
want=${BLOB##*/clusterip-proxy-1g-}
want=${want%.bin}
got=$(python3 - "$VB" 9000 "$BLOB" <<'PY'
import socket, sys
s = socket.create_connection((sys.argv[1], int(sys.argv[2])), 5)
s.settimeout(60)
with open(sys.argv[3], "rb") as f:
    s.sendfile(f)
s.shutdown(socket.SHUT_WR)
print(s.makefile("rb").readline().decode().strip())
PY
) || fail "bulk transfer"
[ "$got" = "$want 1073741824" ] || fail "bulk: got '$got', want '$want 1073741824'"
echo "bulk: 1 GiB, sha256 $want"
pass
