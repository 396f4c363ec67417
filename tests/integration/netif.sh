#!/usr/bin/env bash
# SPDX-License-Identifier: MIT
# netif.sh -- interface mode (--vip-interface): in network namespaces of
# the test's own, clusteripd adds each service's VIP as a /32 to one end
# of a veth pair, announces it by gratuitous ARP to the namespace on the
# other end, keeps it across a restart, and removes it on SIGTERM.
# Needs root (network namespaces); skipped otherwise.
set -u
. "$top_srcdir/tests/integration/lib.sh"

if [ "$(id -u)" != 0 ]; then
	echo "SKIP: network namespaces need root"
	exit 77
fi
command -v ip >/dev/null || { echo "SKIP: no ip(8) (iproute2)"; exit 77; }

NS_A="cip-netif-a-$$"	# the daemon's
NS_B="cip-netif-b-$$"	# a neighbour on the same link
netif_cleanup() {
	lib_cleanup
	ip netns del "$NS_A" 2>/dev/null
	ip netns del "$NS_B" 2>/dev/null
}
trap netif_cleanup EXIT
trap 'exit 1' INT TERM

if ! ip netns add "$NS_A" 2>/dev/null || ! ip netns add "$NS_B" 2>/dev/null; then
	echo "SKIP: cannot create network namespaces"
	exit 77
fi
A() { ip netns exec "$NS_A" "$@"; }
B() { ip netns exec "$NS_B" "$@"; }
ip -n "$NS_A" link add veth-x type veth peer name veth-y netns "$NS_B" ||
	fail "cannot create a veth pair"
ip -n "$NS_A" link set lo up
ip -n "$NS_A" link set veth-x up
ip -n "$NS_A" addr add 10.250.1.1/24 dev veth-x
ip -n "$NS_B" link set lo up
ip -n "$NS_B" link set veth-y up
ip -n "$NS_B" addr add 10.250.1.2/16 dev veth-y
# The neighbour learns addresses from gratuitous ARP.
B sh -c 'echo 1 > /proc/sys/net/ipv4/conf/veth-y/arp_accept' ||
	fail "cannot set arp_accept"
MAC_X=$(A cat /sys/class/net/veth-x/address)

M="$TEST_TMP/manifests"
mkdir -p "$M"
cat > "$M/services.yaml" <<'EOF'
apiVersion: v1
kind: Service
metadata: {name: web, namespace: default}
spec:
  selector: {name: web}
  clusterIP: 10.250.0.20
  ports:
  - {port: 8080}
---
apiVersion: v1
kind: Service
metadata: {name: db}
spec:
  selector: {name: db}
  ports:
  - {port: 5432}
EOF
STATE="$TEST_TMP/state"
DNS_PORT=15353		# inside NS_A, where nothing else listens

# start_in_ns LOG: clusteripd in NS_A; waits for its startup line.
start_in_ns() {
	DAEMON_PREFIX=(ip netns exec "$NS_A")
	start_daemon "$1" --vip-interface veth-x --vip-range 10.250.0.0/24 \
	    --manifests "$M" --state-dir "$STATE" \
	    --dns-listen "127.0.0.1:$DNS_PORT" --api-listen none \
	    --upstream 127.0.0.1:9 --log-level debug
	DAEMON_PREFIX=()
}

# vips_on_x: the /32 addresses of 10.250.0.0/24 on veth-x, one a line.
vips_on_x() {
	ip -n "$NS_A" -4 -o addr show dev veth-x |
	    awk '{ print $4 }' | grep -E '^10\.250\.0\.[0-9]+/32$' | sort
}

# wait_vip ADDR: waits until ADDR/32 is on veth-x.
wait_vip() {
	local i
	for ((i = 0; i < 100; i++)); do
		vips_on_x | grep -qx "$1/32" && return 0
		sleep 0.05
	done
	fail "$1/32 not on veth-x; there: $(vips_on_x | tr '\n' ' ')"
}

resolve() {
	A dig +short +time=2 +tries=1 @127.0.0.1 -p "$DNS_PORT" "$1" A
}

start_in_ns "$TEST_TMP/d1.log"
wait_vip 10.250.0.20
DB_VIP=$(resolve db.default.svc.cluster.local)
case "$DB_VIP" in
10.250.0.*) ;;
*) fail "db resolves to '$DB_VIP', not an address of 10.250.0.0/24" ;;
esac
wait_vip "$DB_VIP"
[ "$(vips_on_x | wc -l)" -eq 2 ] || fail "expected 2 VIPs on veth-x: $(vips_on_x | tr '\n' ' ')"
pass "VIPs 10.250.0.20 (requested) and $DB_VIP (derived) on veth-x as /32"

# The neighbour learnt both from the announcements, before any traffic.
for vip in 10.250.0.20 "$DB_VIP"; do
	ok=0
	for ((i = 0; i < 60; i++)); do
		if ip -n "$NS_B" neigh show "$vip" dev veth-y | grep -qi "lladdr $MAC_X"; then
			ok=1
			break
		fi
		sleep 0.05
	done
	[ "$ok" = 1 ] || fail "no gratuitous ARP for $vip reached veth-y: $(ip -n "$NS_B" neigh show dev veth-y)"
done
grep -q "announced 10.250.0.20 on veth-x" "$DAEMON_LOG" || fail "no announcement logged"
pass "gratuitous ARP: the neighbour maps both VIPs to veth-x's $MAC_X"

# The neighbour reaches the forwarder on the VIP (no endpoint: reset or
# refused at once, never a timeout or an unreachable host).
out=$(B timeout 5 bash -c 'exec 3<>/dev/tcp/10.250.0.20/8080' 2>&1)
rc=$?
[ "$rc" -eq 124 ] && fail "connecting to 10.250.0.20:8080 from the neighbour timed out"
echo "$out" | grep -qi "no route\|unreachable" && fail "10.250.0.20 unreachable from the neighbour: $out"
pass "the neighbour reaches 10.250.0.20:8080"

stop_daemon
[ -z "$(vips_on_x)" ] || fail "VIPs left on veth-x after SIGTERM: $(vips_on_x | tr '\n' ' ')"
ip -n "$NS_A" -4 -o addr show dev veth-x | grep -q "10.250.1.1/24" ||
	fail "the interface's own address was removed"
pass "SIGTERM removed the VIPs and kept the interface's own address"

# A crash leaves VIPs behind: the next start takes them over, serves
# them, and its clean exit removes them.
ip -n "$NS_A" addr add "$DB_VIP/32" dev veth-x
start_in_ns "$TEST_TMP/d2.log"
wait_vip 10.250.0.20
[ "$(resolve db.default.svc.cluster.local)" = "$DB_VIP" ] ||
	fail "db's VIP changed across a restart"
[ "$(vips_on_x | wc -l)" -eq 2 ] || fail "expected 2 VIPs after the restart: $(vips_on_x | tr '\n' ' ')"
stop_daemon
[ -z "$(vips_on_x)" ] || fail "VIPs left after the second SIGTERM: $(vips_on_x | tr '\n' ' ')"
pass "restart: same VIPs, a leftover taken over and removed on exit"
