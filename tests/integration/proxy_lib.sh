# SPDX-License-Identifier: MIT
# Shared by the forwarder's integration tests (sourced, bash): a temp dir,
# free ports, python3 backends, the daemon with a watched manifest
# directory, and teardown of everything started.
: "${top_builddir:?}" "${top_srcdir:?}"
set -u

T=$(mktemp -d /tmp/cip-proxy.XXXXXX)
PIDS=""
DPID=""
# A command prefix (e.g. "ip netns exec NS") for backends and the daemon.
NSX=""
EXTRA_CLEANUP=":"
NAME=$(basename "$0" .sh)

cleanup() {
	for p in $PIDS $DPID; do kill "$p" 2>/dev/null; done
	for p in $PIDS $DPID; do wait "$p" 2>/dev/null; done
	eval "$EXTRA_CLEANUP"
	rm -rf "$T"
}
trap cleanup EXIT
trap 'exit 1' INT TERM

fail() {
	echo "$NAME: FAIL: $*" >&2
	[ -f "$T/daemon.log" ] && tail -40 "$T/daemon.log" >&2
	exit 1
}
skip() { echo "$NAME: SKIP: $*"; exit 77; }
# term_daemon: SIGTERM to the daemon (if running), which must exit 0
# (sanitizers report leaks by exit status).
term_daemon() {
	local rc=0
	[ -n "$DPID" ] || return 0
	kill -TERM "$DPID"
	wait "$DPID" || rc=$?
	DPID=""
	[ $rc -eq 0 ] || fail "daemon exited with status $rc on SIGTERM"
}
# pass: stops the daemon (term_daemon) and reports success.
pass() {
	term_daemon
	echo "$NAME: PASS"
	exit 0
}

. "$top_srcdir/tests/integration/ports.sh"
FREE_PORT_FILE=$T/ports

# A VIP in the default loopback range, random so parallel runs differ.
rand_vip() {
	echo "127.96.$(( $(od -An -N1 -tu1 /dev/urandom) % 200 + 40 )).$(( $(od -An -N1 -tu1 /dev/urandom) % 250 + 2 ))"
}

command -v python3 > /dev/null || skip "python3 missing"
command -v curl > /dev/null || skip "curl missing"

# The backends, python3 stdlib only.
cat > "$T/backend.py" <<'PY'
import hashlib, os, socket, socketserver, sys, threading, time
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

mode, name, addr, port = sys.argv[1], sys.argv[2], sys.argv[3], int(sys.argv[4])
flag = sys.argv[5] if len(sys.argv) > 5 else ""
fam = socket.AF_INET6 if ":" in addr else socket.AF_INET   # IPv6 backends too
BIG = bytes(range(256)) * 4096   # 1 MiB

class H(BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.0"
    def log_message(self, *a):
        pass
    def do_GET(self):
        if self.path == "/healthz":
            code = 200 if os.path.exists(flag) else 503
            body = b"health\n"
        elif self.path == "/big":
            code, body = 200, BIG
        else:
            code, body = 200, (name + "\n").encode()
        self.send_response(code)
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)

class Banner(socketserver.StreamRequestHandler):
    def handle(self):
        self.wfile.write((name + "\n").encode())
        for line in self.rfile:
            self.wfile.write(name.encode() + b":" + line)

class Hash(socketserver.BaseRequestHandler):
    def handle(self):
        h, n = hashlib.sha256(), 0
        while True:
            b = self.request.recv(1 << 20)
            if not b:
                break
            h.update(b)
            n += len(b)
        self.request.sendall(("%s %d\n" % (h.hexdigest(), n)).encode())

class Rst(socketserver.BaseRequestHandler):
    def handle(self):
        self.request.recv(100)
        self.request.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER,
                                b"\x01\x00\x00\x00\x00\x00\x00\x00")
        self.request.close()      # a reset, with no FIN before it

class Stream(socketserver.BaseRequestHandler):
    def handle(self):
        # 8 MiB in paced small writes, then EOF: each read of the
        # forwarder is small, so it copies (no splice) and must queue
        # what a slow client cannot take, then stop reading.
        for i in range(8 * 1024 * 1024 // 4096):
            self.request.sendall(BIG[i % 256 * 4096:][:4096])
            if i % 4 == 3:
                time.sleep(0.001)

class TS(socketserver.ThreadingTCPServer):
    allow_reuse_address = True
    daemon_threads = True
    address_family = fam

if mode == "http":
    ThreadingHTTPServer.daemon_threads = True
    ThreadingHTTPServer.address_family = fam
    ThreadingHTTPServer((addr, port), H).serve_forever()
elif mode == "banner":
    TS((addr, port), Banner).serve_forever()
elif mode == "silent":
    s = socket.socket(fam)
    s.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    s.bind((addr, port))
    s.listen(16)
    threading.Event().wait()   # connections complete, nothing is answered
elif mode == "rst":
    TS((addr, port), Rst).serve_forever()
elif mode == "hash":
    TS((addr, port), Hash).serve_forever()
elif mode == "stream":
    TS((addr, port), Stream).serve_forever()
elif mode == "udpecho":
    s = socket.socket(fam, socket.SOCK_DGRAM)
    s.bind((addr, port))
    while True:
        d, a = s.recvfrom(65535)
        if d.startswith(b"port?"):
            s.sendto(b"%d" % a[1], a)    # which flow socket sent it
        else:
            s.sendto(name.encode() + b":" + d, a)
PY

# backend MODE NAME ADDR PORT [FLAGFILE]: starts one; sets BPID.
backend() {
	$NSX python3 "$T/backend.py" "$@" > /dev/null 2>&1 &
	BPID=$!
	PIDS="$PIDS $BPID"
	[ "$1" = udpecho ] && { sleep 0.2; return; }
	wait_tcp "$3" "$4" || fail "backend $2 on $3:$4 did not start"
}

# wait_tcp ADDR PORT: until something accepts there (5 s at most).
wait_tcp() {
	$NSX python3 - "$1" "$2" <<'PY'
import socket, sys, time
end = time.time() + 5
while time.time() < end:
    try:
        socket.create_connection((sys.argv[1], int(sys.argv[2])), 0.2).close()
        sys.exit(0)
    except OSError:
        time.sleep(0.05)
sys.exit(1)
PY
}

# manifest FILE: atomically installs stdin as $T/m/FILE (the daemon watches).
mkdir -p "$T/m" "$T/state"
manifest() {
	cat > "$T/.m.tmp" && mv "$T/.m.tmp" "$T/m/$1"
}

# start_daemon [FLAGS...]: runs clusteripd on the manifests; waits for it.
start_daemon() {
	DNSPORT=$(free_port both)
	APIPORT=$(free_port tcp)
	$NSX ${DAEMON_WRAP:-} "$top_builddir/server/clusteripd" --manifests "$T/m" \
	    --state-dir "$T/state" --dns-listen "127.0.0.1:$DNSPORT" \
	    --api-listen "127.0.0.1:$APIPORT" --upstream 127.0.0.1:9 \
	    "$@" 2> "$T/daemon.log" &
	DPID=$!
	for _ in $(seq 100); do
		grep -q "startup complete" "$T/daemon.log" && return 0
		kill -0 $DPID 2>/dev/null || fail "daemon exited"
		sleep 0.05
	done
	fail "daemon did not start"
}

# wait_listen VIP PORT: until the forwarder listens on VIP:PORT.
wait_listen() {
	for _ in $(seq 100); do
		$NSX ss -Hltn "src $1:$2" | grep -q . && return 0
		sleep 0.05
	done
	fail "nothing listens on $1:$2"
}

# svc NAME VIP PORT SELECTOR [EXTRA]: a Service document on stdout.
svc() {
	local ann=""
	[ -n "${6:-}" ] && ann=", annotations: {clusterip.io/lb-algorithm: $6}"
	cat <<Y
apiVersion: v1
kind: Service
metadata: {name: $1, namespace: default$ann}
spec:
  selector: {app: $4}
  clusterIP: $2
  ports:
  - {name: p, port: $3, targetPort: p, protocol: ${7:-TCP}}
${5:-}
---
Y
}

# pod NAME IP PORT APP [PROBE]: a Pod document with named port p.
pod() {
	cat <<Y
apiVersion: v1
kind: Pod
metadata: {name: $1, labels: {app: $4}}
spec:
  containers:
  - ports: [{name: p, containerPort: $3, protocol: ${6:-TCP}}]
${5:+    readinessProbe: $5}
status: {podIP: $2}
---
Y
}

# hits URL N: fetches N times, each on a new connection; prints the bodies.
hits() {
	local urls="" i
	for i in $(seq "$2"); do urls="$urls $1"; done
	# shellcheck disable=SC2086
	curl -sS --max-time 20 -H 'Connection: close' $urls
}

# addrconfig NS: an IPv4 address beyond lo in NS, which the API's
# listener needs (it resolves with AI_ADDRCONFIG).
addrconfig() {
	ip -n "$1" link add d0 type veth peer name d1 || skip "no veth support"
	ip -n "$1" link set d0 up
	ip -n "$1" link set d1 up
	ip -n "$1" addr add 10.233.0.1/24 dev d0
}

# dual NAME VIP4 VIP6 APP [EXTRA]: a dual-stack Service, port 80 to the
# pods' port p.
dual() {
	cat <<Y
apiVersion: v1
kind: Service
metadata: {name: $1}
spec:
  selector: {app: $4}
  ipFamilyPolicy: RequireDualStack
  ipFamilies: [IPv4, IPv6]
  clusterIPs: [$2, "$3"]
  ports: [{name: p, port: 80, targetPort: p}]
${5:-}
---
Y
}

# svc6 NAME VIP6 PORT APP [PROTO]: an IPv6-only Service to the pods'
# port p.
svc6() {
	cat <<Y
apiVersion: v1
kind: Service
metadata: {name: $1}
spec:
  selector: {app: $4}
  ipFamilies: [IPv6]
  clusterIP: "$2"
  ports: [{name: p, port: $3, targetPort: p, protocol: ${5:-TCP}}]
---
Y
}

# pod6 NAME PORT[/UDP] APP IP...: a Pod with podIPs (either family) and
# its port p.
pod6() {
	local name=$1 port=${2%/*} proto=TCP app=$3 ips="" ip
	[ "$2" = "${2#*/}" ] || proto=${2#*/}
	shift 3
	for ip in "$@"; do ips="$ips${ips:+, }{ip: \"$ip\"}"; done
	cat <<Y
apiVersion: v1
kind: Pod
metadata: {name: $name, labels: {app: $app}}
spec:
  containers:
  - ports: [{name: p, containerPort: $port, protocol: $proto}]
status: {podIPs: [$ips]}
---
Y
}
