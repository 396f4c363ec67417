#!/usr/bin/env bash
# SPDX-License-Identifier: MIT
# valgrind.sh -- no leaks and no memory errors: the real daemon runs under
# valgrind's memcheck, with the shipped configuration file, on the demo
# manifests, while real clients drive every module: DNS over UDP and TCP
# (EDNS, SRV, PTR, NXDOMAIN, headless, ExternalName, malformed packets,
# too many TCP clients), forwarding to a real upstream (ldns-testns) or a
# closed port, the VIP forwarder over TCP and UDP to python3 backends with
# readiness probes and a failover, the control API (apply, delete, leases,
# heartbeats, bad bodies, /metrics, the unix socket), the watched manifest
# directory (changed, broken, removed), the Docker provider against a
# fake engine on a unix socket (a refused event stream, containers with
# a Service in their labels coming and going, the stream ending and the
# resync after it), SIGHUP with a good and a broken configuration, and
# SIGTERM with work in progress. Every clusterip
# command it runs, and --check-config, run under valgrind too. It fails
# when any of them has a memory error or a definitely, indirectly or
# possibly lost block, printing valgrind's record of it; SIGTERM must end
# the daemon with status 0.
set -u
. "$top_srcdir/tests/integration/lib.sh"

NAME=valgrind.sh
if ! command -v valgrind >/dev/null 2>&1; then
	echo "$NAME: SKIP: valgrind is not installed (apt-get install valgrind)"
	exit 77
fi
# A sanitizer build carries its own memory checker; valgrind cannot run it.
if ldd "$CIPD" 2>/dev/null | grep -q 'libasan'; then
	echo "$NAME: SKIP: built with --enable-sanitizers (ASan checks this build)"
	exit 77
fi
for tool in dig kdig curl python3; do
	command -v "$tool" >/dev/null 2>&1 ||
	    { echo "$NAME: SKIP: $tool is not installed"; exit 77; }
done

C="$top_builddir/client/clusterip"
VGD="$TEST_TMP/vg"
M="$TEST_TMP/manifests"
STATE="$TEST_TMP/state"
WWW="$TEST_TMP/www"
OUT="$TEST_TMP/out"
ERR="$TEST_TMP/err"
mkdir -p "$VGD" "$M" "$STATE" "$WWW/1" "$WWW/2"
T0=$SECONDS

VG=(valgrind --leak-check=full --show-leak-kinds=definite,indirect,possible
	--errors-for-leak-kinds=definite,indirect,possible --error-exitcode=99
	--track-fds=no --num-callers=30)
[ -f "$top_srcdir/tests/valgrind.supp" ] &&
	VG+=("--suppressions=$top_srcdir/tests/valgrind.supp")

# The first lines of valgrind's records of a memory error, and of a lost block.
VG_ERROR='^==[0-9]+== (Invalid|Conditional|Use of uninit|Syscall param|Mismatched|Source and destination|Argument|Process terminating)'
VG_LOST='^==[0-9]+== .*(definitely|indirectly|possibly) lost in loss record'

# vg_report LOG: valgrind's records of errors and lost blocks in LOG.
vg_report() {
	local rec
	echo "--- valgrind: $1 ---" >&2
	rec=$(grep -E -A30 -e "$VG_ERROR" -e "$VG_LOST" "$1" | head -n 200)
	echo "$rec" >&2
	case "$rec" in
	*"ERROR SUMMARY"*) ;;
	*) grep -E 'ERROR SUMMARY' "$1" >&2 ;;
	esac
}

# vg_clean LOG: true when LOG records no error and no lost block.
vg_clean() {
	grep -Eq '^==[0-9]+== ERROR SUMMARY: 0 errors' "$1" || return 1
	! grep -Eq '(definitely|indirectly|possibly) lost: [1-9]' "$1"
}

# vg_check LOG WHAT: fails, with valgrind's records, unless LOG is clean.
vg_check() {
	vg_clean "$1" && return 0
	vg_report "$1"
	fail "valgrind found memory errors or leaks in $2 (records above)"
}

# fail: lib.sh's, with valgrind's records of the daemon so far.
lib_fail() {
	echo "FAIL: $*" >&2
	if [ -n "${DAEMON_LOG:-}" ] && [ -f "$DAEMON_LOG" ]; then
		echo "--- daemon log (last 30 lines) ---" >&2
		tail -n 30 "$DAEMON_LOG" >&2
	fi
	exit 1
}
fail() {
	if [ -n "${DVG:-}" ] && [ -f "$DVG" ] && grep -Eq -e "$VG_ERROR" "$DVG"; then
		vg_report "$DVG"
	fi
	lib_fail "$@"
}

pass() {
	echo "ok: $* [$((SECONDS - T0))s]"
}

# The CLI, under valgrind. run NAME ARGS...: stdout in $OUT, stderr in
# $ERR, exit status in RC; a valgrind finding fails the test at once.
run() {
	local log="$VGD/cli-$1.log"
	shift
	RC=0
	"${VG[@]}" --log-file="$log" "$C" "$@" >"$OUT" 2>"$ERR" || RC=$?
	[ "$RC" != 99 ] || { vg_report "$log"; fail "valgrind: clusterip $*"; }
	vg_check "$log" "clusterip $*"
}
ok() {
	run "$@"
	[ "$RC" = 0 ] || fail "clusterip ${*:2}: exit $RC: $(cat "$ERR")"
}
bad() {
	run "$@"
	[ "$RC" != 0 ] || fail "clusterip ${*:2} succeeded: $(cat "$OUT")"
}

# until_ok SECONDS CMD...: polls CMD every 0.1s until it succeeds.
until_ok() {
	local secs=$1 i
	shift
	for ((i = 0; i < secs * 10; i++)); do
		"$@" >/dev/null 2>&1 && return 0
		sleep 0.1
	done
	return 1
}

# --- The backends: the demo's pods (conf/demo), python3 stdlib, moved to
# addresses of their own (127.1.N.1, 127.1.N.2): other tests use the
# demo's 127.0.10.1 and 127.0.10.2 and expect nothing to listen there.
echo backend-1 > "$WWW/1/index.html"
echo backend-2 > "$WWW/2/index.html"
serves() {	# serves ADDR TEXT: our backend answers on ADDR:5000
	[ "$(curl -s -m 2 "http://$1:5000/")" = "$2" ]
}
for ((try = 0; ; try++)); do
	n=$(( $(od -An -N1 -tu1 /dev/urandom) % 250 ))
	B1=127.1.$n.1 B2=127.1.$n.2
	python3 -m http.server 5000 --bind "$B1" --directory "$WWW/1" \
	    >"$TEST_TMP/b1.log" 2>&1 &
	BPID1=$!
	python3 -m http.server 5000 --bind "$B2" --directory "$WWW/2" \
	    >"$TEST_TMP/b2.log" 2>&1 &
	BPID2=$!
	TEST_PIDS+=("$BPID1" "$BPID2")
	for ((i = 0; i < 50; i++)); do
		kill -0 "$BPID1" 2>/dev/null && kill -0 "$BPID2" 2>/dev/null || break
		serves "$B1" backend-1 && serves "$B2" backend-2 && break 2
		sleep 0.1
	done
	kill "$BPID1" "$BPID2" 2>/dev/null
	wait "$BPID1" "$BPID2" 2>/dev/null
	[ "$try" -lt 5 ] || fail "no address for the backends: $(tail -1 "$TEST_TMP/b1.log")"
done
sed -e "s/127\.0\.10\.1/$B1/" -e "s/127\.0\.10\.2/$B2/" \
	"$top_srcdir/conf/demo/pods.yaml" > "$M/pods.yaml"
cp "$top_srcdir/conf/demo/service.yaml" "$M/service.yaml"
# A UDP echo backend for a UDP service port.
ECHO_PORT=$(free_port)
python3 - "$B1" "$ECHO_PORT" >"$TEST_TMP/echo.log" 2>&1 <<'PY' &
import socket, sys
s = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
s.bind((sys.argv[1], int(sys.argv[2])))
while True:
    data, peer = s.recvfrom(65535)
    s.sendto(b"echo:" + data, peer)
PY
TEST_PIDS+=($!)

# --- The upstream: ldns-testns with canned answers, else a closed port.
UP_PORT=$(free_port)
UPSTREAM=0
if command -v ldns-testns >/dev/null 2>&1; then
	ldns-testns -p "$UP_PORT" "$top_srcdir/tests/integration/dns_upstream.data" \
	    >"$TEST_TMP/upstream.log" 2>&1 &
	TEST_PIDS+=($!)
	until_ok 5 sh -c "dig +time=1 +tries=1 -p $UP_PORT @127.0.0.1 www.example.com +short | grep -q 192.0.2.80" &&
	    UPSTREAM=1
fi
[ "$UPSTREAM" = 1 ] || echo "$NAME: no ldns-testns upstream: forwarding to a closed port"

# --- The daemon under valgrind.
DNS_PORT=$(free_port)
API_PORT=$(free_port)
API="http://127.0.0.1:$API_PORT"
TOKEN_FILE="$TEST_TMP/token"
echo "vg-$RANDOM$RANDOM" > "$TOKEN_FILE"
AUTH="Authorization: Bearer $(cat "$TOKEN_FILE")"
DAEMON_LOG="$TEST_TMP/daemon.log"
DVG="$VGD/daemon.log"
: > "$DAEMON_LOG"
# VIPs from a range of this run's own, apart from the default range
# (127.96.0.0/16) and those of the other tests (127.150-249.x.x), so that
# no other daemon's VIP is ever ours.
VIP_RANGE="127.$(( $(od -An -N1 -tu1 /dev/urandom) % 40 + 100 )).0.0/16"
SOCK="$TEST_TMP/api.sock"
# A fake Docker engine on a unix socket: the containers of $DSTATE (JSON,
# {"epoch": N, "containers": {ID: {name, ip, labels}}}) are listed and
# inspected; the event stream (refused the first time) reports a
# container that appears or changes (each message split over two chunks)
# and one that goes, and ends when the epoch changes.
DSOCK="$TEST_TMP/docker.sock"
DSTATE="$TEST_TMP/docker-state.json"
CID1=$(printf 'c1%.0s' {1..32}) CID2=$(printf 'c2%.0s' {1..32}) CID3=$(printf 'c3%.0s' {1..32})
docker_state() {	# docker_state EPOCH ID...: those containers run
	local epoch=$1 id n sep=
	shift
	{
		printf '{"epoch": %s, "containers": {' "$epoch"
		for id; do
			n=${id:1:1}
			printf '%s"%s": {"name": "vgdock-%s", "ip": "127.0.77.%s", "labels": {"name": "vgdock", "clusterip.io/service": "vgdock", "clusterip.io/port": "8080"}}' \
			    "$sep" "$id" "$n" "$n"
			sep=,
		done
		printf '}}\n'
	} > "$DSTATE.tmp" && mv "$DSTATE.tmp" "$DSTATE"
}
docker_state 0 "$CID1" "$CID2"
cat > "$TEST_TMP/fake-docker.py" <<'PY'
import json, os, socket, sys, threading, time
path, statef = sys.argv[1], sys.argv[2]
srv = socket.socket(socket.AF_UNIX)
srv.bind(path)
srv.listen(16)
streams = 0

def state():
    try:
        with open(statef) as f:
            return json.load(f)
    except (OSError, ValueError):
        return {"epoch": -1, "containers": {}}

def send(conn, status, body):
    b = json.dumps(body).encode()
    conn.sendall(b"HTTP/1.1 %d X\r\nContent-Type: application/json\r\n"
                 b"Content-Length: %d\r\n\r\n" % (status, len(b)) + b)

def chunk(conn, data):
    conn.sendall(b"%x\r\n%s\r\n" % (len(data), data))

def events(conn):
    global streams
    streams += 1
    if streams == 1:
        return send(conn, 500, {"message": "starting"})
    conn.sendall(b"HTTP/1.1 200 OK\r\nContent-Type: application/json\r\n"
                 b"Transfer-Encoding: chunked\r\n\r\n")
    st = state()
    epoch, seen = st["epoch"], st["containers"]
    while True:
        time.sleep(0.1)
        st = state()
        if st["epoch"] != epoch:
            conn.sendall(b"0\r\n\r\n")
            return
        cur = st["containers"]
        for cid in cur:
            if seen.get(cid) != cur[cid]:
                m = json.dumps({"Type": "container", "Action": "start",
                                "Actor": {"ID": cid, "Attributes":
                                          {"name": "x"}}}).encode() + b"\n"
                chunk(conn, m[:20])
                chunk(conn, m[20:])
        for cid in seen:
            if cid not in cur:
                chunk(conn, json.dumps({"Type": "container",
                      "Action": "destroy", "Actor": {"ID": cid}}).encode()
                      + b"\n")
        seen = cur

def inspect(cid, c):
    return {"Id": cid, "Name": "/" + c["name"],
            "State": {"Status": "running", "Running": True, "Paused": False},
            "Config": {"Labels": c["labels"], "ExposedPorts": {"8080/tcp": {}}},
            "NetworkSettings": {"Networks": {"bridge": {"IPAddress": c["ip"]}}}}

def serve(conn):
    buf = b""
    try:
        while True:	# keep-alive: one request after another
            while b"\r\n\r\n" not in buf:
                d = conn.recv(4096)
                if not d:
                    return
                buf += d
            head, buf = buf.split(b"\r\n\r\n", 1)
            url = head.split(b" ")[1].decode()
            cs = state()["containers"]
            if url.startswith("/events"):
                return events(conn)
            elif url == "/containers/json":
                send(conn, 200, [{"Id": cid} for cid in cs])
            elif url.startswith("/containers/") and url.split("/")[2] in cs:
                cid = url.split("/")[2]
                send(conn, 200, inspect(cid, cs[cid]))
            else:
                send(conn, 404, {"message": "No such container"})
    except OSError:
        pass
    finally:
        conn.close()

while True:
    c, _ = srv.accept()
    threading.Thread(target=serve, args=(c,), daemon=True).start()
PY
python3 "$TEST_TMP/fake-docker.py" "$DSOCK" "$DSTATE" &
TEST_PIDS+=($!)

# A copy of the shipped configuration file, every setting that matters
# overridden; Docker from the fake engine.
CONF="$TEST_TMP/clusteripd.yaml"
cp "$top_srcdir/conf/clusteripd.yaml" "$CONF"
ARGS=(-c "$CONF" --manifests "$M"
	--state-dir "$STATE" --dns-listen "127.0.0.1:$DNS_PORT"
	--api-listen "127.0.0.1:$API_PORT" --api-socket "$SOCK"
	--api-token-file "$TOKEN_FILE" --upstream "127.0.0.1:$UP_PORT"
	--upstream-timeout 1s --api-timeout 3s --vip-range "$VIP_RANGE"
	--dns-cache-size 2 --dns-tcp-max-clients 4 --upstream-max-inflight 4
	--docker="$DSOCK" --log-level debug)

# --check-config under valgrind: a good set, then a broken manifest.
RC=0
"${VG[@]}" --log-file="$VGD/check-config.log" "$CIPD" "${ARGS[@]}" --check-config \
	>"$OUT" 2>"$ERR" || RC=$?
vg_check "$VGD/check-config.log" "clusteripd --check-config"
[ "$RC" = 0 ] || fail "--check-config: exit $RC: $(cat "$ERR")"
mkdir -p "$TEST_TMP/badm"
printf 'kind: Service\nmetadata: {name: b}\nspec: {ports: [{port: x}]}\n' > "$TEST_TMP/badm/b.yaml"
RC=0
"${VG[@]}" --log-file="$VGD/check-config-bad.log" "$CIPD" "${ARGS[@]}" \
	--manifests "$TEST_TMP/badm" --check-config >"$OUT" 2>"$ERR" || RC=$?
vg_check "$VGD/check-config-bad.log" "clusteripd --check-config (bad manifest)"
[ "$RC" != 0 ] || fail "--check-config accepted a bad manifest"
grep -q "b.yaml:3" "$ERR" || fail "--check-config: no file:line: $(cat "$ERR")"
pass "--check-config under valgrind, good and bad"

"${VG[@]}" --log-file="$DVG" "$CIPD" "${ARGS[@]}" 2>"$DAEMON_LOG" &
DAEMON_PID=$!
TEST_PIDS+=("$DAEMON_PID")
for ((i = 0; i < 600; i++)); do
	grep -q "startup complete" "$DAEMON_LOG" && break
	kill -0 "$DAEMON_PID" 2>/dev/null || { vg_report "$DVG"; fail "clusteripd exited at start"; }
	sleep 0.05
done
grep -q "startup complete" "$DAEMON_LOG" || fail "clusteripd under valgrind did not start within 30s"
pass "clusteripd started under valgrind"

# req METHOD PATH [curl args...]: the API with the token; sets CODE, BODY.
req() {
	local method=$1 path=$2
	shift 2
	CODE=$(curl -s -m 10 -o "$TEST_TMP/body" -w '%{http_code}' -X "$method" \
		-H "$AUTH" "$@" "$API$path") || CODE=000
	BODY=$(cat "$TEST_TMP/body")
}
expect() {
	[ "$CODE" = "$1" ] || fail "$2: HTTP $CODE, want $1: $BODY"
}
ready_eps() {	# the ready addresses of a service, sorted, comma-separated
	req GET "/v1/endpoints/default/$1"
	[ "$CODE" = 200 ] || return 1
	python3 -c "import json; d=json.load(open('$TEST_TMP/body')); print(','.join(sorted(a['ip'] for s in d.get('subsets', []) for a in s.get('addresses', []))))"
}
eps_are() { [ "$(ready_eps "$1")" = "$2" ]; }

# --- API basics and the readiness probes.
CODE=$(curl -s -m 10 -o /dev/null -w '%{http_code}' "$API/healthz")
[ "$CODE" = 200 ] || fail "/healthz: $CODE"
CODE=$(curl -s -m 10 -o /dev/null -w '%{http_code}' "$API/v1/services")
[ "$CODE" = 401 ] || fail "/v1/services without a token: $CODE"
req GET /readyz; expect 200 /readyz
CODE=$(curl -s -m 10 -o /dev/null -w '%{http_code}' -H "$AUTH" --unix-socket "$SOCK" http://x/v1/pods)
[ "$CODE" = 200 ] || fail "the API's unix socket: $CODE"
req GET /v1/services; expect 200 /v1/services
req GET /v1/services/default/backend; expect 200 "service backend"
VIP=$(python3 -c "import json; print(json.load(open('$TEST_TMP/body'))['spec']['clusterIP'])")
case "$VIP" in "${VIP_RANGE%.0.0/16}".*) ;; *) fail "VIP not in $VIP_RANGE: $BODY";; esac
req GET /v1/pods; expect 200 /v1/pods
req GET "/v1/pods?labelSelector=name%3Dbackend"; expect 200 "pods by selector"
req GET /v1/nope; expect 404 "unknown route"
req PATCH /v1/services/default/backend; expect 405 "PATCH"
until_ok 20 eps_are backend "$B1,$B2" || fail "backends not ready: $BODY"
pass "API answers, both probed backends ready"

# --- DNS: the cluster zone, forwarding, TCP, EDNS.
dq() { dig +time=3 +tries=2 -p "$DNS_PORT" @127.0.0.1 "$@" 2>&1; }
[ "$(dq +short backend A)" = "$VIP" ] || fail "backend A"
[ "$(dq +short backend.default.svc.cluster.local A)" = "$VIP" ] || fail "FQDN A"
[ "$(dq +short +tcp backend.default.svc A)" = "$VIP" ] || fail "A over TCP"
[ "$(dq +short +bufsize=1232 backend.default A)" = "$VIP" ] || fail "A with EDNS"
dq +noedns _http._tcp.backend.default.svc.cluster.local SRV | grep -q "status: NXDOMAIN" ||
	fail "SRV of an unnamed port"
dq -x "$VIP" | grep -q "backend.default.svc.cluster.local." || fail "PTR of the VIP"
dq nosuch.default.svc.cluster.local A | grep -q "status: NXDOMAIN" || fail "NXDOMAIN"
dq backend.default.svc.cluster.local AAAA | grep -q "status: NOERROR" || fail "NODATA"
dq +short dns-version.cluster.local TXT | grep -q '"1.1.0"' || fail "dns-version TXT"
dq cluster.local SOA | grep -q "status: NOERROR" || fail "apex SOA"
KD=(kdig +time=3 +retry=1 -p "$DNS_PORT" @127.0.0.1)
"${KD[@]}" +short +tcp +edns=0 +nsid backend A | grep -qx "$VIP" || fail "kdig TCP EDNS"
"${KD[@]}" +short +cookie backend.default.svc.cluster.local A | grep -qx "$VIP" || fail "kdig cookie"
if [ "$UPSTREAM" = 1 ]; then
	[ "$(dq +short www.example.com A)" = 192.0.2.80 ] || fail "forwarded A"
	[ "$(dq +short www.example.com A)" = 192.0.2.80 ] || fail "forwarded A, cached"
	[ "$(dq +short +tcp tcp.example.com A)" != "" ] || fail "forwarded over TCP"
	dq nx.example.com A | grep -q "status: NXDOMAIN" || fail "forwarded NXDOMAIN"
	dq +ignore +bufsize=512 big.example.com TXT | grep -q "status:" || fail "big TXT"
	dq +tcp big.example.com TXT | grep -q "status: NOERROR" || fail "big TXT over TCP"
	"${KD[@]}" +edns=0 +bufsize=4096 nosuch A | grep -q "status:" || fail "kdig forwarded"
fi
dq +tries=1 slow.example.com A | grep -q "status: SERVFAIL" || fail "upstream timeout: SERVFAIL"
pass "DNS: A, SRV, PTR, TXT, SOA, NXDOMAIN, NODATA, forwarded, TCP, EDNS"

# --- The forwarder: the VIP balances over both backends.
: > "$TEST_TMP/seen"
for ((i = 0; i < 12; i++)); do
	curl -sf -m 10 "http://$VIP:5000/" >> "$TEST_TMP/seen" || fail "curl through the VIP"
done
grep -q backend-1 "$TEST_TMP/seen" && grep -q backend-2 "$TEST_TMP/seen" ||
	fail "both backends not seen through the VIP: $(sort "$TEST_TMP/seen" | uniq -c)"
pass "curl through $VIP:5000 reaches both backends"

# --- API: apply (an HTTP probe, a UDP port), leases, bad bodies, delete.
cat > "$TEST_TMP/web.yaml" <<EOF
apiVersion: v1
kind: Service
metadata: {name: web}
spec:
  selector: {app: web}
  ports:
  - {name: http, port: 8080, targetPort: 5000}
  - {name: echo, port: 7, targetPort: $ECHO_PORT, protocol: UDP}
  sessionAffinity: ClientIP
  sessionAffinityConfig: {clientIP: {timeoutSeconds: 30}}
---
apiVersion: v1
kind: Service
metadata: {name: db}
spec:
  clusterIP: None
  selector: {app: web}
  ports: [{name: http, port: 5000}]
---
apiVersion: v1
kind: Service
metadata: {name: ext}
spec: {type: ExternalName, externalName: www.example.com}
---
apiVersion: v1
kind: Pod
metadata: {name: web-1, labels: {app: web}}
spec:
  containers:
  - ports: [{name: http, containerPort: 5000}]
    readinessProbe: {httpGet: {path: /, port: 5000}, periodSeconds: 1}
status: {podIP: $B1}
EOF
req POST /v1/apply --data-binary @"$TEST_TMP/web.yaml"; expect 200 "apply"
req POST /v1/apply --data-binary @"$TEST_TMP/web.yaml"; expect 200 "apply again"
req PUT /v1/pods/default/lease-1 --data-binary \
	'{"labels":{"app":"lease"},"ip":"127.0.11.5","ports":[{"name":"http","port":5000}],"ttlSeconds":2}'
expect 201 "register with a TTL"
LEASE_T=$SECONDS
req POST /v1/pods/default/lease-1/heartbeat; expect 200 "heartbeat"
req POST /v1/pods/default/web-1/heartbeat; expect 404 "heartbeat of an unleased pod"
printf 'kind: Service\nmetadata: {name: x}\nspec:\n  ports: [{port: eighty}]\n' > "$TEST_TMP/bad.yaml"
req POST /v1/apply --data-binary @"$TEST_TMP/bad.yaml"; expect 400 "wrong type"
req POST /v1/apply --data-binary $'kind: Service\nmetadata: {name: x\n  - : ]\n'; expect 400 "broken YAML"
req POST /v1/apply --data-binary '{"kind": "Service", "metadata": {"name": 7}}'; expect 400 "bad JSON"
req POST /v1/apply --data-binary ''; expect 400 "empty apply"
req PUT /v1/pods/default/p1 --data-binary 'not json'; expect 400 "registration not JSON"
req PUT /v1/pods/default/p1 --data-binary '{"ip": "1.2.3.4", "ttlSeconds": "x"}'; expect 400 "bad TTL"
head -c $((1100 * 1024)) /dev/zero | tr '\0' 'a' > "$TEST_TMP/big"
read -r CODE CT < <(send_body "127.0.0.1:$API_PORT" POST /v1/apply $((1100 * 1024)))
expect 413 "body over 1 MiB"
read -r CODE CT < <(send_body "127.0.0.1:$API_PORT" POST /v1/apply $((1100 * 1024)) chunked)
expect 413 "chunked body over 1 MiB"
read -r CODE CT < <(send_body "$SOCK" POST /v1/apply $((1100 * 1024)) continue)
expect 413 "body over 1 MiB over the unix socket, Expect: 100-continue"
# A second Content-Length: refused by our handler, the connection closed.
req POST /v1/apply -H "Content-Length: 2" -H "Content-Length: 2" --data-binary '{}'
expect 400 "two Content-Lengths"
req DELETE /v1/services/default/backend; expect 409 "delete a file's service"
req DELETE /v1/pods/default/nothere; expect 404 "delete a missing pod"
req GET /v1/services/default/web; expect 200 "web"
WEB_VIP=$(python3 -c "import json; print(json.load(open('$TEST_TMP/body'))['spec']['clusterIP'])")
dq _http._tcp.web.default.svc.cluster.local SRV | grep -q "0 100 8080 web.default.svc.cluster.local." ||
	fail "SRV of web"
out=$(dq ext.default.svc.cluster.local CNAME)
echo "$out" | grep -q "CNAME" || fail "ExternalName CNAME: $out"
# The target goes upstream, which may still sleep on slow.example.com.
dq ext.default.svc.cluster.local A | grep -q "status:" || fail "ExternalName A"
until_ok 15 sh -c "dig +short +time=2 -p $DNS_PORT @127.0.0.1 db.default.svc.cluster.local A | grep -qx $B1" ||
	fail "headless service db"
dq _http._tcp.db.default.svc.cluster.local SRV | grep -q "$(echo "$B1" | tr . -).db.default.svc.cluster.local." ||
	fail "SRV of the headless service"
dq -x "$B1" | grep -q "status:" || fail "PTR of a pod"
until_ok 15 sh -c "curl -sf -m 5 http://$WEB_VIP:8080/ | grep -q backend-1" ||
	fail "web (HTTP probe) not reachable through $WEB_VIP:8080"
python3 - "$WEB_VIP" <<'PY' || fail "UDP through the VIP"
import socket, sys
s = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
s.settimeout(3)
for i in range(3):
    s.sendto(b"ping%d" % i, (sys.argv[1], 7))
    if s.recvfrom(100)[0] != b"echo:ping%d" % i:
        sys.exit(1)
PY
# A slow client cut off by --api-timeout, a client gone mid-request.
python3 - "$API_PORT" <<'PY' || fail "partial API requests"
import socket, sys
a = socket.create_connection(("127.0.0.1", int(sys.argv[1])))
a.sendall(b"POST /v1/apply HTTP/1.1\r\nHost: x\r\nContent-Length: 100\r\n\r\nkind")
b = socket.create_connection(("127.0.0.1", int(sys.argv[1])))
b.sendall(b"GET /v1/services HTTP/1.1\r\nHo")
b.close()
a.settimeout(15)
try:
    a.recv(100)
except OSError:
    pass
PY
req GET /metrics; expect 200 /metrics
python3 "$top_srcdir/tests/integration/promcheck.py" < "$TEST_TMP/body" || fail "/metrics format"
grep -q '^clusterip_dns_queries_total{' "$TEST_TMP/body" || fail "no DNS counters in /metrics"
pass "API: apply (affinity, headless, ExternalName), HTTP probe, UDP port, lease, heartbeat, bad bodies, 409, 413, /metrics"

# --- The CLI, each command under valgrind too.
export CLUSTERIP_SERVER="$API"
CLUSTERIP_TOKEN=$(cat "$TOKEN_FILE")
export CLUSTERIP_TOKEN
ok help --help
ok get-help get --help
bad usage frobnicate
[ "$RC" = 2 ] || fail "unknown command: exit $RC"
ok get-svc get svc
grep -q "^backend " "$OUT" || fail "get svc: $(cat "$OUT")"
ok get-svc-wide get svc -o wide -A
ok get-pods get pods -o wide --show-labels
ok get-pods-sel get pods -l 'name in (backend)'
bad get-pods-badsel get pods -l 'name in (('
ok get-ep-json get ep -o json
ok get-svc-yaml get svc backend -o yaml
ok describe describe svc backend
grep -q "^Endpoints: *$B1:5000,$B2:5000$" "$OUT" || fail "describe: $(cat "$OUT")"
bad describe-missing describe svc nothere
cat > "$TEST_TMP/cli.yaml" <<EOF
kind: Pod
metadata: {name: cli-1, labels: {app: cli}}
status: {podIP: 127.0.11.7}
EOF
ok apply-file apply -f "$TEST_TMP/cli.yaml"
grep -q "pod/cli-1 created" "$OUT" || fail "apply -f: $(cat "$OUT")"
RC=0
"${VG[@]}" --log-file="$VGD/cli-apply-stdin.log" "$C" apply -f - \
	< "$TEST_TMP/cli.yaml" >"$OUT" 2>"$ERR" || RC=$?
vg_check "$VGD/cli-apply-stdin.log" "clusterip apply -f -"
[ "$RC" = 0 ] || fail "apply -f -: exit $RC: $(cat "$ERR")"
bad apply-bad apply -f "$TEST_TMP/bad.yaml"
bad apply-missing apply -f "$TEST_TMP/missing.yaml"
bad apply-huge apply -f "$TEST_TMP/big"
bad delete-owned delete svc backend
ok delete-pod delete pod cli-1
bad delete-twice delete pod cli-1
ok register register cli-2 --label app=cli --ip 127.0.11.8 --port http=5000 --ttl 2s
bad register-badip register cli-2 --ip 300.1.1.1
bad register-badttl register cli-2 --ip 127.0.11.8 --ttl soon
CLUSTERIP_TOKEN= bad no-token get svc
bad unreachable get svc --server "http://127.0.0.1:$(free_port)"
ok token-file get pods --token-file "$TOKEN_FILE"
ok resolve resolve backend --dns "127.0.0.1:$DNS_PORT"
[ "$(cat "$OUT")" = "backend.default.svc.cluster.local $VIP" ] || fail "resolve: $(cat "$OUT")"
ok resolve-srv resolve web --srv http --dns "127.0.0.1:$DNS_PORT"
bad resolve-missing resolve nothere --dns "127.0.0.1:$DNS_PORT"
# --keepalive: renews, deregisters on SIGTERM, exits 0.
"${VG[@]}" --log-file="$VGD/cli-keepalive.log" "$C" register cli-3 --ip 127.0.11.9 \
	--ttl 2s --keepalive >"$TEST_TMP/keep.out" 2>&1 &
KEEP=$!
TEST_PIDS+=("$KEEP")
wait_log "$TEST_TMP/keep.out" "registered" 20
req GET /v1/pods/default/cli-3; expect 200 "keepalive pod"
kill -TERM "$KEEP"
RC=0
wait "$KEEP" || RC=$?
vg_check "$VGD/cli-keepalive.log" "clusterip register --keepalive"
[ "$RC" = 0 ] || fail "register --keepalive exited $RC: $(cat "$TEST_TMP/keep.out")"
req GET /v1/pods/default/cli-3; expect 404 "keepalive pod after SIGTERM"
pass "CLI: every command under valgrind, no errors, no leaks"

# --- The lease registered above has run out by now (polled, bounded).
until_ok 15 sh -c "[ \"\$(curl -s -m 5 -o /dev/null -w '%{http_code}' -H '$AUTH' $API/v1/pods/default/lease-1)\" = 404 ]" ||
	fail "lease-1 did not expire"
until_ok 10 sh -c "[ \"\$(curl -s -m 5 -o /dev/null -w '%{http_code}' -H '$AUTH' $API/v1/pods/default/cli-2)\" = 404 ]" ||
	fail "cli-2 did not expire"
req DELETE /v1/pods/default/web-1; expect 200 "delete web-1"
req DELETE /v1/services/default/web; expect 200 "delete web"
req DELETE /v1/services/default/db; expect 200 "delete db"
pass "leases expired ($((SECONDS - LEASE_T))s after registration), API objects deleted"

# hold ADDR:PORT NAME: a client in the background keeping a connection
# open with half a request, until it is killed.
hold() {
	python3 - "$1" >"$TEST_TMP/hold-$2" 2>&1 <<'PY' &
import socket, sys, time
host, port = sys.argv[1].rsplit(":", 1)
s = socket.create_connection((host, int(port)), timeout=10)
s.sendall(b"GET / HTTP/1.1\r\nHost: x\r\n")
print("held", flush=True)
time.sleep(120)
PY
	TEST_PIDS+=($!)
	wait_log "$TEST_TMP/hold-$2" held 20
}

# --- The watched directory: a file changed, broken, fixed, added, removed.
n_pods() {	# the fake Docker engine's (vgdock-N) not counted
	req GET /v1/pods
	python3 -c "import json; print(len([p for p in json.load(open('$TEST_TMP/body'))['items'] if not p['metadata']['name'].startswith('vgdock-')]))"
}
cat >> "$M/pods.yaml" <<EOF
---
apiVersion: v1
kind: Pod
metadata: {name: backend-3, labels: {name: backend}}
status: {podIP: 127.1.$n.3}
EOF
until_ok 15 sh -c "[ \$(grep -c 'manifest $M/pods.yaml loaded' '$DAEMON_LOG') -ge 2 ]" ||
	fail "changed pods.yaml not reloaded"
[ "$(n_pods)" = 3 ] || fail "backend-3 not added: $BODY"
cp "$M/service.yaml" "$TEST_TMP/service.good"
printf 'kind: Service\nmetadata: {name: backend\n  - : ]\n' > "$M/service.yaml"
wait_log "$DAEMON_LOG" "manifest refused, previous objects kept" 15
[ "$(dq +short backend A)" = "$VIP" ] || fail "backend lost with a broken manifest"
cp "$TEST_TMP/service.good" "$M/service.yaml"
until_ok 15 sh -c "[ \$(grep -c 'manifest $M/service.yaml loaded' '$DAEMON_LOG') -ge 2 ]" ||
	fail "fixed service.yaml not reloaded"
printf 'kind: Service\nmetadata: {name: extra}\nspec: {selector: {a: b}, ports: [{port: 81}]}\n' > "$M/extra.yaml"
until_ok 15 sh -c "dig +short +time=2 -p $DNS_PORT @127.0.0.1 extra A | grep -q ." ||
	fail "extra.yaml not loaded"
rm "$M/extra.yaml"
wait_log "$DAEMON_LOG" "manifest $M/extra.yaml removed" 15
# A connection held through the VIP while its pods go away: it drains.
hold "$VIP:5000" drain
rm "$M/pods.yaml"
wait_log "$DAEMON_LOG" "manifest $M/pods.yaml removed" 15
[ "$(n_pods)" = 0 ] || fail "pods of a removed file remain: $BODY"
# No endpoint left: the VIP refuses at once.
curl -s -m 5 "http://$VIP:5000/" >/dev/null && fail "a VIP with no endpoint answered"
pass "watched directory: changed, broken (kept), fixed, added, removed"

# --- SIGHUP re-reads everything; the pods come back.
sed -e "s/127\.0\.10\.1/$B1/" -e "s/127\.0\.10\.2/$B2/" \
	"$top_srcdir/conf/demo/pods.yaml" > "$M/pods.yaml"
kill -HUP "$DAEMON_PID"
wait_log "$DAEMON_LOG" "manifests re-read" 15
cp "$CONF" "$TEST_TMP/conf.good"
printf 'dns-ttl: [\n' > "$CONF"
kill -HUP "$DAEMON_PID"
wait_log "$DAEMON_LOG" "configuration refused, running one kept" 15
cp "$TEST_TMP/conf.good" "$CONF"
until_ok 20 eps_are backend "$B1,$B2" || fail "backends not ready after SIGHUP: $BODY"
# One backend stops: connections go to the other one.
kill "$BPID2"
wait "$BPID2" 2>/dev/null
for ((i = 0; i < 6; i++)); do
	curl -sf -m 10 "http://$VIP:5000/" | grep -q backend-1 ||
	    fail "curl with one backend down"
done
pass "SIGHUP reload, a broken configuration refused; a backend down, connections retried on the other"

# --- Malformed DNS over UDP and TCP; the daemon must keep answering.
python3 - "$DNS_PORT" <<'PY' || fail "malformed DNS packets"
import socket, struct, sys, os
port = int(sys.argv[1])
addr = ("127.0.0.1", port)
def q(name, qtype=1, flags=0x0100, qd=1, an=0, ar=0, tail=b""):
    h = struct.pack(">HHHHHH", 0x1234, flags, qd, an, 0, ar)
    wire = b"".join(bytes([len(l)]) + l for l in name.encode().split(b".") if l) + b"\0"
    return h + wire + struct.pack(">HH", qtype, 1) + tail
opt_bad = b"\0" + struct.pack(">HHIH", 41, 4096, 0, 50) + b"\1\2"
bad = [
    b"",
    b"\x12",
    b"\x12\x34\x01\x00\x00\x01",
    struct.pack(">HHHHHH", 1, 0x0100, 1, 0, 0, 0),
    q("backend", qd=2),
    q("backend", flags=0x8100),
    q("backend", flags=0x1100),
    q("backend", flags=0x7900),
    struct.pack(">HHHHHH", 2, 0x0100, 1, 0, 0, 0) + b"\xc0\x0c\0\1\0\1",
    struct.pack(">HHHHHH", 3, 0x0100, 1, 0, 0, 0) + b"\x3f" + b"a" * 10,
    q("a." * 130 + "x"),
    q("backend", ar=1, tail=opt_bad),
    q("backend", ar=2, tail=b"\0\0\x29\x10\0\0\0\0\0\0"),
    q("backend", an=3),
    q("backend", qtype=255),
    q("backend", qtype=252),
    os.urandom(512),
    os.urandom(3000),
]
u = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
u.settimeout(0.2)
for p in bad:
    u.sendto(p, addr)
    try:
        u.recvfrom(65535)
    except socket.timeout:
        pass
for p in bad[2:8]:
    t = socket.create_connection(addr, timeout=10)
    t.sendall(struct.pack(">H", len(p)) + p)
    t.close()
t = socket.create_connection(addr, timeout=10)
t.sendall(struct.pack(">H", 300) + b"\1" * 10)
t.close()
t = socket.create_connection(addr, timeout=10)
t.sendall(b"\0")
t.close()
t = socket.create_connection(addr, timeout=10)
t.sendall(struct.pack(">H", 0))
t.close()
# Two pipelined queries, one sent a byte at a time: two answers.
t = socket.create_connection(addr, timeout=15)
one = q("backend")
t.sendall(struct.pack(">H", len(one)) + one + struct.pack(">H", len(one)))
for b in one:
    t.sendall(bytes([b]))
got = b""
while got.count(b"\x12\x34") < 2 and len(got) < 4096:
    d = t.recv(4096)
    if not d:
        break
    got += d
t.close()
sys.exit(0 if got.count(b"\x12\x34") >= 2 else 1)
PY
[ "$(dq +short backend A)" = "$VIP" ] || fail "no answer after malformed packets"
[ "$(dq +short +tcp backend A)" = "$VIP" ] || fail "no TCP answer after malformed packets"
pass "malformed DNS over UDP and TCP, still answering"

# More DNS TCP clients than --dns-tcp-max-clients at once.
python3 - "$DNS_PORT" <<'PY' || fail "DNS TCP clients over the limit"
import socket, struct, sys
addr = ("127.0.0.1", int(sys.argv[1]))
conns = [socket.create_connection(addr, timeout=10) for _ in range(8)]
for c in conns:
    try:
        c.sendall(b"\0\x05abc")
    except OSError:
        pass
for c in conns:
    c.close()
PY
[ "$(dq +short +tcp backend A)" = "$VIP" ] || fail "no TCP answer after too many clients"
pass "DNS TCP clients over the limit, still answering"

# Work in progress at shutdown: connections through the VIP, to DNS over
# TCP and to the API, each holding half a request; a UDP flow; forwarded
# queries waiting on the upstream, more than --upstream-max-inflight.
req POST /v1/apply --data-binary @"$TEST_TMP/web.yaml"; expect 200 "apply web again"
req GET /v1/services/default/web; expect 200 "web again"
echo "$BODY" | grep -q "\"$WEB_VIP\"" || fail "web's VIP changed on re-creation: $BODY"
udp_echo() {
	python3 - "$WEB_VIP" <<'PY'
import socket, sys
s = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
s.settimeout(1)
s.sendto(b"again", (sys.argv[1], 7))
sys.exit(0 if s.recvfrom(100)[0] == b"echo:again" else 1)
PY
}
until_ok 15 udp_echo || fail "UDP through the re-created web"
# --- The Docker provider, from the fake engine.
has_pod() { req GET /v1/pods; [ "$CODE" = 200 ] && echo "$BODY" | grep -q "\"$1\""; }
until_ok 20 has_pod vgdock-1 && until_ok 5 has_pod vgdock-2 ||
    fail "no pods from the fake Docker engine"
grep -q "docker: .*events refused; retrying" "$DAEMON_LOG" ||
    fail "the refused event stream was not retried"
req GET /v1/services/default/vgdock; expect 200 "the Service of the containers' labels"
docker_state 0 "$CID1" "$CID2" "$CID3"
until_ok 10 has_pod vgdock-3 || fail "the event of a new container was not followed"
docker_state 0 "$CID1" "$CID3"
until_ok 10 grep -q "container c2c2c2c2c2c2 gone (destroyed)" "$DAEMON_LOG" ||
    fail "a destroyed container kept its pod"
has_pod vgdock-2 && fail "vgdock-2 still a pod after destroy"
# The stream ends; vgdock-3 goes meanwhile: listing again drops its pod.
docker_state 1 "$CID1"
until_ok 15 grep -q "container c3c3c3c3c3c3 gone (not listed)" "$DAEMON_LOG" ||
    fail "no resync after the event stream ended"
[ "$(grep -c "docker: following" "$DAEMON_LOG")" -ge 2 ] || fail "no reconnect"
has_pod vgdock-1 || fail "vgdock-1 lost its pod in the resync"
req GET /v1/services/default/vgdock; expect 200 "the Service after the resync"
pass "Docker provider: refused stream retried, events in pieces, destroy, resync"

hold "$VIP:5000" vip
hold "127.0.0.1:$DNS_PORT" dns
hold "127.0.0.1:$API_PORT" api
python3 - "$DNS_PORT" "$WEB_VIP" <<'PY' || fail "work in progress at shutdown"
import random, socket, struct, sys
port, vip = int(sys.argv[1]), sys.argv[2]
u = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
for i in range(12):
    name = b"pending%d-%d" % (i, random.randint(0, 1 << 30))
    u.sendto(struct.pack(">HHHHHH", i, 0x0100, 1, 0, 0, 0) +
             bytes([len(name)]) + name + b"\3org\0\0\1\0\1", ("127.0.0.1", port))
f = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
f.settimeout(5)
f.sendto(b"last", (vip, 7))
if f.recvfrom(100)[0] != b"echo:last":
    sys.exit(1)
# Past --upstream-max-inflight: SERVFAIL at once; the rest are in flight.
u.settimeout(5)
while (u.recv(512)[3] & 0xf) != 2:
    pass
PY

# --- SIGTERM: status 0 from valgrind (99 would be an error or a leak).
kill -TERM "$DAEMON_PID"
rc=0
wait "$DAEMON_PID" || rc=$?
DAEMON_PID=
if [ "$rc" != 0 ] || ! vg_clean "$DVG"; then
	vg_report "$DVG"
	[ "$rc" = 99 ] && lib_fail "clusteripd: valgrind found memory errors or leaks (records above)"
	lib_fail "clusteripd under valgrind exited with status $rc"
fi
grep -q "clusteripd: stopped" "$DAEMON_LOG" || fail "no clean stop in the daemon log"
grep -E 'total heap usage|in use at exit' "$DVG" | sed 's/^==[0-9]*== */valgrind: /'
pass "clusteripd: SIGTERM, exit 0, no memory errors, nothing lost"

# --- Upstreams read from resolv.conf, one of them this server itself
# (dropped): in network and mount namespaces of its own, as root only.
if [ "$(id -u)" != 0 ] || ! command -v unshare >/dev/null 2>&1 ||
    ! command -v nsenter >/dev/null 2>&1 || ! command -v ip >/dev/null 2>&1 ||
    ! unshare --net --mount true 2>/dev/null; then
	echo "$NAME: not root or no unshare: upstreams from resolv.conf not checked"
	exit 0
fi
printf 'nameserver 127.0.0.1\nnameserver 127.0.0.2\n' > "$TEST_TMP/resolv.conf"
DAEMON_LOG="$TEST_TMP/ns-daemon.log"
DVG="$VGD/ns-daemon.log"
: > "$DAEMON_LOG"
unshare --net --mount sh -c 'ip link set lo up &&
	mount --bind "$1" /etc/resolv.conf && shift && exec "$@"' sh \
	"$TEST_TMP/resolv.conf" "${VG[@]}" --log-file="$DVG" "$CIPD" \
	--dns-listen 127.0.0.1:53 --api-listen none --manifests "$M" \
	--state-dir "$TEST_TMP/ns-state" --upstream-timeout 500ms \
	--log-level debug 2>"$DAEMON_LOG" &
DAEMON_PID=$!
TEST_PIDS+=("$DAEMON_PID")
wait_log "$DAEMON_LOG" "startup complete" 30
grep -q "not forwarding to 127.0.0.1 port 53: that is this server" "$DAEMON_LOG" ||
	fail "the server itself not dropped from the upstreams"
nsdig() { nsenter --net="/proc/$DAEMON_PID/ns/net" dig +time=3 +tries=1 @127.0.0.1 "$@" 2>&1; }
nsdig +short backend A | grep -q . || fail "no answer in the namespace"
nsdig www.example.com A | grep -q "status: SERVFAIL" || fail "forwarded to a dead upstream: not SERVFAIL"
kill -TERM "$DAEMON_PID"
rc=0
wait "$DAEMON_PID" || rc=$?
DAEMON_PID=
if [ "$rc" != 0 ] || ! vg_clean "$DVG"; then
	vg_report "$DVG"
	[ "$rc" = 99 ] && lib_fail "clusteripd, upstreams from resolv.conf: valgrind found memory errors or leaks (records above)"
	lib_fail "clusteripd, upstreams from resolv.conf: exit status $rc"
fi
pass "upstreams from resolv.conf, the server itself dropped: no errors, nothing lost"
exit 0
