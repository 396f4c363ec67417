#!/usr/bin/env bash
# SPDX-License-Identifier: MIT
# api.sh -- the control API against the real daemon with curl: tokens,
# routes, methods, apply (all or nothing, created/configured/unchanged),
# ownership (409), bad bodies (400 with file:line; 413 from evhttp for
# Content-Length and chunked bodies, not held in memory), TTL leases, slow
# clients, head limits and malformed requests (evhttp's statuses, JSON
# where our handler answers), keep-alive and pipelining up to a refusal,
# the unix socket, /metrics through a strict parser, and API objects
# (Endpoints too) surviving a restart; a broken state file moved aside.
set -u
. "$top_srcdir/tests/integration/lib.sh"

command -v curl >/dev/null || { echo "curl missing"; exit 77; }

M="$TEST_TMP/manifests"
mkdir -p "$M"
# The demo's pods on addresses of their own, where nothing listens, so
# their probes fail whatever other tests run beside this one.
sed 's/127\.0\.10\./127.0.31./' "$top_srcdir/conf/demo/pods.yaml" > "$M/pods.yaml"
cp "$top_srcdir/conf/demo/service.yaml" "$M/"
STATE="$TEST_TMP/state"
TOKEN="$TEST_TMP/token"
echo "t0ken-$RANDOM-$RANDOM" > "$TOKEN"
API_PORT=$(free_port)
DNS_PORT=$(free_port)
SOCK="$TEST_TMP/api.sock"
API="http://127.0.0.1:$API_PORT"
ARGS=(--manifests "$M" --state-dir "$STATE" --dns-listen "127.0.0.1:$DNS_PORT"
	--api-listen "127.0.0.1:$API_PORT" --api-socket "$SOCK"
	--api-token-file "$TOKEN" --api-timeout 2s --upstream 127.0.0.1:9
	--log-level debug)
AUTH="Authorization: Bearer $(cat "$TOKEN")"

# req METHOD PATH [curl args...]: prints the body, sets CODE.
req() {
	local method=$1 path=$2
	shift 2
	CODE=$(curl -s -o "$TEST_TMP/body" -w '%{http_code}' -X "$method" \
		-H "$AUTH" "$@" "$API$path") || CODE=000
	BODY=$(cat "$TEST_TMP/body")
}
expect() {
	[ "$CODE" = "$1" ] || fail "$2: HTTP $CODE, want $1: $BODY"
}
json() {	# json EXPR: evaluates a python expression over the body as d
	python3 -c "import json,sys; d=json.load(open('$TEST_TMP/body')); print($1)"
}
services_now() {
	req GET /v1/services
	json "','.join(sorted(i['metadata']['namespace']+'/'+i['metadata']['name'] for i in d['items']))"
}

# Refused at start: a non-loopback address without a token. The address
# is a documentation one: nothing is ever bound there.
out=$("$CIPD" --manifests "$M" --state-dir "$STATE" --dns-listen "127.0.0.1:$DNS_PORT" \
	--api-listen 192.0.2.1:9901 --upstream 127.0.0.1:9 2>&1) &&
	fail "started on a non-loopback API address without a token"
echo "$out" | grep -q "refusing to listen on non-loopback" || fail "no reason given: $out"
pass "non-loopback API without a token refused"

# --api-socket over a file that is not a socket: refused, the file kept.
echo keep >"$TEST_TMP/not-a-socket"
out=$("$CIPD" --manifests "$M" --state-dir "$STATE" --dns-listen "127.0.0.1:$DNS_PORT" \
	--api-listen none --api-socket "$TEST_TMP/not-a-socket" --upstream 127.0.0.1:9 2>&1) &&
	fail "started over a regular file as its API socket"
echo "$out" | grep -q "not-a-socket exists and is not a socket" || fail "no reason given: $out"
[ "$(cat "$TEST_TMP/not-a-socket")" = keep ] || fail "the file was touched"
# A socket left by a daemon that was killed is replaced.
python3 -c 'import socket, sys; s = socket.socket(socket.AF_UNIX); s.bind(sys.argv[1])' "$SOCK"
[ -S "$SOCK" ] || fail "no stale socket made"
pass "an API socket path over a regular file is refused; a stale socket is replaced"

start_daemon "$TEST_TMP/d.log" "${ARGS[@]}"

# Tokens: /healthz needs none, everything else does.
CODE=$(curl -s -o /dev/null -w '%{http_code}' "$API/healthz")
[ "$CODE" = 200 ] || fail "/healthz without token: $CODE"
for p in /readyz /metrics /v1/services /v1/nope; do
	CODE=$(curl -s -o "$TEST_TMP/body" -w '%{http_code}' "$API$p")
	[ "$CODE" = 401 ] || fail "$p without token: $CODE"
	grep -q '"error"' "$TEST_TMP/body" || fail "$p: 401 without JSON error"
	CODE=$(curl -s -o /dev/null -w '%{http_code}' -H "Authorization: Bearer wrong" "$API$p")
	[ "$CODE" = 401 ] || fail "$p with a wrong token: $CODE"
done
req GET /readyz
expect 200 "/readyz"
pass "bearer token on every route but /healthz"

# Routes and methods.
req GET /v1/nope; expect 404 "unknown route"
[ "$(json "d['error']")" = "no such route: /v1/nope" ] || fail "404 body: $BODY"
req GET /; expect 404 "/"
req POST /v1/services; expect 405 "POST /v1/services"
req DELETE /v1/endpoints/default/backend; expect 405 "DELETE endpoints"
req PATCH /v1/services/default/backend; expect 405 "PATCH"
req GET /v1/apply; expect 405 "GET /v1/apply"
req GET /v1/services/Default/backend; expect 400 "bad namespace"
req GET /v1/services/default/nothere; expect 404 "missing service"
req GET /v1/pods/default/nothere; expect 404 "missing pod"
pass "404, 405 and 400 with JSON reasons"

# Lists and single objects.
req GET /v1/services; expect 200 "services"
[ "$(json "d['kind']")" = ServiceList ] || fail "kind: $BODY"
[ "$(services_now)" = "default/backend" ] || fail "services: $BODY"
req GET /v1/services/default/backend; expect 200 "backend"
VIP=$(json "d['spec']['clusterIP']")
case "$VIP" in 127.96.*) ;; *) fail "VIP $VIP";; esac
[ "$(json "d['metadata']['owner']")" = "file $M/service.yaml" ] || fail "owner: $BODY"
req GET /v1/pods; expect 200 "pods"
[ "$(json "len(d['items'])")" = 2 ] || fail "pods: $BODY"
req GET "/v1/pods?labelSelector=name%3Dbackend"; expect 200 "selector"
[ "$(json "len(d['items'])")" = 2 ] || fail "selector name=backend: $BODY"
req GET "/v1/pods?labelSelector=name%21%3Dbackend"; expect 200 "selector"
[ "$(json "len(d['items'])")" = 0 ] || fail "selector name!=backend: $BODY"
req GET "/v1/pods?labelSelector=%28%28"; expect 400 "bad selector"
req GET /v1/pods/other; expect 200 "pods of a namespace"
[ "$(json "len(d['items'])")" = 0 ] || fail "namespace filter: $BODY"
req GET /v1/endpoints/default/backend; expect 200 "endpoints"
[ "$(json "d['kind']")" = Endpoints ] || fail "endpoints: $BODY"
# Not ready yet (nothing listens on the backends): notReadyAddresses.
[ "$(json "sorted(a['ip'] for s in d['subsets'] for a in s.get('notReadyAddresses', []))")" = "['127.0.31.1', '127.0.31.2']" ] ||
	fail "notReadyAddresses: $BODY"
pass "GET lists, objects, selectors, endpoints"

# Bad bodies: refused with a reason, nothing changes, the daemon lives.
printf 'kind: Service\nmetadata: {name: x}\nspec:\n  ports: [{port: eighty}]\n' > "$TEST_TMP/bad.yaml"
req POST "/v1/apply?filename=bad.yaml" --data-binary @"$TEST_TMP/bad.yaml"
expect 400 "wrong type"
echo "$BODY" | grep -q 'bad.yaml:4:18: ports\[\].port' || fail "no file:line: $BODY"
printf 'kind: Service\nmetadata: {name: x\n  - : ]\n' > "$TEST_TMP/broken.yaml"
req POST /v1/apply --data-binary @"$TEST_TMP/broken.yaml"
expect 400 "broken YAML"
echo "$BODY" | grep -Eq '"request:[0-9]+:[0-9]+: ' || fail "no request:line: $BODY"
req POST /v1/apply --data-binary '{"kind": "Service", "metadata": {"name": "x"}, "spec": {"ports": [{"port": "eighty"}]}}'
expect 400 "wrong type in JSON"
echo "$BODY" | grep -q 'request:1:.*ports\[\].port' || fail "JSON type error: $BODY"
req POST /v1/apply --data-binary ''
expect 400 "empty apply"
# is_json_error: the body is a JSON object with an "error" string and the
# reply said Content-Type: application/json.
is_json_error() {
	python3 -c "import json; d=json.load(open('$TEST_TMP/body')); assert isinstance(d['error'], str), d" ||
		fail "$1: not a JSON error: $BODY"
	[ "$CT" = application/json ] || fail "$1: Content-Type $CT"
}
# big_req WHAT SIZE [chunked] [continue]: an apply of SIZE bytes, refused
# by evhttp with 413 (its own page) before the body is read, or as soon
# as the chunks pass the limit; the daemon lives on.
big_req() {
	local what=$1
	shift
	read -r CODE CT < <(send_body "127.0.0.1:$API_PORT" POST /v1/apply "$@")
	BODY=$(cat "$TEST_TMP/body")
	expect 413 "$what"
	CODE=$(curl -s -o /dev/null -w '%{http_code}' "$API/healthz")
	[ "$CODE" = 200 ] || fail "$what: daemon not alive after it"
}
export AUTH
MIB=$((1024 * 1024))
big_req "10 MiB body, Content-Length, Expect: 100-continue" $((10 * MIB)) continue
big_req "10 MiB body, Content-Length, no Expect" $((10 * MIB))
big_req "10 MiB body, chunked, Expect: 100-continue" $((10 * MIB)) chunked continue
big_req "10 MiB body, chunked, no Expect" $((10 * MIB)) chunked
big_req "1 MiB and a byte" $((MIB + 1))
read -r CODE CT < <(send_body "127.0.0.1:$API_PORT" PUT /v1/pods/default/big $((10 * MIB)))
expect 413 "10 MiB registration"
# Just at the limit, the body is read and reaches the handler: 400 in
# JSON (it is no YAML document), not 413.
read -r CODE CT < <(send_body "127.0.0.1:$API_PORT" POST /v1/apply "$MIB")
BODY=$(cat "$TEST_TMP/body")
expect 400 "a body of exactly 1 MiB"
is_json_error "a body of exactly 1 MiB"
# Refused bodies are not read (Content-Length) or not held past the limit
# (chunked): 64 MiB of each kind leave the daemon's peak memory (VmHWM)
# within 8 MiB of before.
hwm() { awk '/^VmHWM/ {print $2}' "/proc/$DAEMON_PID/status"; }
hwm0=$(hwm)
for framing in "" chunked; do
	read -r CODE CT < <(send_body "127.0.0.1:$API_PORT" POST /v1/apply $((64 * MIB)) $framing)
	[ "$CODE" = 413 ] || fail "64 MiB body (${framing:-Content-Length}): HTTP $CODE"
done
hwm1=$(hwm)
# (ASan keeps freed memory in quarantine: its builds skip the comparison.)
if ! ldd "$CIPD" 2>/dev/null | grep -q libasan; then
	[ $((hwm1 - hwm0)) -lt 8192 ] ||
		fail "peak memory grew from $hwm0 to $hwm1 kB refusing 64 MiB bodies"
fi
req PUT /v1/pods/default/p1 --data-binary '{"ip": "1.2.3.4", "ttlSeconds": "x"}'
expect 400 "registration with a wrong type"
req PUT /v1/pods/default/p1 --data-binary 'not json'
expect 400 "registration not JSON"
CODE=$(curl -s -o /dev/null -w '%{http_code}' "$API/healthz")
[ "$CODE" = 200 ] || fail "daemon not alive after bad bodies"
[ "$(services_now)" = "default/backend" ] || fail "state changed: $BODY"
pass "bad YAML, wrong types, 10 and 64 MiB bodies: 400/413, state unchanged"

# Apply: created, unchanged, configured; all or nothing.
cat > "$TEST_TMP/web.yaml" <<'EOF'
apiVersion: v1
kind: Service
metadata: {name: web, labels: {app: web}}
spec:
  selector: {app: web}
  ports: [{name: http, port: 8080, targetPort: 80}]
---
apiVersion: v1
kind: Pod
metadata: {name: web-1, labels: {app: web}}
spec: {containers: [{ports: [{containerPort: 80}]}]}
status: {podIP: 127.0.11.1}
EOF
req POST /v1/apply --data-binary @"$TEST_TMP/web.yaml"; expect 200 "apply"
[ "$(json "' '.join(i['kind']+'/'+i['name']+':'+i['action'] for i in d['items'])")" = \
	"Service/web:created Pod/web-1:created" ] || fail "apply result: $BODY"
req POST /v1/apply --data-binary @"$TEST_TMP/web.yaml"; expect 200 "re-apply"
[ "$(json "' '.join(i['action'] for i in d['items'])")" = "unchanged unchanged" ] ||
	fail "re-apply result: $BODY"
sed 's/127.0.11.1/127.0.11.2/' "$TEST_TMP/web.yaml" > "$TEST_TMP/web2.yaml"
req POST /v1/apply --data-binary @"$TEST_TMP/web2.yaml"; expect 200 "apply change"
[ "$(json "' '.join(i['action'] for i in d['items'])")" = "unchanged configured" ] ||
	fail "changed apply result: $BODY"
# The second document takes a pod the demo file owns: nothing applies.
cat > "$TEST_TMP/mixed.yaml" <<'EOF'
kind: Service
metadata: {name: newsvc}
spec: {selector: {app: x}, ports: [{port: 1}]}
---
kind: Pod
metadata: {name: backend-1, labels: {name: backend}}
status: {podIP: 127.0.10.9}
EOF
req POST /v1/apply --data-binary @"$TEST_TMP/mixed.yaml"
expect 409 "apply over a file's pod"
echo "$BODY" | grep -q "owned by file" || fail "409 names no owner: $BODY"
[ "$(services_now)" = "default/backend,default/web" ] || fail "partial apply: $BODY"
pass "apply: created/unchanged/configured, all or nothing, 409 with the owner"

# Delete: 404 when absent, 409 for another owner's object, 200 for ours.
req DELETE /v1/services/default/backend; expect 409 "delete a file's service"
echo "$BODY" | grep -q "owned by file $M/service.yaml" || fail "409 body: $BODY"
req DELETE /v1/pods/default/backend-2; expect 409 "delete a file's pod"
req DELETE /v1/services/default/nothere; expect 404 "delete missing"
req DELETE /v1/pods/default/web-1; expect 200 "delete API pod"
req DELETE /v1/pods/default/web-1; expect 404 "delete twice"
req POST /v1/apply --data-binary @"$TEST_TMP/web.yaml"; expect 200 "apply again"
pass "delete: 404, 409 naming the owner, 200"

# Leases: register with 2s, renew, then let it run out (polled, bounded).
req PUT /v1/pods/default/lease-1 --data-binary \
	'{"labels":{"app":"web"},"ip":"127.0.11.5","ports":[{"name":"http","port":80}],"ttlSeconds":2}'
expect 201 "register"
req GET /v1/pods/default/lease-1; expect 200 "registered pod"
[ "$(json "d['metadata']['leased']")" = True ] || fail "not leased: $BODY"
req GET /v1/endpoints/default/web; expect 200 "web endpoints"
json "[a['ip'] for s in d['subsets'] for a in s.get('addresses', [])]" | grep -q 127.0.11.5 ||
	fail "leased pod not an endpoint of web: $BODY"
req PUT /v1/pods/default/lease-1 --data-binary '{"ip":"127.0.11.5","ttlSeconds":2,"labels":{"app":"web"}}'
expect 200 "register again"
sleep 1
req POST /v1/pods/default/lease-1/heartbeat; expect 200 "heartbeat"
req POST /v1/pods/default/web-1/heartbeat; expect 404 "heartbeat of an unleased pod"
req PUT /v1/pods/default/backend-1 --data-binary '{"ip":"127.0.10.1"}'
expect 409 "register over a file's pod"
gone=0
for ((i = 0; i < 100; i++)); do
	req GET /v1/pods/default/lease-1
	[ "$CODE" = 404 ] && { gone=1; break; }
	sleep 0.1
done
[ "$gone" = 1 ] || fail "lease did not expire within 10s"
req POST /v1/pods/default/lease-1/heartbeat; expect 404 "heartbeat after expiry"
grep -q "lease of pod default/lease-1 expired" "$TEST_TMP/d.log" || fail "no expiry log line"
pass "TTL lease: 201, renew, expiry removes the pod, 404 after"

# A slow client is cut off after --api-timeout (2s).
python3 - "$API_PORT" <<'PY' || fail "slow client not timed out"
import socket, sys, time
s = socket.create_connection(("127.0.0.1", int(sys.argv[1])))
s.sendall(b"GET /v1/services HTTP/1.1\r\nHost: x\r\n")
s.settimeout(5)
t = time.time()
try:
    data = s.recv(4096)
except socket.timeout:
    sys.exit(1)
sys.exit(0 if time.time() - t < 4 else 1)
PY
# Huge heads and malformed requests get evhttp's own answer (its HTML
# page) and the connection closes; framing evhttp would read one way and
# a client another gets 400 in JSON from our handler. The daemon lives.
read -r CODE CT < <(curl -s -o "$TEST_TMP/body" -w '%{http_code} %{content_type}\n' \
	-H "$AUTH" -H "X-Big: $(head -c 20000 /dev/zero | tr '\0' 'b')" "$API/readyz")
BODY=$(cat "$TEST_TMP/body")
expect 400 "a 20 kB header"
python3 - "$API_PORT" "$(cat "$TOKEN")" <<'PY' || fail "head limits and malformed requests"
import json, socket, sys
port, token = int(sys.argv[1]), sys.argv[2]
def ask(req):
    s = socket.create_connection(("127.0.0.1", port))
    s.sendall(req)
    s.settimeout(10)
    data = b""
    while True:
        try:
            d = s.recv(65536)
        except ConnectionResetError:
            break	# closed with part of the request unread
        if not d:
            break
        data += d
    head, _, body = data.partition(b"\r\n\r\n")
    lines = head.decode().split("\r\n")
    hdrs = dict(l.lower().split(": ", 1) for l in lines[1:])
    assert hdrs.get("connection") == "close", lines
    return int(lines[0].split()[1]), hdrs["content-type"], body
auth = b"Authorization: Bearer " + token.encode() + b"\r\n"
many = b"".join(b"X-%d: 1\r\n" % i for i in range(2000))
ok = b"kind: Service\nmetadata: {name: x}\n"
cases = [
    # evhttp's: a head over 16 KiB, a request line over 16 KiB.
    (b"GET /readyz HTTP/1.1\r\n" + auth + many + b"\r\n", 400),
    (b"GET /" + b"u" * 20000 + b" HTTP/1.1\r\n\r\n", 400),
    # evhttp's: malformed framing, request line, header line, Expect.
    (b"POST /v1/apply HTTP/1.1\r\n" + auth + b"Content-Length: 3\r\n"
     b"Transfer-Encoding: chunked\r\n\r\n0\r\n\r\n", 400),
    (b"POST /v1/apply HTTP/1.1\r\n" + auth + b"Content-Length: 3x\r\n\r\nabc", 400),
    (b"BREW /v1/apply HTTP/1.1\r\n" + auth + b"\r\n", 501),
    (b"GET /v1/services HTTP/3\r\n" + auth + b"\r\n", 400),
    (b"GET /v1/services HTTP/1.1\r\n" + auth + b"no colon here\r\n\r\n", 400),
    (b"POST /v1/apply HTTP/1.1\r\n" + auth + b"Expect: tea\r\n"
     b"Content-Length: 2\r\n\r\n{}", 417),
    # evhttp 2.1 answers a broken chunked body, and a trailer over
    # 16 KiB, as it answers a body over the limit.
    (b"POST /v1/apply HTTP/1.1\r\n" + auth + b"Transfer-Encoding: chunked\r\n"
     b"\r\nzz\r\nabc\r\n0\r\n\r\n", 413),
    (b"POST /v1/apply HTTP/1.1\r\n" + auth + b"Transfer-Encoding: chunked\r\n"
     b"\r\n5\r\nabcde\r\n0\r\nX-T: " + b"t" * 20000 + b"\r\n\r\n", 413),
    # Ours, in JSON: a second Content-Length, or a Transfer-Encoding
    # evhttp would take for none.
    (b"POST /v1/apply HTTP/1.1\r\n" + auth + b"Content-Length: %d\r\n"
     b"Content-Length: 3\r\n\r\n" % len(ok) + ok, "conflicting"),
    (b"POST /v1/apply HTTP/1.1\r\n" + auth + b"Transfer-Encoding: gzip, chunked\r\n"
     b"\r\n0\r\n\r\n", "Transfer-Encoding"),
]
for req, want in cases:
    code, ct, body = ask(req)
    if isinstance(want, str):
        assert code == 400 and ct == "application/json", (req[:60], code, ct)
        assert want in json.loads(body)["error"], body
    else:
        assert code == want, (req[:60], code, body)
PY
# 413 to "Expect: 100-continue" before the body: the client may skip the
# body and send its next request, so the connection closes.
python3 - "$API_PORT" "$(cat "$TOKEN")" <<'PY' || fail "413 to Expect: 100-continue"
import socket, sys
s = socket.create_connection(("127.0.0.1", int(sys.argv[1])))
s.settimeout(10)
s.sendall(b"POST /v1/apply HTTP/1.1\r\nHost: x\r\nAuthorization: Bearer " +
          sys.argv[2].encode() + b"\r\nExpect: 100-continue\r\n"
          b"Content-Length: 20000000\r\n\r\n")
head = b""
while b"\r\n\r\n" not in head:
    d = s.recv(65536)
    assert d, head
    head += d
lines = head.split(b"\r\n\r\n")[0].decode().lower().split("\r\n")
assert lines[0].startswith("http/1.1 413"), lines
assert "connection: close" in lines, lines
PY
# A refused connection closes at once, even when its client keeps
# sending: the sends fail.
python3 - "$API_PORT" <<'PY' || fail "a refused connection stays open while its client sends"
import socket, sys, time
s = socket.create_connection(("127.0.0.1", int(sys.argv[1])))
s.sendall(b"POST /v1/apply HTTP/1.1\r\nConnection: close\r\n"
          b"Content-Length: 100000000000\r\n\r\n")
end = time.time() + 5
try:
    while time.time() < end:
        s.sendall(b"x" * 1024)
        time.sleep(0.02)
except (BrokenPipeError, ConnectionResetError):
    sys.exit(0)
sys.exit(1)
PY
CODE=$(curl -s -o /dev/null -w '%{http_code}' "$API/healthz")
[ "$CODE" = 200 ] || fail "daemon not alive after a slow client and huge heads"
pass "slow client timed out; head size, request line, method, framing, Expect refused"

# Keep-alive and pipelining: one connection sends a small chunked apply
# with a trailer, GETs, a request our handler refuses (404 in JSON, the
# connection kept), then a 3 MiB body and a GET back to back; each is
# answered in order, the body 413 by evhttp, which closes the connection
# there: the GET after it is not answered.
python3 - "$API_PORT" "$(cat "$TOKEN")" <<'PY' || fail "pipelined requests up to a 413"
import json, socket, sys, threading
port, token = int(sys.argv[1]), sys.argv[2]
auth = b"Authorization: Bearer " + token.encode() + b"\r\n"
def post(framing, body):
    return b"POST /v1/apply HTTP/1.1\r\nHost: x\r\n" + auth + framing + b"\r\n" + body
def get(path):
    return b"GET " + path + b" HTTP/1.1\r\nHost: x\r\n" + auth + b"\r\n"
big = 3 * 1024 * 1024
small = b"kind: Service\nmetadata: {name: pipelined}\nspec: {ports: [{port: 1}]}\n"
small_chunked = b"%x\r\n" % 20 + small[:20] + b"\r\n" + b"%x\r\n" % (len(small) - 20) + small[20:] + b"\r\n0\r\nX-Trailer: 1\r\n\r\n"
stream = (get(b"/healthz") + post(b"Transfer-Encoding: chunked\r\n", small_chunked) +
          get(b"/v1/nope") + get(b"/v1/services/default/pipelined") +
          post(b"Content-Length: %d\r\n" % big, b"a" * big) + get(b"/readyz"))
want = [200, 200, 404, 200, 413]
s = socket.create_connection(("127.0.0.1", port))
s.settimeout(10)
def send():
    try:
        s.sendall(stream)
    except (BrokenPipeError, ConnectionResetError):
        pass
sender = threading.Thread(target=send)
sender.start()
f = s.makefile("rb")
for i, code in enumerate(want):
    status = f.readline().split()
    hdrs = {}
    while True:
        l = f.readline().strip()
        if not l:
            break
        k, v = l.decode().split(":", 1)
        hdrs[k.lower()] = v.strip()
    body = f.read(int(hdrs["content-length"]))
    assert int(status[1]) == code, (i, status, body)
    if code == 413:
        assert hdrs.get("connection") == "close", (i, hdrs)
        continue
    assert hdrs["content-type"] == "application/json", (i, hdrs)
    assert hdrs.get("connection") != "close", (i, hdrs)
    json.loads(body)
try:
    rest = f.read()
except ConnectionResetError:
    rest = b""
assert rest == b"", rest[:100]
sender.join()
PY
req DELETE /v1/services/default/pipelined; expect 200 "delete the pipelined service"
[ "$(services_now)" = "default/backend,default/web" ] || fail "state after pipelining: $BODY"
pass "keep-alive and pipelining up to a 413, chunked bodies and trailers"

# The unix socket serves the same API, with the same token.
CODE=$(curl -s -o /dev/null -w '%{http_code}' --unix-socket "$SOCK" http://x/healthz)
[ "$CODE" = 200 ] || fail "unix socket /healthz: $CODE"
CODE=$(curl -s -o /dev/null -w '%{http_code}' --unix-socket "$SOCK" http://x/v1/services)
[ "$CODE" = 401 ] || fail "unix socket without token: $CODE"
CODE=$(curl -s -o /dev/null -w '%{http_code}' -H "$AUTH" --unix-socket "$SOCK" http://x/v1/services)
[ "$CODE" = 200 ] || fail "unix socket with token: $CODE"
read -r CODE CT < <(send_body "$SOCK" POST /v1/apply $((10 * MIB)))
[ "$CODE" = 413 ] || fail "unix socket, 10 MiB body: $CODE"
pass "unix socket, its body limit"

# /metrics: strict exposition-format check, our gauges present.
req GET /metrics; expect 200 "/metrics"
ct=$(curl -s -o /dev/null -w '%{content_type}' -H "$AUTH" "$API/metrics")
case "$ct" in "text/plain; version=0.0.4"*) ;; *) fail "metrics content type: $ct";; esac
if command -v promtool >/dev/null; then
	promtool check metrics < "$TEST_TMP/body" || fail "promtool check metrics"
else
	python3 "$top_srcdir/tests/integration/promcheck.py" < "$TEST_TMP/body" ||
		fail "exposition format"
fi
python3 "$top_srcdir/tests/integration/promcheck.py" < "$TEST_TMP/body" || fail "exposition format"
grep -q '^clusterip_build_info{version="[0-9.]*"} 1$' "$TEST_TMP/body" || fail "no build info"
grep -q '^clusterip_services 2$' "$TEST_TMP/body" || fail "clusterip_services: $(grep services "$TEST_TMP/body")"
grep -q '^clusterip_pods 3$' "$TEST_TMP/body" || fail "clusterip_pods: $(grep pods "$TEST_TMP/body")"
grep -q '^clusterip_api_requests_total{code="401"} [1-9]' "$TEST_TMP/body" || fail "no 401 count"
pass "/metrics parses strictly"

# API objects survive a restart; the state file is a v1 List.
req PUT /v1/pods/default/lease-2 --data-binary '{"ip":"127.0.11.6","ttlSeconds":60}'
expect 201 "register lease-2"
python3 -c "import json; d=json.load(open('$STATE/api-objects.json')); assert d['kind']=='List', d" ||
	fail "state file"
grep -q lease-2 "$STATE/api-objects.json" && fail "a leased pod was persisted"
stop_daemon
start_daemon "$TEST_TMP/d2.log" "${ARGS[@]}"
grep -q "api: restored" "$TEST_TMP/d2.log" || fail "no restore line"
[ "$(services_now)" = "default/backend,default/web" ] || fail "after restart: $BODY"
req GET /v1/pods/default/web-1; expect 200 "web-1 after restart"
[ "$(json "d['metadata']['owner']")" = "the API" ] || fail "owner after restart: $BODY"
req GET /v1/pods/default/lease-2; expect 404 "leased pod after restart"
req DELETE /v1/services/default/web; expect 200 "delete web"
stop_daemon
start_daemon "$TEST_TMP/d3.log" "${ARGS[@]}"
[ "$(services_now)" = "default/backend" ] || fail "deleted service came back: $BODY"
stop_daemon
[ -S "$SOCK" ] && fail "unix socket left behind"
pass "API objects persist across restarts, leases do not"

# Endpoints of a service without a selector persist too, as Endpoints.
start_daemon "$TEST_TMP/d4.log" "${ARGS[@]}"
cat >"$TEST_TMP/legacy.yaml" <<'YAML'
apiVersion: v1
kind: Service
metadata: {name: legacy}
spec: {ports: [{name: db, port: 5432}]}
---
apiVersion: v1
kind: Endpoints
metadata: {name: legacy}
subsets:
- addresses: [{ip: 127.0.31.12}, {ip: 127.0.31.11}]
  ports: [{name: db, port: 5432}]
YAML
req POST /v1/apply --data-binary @"$TEST_TMP/legacy.yaml"; expect 200 "apply legacy"
python3 -c "import json; d=json.load(open('$STATE/api-objects.json')); assert [i['kind'] for i in d['items']].count('Endpoints')==1, d" ||
	fail "Endpoints not in the state file: $(cat "$STATE/api-objects.json")"
stop_daemon
start_daemon "$TEST_TMP/d5.log" "${ARGS[@]}"
req GET /v1/endpoints/default/legacy; expect 200 "legacy endpoints after restart"
[ "$(json "sorted(a['ip'] for s in d['subsets'] for a in s.get('addresses', []) + s.get('notReadyAddresses', []))")" = "['127.0.31.11', '127.0.31.12']" ] ||
	fail "legacy endpoints after restart: $BODY"
stop_daemon
pass "Endpoints applied through the API persist across restarts"

# A state file that no longer parses is moved aside; the daemon starts
# with the manifests' objects and says why.
printf '{"kind": "List", "items": [\n' >"$STATE/api-objects.json"
start_daemon "$TEST_TMP/d6.log" "${ARGS[@]}"
grep -q "api-objects.json refused (.*api-objects.json:[0-9]*:[0-9]*: .*); moved to .*api-objects.json.bad" "$TEST_TMP/d6.log" ||
	fail "no refusal line: $(grep api-objects "$TEST_TMP/d6.log")"
[ -f "$STATE/api-objects.json.bad" ] || fail "the refused file was not kept"
[ "$(services_now)" = "default/backend" ] || fail "after a refused state file: $BODY"
req POST /v1/apply --data-binary @"$TEST_TMP/legacy.yaml"; expect 200 "apply after a refused state file"
python3 -c "import json; json.load(open('$STATE/api-objects.json'))" || fail "state file not written anew"
stop_daemon
pass "a broken API state file is moved aside, and the next change writes a new one"
exit 0
