#!/bin/sh
# SPDX-License-Identifier: MIT
# The seed's demo across network namespaces standing in for containers:
# clusterip, frontapp, backend1 and backend2, each with a veth on a bridge
# (in a namespace of its own) and a private address in 10.77.0.0/24. The
# daemon runs in interface mode (VIPs from 10.77.0.128/25 added to its
# eth0, reached by ARP) and answers DNS on 10.77.0.2:53; the front app
# resolves "backend" with glibc through /etc/netns/NAME/resolv.conf and
# must get both quotes over many requests. Needs root (else skipped).
set -u
: "${top_builddir:?}" "${top_srcdir:?}"

if [ "$(id -u)" != 0 ]; then
	echo "netns-demo.sh: SKIP: needs root to create network namespaces" >&2
	exit 77
fi
if ! ip netns add "cipt$$-probe" 2>/dev/null; then
	echo "netns-demo.sh: SKIP: cannot create network namespaces here" >&2
	exit 77
fi
ip netns del "cipt$$-probe"

P=cipt$$
BR=$P-bridge CIP=$P-clusterip FRONT=$P-frontapp BE1=$P-backend1 BE2=$P-backend2
NSES="$CIP $FRONT $BE1 $BE2 $BR"
work=$(mktemp -d "${TMPDIR:-/tmp}/netns-demo.XXXXXX")
pids=
cleanup() {
	set +e
	for p in $pids; do kill "$p" 2>/dev/null; done
	for p in $pids; do wait "$p" 2>/dev/null; done
	for n in $NSES; do
		ip netns del "$n" 2>/dev/null
		rm -rf "/etc/netns/$n"
	done
	rm -rf "$work"
}
trap cleanup EXIT
trap 'exit 1' INT TERM
fail() { echo "netns-demo.sh: FAIL: $*" >&2; for f in "$work"/*.log; do echo "== $f" >&2; tail -n 25 "$f" >&2; done; exit 1; }

# wait_line FILE PATTERN PID: until PATTERN appears in FILE (10 s at most).
wait_line() {
	i=0
	while ! grep -q "$2" "$1" 2>/dev/null; do
		kill -0 "$3" 2>/dev/null || fail "process $3 died before \"$2\""
		[ $i -lt 200 ] || fail "no \"$2\" in $1"
		sleep 0.05
		i=$((i + 1))
	done
}

ip netns add "$BR" || fail "ip netns add"
ip -n "$BR" link add br0 type bridge || fail "bridge"
ip -n "$BR" link set br0 up
ip -n "$BR" link set lo up
# attach NS VETH ADDR [resolv]: a veth from the bridge to NS's eth0 holding
# ADDR/24; with "resolv", NS's resolv.conf names the daemon.
attach() {
	ip netns add "$1" || fail "ip netns add $1"
	ip -n "$BR" link add "$2" type veth peer name eth0 netns "$1" ||
	    fail "veth $2"
	ip -n "$BR" link set "$2" master br0 up
	ip -n "$1" link set lo up
	ip -n "$1" addr add "$3/24" dev eth0
	ip -n "$1" link set eth0 up
	[ "${4:-}" = resolv ] || return 0
	mkdir -p "/etc/netns/$1"
	printf '%s\n' "nameserver 10.77.0.2" \
	    "search default.svc.cluster.local svc.cluster.local cluster.local" \
	    "options ndots:5" > "/etc/netns/$1/resolv.conf"
}
attach "$CIP" vcip 10.77.0.2
attach "$FRONT" vfront 10.77.0.3 resolv
attach "$BE1" vbe1 10.77.0.11 resolv
attach "$BE2" vbe2 10.77.0.12 resolv

# The demo's manifests with the pods at their namespaces' addresses.
mkdir "$work/manifests"
cp "$top_srcdir/conf/demo/service.yaml" "$work/manifests/"
sed -e 's/127\.0\.10\.1/10.77.0.11/' -e 's/127\.0\.10\.2/10.77.0.12/' \
    "$top_srcdir/conf/demo/pods.yaml" > "$work/manifests/pods.yaml"
grep -q 10.77.0.12 "$work/manifests/pods.yaml" || fail "pods.yaml rewrite"

ip netns exec "$CIP" "$top_builddir/server/clusteripd" \
    --manifests "$work/manifests" --state-dir "$work/state" \
    --vip-interface eth0 --vip-range 10.77.0.128/25 \
    --dns-listen 10.77.0.2:53 --log-level debug \
    2> "$work/clusteripd.log" &
pids="$pids $!"
wait_line "$work/clusteripd.log" "startup complete" $!

ip netns exec "$BE1" "$top_builddir/demo/backend" --listen 0.0.0.0:5000 \
    --quote "Move your honourable arse!" 2> "$work/backend1.log" &
be1pid=$!
pids="$pids $!"
wait_line "$work/backend1.log" "backend: listening" $!
ip netns exec "$BE2" env QUOTE="Stop whining and get to work!" \
    "$top_builddir/demo/backend" 2> "$work/backend2.log" &
pids="$pids $!"
wait_line "$work/backend2.log" "backend: listening" $!
ip netns exec "$FRONT" "$top_builddir/demo/frontapp" --verbose \
    2> "$work/frontapp.log" &
pids="$pids $!"
wait_line "$work/frontapp.log" "frontapp: listening" $!

# The namespace's resolv.conf names the daemon; glibc finds the service.
ip netns exec "$FRONT" grep -q '^nameserver 10.77.0.2$' /etc/resolv.conf ||
    fail "resolv.conf of $FRONT"
vip=$(ip netns exec "$FRONT" getent ahostsv4 backend | awk 'NR == 1 { print $1 }')
case $vip in
10.77.0.1[3-9][0-9]|10.77.0.2[0-5][0-9]) ;;
*) fail "glibc resolved backend to \"$vip\", not a VIP of 10.77.0.128/25" ;;
esac
ip -n "$CIP" -4 addr show dev eth0 | grep -q "inet $vip/32" ||
    fail "VIP $vip not on the daemon's eth0"
echo "backend -> $vip (on $CIP eth0)"

# Readiness probes pass before the VIP forwards; then count quotes.
i=0
until ip netns exec "$FRONT" curl -fsS -m 2 http://10.77.0.3:8080/ > "$work/first" 2>&1; do
	[ $i -lt 100 ] || fail "the front app never answered: $(cat "$work/first")"
	sleep 0.1
	i=$((i + 1))
done
n=0 bad=0
: > "$work/answers"
while [ $n -lt 40 ]; do
	ip netns exec "$FRONT" curl -fsS -m 5 http://10.77.0.3:8080/ \
	    >> "$work/answers" 2>&1 || bad=$((bad + 1))
	n=$((n + 1))
done
c1=$(grep -c '^Quote of the day: Move your honourable arse!$' "$work/answers")
c2=$(grep -c '^Quote of the day: Stop whining and get to work!$' "$work/answers")
echo "40 requests: $c1 + $c2 quotes, $bad failed"
[ "$bad" -eq 0 ] || fail "$bad requests failed: $(grep -v '^Hi there' "$work/answers" | head -3)"
[ "$c1" -gt 0 ] && [ "$c2" -gt 0 ] || fail "both quotes expected"
[ $((c1 + c2)) -eq 40 ] || fail "40 quotes expected"
grep -q "frontapp: backend is $vip" "$work/frontapp.log" ||
    fail "the front app did not resolve backend to $vip"

# backend1 stops: the forwarder sends every request to backend2.
kill "$be1pid"
wait "$be1pid" 2>/dev/null
n=0 bad=0
: > "$work/answers"
while [ $n -lt 20 ]; do
	ip netns exec "$FRONT" curl -fsS -m 5 http://10.77.0.3:8080/ \
	    >> "$work/answers" 2>&1 || bad=$((bad + 1))
	n=$((n + 1))
done
c2=$(grep -c '^Quote of the day: Stop whining and get to work!$' "$work/answers")
echo "backend1 stopped, 20 requests: $c2 x quote 2, $bad failed"
[ "$bad" -eq 0 ] && [ "$c2" -eq 20 ] ||
    fail "after backend1 stopped: $(grep -v '^Hi there' "$work/answers" | head -3)"
echo "netns-demo.sh: PASS"
