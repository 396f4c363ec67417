#!/usr/bin/env bash
# SPDX-License-Identifier: MIT
# cluster_docker.sh -- a real dockerd on one host of two, its published
# container reached from the other host through etcd: hosts a and b are
# network namespaces on a bridge, with a 1-member etcd (cluster_lib.sh).
# A dockerd of its own (data root, exec root, socket and pid file in the
# test's directory) runs inside b's namespace, in a mount namespace of
# its own, so its bridge, its firewall rules and ip_forward are b's, not
# the host's. The image is busybox-static imported as a root filesystem
# (no registry). B's clusteripd follows that dockerd (--docker) and
# publishes to etcd with --advertise-address 10.178.0.4. A container
# labelled app=web (and, through its labels, the Docker Service dweb)
# publishes container port 5000 on host port 18080 and serves a page
# there with busybox httpd. A applies the Service web (targetPort 5000);
# a client in A's namespace reaches the container through web's and
# dweb's VIPs, by way of 10.178.0.4:18080; A's endpoints (API and
# `clusterip get endpoints`) name B's address and the host port, `clusterip
# get pods -o wide` B's address; B itself forwards to the container's own
# address. A second container, published on B's 127.0.0.1 only, is no
# endpoint at B's address on A. The first container stopped, it leaves
# A's endpoints, and dweb leaves A. The host's own
# firewall, forwarding and docker0 are compared before, while and after
# dockerd runs, and put back if they changed.
set -u
. "$top_srcdir/tests/integration/lib.sh"
. "$top_srcdir/tests/integration/cluster_lib.sh"
. "$top_srcdir/tests/integration/demo-dockerd.sh"

[ -x /usr/sbin/dockerd ] && [ -x "$D" ] ||
	{ echo "SKIP: dockerd or docker missing (docker.io)"; exit 77; }
BB=$(command -v busybox) && ! ldd "$BB" >/dev/null 2>&1 ||
	{ echo "SKIP: a static busybox is missing (busybox-static)"; exit 77; }
command -v nsenter >/dev/null && command -v unshare >/dev/null ||
	{ echo "SKIP: nsenter/unshare missing (util-linux)"; exit 77; }

DK=$TEST_TMP/dk
mkdir -p "$DK"
export DOCKER_HOST=unix://$DK/docker.sock
DK_PID= DK_CPID=
IMG=cip-busybox:test

# The host's state that a dockerd changes where it runs.
root_state() {
	iptables -S 2>&1
	command -v ip6tables >/dev/null && ip6tables -S 2>&1
	cat /proc/sys/net/ipv4/ip_forward /proc/sys/net/ipv6/conf/all/forwarding 2>&1
	ip link show docker0 >/dev/null 2>&1 && echo "docker0 present"
}

# root_restore: puts back the host's firewall (rules and policies) and
# forwarding as they were before.
root_restore() {
	local t ipt
	for ipt in iptables ip6tables; do
		command -v $ipt >/dev/null || continue
		for t in filter nat; do
			$ipt -t $t -F 2>/dev/null
			$ipt -t $t -X 2>/dev/null
		done
		if [ $ipt = iptables ]; then
			$ipt-restore <<<"$IPT4_BEFORE"
			grep '^-P ' <<<"$IPT4_S"
		else
			$ipt-restore <<<"$IPT6_BEFORE"
			grep '^-P ' <<<"$IPT6_S"
		fi | while read -r _ chain policy; do
			$ipt -P "$chain" "$policy"
		done
	done
	echo "$DK_FWD4" >/proc/sys/net/ipv4/ip_forward
	[ -n "$DK_FWD6" ] && echo "$DK_FWD6" >/proc/sys/net/ipv6/conf/all/forwarding
	grep -q '^docker0 present$' <<<"$ROOT_BEFORE" || ip link del docker0 2>/dev/null
}

# root_check WHEN: fails when the host's state differs from before.
root_check() {
	[ "$(root_state)" = "$ROOT_BEFORE" ] ||
		fail "$1: the host changed: $(diff <(echo "$ROOT_BEFORE") <(root_state))"
}

dk_stop() {
	local i
	[ -n "$DK_PID" ] || return 0
	$D ps -aq 2>/dev/null | xargs -r $D rm -f >/dev/null 2>&1
	kill "$DK_PID" 2>/dev/null
	for ((i = 0; i < 300; i++)); do
		kill -0 "$DK_PID" 2>/dev/null || break
		sleep 0.2
	done
	kill -9 "$DK_PID" 2>/dev/null
	[ -n "$DK_CPID" ] && kill -9 "$DK_CPID" 2>/dev/null
	# containerd and its shims live in b's namespace: cl_cleanup ends them.
	DK_PID=
}

dk_cleanup() {
	dk_stop
	cl_cleanup
	if [ -n "${ROOT_BEFORE:-}" ] && [ "$(root_state)" != "$ROOT_BEFORE" ]; then
		echo "the host's firewall or forwarding changed: restoring" >&2
		root_restore
	fi
	# A containerd keeps its shims' sockets under /run/containerd/s.
	[ "${DK_RUNC_EXISTED:-1}" = 0 ] && rm -rf /run/containerd
	rm -rf "$TEST_TMP"
}
trap dk_cleanup EXIT

# One Docker test at a time: so that the host's firewall, which the other
# Docker tests' dockerd changes, is ours to compare.
dockerd_lock || fail "another Docker test holds the engine"
IPT4_BEFORE=$(iptables-save) IPT4_S=$(iptables -S) IPT6_BEFORE= IPT6_S=
if command -v ip6tables-save >/dev/null; then
	IPT6_BEFORE=$(ip6tables-save) IPT6_S=$(ip6tables -S)
fi
DK_FWD4=$(cat /proc/sys/net/ipv4/ip_forward)
DK_FWD6=$(cat /proc/sys/net/ipv6/conf/all/forwarding 2>/dev/null)
DK_RUNC_EXISTED=0
[ -e /run/containerd ] && DK_RUNC_EXISTED=1
ROOT_BEFORE=$(root_state)

cl_net a b
B=$(cl_addr b)

# dockerd in b's network namespace and a private mount namespace (its
# overlay mounts go with it); its containerd is its own, under exec-root.
nsenter --net=/run/netns/${CL_P}b unshare --mount --propagation private \
    /usr/sbin/dockerd --data-root "$DK/root" --exec-root "$DK/exec" \
    --pidfile "$DK/dockerd.pid" -H "$DOCKER_HOST" --bip 172.31.254.1/24 \
    --iptables=true >"$DK/dockerd.log" 2>&1 9>&- &
DK_PID=$!
for ((i = 0; i < 600; i++)); do
	$D info >/dev/null 2>&1 && break
	kill -0 "$DK_PID" 2>/dev/null || break
	sleep 0.2
done
if ! $D info >/dev/null 2>&1; then
	tail -n 15 "$DK/dockerd.log"
	echo "SKIP: dockerd cannot run in a network namespace here"
	exit 77
fi
ip -n ${CL_P}b link show docker0 >/dev/null 2>&1 ||
	fail "dockerd's bridge is not in b's namespace"
root_check "dockerd started in b's namespace"

# The image: busybox-static alone, imported as a root filesystem.
t0=$(date +%s.%N)
mkdir -p "$DK/img/bin" "$DK/img/www"
cp "$BB" "$DK/img/bin/busybox"
echo "hello from a container on b" >"$DK/img/www/index.html"
tar -C "$DK/img" -cf "$DK/img.tar" . || fail "tar of the image"
$D import "$DK/img.tar" $IMG >/dev/null || fail "docker import"
echo "image built and imported in $(awk -v a="$t0" -v b="$(date +%s.%N)" 'BEGIN { printf "%.1f", b - a }') s"

cl_etcd m1
cl_daemon a
cl_daemon b --docker="$DK/docker.sock"
wait_log "${CL_LOG[b]}" 'docker: following' 60

cid=$($D run -d --name web1 --label app=web --label clusterip.io/service=dweb \
    --label clusterip.io/port=5000 -p 18080:5000 $IMG \
    /bin/busybox httpd -f -p 5000 -h /www) || fail "docker run"
DK_CPID=$($D inspect -f '{{.State.Pid}}' "$cid")
# The server answers at B's address and host port, before clusteripd is
# asked anything.
ip netns exec ${CL_P}a curl -s -m 10 --retry 30 --retry-delay 1 \
    --retry-connrefused "http://$B:18080/" | grep -q 'hello from a container on b' ||
	fail "the container does not answer at $B:18080 from A"
root_check "a port published in b's namespace"

cl_poll_api a /v1/pods/default/web1 '"hostPort": *18080'
pod=$(cl_api a http://127.0.0.1:9901/v1/pods/default/web1)
echo "$pod" | grep -Eq "\"podIP\": *\"$B\"" || fail "web1's podIP on A is not $B: $pod"
echo "$pod" | grep -q 'clusterip.io/via-host-port' ||
	fail "web1 on A lacks the via-host-port annotation: $pod"

cl_apply a '{"apiVersion":"v1","kind":"Service","metadata":{"name":"web"},"spec":{"selector":{"app":"web"},"ports":[{"name":"http","port":80,"targetPort":5000}]}}'
vip=$(cl_dig a web.default.svc.cluster.local)
[ -n "$vip" ] || fail "no VIP for web on A"
cl_poll_api a /v1/endpoints/default/web "$B"
eps=$(cl_api a http://127.0.0.1:9901/v1/endpoints/default/web)
echo "$eps" | grep -q '"port": *18080' || fail "A's endpoints of web lack port 18080: $eps"
echo "$eps" | grep -q '"port": *5000' && fail "A's endpoints use the container port: $eps"
got=$(ip netns exec ${CL_P}a curl -s -m 10 --retry 30 --retry-delay 1 \
    --retry-connrefused "http://$vip:80/")
[ "$got" = "hello from a container on b" ] || fail "web's VIP $vip:80 on A: '$got'"
pass "A forwards web's $vip:80 to the container through $B:18080"

# On B the container keeps its own address and port.
cl_poll_api b /v1/endpoints/default/web '"port": *5000'
eps=$(cl_api b http://127.0.0.1:9901/v1/endpoints/default/web)
echo "$eps" | grep -q '"ip": *"172\.31\.254\.' ||
	fail "B's endpoints of web are not the container's own address: $eps"
got=$(ip netns exec ${CL_P}b curl -s -m 10 --retry 30 --retry-delay 1 \
    --retry-connrefused "http://$vip:80/")
[ "$got" = "hello from a container on b" ] || fail "web's VIP $vip:80 on B: '$got'"
pass "B forwards web's $vip:80 to the container's own address, port 5000"

wide=$(ip netns exec ${CL_P}a "$top_builddir/client/clusterip" get pods -o wide)
echo "$wide"
echo "$wide" | grep -Eq "^web1 .*$B" || fail "clusterip get pods -o wide on A: $wide"
eps=$(ip netns exec ${CL_P}a "$top_builddir/client/clusterip" get endpoints web)
echo "$eps"
echo "$eps" | grep -q "^web  *$B:18080 " || fail "clusterip get endpoints web on A: $eps"

# The Service the container's labels define on B reaches A through etcd.
cl_poll_api a /v1/services '"dweb"'
dvip=$(cl_dig a dweb.default.svc.cluster.local)
[ -n "$dvip" ] || fail "no VIP for dweb on A"
cl_poll_api a /v1/endpoints/default/dweb '"port": *18080'
got=$(ip netns exec ${CL_P}a curl -s -m 10 --retry 30 --retry-delay 1 \
    --retry-connrefused "http://$dvip:5000/")
[ "$got" = "hello from a container on b" ] || fail "dweb's VIP $dvip:5000 on A: '$got'"
pass "the label Service dweb of B's dockerd: A forwards $dvip:5000 to $B:18080"

# A port published on B's loopback only is not published for A, which
# could not reach it: such a container goes at its own address.
$D run -d --name web2 --label app=web -p 127.0.0.1:18082:5000 $IMG \
    /bin/busybox httpd -f -p 5000 -h /www >/dev/null || fail "docker run web2"
cl_poll_api a /v1/endpoints/default/web '"name": *"web2"'
eps=$(cl_api a http://127.0.0.1:9901/v1/endpoints/default/web)
echo "$eps" | grep -q '"port": *18082' &&
	fail "a port published on B's loopback is an endpoint on A: $eps"
echo "$eps" | grep -q '"port": *18080' || fail "A lost web1 with web2: $eps"
pass "a port published on B's loopback only is no endpoint on A"
$D rm -f web2 >/dev/null || fail "docker rm web2"

$D stop -t 2 web1 >/dev/null || fail "docker stop"
cl_poll_api a /v1/pods/default/web1 '"hostPort"' absent
cl_poll_api a /v1/endpoints/default/web "$B" absent
cl_poll_api a /v1/services '"dweb"' absent
pass "the container stopped: gone from A's pods and endpoints, dweb gone from A"

dk_stop
root_check "dockerd stopped"
pass "the host's firewall, forwarding and docker0 untouched"
