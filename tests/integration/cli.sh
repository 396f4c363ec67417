#!/usr/bin/env bash
# SPDX-License-Identifier: MIT
# cli.sh -- the clusterip command against the real daemon: every command
# and output format, describe compared line by line with the contract,
# apply/delete with ownership, register with a TTL that runs out and with
# --keepalive, resolve through the daemon's DNS, clear one-line failures,
# and all of it through the daemon's unix socket (--server unix:PATH).
set -u
. "$top_srcdir/tests/integration/lib.sh"

C="$top_builddir/client/clusterip"
M="$TEST_TMP/manifests"
mkdir -p "$M"
# The demo's Service, and its two pods without probes: ready at once.
cp "$top_srcdir/conf/demo/service.yaml" "$M/"
sed '/readinessProbe/d' "$top_srcdir/conf/demo/pods.yaml" > "$M/pods.yaml"
STATE="$TEST_TMP/state"
TOKEN_FILE="$TEST_TMP/token"
echo "cli-$RANDOM$RANDOM" > "$TOKEN_FILE"
API_PORT=$(free_port)
DNS_PORT=$(free_port)
start_daemon "$TEST_TMP/d.log" --manifests "$M" --state-dir "$STATE" \
	--dns-listen "127.0.0.1:$DNS_PORT" --api-listen "127.0.0.1:$API_PORT" \
	--api-token-file "$TOKEN_FILE" --upstream 127.0.0.1:9 --log-level debug
export CLUSTERIP_SERVER="http://127.0.0.1:$API_PORT"
CLUSTERIP_TOKEN=$(cat "$TOKEN_FILE")
export CLUSTERIP_TOKEN
OUT="$TEST_TMP/out"
ERR="$TEST_TMP/err"

# run ARGS...: runs the CLI, stdout in $OUT, stderr in $ERR, sets RC.
run() {
	RC=0
	"$C" "$@" >"$OUT" 2>"$ERR" || RC=$?
}
ok() {
	run "$@"
	[ "$RC" = 0 ] || fail "clusterip $*: exit $RC: $(cat "$ERR")"
}
# bad ARGS...: must fail with exactly one line on stderr.
bad() {
	run "$@"
	[ "$RC" != 0 ] || fail "clusterip $* succeeded: $(cat "$OUT")"
	[ "$(wc -l < "$ERR")" = 1 ] || fail "clusterip $*: not one line: $(cat "$ERR")"
}
# aligned FILE: every column of every row starts where its header does.
aligned() {
	python3 - "$1" <<'PY' || fail "columns not aligned: $(cat "$1")"
import re, sys
lines = open(sys.argv[1]).read().splitlines()
starts = [m.start() for m in re.finditer(r"(?:(?<=^)|(?<=   ))\S", lines[0])]
for l in lines[1:]:
    for s in starts[1:]:
        if len(l) <= s or l[s] == " " or l[s - 1] != " ":
            sys.exit(1)
PY
}

# Help, usage errors, unknown commands.
ok --help
grep -q "register NAME" "$OUT" || fail "--help lists no register"
grep -q "unix:/PATH or unix:///PATH" "$OUT" || fail "--help names no unix socket: $(cat "$OUT")"
grep -q "^  version$" "$OUT" || fail "--help lists no version: $(cat "$OUT")"
grep -q -- "--version" "$OUT" || fail "--help lists no --version: $(cat "$OUT")"
for cmd in get describe apply delete register resolve version; do
	ok "$cmd" --help
	grep -q "^usage: clusterip $cmd" "$OUT" || fail "$cmd --help: $(cat "$OUT")"
done
bad frobnicate
[ "$RC" = 2 ] || fail "unknown command: exit $RC"
bad get svc --bogus
bad get nodes
bad get svc -o xml
bad delete endpoints backend
pass "--help of each command, usage errors in one line"

# Connection and token failures: one clear line, non-zero.
CLUSTERIP_TOKEN= bad get svc
grep -q "bearer token (HTTP 401)" "$ERR" || fail "no 401 message: $(cat "$ERR")"
CLUSTERIP_TOKEN= ok get svc --token-file "$TOKEN_FILE"
NOPORT=$(free_port)
bad get svc --server "http://127.0.0.1:$NOPORT"
grep -q "cannot reach" "$ERR" || fail "unreachable server: $(cat "$ERR")"
grep -q "Connection refused; is clusteripd running? set CLUSTERIP_SERVER or --server (now http://127.0.0.1:$NOPORT)$" "$ERR" ||
	fail "no hint on a refused connection: $(cat "$ERR")"
CLUSTERIP_SERVER="http://127.0.0.1:$NOPORT" bad describe svc backend
grep -q "(now http://127.0.0.1:$NOPORT)$" "$ERR" || fail "hint names not \$CLUSTERIP_SERVER: $(cat "$ERR")"
bad get svc --server "ftp://x"
pass "token from env or --token-file, failures in one line"

# get svc: kubectl's columns, aligned.
ok get svc
VIP=$(awk 'NR == 2 { print $3 }' "$OUT")
case "$VIP" in 127.96.*) ;; *) fail "no VIP in: $(cat "$OUT")";; esac
head -1 "$OUT" | grep -Eq '^NAME +TYPE +CLUSTER-IP +EXTERNAL-IP +PORT\(S\) +AGE$' ||
	fail "svc header: $(cat "$OUT")"
sed -n 2p "$OUT" | grep -Eq "^backend +ClusterIP +$VIP +<none> +5000/TCP +[0-9]+s$" ||
	fail "svc row: $(cat "$OUT")"
aligned "$OUT"
ok get svc -o wide
sed -n 2p "$OUT" | grep -Eq "5000/TCP +[0-9]+s +name=backend$" || fail "svc wide: $(cat "$OUT")"
ok get services backend
[ "$(wc -l < "$OUT")" = 2 ] || fail "get svc NAME: $(cat "$OUT")"
bad get svc nothere
grep -q "not found (HTTP 404)" "$ERR" || fail "missing svc: $(cat "$ERR")"
ok get svc -A
head -1 "$OUT" | grep -q "^NAMESPACE " || fail "-A: $(cat "$OUT")"
sed -n 2p "$OUT" | grep -q "^default  *backend " || fail "-A row: $(cat "$OUT")"
ok get svc -n other
[ ! -s "$OUT" ] || fail "other namespace not empty: $(cat "$OUT")"
grep -q "No resources found in other namespace." "$ERR" || fail "empty list message"
pass "get svc (table, wide, NAME, -A, -n)"

# get pods: READY, wide IP, labels, selectors.
ok get pods
head -1 "$OUT" | grep -Eq '^NAME +READY +STATUS +RESTARTS +AGE$' || fail "pods header: $(cat "$OUT")"
sed -n 2p "$OUT" | grep -Eq '^backend-1 +1/1 +Running +0 +[0-9]+s$' || fail "pods row: $(cat "$OUT")"
aligned "$OUT"
ok get pods -o wide --show-labels
head -1 "$OUT" | grep -Eq 'AGE +IP +NODE +NOMINATED NODE +READINESS GATES +LABELS$' ||
	fail "pods wide header: $(cat "$OUT")"
sed -n 3p "$OUT" | grep -Eq '^backend-2 .* 127\.0\.10\.2 .* name=backend$' ||
	fail "pods wide row: $(cat "$OUT")"
ok get pods -l name=backend
[ "$(wc -l < "$OUT")" = 3 ] || fail "-l name=backend: $(cat "$OUT")"
ok get pods -l 'name in (other)'
[ ! -s "$OUT" ] || fail "-l name in (other): $(cat "$OUT")"
bad get pods -l 'name in (('
grep -q "labelSelector" "$ERR" || fail "bad selector: $(cat "$ERR")"
pass "get pods (table, wide, --show-labels, -l)"

# get endpoints.
ok get endpoints
sed -n 2p "$OUT" | grep -Eq '^backend +127\.0\.10\.1:5000,127\.0\.10\.2:5000 +[0-9]+s$' ||
	fail "endpoints: $(cat "$OUT")"
aligned "$OUT"
ok get ep -o json
python3 -c "import json; d=json.load(open('$OUT')); assert d['kind']=='EndpointsList'; assert len(d['items'][0]['subsets'][0]['addresses'])==2" ||
	fail "endpoints json: $(cat "$OUT")"
pass "get endpoints"

# Several kinds at once, as kubectl prints them: one table per kind,
# names prefixed by kind, a blank line between tables.
ok get svc,pods
grep -Eq '^NAME +TYPE +CLUSTER-IP ' "$OUT" || fail "svc,pods: no service header: $(cat "$OUT")"
grep -Eq '^service/backend +ClusterIP +127\.96\.' "$OUT" || fail "svc,pods: no service/backend: $(cat "$OUT")"
grep -Eq '^NAME +READY +STATUS ' "$OUT" || fail "svc,pods: no pod header: $(cat "$OUT")"
grep -Eq '^pod/backend-1 +1/1 +Running ' "$OUT" || fail "svc,pods: no pod/backend-1: $(cat "$OUT")"
[ "$(grep -c '^$' "$OUT")" = 1 ] || fail "svc,pods: not one blank line between tables: $(cat "$OUT")"
ok get all
[ "$(sed -n 1p "$OUT" | awk '{print $2}')" = READY ] || fail "get all: pods first: $(cat "$OUT")"
grep -Eq '^endpoints/backend +127\.0\.10\.1:5000,127\.0\.10\.2:5000 ' "$OUT" || fail "get all: no endpoints: $(cat "$OUT")"
grep -q '^service/backend ' "$OUT" || fail "get all: no service: $(cat "$OUT")"
ok get all -A
grep -Eq '^default +pod/backend-2 ' "$OUT" || fail "get all -A: $(cat "$OUT")"
ok get svc,ep backend
grep -q '^service/backend ' "$OUT" && grep -q '^endpoints/backend ' "$OUT" || fail "get svc,ep NAME: $(cat "$OUT")"
ok get all -o json
python3 -c "import json; d=json.load(open('$OUT')); assert d['kind']=='List'; k=sorted({i['kind'] for i in d['items']}); assert k==['Endpoints','Pod','Service'], k" ||
	fail "get all -o json: $(cat "$OUT")"
ok get all -n other
grep -q "No resources found in other namespace." "$ERR" || fail "get all, empty namespace: $(cat "$ERR")"
bad get svc,nodes
grep -q '"nodes"' "$ERR" || fail "get svc,nodes: $(cat "$ERR")"
ok get pods --no-headers
[ "$(wc -l < "$OUT")" = 2 ] || fail "--no-headers: $(cat "$OUT")"
grep -q '^NAME' "$OUT" && fail "--no-headers printed a header: $(cat "$OUT")"
grep -Eq '^backend-1 +1/1 +Running +0 +[0-9]+s$' "$OUT" || fail "--no-headers row: $(cat "$OUT")"
ok get all --no-headers
grep -q 'NAME' "$OUT" && fail "get all --no-headers printed a header: $(cat "$OUT")"
pass "get svc,pods and get all (one table per kind), --no-headers"

# -o json and -o yaml hold the same document.
for r in svc pods ep; do
	ok get $r -o json
	cp "$OUT" "$TEST_TMP/doc.json"
	ok get $r -o yaml
	python3 - "$TEST_TMP/doc.json" "$OUT" <<'PY' || fail "-o yaml differs from -o json for $r"
import json, sys, yaml
j = json.load(open(sys.argv[1]))
y = yaml.safe_load(open(sys.argv[2]))
sys.exit(0 if j == y else 1)
PY
done
ok get svc backend -o yaml
grep -q "^kind: Service$" "$OUT" || fail "single object yaml: $(cat "$OUT")"
pass "-o json and -o yaml"

# describe svc backend: the contract's block, line by line.
ok describe svc backend
cat > "$TEST_TMP/want" <<EOF
Name:              backend
Namespace:         default
Labels:            <none>
Annotations:       <none>
Selector:          name=backend
Type:              ClusterIP
IP Family Policy:  SingleStack
IP Families:       IPv4
IP:                $VIP
IPs:               $VIP
Port:              <unset>  5000/TCP
TargetPort:        5000/TCP
Endpoints:         127.0.10.1:5000,127.0.10.2:5000
Session Affinity:  None
Events:            <none>
EOF
diff -u "$TEST_TMP/want" "$OUT" || fail "describe svc backend differs from the contract"
bad describe svc nothere
bad describe endpoints backend
pass "describe svc backend matches the contract"

# describe pod: kubectl's layout, and the source that owns the pod.
ok describe pod backend-1
START=$(sed -n 's/^Start Time: *//p' "$OUT")
[ -n "$START" ] || fail "describe pod: no Start Time: $(cat "$OUT")"
cat > "$TEST_TMP/want" <<EOF
Name:             backend-1
Namespace:        default
Start Time:       $START
Labels:           name=backend
Annotations:      <none>
Status:           Running
IP:               127.0.10.1
IPs:
  IP:  127.0.10.1
Owner:            file $M/pods.yaml
Containers:
  main:
    Port:   5000/TCP (http)
    Ready:  True
Conditions:
  Type   Status
  Ready  True
Events:           <none>
EOF
diff -u "$TEST_TMP/want" "$OUT" || fail "describe pod backend-1 differs"
ok describe po backend-2 -n default
grep -q '^IP: *127.0.10.2$' "$OUT" || fail "describe po backend-2: $(cat "$OUT")"
bad describe pod nothere
grep -q "not found (HTTP 404)" "$ERR" || fail "describe missing pod: $(cat "$ERR")"
pass "describe pod: labels, IPs, status, owner, ports, conditions"

# version: the client's and the daemon's; --version too.
ok version
grep -Eq '^Client Version: [0-9]+\.[0-9]+' "$OUT" || fail "version: no client: $(cat "$OUT")"
grep -Eq '^Server Version: [0-9]+\.[0-9]+' "$OUT" || fail "version: no server: $(cat "$OUT")"
ok --version
[ "$(wc -l < "$OUT")" = 2 ] || fail "--version: $(cat "$OUT")"
grep -q '^Server Version: ' "$OUT" || fail "--version: no server: $(cat "$OUT")"
run version --server "http://127.0.0.1:$NOPORT"
[ "$RC" = 1 ] || fail "version, no daemon: exit $RC"
grep -q '^Client Version: ' "$OUT" || fail "version, no daemon: no client version: $(cat "$OUT")"
grep -q "is clusteripd running?" "$ERR" || fail "version, no daemon: no hint: $(cat "$ERR")"
CLUSTERIP_SERVER="http://127.0.0.1:$NOPORT" ok --version
[ "$(wc -l < "$OUT")" = 1 ] && grep -q '^Client Version: ' "$OUT" ||
	fail "--version, no daemon: $(cat "$OUT")"
pass "version and --version: client and server"

# apply: created, unchanged, configured, from a file and from stdin.
cat > "$TEST_TMP/web.yaml" <<'EOF'
apiVersion: v1
kind: Service
metadata: {name: web}
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
ok apply -f "$TEST_TMP/web.yaml"
[ "$(cat "$OUT")" = "service/web created
pod/web-1 created" ] || fail "apply: $(cat "$OUT")"
ok apply -f - < "$TEST_TMP/web.yaml"
[ "$(cat "$OUT")" = "service/web unchanged
pod/web-1 unchanged" ] || fail "apply again: $(cat "$OUT")"
sed 's/127.0.11.1/127.0.11.3/' "$TEST_TMP/web.yaml" | "$C" apply -f - > "$OUT" || fail "apply stdin"
grep -q "pod/web-1 configured" "$OUT" || fail "apply change: $(cat "$OUT")"
printf 'kind: Service\nmetadata: {name: x}\nspec:\n  ports: [{port: eighty}]\n' > "$TEST_TMP/bad.yaml"
bad apply -f "$TEST_TMP/bad.yaml"
grep -q "$TEST_TMP/bad.yaml:4:18: ports\[\].port" "$ERR" || fail "no file:line: $(cat "$ERR")"
bad apply -f "$TEST_TMP/missing.yaml"
head -c $((2 * 1024 * 1024)) /dev/zero | tr '\0' '#' > "$TEST_TMP/huge.yaml"
bad apply -f "$TEST_TMP/huge.yaml"
# evhttp refuses it with its own page: the CLI says so in its words.
grep -q "the request is larger than the server accepts (HTTP 413)" "$ERR" ||
	fail "huge apply: $(cat "$ERR")"
bad apply
ok get svc web
pass "apply -f FILE and -f -, bad YAML named by file:line"

# delete: ours goes, the demo file's is refused naming the file.
bad delete svc backend
grep -q "owned by file $M/service.yaml" "$ERR" || fail "delete backend: $(cat "$ERR")"
ok delete pod web-1
[ "$(cat "$OUT")" = 'pod "web-1" deleted' ] || fail "delete pod: $(cat "$OUT")"
ok delete svc web
[ "$(cat "$OUT")" = 'service "web" deleted' ] || fail "delete svc: $(cat "$OUT")"
bad delete svc web
grep -q "not found" "$ERR" || fail "delete twice: $(cat "$ERR")"
pass "delete"

# register with a TTL that runs out (polled, bounded).
ok register web-2 --label app=web --label tier=front --ip 127.0.11.2 --port http=80 --ttl 2s
grep -q "pod/web-2 registered (ttl 2s)" "$OUT" || fail "register: $(cat "$OUT")"
ok get pods web-2 --show-labels
grep -Eq '^web-2 +1/1 +Running .*app=web,tier=front$' "$OUT" || fail "registered pod: $(cat "$OUT")"
bad register web-2 --ip 127.0.11.2 --ttl soon
bad register web-2 --ip 300.1.1.1
grep -q "ip: must be an IPv4 or IPv6 address (HTTP 400)" "$ERR" || fail "bad ip: $(cat "$ERR")"
bad register web-2 --ip 127.0.11.2 --port http=eighty
gone=0
for ((i = 0; i < 100; i++)); do
	run get pods web-2
	[ "$RC" != 0 ] && { gone=1; break; }
	sleep 0.1
done
[ "$gone" = 1 ] || fail "web-2 still registered 10s after a 2s TTL"
pass "register --ttl 2s, expired"

# --keepalive renews past the TTL and deregisters on SIGTERM.
"$C" register web-3 --label app=web --ip 127.0.11.3 --ttl 2s --keepalive \
	> "$TEST_TMP/keep.out" 2>&1 &
KEEP=$!
TEST_PIDS+=("$KEEP")
wait_log "$TEST_TMP/keep.out" "registered"
# Three TTLs later it must still be there.
sleep 6
ok get pods web-3
kill -TERM "$KEEP"
rc=0
wait "$KEEP" || rc=$?
[ "$rc" = 0 ] || fail "keepalive exited $rc: $(cat "$TEST_TMP/keep.out")"
grep -q "pod deregistered" "$TEST_TMP/keep.out" || fail "no deregistration: $(cat "$TEST_TMP/keep.out")"
bad get pods web-3
pass "register --keepalive renews, deregisters on SIGTERM"

# resolve through the daemon's DNS (libclusterip + c-ares).
ok resolve backend --dns "127.0.0.1:$DNS_PORT"
[ "$(cat "$OUT")" = "backend.default.svc.cluster.local $VIP" ] || fail "resolve: $(cat "$OUT")"
printf 'kind: Service\nmetadata: {name: named}\nspec:\n  selector: {app: web}\n  ports: [{name: http, port: 8080}]\n' |
	"$C" apply -f - >/dev/null || fail "apply named"
ok resolve named --srv http --dns "127.0.0.1:$DNS_PORT"
grep -Eq '^named\.default\.svc\.cluster\.local 127\.96\.[0-9]+\.[0-9]+:8080$' "$OUT" ||
	fail "resolve --srv: $(cat "$OUT")"
ok resolve backend.default.svc.cluster.local --dns "127.0.0.1:$DNS_PORT"
bad resolve nothere --dns "127.0.0.1:$DNS_PORT"
bad resolve named --srv nope --dns "127.0.0.1:$DNS_PORT"
# Without --dns: the daemon's DNS address from its API (GET /version).
ok resolve backend
[ "$(cat "$OUT")" = "backend.default.svc.cluster.local $VIP" ] || fail "resolve through the API's DNS address: $(cat "$OUT")"
ok resolve named --srv http
grep -Eq '^named\.default\.svc\.cluster\.local 127\.96\.[0-9]+\.[0-9]+:8080$' "$OUT" ||
	fail "resolve --srv through the API's DNS address: $(cat "$OUT")"
curl -s -H "Authorization: Bearer $CLUSTERIP_TOKEN" "$CLUSTERIP_SERVER/version" > "$TEST_TMP/version.json"
python3 -c "import json; d=json.load(open('$TEST_TMP/version.json')); assert d['dnsListen']==['127.0.0.1:$DNS_PORT'], d" ||
	fail "GET /version: $(cat "$TEST_TMP/version.json")"
pass "resolve A and SRV, through --dns and through the API's DNS address"
stop_daemon

# The same commands through the daemon's unix socket only: --server
# unix:/PATH, CLUSTERIP_SERVER=unix:///PATH, and a relative unix:PATH.
SOCK="$TEST_TMP/api.sock"
start_daemon "$TEST_TMP/d2.log" --manifests "$M" --state-dir "$TEST_TMP/state2" \
	--dns-listen "127.0.0.1:$DNS_PORT" --api-listen none --api-socket "$SOCK" \
	--api-token-file "$TOKEN_FILE" --upstream 127.0.0.1:9 --log-level debug
ok get svc --server "unix:$SOCK"
grep -Eq '^backend +ClusterIP +127\.96\.' "$OUT" || fail "get svc over unix:$SOCK: $(cat "$OUT")"
CLUSTERIP_SERVER="unix://$SOCK" ok get svc
grep -Eq '^backend +ClusterIP +127\.96\.' "$OUT" || fail "get svc over unix://$SOCK: $(cat "$OUT")"
(cd "$TEST_TMP" && CLUSTERIP_SERVER="unix:api.sock" "$C" get svc backend) >"$OUT" 2>"$ERR" ||
	fail "get svc over unix:api.sock: $(cat "$ERR")"
printf 'kind: Service\nmetadata: {name: oversock}\nspec:\n  selector: {app: web}\n  ports: [{port: 81}]\n' > "$TEST_TMP/sock.yaml"
CLUSTERIP_SERVER="unix://$SOCK" ok apply -f "$TEST_TMP/sock.yaml"
[ "$(cat "$OUT")" = "service/oversock created" ] || fail "apply over the socket: $(cat "$OUT")"
ok get svc oversock --server "unix:$SOCK"
# Flags may come before the command, as kubectl takes them.
ok --server "unix:$SOCK" -n default describe svc backend
grep -q '^Name: *backend$' "$OUT" || fail "flags before describe: $(cat "$OUT")"
ok -s "unix:$SOCK" -A get svc
grep -Eq '^default +oversock ' "$OUT" || fail "flags before get: $(cat "$OUT")"
bad --server "unix:$SOCK"
ok describe svc backend --server "unix:$SOCK"
grep -q '^Endpoints: *127.0.10.1:5000,127.0.10.2:5000$' "$OUT" || fail "describe over the socket: $(cat "$OUT")"
CLUSTERIP_SERVER="unix:///$SOCK" ok describe svc backend
grep -q '^Name: *backend$' "$OUT" || fail "describe over unix:///: $(cat "$OUT")"
bad apply -f "$TEST_TMP/huge.yaml" --server "unix:$SOCK"
grep -q "larger than the server accepts (HTTP 413)" "$ERR" || fail "huge apply over the socket: $(cat "$ERR")"
CLUSTERIP_TOKEN= bad get svc --server "unix:$SOCK"
grep -q "bearer token (HTTP 401)" "$ERR" || fail "401 over the socket: $(cat "$ERR")"
ok delete svc oversock --server "unix:$SOCK"
ok resolve backend --server "unix:$SOCK"
grep -q "^backend.default.svc.cluster.local 127\.96\." "$OUT" || fail "resolve, DNS address over the socket: $(cat "$OUT")"
ok version --server "unix:$SOCK"
grep -q '^Server Version: ' "$OUT" || fail "version over the socket: $(cat "$OUT")"
# A missing socket, a bad unix URL: one clear line, non-zero.
bad get svc --server "unix:$TEST_TMP/nothere.sock"
grep -q "^.*cannot reach unix:$TEST_TMP/nothere.sock: No such file or directory$" "$ERR" ||
	fail "missing socket: $(cat "$ERR")"
CLUSTERIP_SERVER="unix:$TEST_TMP/nothere.sock" bad describe svc backend
grep -q "cannot reach unix:" "$ERR" || fail "missing socket from the environment: $(cat "$ERR")"
bad get svc --server "unix:"
bad get svc --server "unix://relative.sock"
bad get svc --server "unix:/$(head -c 200 /dev/zero | tr '\0' x)"
grep -q "socket path too long" "$ERR" || fail "long socket path: $(cat "$ERR")"
pass "get, apply, describe, delete through the unix socket; missing socket in one line"
stop_daemon
exit 0
