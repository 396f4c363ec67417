#!/usr/bin/env bash
# SPDX-License-Identifier: MIT
# nonroot.sh -- an ordinary user runs the daemon in loopback mode with no
# --state-dir: the state goes to ~/.local/state/clusterip (created 0700),
# or $XDG_STATE_HOME/clusterip, and DNS and the API answer. Becoming
# nobody needs root: skipped (77) without it.
set -u
. "$top_srcdir/tests/integration/lib.sh"

skip() {
	echo "skip: $*"
	exit 77
}
[ "$(id -u)" = 0 ] || skip "needs root to run as nobody"
id nobody >/dev/null 2>&1 || skip "no user nobody"
command -v setpriv >/dev/null || skip "no setpriv (util-linux)"
AS_NOBODY=(setpriv --reuid=nobody --regid="$(id -g nobody)" --clear-groups)
"${AS_NOBODY[@]}" test -x "$CIPD" || skip "nobody cannot run $CIPD"

# A home of nobody's own inside the test directory.
chmod 0711 "$TEST_TMP"
H="$TEST_TMP/home"
mkdir "$H"
chown nobody "$H"
DNS_PORT=$(free_port)
API_PORT=$(free_port)
API="http://127.0.0.1:$API_PORT"

# The defaults as nobody sees them: the XDG state directory.
out=$(env HOME="$H" XDG_STATE_HOME="$H/xdg" "${AS_NOBODY[@]}" "$CIPD" \
	--check-config 2>&1) || fail "--check-config as nobody: $out"
echo "$out" | grep -q "^state-dir: \"$H/xdg/clusterip\"" ||
	fail "XDG_STATE_HOME not used: $out"
out=$(env -u XDG_STATE_HOME HOME="$H" "${AS_NOBODY[@]}" "$CIPD" \
	--check-config 2>&1) || fail "--check-config as nobody: $out"
echo "$out" | grep -q "^state-dir: \"$H/.local/state/clusterip\"" ||
	fail "no ~/.local/state default: $out"
pass "a user's default state directory"
echo "$out" | grep -q "warning" && fail "warnings for the defaults: $out"

# What start-up would need and nobody lacks is said, and only warned of:
# the check may run as another user than the daemon will.
out=$(env HOME="$H" "${AS_NOBODY[@]}" "$CIPD" --check-config \
	--vip-range 127.96.0.0/16 --vip-range fd00:cafe::/112 \
	--proxy-mode nftables --dns-listen 127.0.0.1:53 \
	--dns-listen "[::1]:5300" 2>&1) ||
	fail "--check-config refused what it should warn of: $out"
for w in "vip-range fd00:cafe::/112: .*CAP_NET_ADMIN" \
    "proxy-mode nftables: .*CAP_NET_ADMIN" \
    "dns-listen 127.0.0.1:53: .*CAP_NET_BIND_SERVICE"; do
	echo "$out" | grep -q "^clusteripd: warning: $w" ||
		fail "no warning /$w/: $out"
done
[ "$(echo "$out" | grep -c warning)" = 3 ] || fail "warnings: $out"
out=$(env HOME="$H" "$CIPD" --check-config --vip-range fd00:cafe::/112 \
	--proxy-mode nftables --dns-listen 127.0.0.1:53 2>&1) ||
	fail "--check-config as root: $out"
echo "$out" | grep -q warning && fail "root warned: $out"
pass "--check-config warns of the capabilities it lacks"

DAEMON_PREFIX=(env -u XDG_STATE_HOME HOME="$H" "${AS_NOBODY[@]}")
LOG="$TEST_TMP/d.log"
start_daemon "$LOG" --dns-listen "127.0.0.1:$DNS_PORT" --api-listen "127.0.0.1:$API_PORT"
ST="$H/.local/state/clusterip"
[ "$(stat -c '%U %a' "$ST")" = "nobody 700" ] ||
	fail "state directory: $(stat -c '%U %a' "$ST" 2>&1)"
grep -q "state directory $ST" "$LOG" || fail "the state directory is not logged"
[ "$(ps -o user= -p "$DAEMON_PID")" = nobody ] || fail "not running as nobody"
pass "started as nobody with no --state-dir"

cat > "$TEST_TMP/svc.yaml" <<'EOF'
apiVersion: v1
kind: Service
metadata: {name: backend}
spec:
  selector: {name: backend}
  ports: [{port: 8080}]
EOF
code=$(curl -s -o "$TEST_TMP/body" -w '%{http_code}' -X POST \
	--data-binary @"$TEST_TMP/svc.yaml" "$API/v1/apply") || code=000
[ "$code" = 200 ] || fail "apply: HTTP $code: $(cat "$TEST_TMP/body")"
vip=$(dig +short +tries=1 +time=2 -p "$DNS_PORT" @127.0.0.1 backend.default.svc.cluster.local A)
case "$vip" in 127.96.*) ;; *) fail "dig answered '$vip'" ;; esac
[ -s "$ST/api-objects.json" ] || fail "no API state in $ST"
pass "DNS answers and the API's objects persist in the user's state directory"

stop_daemon
[ -s "$ST/vips.json" ] || fail "no VIP state in $ST"
[ "$(stat -c %U "$ST/vips.json")" = nobody ] || fail "VIP state not nobody's"
pass "stopped; VIP state saved"
echo "nonroot.sh: all passed"
