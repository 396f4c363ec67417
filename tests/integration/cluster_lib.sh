# SPDX-License-Identifier: MIT
# cluster_lib.sh -- hosts as network namespaces on one bridge, a real
# etcd cluster (Debian's etcd-server) in a namespace of its own, and a
# clusteripd per host, for the multi-host tests. Source after lib.sh;
# needs root. Names start with cetc<pid> so parallel runs never collide;
# everything is removed on exit, failure included.
#   hosts a b c ... get 10.178.0.3, .4, ...; etcd's namespace 10.178.0.2
#   with members m1 m2 m3 on client ports 2379, 22379, 32379.

[ "$(id -u)" = 0 ] || { echo "SKIP: needs root (network namespaces)"; exit 77; }
command -v dig >/dev/null || { echo "SKIP: dig missing"; exit 77; }
command -v etcd >/dev/null || { echo "SKIP: etcd (etcd-server) not installed"; exit 77; }
command -v etcdctl >/dev/null || { echo "SKIP: etcdctl (etcd-client) not installed"; exit 77; }

CL_P=cetc$$
CL_NETNS=()
CL_E=10.178.0.2
declare -A CL_LOG CL_PID CL_MPID
cl_cleanup() {
	local n
	for n in "${CL_NETNS[@]}"; do
		ip netns pids "$n" 2>/dev/null | xargs -r kill -9 2>/dev/null
	done
	lib_cleanup
	for n in "${CL_NETNS[@]}"; do ip netns del "$n" 2>/dev/null; done
}
trap cl_cleanup EXIT

# cl_addr H: the address of host H (a -> 10.178.0.3, b -> .4, ...).
cl_addr() {
	echo "10.178.0.$(( $(printf '%d' "'$1") - 94 ))"
}

# cl_net H...: the bridge, etcd's namespace and one namespace per host.
cl_net() {
	local h a
	ip netns add ${CL_P}sw || fail "ip netns add"
	CL_NETNS+=(${CL_P}sw)
	ip -n ${CL_P}sw link add br0 type bridge && ip -n ${CL_P}sw link set br0 up
	for h in e "$@"; do
		[ $h = e ] && a=$CL_E || a=$(cl_addr $h)
		ip netns add $CL_P$h || fail "ip netns add $CL_P$h"
		CL_NETNS+=($CL_P$h)
		ip -n $CL_P$h link set lo up
		ip link add v$CL_P$h type veth peer name eth0 netns $CL_P$h
		ip link set v$CL_P$h netns ${CL_P}sw
		ip -n ${CL_P}sw link set v$CL_P$h master br0 up
		ip -n $CL_P$h addr add $a/24 dev eth0
		ip -n $CL_P$h link set eth0 up
	done
}

cl_cport() { case $1 in m1) echo 2379;; m2) echo 22379;; m3) echo 32379;; esac; }

# cl_member_start M CLUSTER: starts member M (m1..m3) of the members
# named in CLUSTER ("m1" or "m1 m2 m3"), data kept across restarts.
cl_member_start() {
	local m=$1 cl="" x cp
	for x in $2; do
		cl="$cl${cl:+,}$x=http://$CL_E:$(( $(cl_cport $x) + 1 ))"
	done
	cp=$(cl_cport $m)
	ip netns exec ${CL_P}e etcd --name $m --data-dir "$TEST_TMP/$m" \
	    --listen-client-urls http://$CL_E:$cp --advertise-client-urls http://$CL_E:$cp \
	    --listen-peer-urls http://$CL_E:$((cp + 1)) \
	    --initial-advertise-peer-urls http://$CL_E:$((cp + 1)) \
	    --initial-cluster "$cl" --initial-cluster-state new \
	    >>"$TEST_TMP/$m.log" 2>&1 &
	CL_MPID[$m]=$!
	TEST_PIDS+=("$!")
}

# cl_etcd M...: starts those members as one cluster; sets CL_EPS.
cl_etcd() {
	local m n
	CL_EPS=""
	for m in "$@"; do
		cl_member_start $m "$*"
		CL_EPS="$CL_EPS${CL_EPS:+,}http://$CL_E:$(cl_cport $m)"
	done
	for ((n = 0; n < 600; n++)); do
		cl_ectl endpoint health >/dev/null 2>&1 && return 0
		sleep 0.1
	done
	fail "etcd did not become healthy"
}

cl_member_kill() {
	kill -9 "${CL_MPID[$1]}" 2>/dev/null
	wait "${CL_MPID[$1]}" 2>/dev/null
}

cl_ectl() { ip netns exec ${CL_P}e etcdctl --endpoints "$CL_EPS" "$@"; }

# cl_daemon H ARGS...: clusteripd on host H (DNS 127.0.0.1:53, API
# 127.0.0.1:9901 in its namespace), joined to the etcd of cl_etcd.
cl_daemon() {
	local h=$1
	shift
	DAEMON_PREFIX=(ip netns exec $CL_P$h)
	start_daemon "$TEST_TMP/$h.log" --dns-listen 127.0.0.1:53 \
	    --api-listen 127.0.0.1:9901 --state-dir "$TEST_TMP/state-$h" \
	    --etcd "$CL_EPS" --advertise-address "$(cl_addr $h)" \
	    --upstream 127.0.0.1:9 "$@"
	CL_LOG[$h]=$DAEMON_LOG CL_PID[$h]=$DAEMON_PID
	wait_log "$DAEMON_LOG" 'etcd: read [0-9]+ key' 60
}

cl_api() { local h=$1; shift; ip netns exec $CL_P$h curl -s -m 30 "$@"; }
cl_dig() { ip netns exec $CL_P$1 dig +short +time=2 +tries=1 @127.0.0.1 -p 53 "$2"; }

# cl_poll_dig H NAME WANT: waits (60 s, a guard) for H to answer WANT.
cl_poll_dig() {
	local n got
	for ((n = 0; n < 300; n++)); do
		got=$(cl_dig "$1" "$2")
		[ "$got" = "$3" ] && return 0
		sleep 0.2
	done
	fail "host $1: $2 answers '$got', not '$3'"
}

# cl_poll_api H PATH PATTERN [absent]: waits (60 s) until GET PATH on H
# matches PATTERN (grep -E), or no longer does with "absent".
cl_poll_api() {
	local n
	for ((n = 0; n < 300; n++)); do
		if cl_api "$1" "http://127.0.0.1:9901$2" | grep -Eq -- "$3"; then
			[ "${4:-}" != absent ] && return 0
		else
			[ "${4:-}" = absent ] && return 0
		fi
		sleep 0.2
	done
	fail "host $1: GET $2 ${4:+still }matching '$3' not reached"
}

# cl_apply H JSON: POST /v1/apply on H; fails unless 200.
cl_apply() {
	local code
	code=$(cl_api "$1" -o "$TEST_TMP/apply.out" -w '%{http_code}' -X POST \
	    --data-binary "$2" http://127.0.0.1:9901/v1/apply)
	[ "$code" = 200 ] || fail "apply on $1: $code $(cat "$TEST_TMP/apply.out")"
}

# cl_apply_at_once H...: POSTs $TEST_TMP/H.yaml to /v1/apply on every
# host H at the same moment; fails unless each answers 200.
cl_apply_at_once() {
	local h pids=()
	for h in "$@"; do
		cl_api $h -o "$TEST_TMP/apply-$h.out" -w '%{http_code}\n' -X POST \
		    --data-binary @"$TEST_TMP/$h.yaml" http://127.0.0.1:9901/v1/apply \
		    >"$TEST_TMP/code-$h" &
		pids+=($!)
	done
	wait "${pids[@]}"
	for h in "$@"; do
		[ "$(cat "$TEST_TMP/code-$h")" = 200 ] ||
			fail "apply on $h: $(head -c 300 "$TEST_TMP/apply-$h.out")"
	done
}

# cl_services H...: each host's GET /v1/services into $TEST_TMP/svcs-H.json.
cl_services() {
	local h
	for h in "$@"; do
		cl_api $h http://127.0.0.1:9901/v1/services >"$TEST_TMP/svcs-$h.json" || return 1
	done
}

# cl_until WHAT CMD...: runs CMD every 0.2 s until it succeeds (120 s, a
# guard); fails with WHAT and CMD's last stderr.
cl_until() {
	local what=$1 n
	shift
	for ((n = 0; n < 600; n++)); do
		"$@" 2>"$TEST_TMP/until.err" && return 0
		sleep 0.2
	done
	fail "$what: $(cat "$TEST_TMP/until.err")"
}

# cl_count_logs PATTERN H...: lines matching PATTERN in the hosts' logs.
cl_count_logs() {
	local pat=$1 h n=0
	shift
	for h in "$@"; do n=$((n + $(count_log "${CL_LOG[$h]}" "$pat"))); done
	echo $n
}

# cl_manifest H: stdin becomes host H's manifest file, in the directory
# $TEST_TMP/man-H (give it to cl_daemon with --manifests).
cl_manifest() {
	mkdir -p "$TEST_TMP/man-$1"
	cat >"$TEST_TMP/man-$1/$1.yaml"
}

# cl_greeting H ADDR PORT TEXT: connects from host H to ADDR:PORT until
# the server says TEXT (60 s, a guard); 1 if it never did, the last
# reply in CL_GOT.
cl_greeting() {
	local n
	for ((n = 0; n < 300; n++)); do
		CL_GOT=$(ip netns exec $CL_P$1 python3 -c '
import socket, sys
s = socket.create_connection((sys.argv[1], int(sys.argv[2])), timeout=10)
print(s.recv(100).decode().strip())' "$2" "$3" 2>/dev/null)
		[ "$CL_GOT" = "$4" ] && return 0
		sleep 0.2
	done
	return 1
}

# cl_greeter H ADDR PORT TEXT: a TCP server in host H on ADDR:PORT that
# says TEXT to each client and closes; returns once it answers.
cl_greeter() {
	ip netns exec $CL_P$1 python3 -c '
import socket, sys
s = socket.socket(); s.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
s.bind((sys.argv[1], int(sys.argv[2]))); s.listen(8)
while True:
    c, _ = s.accept(); c.sendall(sys.argv[3].encode() + b"\n"); c.close()
' "$2" "$3" "$4" &
	TEST_PIDS+=($!)
	cl_greeting "$@" || fail "no server on $2:$3 in host $1: '$CL_GOT'"
}
