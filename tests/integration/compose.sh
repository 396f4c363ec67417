#!/bin/bash
# SPDX-License-Identifier: MIT
# The seed's demo under docker-compose, for real: a dockerd started here
# (or the one already running), images built offline from a Debian
# bookworm root filesystem made with debootstrap (cached in
# $CLUSTERIP_CACHE, default /var/cache/clusterip-test), then
# `docker-compose up --build` of demo/compose. The front app, published on
# 127.0.0.1, must show both quotes over many requests, and keep answering
# every request once one backend is stopped. Everything started is
# stopped and removed; the firewall rules, its FORWARD policy and
# ip_forward, which dockerd changes, are restored. Skipped (77) only when
# dockerd cannot run here.
set -u
: "${top_builddir:?}" "${top_srcdir:?}"

skip() {
	echo "############################################################" >&2
	echo "compose.sh: SKIP: $*" >&2
	echo "############################################################" >&2
	exit 77
}
[ "$(id -u)" = 0 ] || skip "needs root to run dockerd"
for t in /usr/bin/docker /usr/sbin/dockerd /usr/bin/docker-compose /usr/sbin/debootstrap \
    iptables-save iptables-restore flock curl; do
	command -v "$t" > /dev/null ||
	    skip "$t is missing (apt-get install docker.io docker-compose debootstrap curl)"
done

P=cipcompose$$
W=$(mktemp -d "${TMPDIR:-/tmp}/compose-test.XXXXXX")
CACHE=${CLUSTERIP_CACHE:-/var/cache/clusterip-test}
MIRROR=${CLUSTERIP_DEBIAN_MIRROR:-http://deb.debian.org/debian}
BASE=clusterip-bookworm:offline
. "$top_srcdir/tests/integration/demo-dockerd.sh"
export DOCKER_SOCKET=/var/run/docker.sock
export CLUSTERIP_BASE_IMAGE=$BASE COMPOSE_PROJECT_NAME=$P
UP=0 IMPORTED=0
compose() { (cd "$top_srcdir/demo/compose" && docker-compose -p "$P" "$@"); }

cleanup() {
	set +e
	if [ "$UP" = 1 ]; then
		compose down -t 1 --rmi all -v > /dev/null 2>&1
	fi
	[ "$IMPORTED" = 1 ] && $D rmi -f "$BASE" > /dev/null 2>&1
	dockerd_stop
	rm -rf "$W"
}
trap cleanup EXIT
trap 'exit 1' INT TERM
fail() {
	echo "compose.sh: FAIL: $*" >&2
	[ "$UP" = 1 ] && compose logs --no-color --tail 30 >&2 2>&1
	exit 1
}

dockerd_lock || fail "another Docker test holds the engine"
dockerd_start || skip "dockerd cannot start here"
$D info --format 'engine {{.ServerVersion}}, storage {{.Driver}}'

# The offline base image: bookworm with the build and runtime packages.
PKGS=gcc,libc6-dev,make,autoconf,automake,pkgconf,libevent-dev,libldns-dev,libc-ares-dev,libyaml-dev,libjansson-dev,libcmocka-dev,libcap-dev,libevent-2.1-7,libevent-core-2.1-7,libevent-extra-2.1-7,libldns3,libc-ares2,libyaml-0-2,libjansson4,libcap2,curl
tarball=$CACHE/bookworm-$(echo "$PKGS $MIRROR" | sha256sum | cut -c1-12).tar
if [ ! -s "$tarball" ]; then
	echo "debootstrap bookworm from $MIRROR (cached in $tarball)"
	mkdir -p "$CACHE"
	timeout 600 debootstrap --variant=minbase --include="$PKGS" bookworm \
	    "$W/rootfs" "$MIRROR" > "$W/debootstrap.log" 2>&1 ||
	    { tail -n 20 "$W/debootstrap.log" >&2; fail "debootstrap"; }
	rm -rf "$W/rootfs/var/cache/apt/archives/"*.deb
	tar -C "$W/rootfs" -cf "$tarball.tmp" . && mv "$tarball.tmp" "$tarball" ||
	    fail "cannot write $tarball"
	rm -rf "$W/rootfs"
fi
if ! $D image inspect "$BASE" > /dev/null 2>&1; then
	IMPORTED=1
	$D import "$tarball" "$BASE" > /dev/null || fail "docker import"
fi
echo "base image $BASE ready (${SECONDS}s)"

# Free ports: none taken on the host.
port=$(( $(od -An -N2 -tu2 /dev/urandom) % 12000 + 20000 ))
while ss -Hltn "sport = :$port" | grep -q .; do port=$((port + 1)); done
export CLUSTERIP_DEMO_PORT=$port
URL=http://127.0.0.1:$port/

UP=1
echo "docker-compose up --build (project $P, front app on $URL)"
timeout 900 bash -c 'cd "$1/demo/compose" && docker-compose -p "$2" up --build -d' \
    _ "$top_srcdir" "$P" > "$W/up.log" 2>&1 ||
    { tail -n 40 "$W/up.log" >&2; fail "docker-compose up --build"; }

# The backends' health checks pass, the daemon sees them, the VIP serves.
i=0
until curl -fsS -m 2 "$URL" > "$W/first" 2>&1; do
	[ $i -lt 120 ] || fail "no answer from $URL: $(cat "$W/first")"
	sleep 0.5
	i=$((i + 1))
done
cat "$W/first"
echo "the front app answers (${SECONDS}s)"

vip=$($D exec "${P}_frontapp_1" getent ahostsv4 backend | awk 'NR == 1 { print $1 }')
case $vip in
172.29.0.1[3-8][0-9]|172.29.0.19[01]) echo "backend -> $vip (a VIP of 172.29.0.128/26)" ;;
*) fail "backend resolved to \"$vip\" in the front app" ;;
esac

# count N FILE: N requests, answers appended to FILE; prints the failures.
count() {
	local n=0 bad=0
	: > "$2"
	while [ $n -lt "$1" ]; do
		curl -fsS -m 5 "$URL" >> "$2" 2>&1 || bad=$((bad + 1))
		n=$((n + 1))
	done
	echo $bad
}
bad=$(count 40 "$W/answers")
c1=$(grep -c '^Quote of the day: Move your honourable arse!$' "$W/answers")
c2=$(grep -c '^Quote of the day: Stop whining and get to work!$' "$W/answers")
echo "40 requests: $c1 + $c2 quotes, $bad failed"
[ "$bad" = 0 ] && [ "$c1" -gt 0 ] && [ "$c2" -gt 0 ] && [ $((c1 + c2)) = 40 ] ||
    fail "both quotes expected on every request: $(grep -v '^Hi there' "$W/answers" | head -3)"

# The containers are pods, but for clusterip's own (clusterip.io/ignore).
$D exec "${P}_clusterip_1" clusterip get pods > "$W/pods" 2>&1 || fail "clusterip get pods: $(cat "$W/pods")"
cat "$W/pods"
grep -q "${P}-backend1-1" "$W/pods" && grep -q "${P}-backend2-1" "$W/pods" &&
    ! grep -q "${P}-clusterip-1" "$W/pods" || fail "unexpected pods"

# One backend stops: every request is still answered, by the other one.
$D stop -t 1 "${P}_backend1_1" > /dev/null || fail "docker stop"
bad=$(count 30 "$W/answers")
c2=$(grep -c '^Quote of the day: Stop whining and get to work!$' "$W/answers")
echo "backend1 stopped, 30 requests: $c2 x quote 2, $bad failed"
[ "$bad" = 0 ] && [ "$c2" = 30 ] ||
    fail "after docker stop: $(grep -v '^Hi there' "$W/answers" | head -3)"

# The daemon followed the containers through the Docker socket.
compose logs --no-color clusterip > "$W/clusterip.log" 2>&1
grep -q "docker: container .* is pod default/${P}-backend1-1" "$W/clusterip.log" &&
    grep -q "docker: container .* gone" "$W/clusterip.log" ||
    { cat "$W/clusterip.log" >&2; fail "the daemon did not follow the containers"; }
$D exec "${P}_clusterip_1" clusterip describe svc backend 2>&1 || true
echo "compose.sh: PASS (${SECONDS}s)"
