# SPDX-License-Identifier: MIT
# Shared by the kernel data path's tests (sourced after proxy_lib.sh,
# bash): a network namespace of the test's own in which backends, clients
# and the daemon run, so the host's nftables are never touched; helpers
# that read the table back.
[ "$(id -u)" = 0 ] || skip "needs root (network namespaces, nftables)"
command -v ip > /dev/null || skip "ip (iproute2) missing"
command -v nft > /dev/null || skip "nft (nftables) missing"
KNS=cipk$$
ip netns add "$KNS" 2> /dev/null || skip "cannot create network namespaces"
EXTRA_CLEANUP="ip netns del $KNS 2>/dev/null"
ip -n "$KNS" link set lo up
NSX="ip netns exec $KNS"
TABLE="inet clusterip"

# table: the daemon's table as nft prints it (empty when absent).
table() {
	$NSX nft list table $TABLE 2> /dev/null
}

# ep ADDR PORT: a pattern (grep -E) for what sends new connections to
# ADDR:PORT: a DNAT rule of an endpoint chain (services with round-robin
# or affinity) or the data of an endpoint map element (the others).
ep() {
	case $1 in
	*:*) echo "(dnat ip6 to \\[$1\\]:$2|: $1 \\. $2)(,| |\$)";;
	*) echo "(dnat ip to $1:$2|: $1 \\. $2)(,| |\$)";;
	esac
}

# wait_table PATTERN [absent]: until the table has (or has no) line
# matching PATTERN (grep -E), 10 s at most.
wait_table() {
	for _ in $(seq 200); do
		if [ "${2:-}" = absent ]; then
			table | grep -Eq -- "$1" || return 0
		else
			table | grep -Eq -- "$1" && return 0
		fi
		sleep 0.05
	done
	table >&2
	fail "table: no${2:+ absence of} '$1' after 10 s"
}

# kstop: the daemon stopped by SIGTERM (term_daemon), which deletes
# its table.
kstop() {
	term_daemon
	table | grep -q . && fail "table left after SIGTERM"
	return 0
}

# kstart [FLAGS...]: the daemon in nftables mode; waits for the table.
kstart() {
	start_daemon --proxy-mode nftables "$@"
	grep -q "kernel: table inet clusterip built" "$T/daemon.log" ||
	    fail "no table built"
}

# kclient ARGS...: python3 in the namespace running $T/client.py.
cat > "$T/client.py" <<'PY'
import socket, sys, time
cmd, host, port = sys.argv[1], sys.argv[2], int(sys.argv[3])
if cmd == "refused":            # TCP: refused at once (a reset)?
    s = socket.socket(socket.AF_INET6 if ":" in host else socket.AF_INET)
    s.settimeout(5)
    try:
        s.connect((host, port))
        print("connected")
    except ConnectionRefusedError:
        print("refused")
    except OSError as e:
        print("error", e)
elif cmd == "udp":              # UDP from a fixed source port: the reply
    src = int(sys.argv[4])      # [SRCADDR]: 127.0.0.1, or :: for IPv6
    v6 = ":" in host
    s = socket.socket(socket.AF_INET6 if v6 else socket.AF_INET,
                      socket.SOCK_DGRAM)
    s.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    s.bind((sys.argv[5] if len(sys.argv) > 5 else
            "::" if v6 else "127.0.0.1", src))
    s.connect((host, port))
    s.settimeout(2)
    try:
        s.send(b"x")
        print(s.recv(100).decode())
    except ConnectionRefusedError:
        print("refused")
    except PermissionError:     # dropped on the output hook: EPERM
        print("refused-local")
    except socket.timeout:
        print("timeout")
elif cmd == "slowread":         # reads slowly; prints the byte count
    s = socket.create_connection((host, port), 5)
    s.settimeout(30)
    n = 0
    open(sys.argv[4], "w").write("started\n")
    while True:
        b = s.recv(65536)
        if not b:
            break
        n += len(b)
        time.sleep(0.02)
    print(n)
PY
kclient() {
	$NSX python3 "$T/client.py" "$@"
}

# khits URL N: N fetches from the namespace, each on a new connection.
khits() {
	local urls="" i
	for i in $(seq "$2"); do urls="$urls $1"; done
	# shellcheck disable=SC2086
	$NSX curl -sS --max-time 20 -H 'Connection: close' $urls
}

# kbridge NB NET4 NET6 NS...: a namespace NB holding a bridge br0 and,
# for each NS (created unless it exists), a veth pair joining its eth0
# to br0; lo and eth0 up. The i-th NS gets NET4.i/24 and (unless NET6
# is -) NET6::i/64 without DAD. Every namespace made here is deleted at
# exit.
kbridge() {
	local nb=$1 net4=$2 net6=$3 ns i=1
	shift 3
	ip netns add "$nb" || fail "netns add $nb"
	EXTRA_CLEANUP="$EXTRA_CLEANUP; ip netns del $nb 2>/dev/null"
	ip -n "$nb" link add br0 type bridge || skip "no bridge support"
	ip -n "$nb" link set br0 up
	for ns in "$@"; do
		if [ ! -e "/run/netns/$ns" ]; then
			ip netns add "$ns" || fail "netns add $ns"
			EXTRA_CLEANUP="$EXTRA_CLEANUP; ip netns del $ns 2>/dev/null"
		fi
		ip -n "$nb" link add "v$ns" type veth peer name eth0 \
		    netns "$ns" || skip "no veth support"
		ip -n "$nb" link set "v$ns" master br0 up
		ip -n "$ns" link set lo up
		ip -n "$ns" link set eth0 up
		ip -n "$ns" addr add "$net4.$i/24" dev eth0
		[ "$net6" = - ] ||
		    ip -n "$ns" -6 addr add "$net6::$i/64" dev eth0 nodad
		i=$((i + 1))
	done
}
