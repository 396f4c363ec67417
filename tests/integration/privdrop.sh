#!/usr/bin/env bash
# SPDX-License-Identifier: MIT
# privdrop.sh -- --user: started as root, clusteripd binds, then runs as
# nobody with only the capabilities its mode needs. Loopback mode: a
# service on port 80 applied after the drop still gets its VIP:80
# listener, DNS answers (also on port 53), the state is written by
# nobody; with --docker, the group owning the Docker socket stays among
# its groups. Interface mode, in a network namespace: CAP_NET_ADMIN and
# CAP_NET_RAW stay, and a VIP added after the drop reaches the interface
# and leaves it on SIGTERM. Needs root; skipped (77) otherwise.
set -u
. "$top_srcdir/tests/integration/lib.sh"

skip() {
	echo "skip: $*"
	exit 77
}
[ "$(id -u)" = 0 ] || skip "needs root"
id nobody >/dev/null 2>&1 || skip "no user nobody"
command -v setpriv >/dev/null || skip "no setpriv (util-linux)"
command -v curl >/dev/null || skip "no curl"
command -v dig >/dev/null || skip "no dig"
NOBODY_UID=$(id -u nobody)
NOBODY_GID=$(id -g nobody)
setpriv --reuid=nobody --regid="$NOBODY_GID" --clear-groups test -x "$CIPD" ||
	skip "nobody cannot run $CIPD"
chmod 0711 "$TEST_TMP"

# status_field PID FIELD: the value of FIELD in /proc/PID/status.
status_field() {
	awk -v f="$2:" '$1 == f { $1 = ""; sub(/^ +/, ""); print }' \
	    "/proc/$1/status"
}
# caps_of HEX: the capability names of a mask, sorted, comma-separated.
caps_of() {
	if command -v capsh >/dev/null; then
		capsh --decode="$1" | sed 's/^[^=]*=//' | tr ',' '\n' |
		    sort | paste -sd, -
	else
		python3 - "$1" <<'PY'
import sys
names = {10: "cap_net_bind_service", 12: "cap_net_admin", 13: "cap_net_raw"}
v = int(sys.argv[1], 16)
print(",".join(sorted(names.get(i, "cap_%d" % i) for i in range(64) if v >> i & 1)))
PY
	fi
}
# check_creds PID WANT: nobody's ids, no groups but nobody's own, and
# WANT (sorted names) as permitted, effective and bounding sets.
check_creds() {
	local pid=$1 want=$2 f v
	for f in Uid Gid; do
		v=$(status_field "$pid" $f | tr -s ' \t' ' ')
		local id=$NOBODY_UID
		[ $f = Gid ] && id=$NOBODY_GID
		[ "$v" = "$id $id $id $id" ] || fail "$f: '$v', want $id four times"
	done
	for f in CapPrm CapEff CapBnd; do
		v=$(caps_of "$(status_field "$pid" $f)")
		[ "$v" = "$want" ] || fail "$f: '$v', want '$want'"
	done
	[ "$(caps_of "$(status_field "$pid" CapAmb)")" = "" ] ||
		fail "ambient capabilities left"
	[ "$(status_field "$pid" NoNewPrivs)" = 1 ] || fail "no_new_privs not set"
}

# --- refused without root, and for a user that does not exist
out=$(setpriv --reuid=nobody --regid="$NOBODY_GID" --clear-groups "$CIPD" \
	-c /dev/null --user nobody --state-dir "$TEST_TMP/x" \
	--dns-listen "127.0.0.1:$(free_port)" --api-listen none 2>&1) &&
	fail "--user accepted from a daemon not started as root"
echo "$out" | grep -q "needs clusteripd to be started as root" ||
	fail "unclear refusal: $out"
out=$("$CIPD" -c /dev/null --user no-such-user-here --state-dir "$TEST_TMP/x" \
	--check-config 2>&1) && fail "--check-config took an unknown user"
echo "$out" | grep -q 'no such user "no-such-user-here"' ||
	fail "unclear refusal: $out"
pass "--user refused when not root, and for an unknown user"

# --- loopback mode
M="$TEST_TMP/manifests"
ST="$TEST_TMP/state"
mkdir -p "$M" "$TEST_TMP/www"
chmod 0755 "$M" "$TEST_TMP/www"
echo "privdrop backend" > "$TEST_TMP/www/index.html"
DNS_PORT=$(free_port)
API_PORT=$(free_port)
BE_PORT=$(free_port)
API="http://127.0.0.1:$API_PORT"
# A port-53 listener on a loopback address of its own, when one is free.
DNS53=127.53.$((RANDOM % 200 + 20)).$((RANDOM % 200 + 20))
ss -Hlntu "sport = :53" | grep -qE "(\*|0\.0\.0\.0|\[::\]|$DNS53):53 " && DNS53=""
python3 -m http.server -b 127.0.0.1 -d "$TEST_TMP/www" "$BE_PORT" \
	>"$TEST_TMP/be.log" 2>&1 &
TEST_PIDS+=($!)

start_daemon "$TEST_TMP/d.log" -c /dev/null --user nobody \
	--state-dir "$ST" --manifests "$M" --api-listen "127.0.0.1:$API_PORT" \
	--dns-listen "127.0.0.1:$DNS_PORT" ${DNS53:+--dns-listen "$DNS53:53"} \
	--upstream 127.0.0.1:9
grep -q "dropped to user nobody, capabilities: cap_net_bind_service\$" \
	"$DAEMON_LOG" || fail "no drop logged"
check_creds "$DAEMON_PID" cap_net_bind_service
[ "$(stat -c '%U %a' "$ST")" = "nobody 700" ] ||
	fail "state directory: $(stat -c '%U %a' "$ST")"
pass "loopback mode: runs as nobody with cap_net_bind_service alone"

# A service on port 80 and its pod, applied after the drop: the forwarder
# binds VIP:80 as nobody.
cat > "$TEST_TMP/web.yaml" <<EOF
apiVersion: v1
kind: Service
metadata: {name: web}
spec:
  selector: {name: web}
  ports: [{port: 80, targetPort: $BE_PORT}]
---
apiVersion: v1
kind: Pod
metadata: {name: web-1, labels: {name: web}}
spec:
  containers: [{ports: [{containerPort: $BE_PORT}]}]
status: {podIP: 127.0.0.1}
EOF
code=$(curl -s -o "$TEST_TMP/body" -w '%{http_code}' -X POST \
	--data-binary @"$TEST_TMP/web.yaml" "$API/v1/apply") || code=000
[ "$code" = 200 ] || fail "apply: HTTP $code: $(cat "$TEST_TMP/body")"
VIP=$(dig +short +tries=1 +time=2 -p "$DNS_PORT" @127.0.0.1 \
	web.default.svc.cluster.local A)
case "$VIP" in 127.96.*) ;; *) fail "dig answered '$VIP'" ;; esac
body=""
for ((i = 0; i < 40; i++)); do
	body=$(curl -s --max-time 2 "http://$VIP:80/") && [ -n "$body" ] && break
	sleep 0.05
done
[ "$body" = "privdrop backend" ] || fail "curl http://$VIP:80/: '$body'"
ss -Hltnp "src $VIP:80" | grep -q "pid=$DAEMON_PID," ||
	fail "$VIP:80 is not clusteripd's"
pass "a port-80 service added after the drop: $VIP:80 forwards to the backend"

if [ -n "$DNS53" ]; then
	v=$(dig +short +tries=1 +time=2 -p 53 @"$DNS53" web.default.svc.cluster.local A)
	[ "$v" = "$VIP" ] || fail "DNS on $DNS53:53 answered '$v'"
	pass "DNS bound on $DNS53:53 before the drop answers after it"
fi

[ "$(stat -c %U "$ST/api-objects.json" 2>&1)" = nobody ] ||
	fail "API state not written by nobody: $(ls -l "$ST")"
kill -HUP "$DAEMON_PID"
wait_log "$DAEMON_LOG" "manifests re-read: 0 refused"
kill -0 "$DAEMON_PID" || fail "clusteripd died on SIGHUP"
grep -q "configuration refused" "$DAEMON_LOG" && fail "reload refused"
stop_daemon
[ "$(stat -c %U "$ST/vips.json" 2>&1)" = nobody ] ||
	fail "VIP state not saved by nobody: $(ls -l "$ST")"
grep -q "VIP state not saved" "$DAEMON_LOG" && fail "VIP state not saved"
pass "state written after the drop, SIGHUP reload, clean exit"

# --- --docker: the daemon keeps the group owning the Docker socket, so
# the provider can connect again after the drop (its events stream
# reconnects). Without a dockerd of the test's own, the socket here is
# one nobody serves, owned by a group nobody is not in; what is checked
# is the kernel's view of the daemon's groups.
SOCK="$TEST_TMP/docker.sock"
DGID=4242
[ "$NOBODY_GID" != "$DGID" ] || DGID=4243
python3 -c 'import socket, sys; socket.socket(socket.AF_UNIX).bind(sys.argv[1])' \
	"$SOCK" || fail "cannot make a unix socket"
chgrp "$DGID" "$SOCK" && chmod 0660 "$SOCK" || fail "chgrp $DGID $SOCK"
start_daemon "$TEST_TMP/d-docker.log" -c /dev/null --user nobody \
	--state-dir "$TEST_TMP/state-docker" --api-listen none \
	--dns-listen "127.0.0.1:$(free_port)" --upstream 127.0.0.1:9 \
	--docker="$SOCK"
groups=" $(status_field "$DAEMON_PID" Groups) "
case "$groups" in
*" $DGID "*) ;;
*) fail "Groups:$groups: the Docker socket's group $DGID is missing" ;;
esac
check_creds "$DAEMON_PID" cap_net_bind_service
stop_daemon
pass "--docker: the Docker socket's group ($DGID) is kept after the drop"

# --- interface mode, in a network namespace of the test's own
command -v ip >/dev/null || skip "no ip(8) (iproute2)"
NS="cip-privdrop-$$"
pd_cleanup() {
	lib_cleanup
	ip netns del "$NS" 2>/dev/null
}
trap pd_cleanup EXIT
trap 'exit 1' INT TERM
ip netns add "$NS" 2>/dev/null || skip "cannot create a network namespace"
ip -n "$NS" link set lo up
ip -n "$NS" link add veth-x type veth peer name veth-y ||
	fail "cannot create a veth pair"
ip -n "$NS" link set veth-x up
ip -n "$NS" link set veth-y up
ip -n "$NS" addr add 10.251.1.1/24 dev veth-x

M2="$TEST_TMP/manifests2"
ST2="$TEST_TMP/state2"
mkdir -p "$M2"
chmod 0755 "$M2"
cat > "$M2/a.yaml" <<'EOF'
apiVersion: v1
kind: Service
metadata: {name: a}
spec:
  selector: {name: a}
  clusterIP: 10.251.0.20
  ports: [{port: 8080}]
EOF
chmod 0644 "$M2/a.yaml"
vips_on_x() {
	ip -n "$NS" -4 -o addr show dev veth-x | awk '{ print $4 }' |
	    grep -E '^10\.251\.0\.[0-9]+/32$' | sort
}
wait_vip() {	# wait_vip ADDR [absent]
	local i
	for ((i = 0; i < 100; i++)); do
		if [ "${2:-}" = absent ]; then
			vips_on_x | grep -qx "$1/32" || return 0
		else
			vips_on_x | grep -qx "$1/32" && return 0
		fi
		sleep 0.05
	done
	fail "$1/32 ${2:-present}? veth-x has: $(vips_on_x | tr '\n' ' ')"
}
DAEMON_PREFIX=(ip netns exec "$NS")
start_daemon "$TEST_TMP/d2.log" -c /dev/null --user nobody \
	--vip-interface veth-x --vip-range 10.251.0.0/24 --manifests "$M2" \
	--state-dir "$ST2" --dns-listen 127.0.0.1:15353 --api-listen none \
	--upstream 127.0.0.1:9 --log-level debug
DAEMON_PREFIX=()
grep -q "dropped to user nobody, capabilities: cap_net_admin,cap_net_raw,cap_net_bind_service\$" \
	"$DAEMON_LOG" || fail "no drop logged"
check_creds "$DAEMON_PID" cap_net_admin,cap_net_bind_service,cap_net_raw
wait_vip 10.251.0.20
pass "interface mode: nobody keeps cap_net_admin, cap_net_raw, cap_net_bind_service"

# A service added after the drop, on a port under 1024: its VIP reaches
# the interface (rtnetlink as nobody) and its listener binds.
cat > "$M2/b.yaml" <<'EOF'
apiVersion: v1
kind: Service
metadata: {name: b}
spec:
  selector: {name: b}
  clusterIP: 10.251.0.21
  ports: [{port: 443}]
EOF
chmod 0644 "$M2/b.yaml"
wait_vip 10.251.0.21
for ((i = 0; i < 40; i++)); do
	ip netns exec "$NS" ss -Hltn "src 10.251.0.21:443" | grep -q . && break
	sleep 0.05
done
ip netns exec "$NS" ss -Hltn "src 10.251.0.21:443" | grep -q . ||
	fail "no listener on 10.251.0.21:443"
grep -q "announced 10.251.0.21 on veth-x" "$DAEMON_LOG" ||
	fail "10.251.0.21 not announced (CAP_NET_RAW)"
pass "a VIP added after the drop is on veth-x, announced, with its :443 listener"

stop_daemon
wait_vip 10.251.0.20 absent
wait_vip 10.251.0.21 absent
pass "SIGTERM as nobody removed both VIPs"
echo "privdrop.sh: all passed"
