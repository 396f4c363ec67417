# SPDX-License-Identifier: MIT
# lib.sh -- shared helpers of the integration tests (sourced, bash).
# Needs $top_builddir and $top_srcdir (exported by make check).

: "${top_builddir:?run through make check, or export top_builddir}"
: "${top_srcdir:?run through make check, or export top_srcdir}"
CIPD="$top_builddir/server/clusteripd"
TEST_TMP=$(mktemp -d "${TMPDIR:-/tmp}/cip-test.XXXXXX")
TEST_PIDS=()

lib_cleanup() {
	local pid
	for pid in "${TEST_PIDS[@]}"; do
		kill "$pid" 2>/dev/null
	done
	for pid in "${TEST_PIDS[@]}"; do
		wait "$pid" 2>/dev/null
	done
	rm -rf "$TEST_TMP"
}
trap lib_cleanup EXIT

fail() {
	echo "FAIL: $*" >&2
	if [ -n "${DAEMON_LOG:-}" ] && [ -f "$DAEMON_LOG" ]; then
		echo "--- daemon log (last 30 lines) ---" >&2
		tail -n 30 "$DAEMON_LOG" >&2
	fi
	exit 1
}

pass() {
	echo "ok: $*"
}

. "$top_srcdir/tests/integration/ports.sh"
FREE_PORT_FILE=$TEST_TMP/ports

# wait_log FILE PATTERN [SECONDS]: waits until FILE has a line matching
# PATTERN (grep -E); fails after SECONDS (default 10).
wait_log() {
	local file=$1 pat=$2 secs=${3:-10} i
	for ((i = 0; i < secs * 20; i++)); do
		grep -Eq -- "$pat" "$file" 2>/dev/null && return 0
		sleep 0.05
	done
	fail "no line matching '$pat' in $file after ${secs}s"
}

# count_log FILE PATTERN: number of matching lines.
count_log() {
	grep -Ec -- "$2" "$1" 2>/dev/null || true
}

# start_daemon LOG ARGS...: starts clusteripd in the background and waits
# for its startup line. Sets DAEMON_PID and DAEMON_LOG. DAEMON_PREFIX (an
# array, e.g. ip netns exec NS) runs before it and must exec the daemon.
DAEMON_PREFIX=()
start_daemon() {
	DAEMON_LOG=$1
	shift
	# Emptied here, not by the child's redirection: that one runs after
	# the fork, so a reused log's "startup complete" could be read below
	# before the new daemon has its signal handlers.
	: >"$DAEMON_LOG"
	"${DAEMON_PREFIX[@]}" "$CIPD" "$@" 2>>"$DAEMON_LOG" &
	DAEMON_PID=$!
	TEST_PIDS+=("$DAEMON_PID")
	local i
	for ((i = 0; i < 200; i++)); do
		grep -q "startup complete" "$DAEMON_LOG" 2>/dev/null && return 0
		kill -0 "$DAEMON_PID" 2>/dev/null || fail "clusteripd exited at start"
		sleep 0.05
	done
	fail "clusteripd did not start within 10s"
}

# stop_daemon: SIGTERM, then the exit status must be 0.
stop_daemon() {
	kill -TERM "$DAEMON_PID" 2>/dev/null
	local rc=0
	wait "$DAEMON_PID" || rc=$?
	[ "$rc" -eq 0 ] || fail "clusteripd exited with status $rc"
}

# send_body ADDR METHOD PATH SIZE [chunked] [continue]: sends METHOD PATH
# with a body of SIZE bytes to ADDR (HOST:PORT, or a unix socket path),
# with $AUTH when set; "chunked" sends it in 64 KiB chunks, "continue"
# asks "Expect: 100-continue" and waits up to a second for an answer
# first. A daemon that refuses the body answers at once and closes with
# the rest unread, which resets the connection: the sending stops there
# and the answer is read all the same (as libclusterip does; curl may
# lose it). Prints "CODE CONTENT-TYPE"; the body lands in $TEST_TMP/body.
send_body() {
	TEST_TMP=$TEST_TMP AUTH=${AUTH:-} python3 - "$@" <<'PY'
import os, select, socket, sys
addr, method, path, size = sys.argv[1], sys.argv[2], sys.argv[3], int(sys.argv[4])
opts = sys.argv[5:]
if addr.startswith("/"):
    s = socket.socket(socket.AF_UNIX)
    s.connect(addr)
else:
    host, port = addr.rsplit(":", 1)
    s = socket.create_connection((host, int(port)))
s.settimeout(30)
head = "%s %s HTTP/1.1\r\nHost: x\r\n" % (method, path)
if os.environ.get("AUTH"):
    head += os.environ["AUTH"] + "\r\n"
head += "Transfer-Encoding: chunked\r\n" if "chunked" in opts else "Content-Length: %d\r\n" % size
if "continue" in opts:
    head += "Expect: 100-continue\r\n"
data = b""
def body():
    piece = b"a" * 65536
    left = size
    while left > 0:
        n = min(left, len(piece))
        yield (b"%x\r\n" % n + piece[:n] + b"\r\n") if "chunked" in opts else piece[:n]
        left -= n
    if "chunked" in opts:
        yield b"0\r\n\r\n"
try:
    s.sendall(head.encode() + b"\r\n")
    if "continue" in opts and select.select([s], [], [], 1.0)[0]:
        data = s.recv(65536)
    if not data or data.startswith(b"HTTP/1.1 100"):
        for b in body():
            s.sendall(b)
except (BrokenPipeError, ConnectionResetError):
    pass
def answer(data):
    # The final answer (past a "100 Continue"), once whole, else None.
    while data.startswith(b"HTTP/1.1 1") and b"\r\n\r\n" in data:
        data = data.split(b"\r\n\r\n", 1)[1]
    if b"\r\n\r\n" not in data:
        return None
    h, rest = data.split(b"\r\n\r\n", 1)
    lines = h.decode("latin-1").split("\r\n")
    hdrs = dict((k.lower(), v.strip()) for k, v in (l.split(":", 1) for l in lines[1:]))
    if len(rest) < int(hdrs.get("content-length", "0")):
        return None
    return lines[0].split()[1], hdrs.get("content-type", ""), rest
while answer(data) is None:
    try:
        d = s.recv(65536)
    except ConnectionResetError:
        break
    if not d:
        break
    data += d
a = answer(data) or ("000", "", b"")
open(os.path.join(os.environ["TEST_TMP"], "body"), "wb").write(a[2])
print(a[0], a[1])
PY
}

# state_vip KEY < vips.json: the address the VIP state file gives KEY
# (version 4: per range, offsets from its network address, and keys).
state_vip() {
	python3 -c 'import ipaddress, json, sys
for r in json.load(sys.stdin)["ranges"]:
    net = ipaddress.ip_network(r["range"]).network_address
    for o, k in zip(r["offsets"], r["keys"]):
        if k == sys.argv[1]: print(net + o)' "$1"
}
