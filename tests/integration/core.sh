#!/usr/bin/env bash
# SPDX-License-Identifier: MIT
# core.sh -- the daemon's life cycle on the demo manifests: flags,
# --check-config, a broken manifest refused with file:line while the rest
# keeps serving, SIGHUP, SIGTERM with exit 0, VIPs stable across restarts.
set -u
. "$top_srcdir/tests/integration/lib.sh"

"$CIPD" --help | grep -q -- "--dns-listen" || fail "--help lists no --dns-listen"
"$CIPD" --version | grep -Eq "^clusteripd [0-9]" || fail "--version"
"$CIPD" --no-such-flag 2>/dev/null && fail "unknown flag accepted"
pass "--help, --version, unknown flags"

M="$TEST_TMP/manifests"
mkdir -p "$M"
cp "$top_srcdir"/conf/demo/*.yaml "$M/"
STATE="$TEST_TMP/state"
DNS_PORT=$(free_port)
ARGS=(--manifests "$M" --state-dir "$STATE" --dns-listen "127.0.0.1:$DNS_PORT"
	--api-listen none --upstream 127.0.0.1:9 --log-level debug)

# --check-config prints a configuration that reads back, and refuses
# broken manifests with file:line:column.
"$CIPD" "${ARGS[@]}" --check-config > "$TEST_TMP/printed.yaml" 2>"$TEST_TMP/check.log" ||
	fail "--check-config refused the demo: $(cat "$TEST_TMP/check.log")"
grep -A1 "^vip-range:" "$TEST_TMP/printed.yaml" | grep -q '^  - "127.96.0.0/16"' ||
	fail "--check-config output"
# One range per family, repeatable; two of one family are refused.
"$CIPD" "${ARGS[@]}" --vip-range 127.96.0.0/16 --vip-range fd00:96::/112 \
	--check-config > "$TEST_TMP/dual.yaml" 2>&1 || fail "dual-stack ranges refused"
grep -A2 "^vip-range:" "$TEST_TMP/dual.yaml" | grep -q '^  - "fd00:96::/112"' ||
	fail "--check-config lost the IPv6 range"
out=$("$CIPD" "${ARGS[@]}" --vip-range 127.96.0.0/16 --vip-range 127.97.0.0/16 \
	--check-config 2>&1) && fail "two IPv4 ranges accepted"
echo "$out" | grep -q "are of one family" || fail "two IPv4 ranges: $out"
"$CIPD" -c "$TEST_TMP/printed.yaml" --check-config >/dev/null 2>&1 ||
	fail "printed configuration does not read back"
printf 'dns-ttl: 5\nbogus: 1\n' > "$TEST_TMP/bad.yaml"
out=$("$CIPD" -c "$TEST_TMP/bad.yaml" --check-config 2>&1) && fail "bad configuration accepted"
echo "$out" | grep -q "bad.yaml:2:1: unknown option" || fail "no file:line in: $out"
mkdir -p "$TEST_TMP/badm"
printf 'kind: Service\nmetadata: {name: x}\nspec:\n  ports: [{port: eighty}]\n' > "$TEST_TMP/badm/x.yaml"
out=$("$CIPD" --manifests "$TEST_TMP/badm" --state-dir "$STATE" --check-config 2>&1) &&
	fail "--check-config accepted a broken manifest"
echo "$out" | grep -q "x.yaml:4:18: ports\[\].port: expected a whole number" ||
	fail "no file:line:column in: $out"
"$CIPD" -c "$top_srcdir/conf/clusteripd.yaml" --state-dir "$STATE" --check-config >/dev/null ||
	fail "conf/clusteripd.yaml does not validate"
pass "--check-config"

# --check-config refuses what start-up refuses, and speaks as a check:
# a verdict on stderr, no daemon log lines.
CHK=(--state-dir "$STATE" --dns-listen "127.0.0.1:$DNS_PORT" --upstream 127.0.0.1:9)
"$CIPD" "${CHK[@]}" --check-config >/dev/null 2>"$TEST_TMP/ok.log" ||
	fail "--check-config refused the defaults: $(cat "$TEST_TMP/ok.log")"
grep -q "^clusteripd: configuration OK" "$TEST_TMP/ok.log" || fail "no verdict: $(cat "$TEST_TMP/ok.log")"
grep -q "\[info\]" "$TEST_TMP/ok.log" && fail "start-up lines in a check: $(cat "$TEST_TMP/ok.log")"
refused() {	# refused PATTERN ARGS...: --check-config must refuse, saying PATTERN
	local pat=$1 out
	shift
	out=$("$CIPD" "${CHK[@]}" "$@" --check-config 2>&1 >/dev/null) &&
		fail "--check-config accepted $*"
	echo "$out" | grep -q "^clusteripd: configuration refused: .*$pat" ||
		fail "--check-config $*: no '$pat' in: $out"
}
refused "refusing to listen on non-loopback 192.0.2.1:9901 without api-token-file" \
	--api-listen 192.0.2.1:9901
refused "api-token-file $TEST_TMP/no-token: No such file" \
	--api-listen 192.0.2.1:9901 --api-token-file "$TEST_TMP/no-token"
: > "$TEST_TMP/empty-token"
refused "api-token-file $TEST_TMP/empty-token is empty" --api-token-file "$TEST_TMP/empty-token"
echo plain > "$TEST_TMP/a-file"
refused "api-socket: $TEST_TMP/a-file exists and is not a socket" --api-socket "$TEST_TMP/a-file"
refused "state-dir: $TEST_TMP/a-file is not a directory" --state-dir "$TEST_TMP/a-file/state"
refused "vip-interface: cip-nosuchif" --vip-interface cip-nosuchif
refused "bad.yaml:2:1: unknown option" -c "$TEST_TMP/bad.yaml"
refused "1 manifest file refused" --manifests "$TEST_TMP/badm"
# The same refusal at start-up, in the daemon's words.
out=$("$CIPD" "${CHK[@]}" --api-listen 192.0.2.1:9901 2>&1) && fail "started on 192.0.2.1 without a token"
echo "$out" | grep -q "refusing to listen on non-loopback" || fail "start-up gave no reason: $out"
echo secret > "$TEST_TMP/token"
"$CIPD" "${CHK[@]}" --api-listen 192.0.2.1:9901 --api-token-file "$TEST_TMP/token" \
	--check-config >/dev/null 2>&1 || fail "refused a non-loopback API with a token"
"$CIPD" "${CHK[@]}" --api-listen 192.0.2.1:9901 --api-insecure \
	--check-config >/dev/null 2>&1 || fail "refused a non-loopback API with api-insecure"
pass "--check-config refuses what start-up refuses, as a check"

# Without -c the installed configuration file is read when it exists
# (here, a tmpfs over SYSCONFDIR in a mount namespace of our own); -c
# /dev/null starts from the built-in defaults.
DEFCONF=$("$CIPD" --help | tr -d '\n' | sed -n 's/.*(default: *\([^ ]*\) *when it exists).*/\1/p')
[ -n "$DEFCONF" ] || fail "--help names no default configuration file"
SYSCONF=$(dirname "$(dirname "$DEFCONF")")
if [ "$(id -u)" = 0 ] && [ -d "$SYSCONF" ] && unshare -m true 2>/dev/null; then
	out=$(unshare -m --propagation private sh -c '
		mount -t tmpfs cip-test "$1" && mkdir -p "$1/clusterip" &&
		printf "dns-ttl: 42\n" > "$2" &&
		"$3" --check-config --state-dir "$4" && echo ---- &&
		"$3" -c /dev/null --check-config --state-dir "$4"' sh \
		"$SYSCONF" "$DEFCONF" "$CIPD" "$STATE" 2>&1) || fail "default file: $out"
	echo "$out" | sed '/^----/q' | grep -q "^dns-ttl: 42" || fail "default file not read: $out"
	echo "$out" | grep -q "configuration OK (file $DEFCONF)" || fail "default file not named: $out"
	echo "$out" | sed '1,/^----/d' | grep -q "^dns-ttl: 5$" || fail "-c /dev/null read the default file: $out"
	pass "the default configuration file is read when present"
else
	echo "skip: the default configuration file (needs root and unshare)"
fi

LOG="$TEST_TMP/d1.log"
start_daemon "$LOG" "${ARGS[@]}"
grep -q "startup complete: 1 services, 2 pods" "$LOG" || fail "demo not loaded"
# The writer thread saves the state after start-up: polled, bounded.
for ((i = 0; i < 400; i++)); do
	grep -qs '"default/backend"' "$STATE/vips.json" && break
	sleep 0.05
done
[ -s "$STATE/vips.json" ] || fail "no VIP state file"
grep -q '"default/backend"' "$STATE/vips.json" || fail "backend has no VIP in the state file"
vip_in_state() { state_vip "$1" < "$STATE/vips.json"; }
vip_of_backend() { vip_in_state default/backend; }
VIP1=$(vip_of_backend)
case "$VIP1" in 127.96.*) ;; *) fail "backend VIP '$VIP1' not in 127.96.0.0/16" ;; esac
pass "daemon up on the demo manifests"

# A broken file dropped into the watched directory is refused with
# file:line:column; the demo objects stay.
printf 'kind: Pod\nmetadata: {name: broken, labels: {name: backend}}\nstatus: {podIP: 999.1.1.1}\n' \
	> "$M/broken.yaml"
wait_log "$LOG" "manifest refused.*broken.yaml:3:17: status.podIP"
# A good new file lands; removing it removes its objects.
printf 'kind: Pod\nmetadata: {name: backend-3, labels: {name: backend}}\nstatus: {podIP: 127.0.10.3}\n' \
	> "$M/extra.yaml"
wait_log "$LOG" "manifest $M/extra.yaml loaded: 1 services, 3 pods"
rm "$M/extra.yaml"
wait_log "$LOG" "manifest $M/extra.yaml removed"
pass "broken manifest refused with file:line, others keep serving; files come and go"

# A file that takes an object another file owns is refused whole.
printf 'kind: Service\nmetadata: {name: backend}\nspec: {selector: {a: b}}\n---\nkind: Pod\nmetadata: {name: stray}\nstatus: {podIP: 127.0.0.5}\n' \
	> "$M/steal.yaml"
wait_log "$LOG" "manifest refused.*service default/backend is owned by file $M/service.yaml"
rm "$M/steal.yaml" "$M/broken.yaml"

# SIGHUP re-reads configuration and manifests.
kill -HUP "$DAEMON_PID"
wait_log "$LOG" "manifests re-read: 0 refused"
pass "SIGHUP"

stop_daemon
grep -q "clusteripd: stopped" "$LOG" || fail "no clean stop"
pass "SIGTERM: exit 0"

# A restart gives the same VIPs.
LOG2="$TEST_TMP/d2.log"
start_daemon "$LOG2" "${ARGS[@]}"
stop_daemon
[ "$(vip_of_backend)" = "$VIP1" ] || fail "VIP changed across a restart: $(vip_of_backend) != $VIP1"
# A corrupt state file is reported and rebuilt, never a crash.
printf 'garbage\x00\xff\n' > "$STATE/vips.json"
LOG3="$TEST_TMP/d3.log"
start_daemon "$LOG3" "${ARGS[@]}"
stop_daemon
grep -q "VIP state rebuilt from scratch" "$LOG3" || fail "corrupt state file not reported"
[ "$(vip_of_backend)" = "$VIP1" ] || fail "rebuilt state gives another VIP: $(vip_of_backend)"
pass "VIPs stable across restarts; corrupt state rebuilt"

# A text state file of version 2 (before JSON) is migrated: its VIPs
# kept, saved as vips.json, and removed once that is written.
rm -f "$STATE/vips.json"
python3 - "$STATE/vips.state" <<'PY'
import sys
body = ("clusterip-vip 2\nrange 127.96.0.0/16\n"
        "127.96.200.7 U 5 default/backend\n127.96.200.9 R 4 default/gone\n")
h = 0xcbf29ce484222325
for b in body.encode():
    h = ((h ^ b) * 0x100000001b3) & 0xffffffffffffffff
open(sys.argv[1], "w").write(body + "end 2 %016x\n" % h)
PY
LOG5="$TEST_TMP/d5.log"
start_daemon "$LOG5" "${ARGS[@]}"
stop_daemon
grep -q "text VIP state of version 2" "$LOG5" || fail "migration not logged"
[ ! -e "$STATE/vips.state" ] || fail "the text state file was not removed after the JSON save"
[ "$(vip_of_backend)" = 127.96.200.7 ] || fail "migrated VIP not kept: $(vip_of_backend)"
[ "$(vip_in_state default/gone)" = 127.96.200.9 ] || fail "released VIP not migrated"
pass "text state file of version 2 migrated to JSON"

# SIGHUP refuses what a restart would refuse, and keeps the running one.
API_PORT=$(free_port)
printf 'api-listen: 127.0.0.1:%s\n' "$API_PORT" > "$TEST_TMP/live.yaml"
LOG4="$TEST_TMP/d4.log"
start_daemon "$LOG4" -c "$TEST_TMP/live.yaml" --state-dir "$STATE" \
	--dns-listen "127.0.0.1:$DNS_PORT" --upstream 127.0.0.1:9
grep -q "configuration file $TEST_TMP/live.yaml" "$LOG4" || fail "the configuration file read is not logged"
printf 'api-listen: 192.0.2.1:%s\n' "$API_PORT" > "$TEST_TMP/live.yaml"
kill -HUP "$DAEMON_PID"
wait_log "$LOG4" "configuration refused, running one kept: api-listen: refusing to listen on non-loopback"
curl -sf "http://127.0.0.1:$API_PORT/healthz" >/dev/null || fail "the API went away after a refused reload"
stop_daemon
pass "SIGHUP refuses a non-loopback API without a token"
echo "core.sh: all passed"
