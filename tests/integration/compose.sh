#!/bin/bash
# SPDX-License-Identifier: MIT
# The seed's demo under docker-compose, for real, with the Service defined
# by compose labels alone: a dockerd started here (or the one already
# running), images built offline from the local bookworm image of
# demo/compose/base-image.sh (debootstrap, cached in $CLUSTERIP_CACHE,
# default /var/cache/clusterip-test), then `docker-compose up --build` of
# demo/compose. Checked: the front app, published on 127.0.0.1, shows both
# quotes through the VIP of the label-defined Service "backend"; the
# network is dual-stack: the Service (PreferDualStack by label) has an
# IPv6 VIP too, which a container resolves by AAAA and reaches at
# [VIP6]:5000 (neighbour discovery of clusterip's /128), getting both
# quotes over the backends' IPv6 addresses; the CLI
# on the host reaches the daemon through the unix socket shared with it;
# `--scale` up and down changes the endpoints; a container whose health
# check fails leaves them and comes back (logged both ways); a container
# defining the Service differently is warned about and changes nothing;
# the Service goes with its last container. Everything started is stopped
# and removed; the firewall rules, its FORWARD policy and ip_forward,
# which dockerd changes, are restored. Skipped (77) only when dockerd
# cannot run here.
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
    iptables-save iptables-restore flock curl python3; do
	command -v "$t" > /dev/null ||
	    skip "$t is missing (apt-get install docker.io docker-compose debootstrap curl python3)"
done

P=cipcompose$$
W=$(mktemp -d "${TMPDIR:-/tmp}/compose-test.XXXXXX")
BASE=clusterip-bookworm:offline
CLI=$top_builddir/client/clusterip
. "$top_srcdir/tests/integration/demo-dockerd.sh"
export DOCKER_SOCKET=/var/run/docker.sock
export CLUSTERIP_BASE_IMAGE=$BASE COMPOSE_PROJECT_NAME=$P
export CLUSTERIP_RUN_DIR=$W/run
export CLUSTERIP_SERVER=unix:$W/run/api.sock
UP=0 IMPORTED=0
compose() { (cd "$top_srcdir/demo/compose" && docker-compose -p "$P" "$@"); }

cleanup() {
	set +e
	$D rm -f "$P-stray" > /dev/null 2>&1
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
	[ "$UP" = 1 ] && compose logs --no-color --tail 40 >&2 2>&1
	exit 1
}
# until_ok SECONDS CMD...: runs CMD every 0.5 s until it succeeds.
until_ok() {
	local n=$(( $1 * 2 ))
	shift
	while ! "$@" > /dev/null 2>&1; do
		n=$((n - 1))
		[ $n -gt 0 ] || return 1
		sleep 0.5
	done
}

dockerd_lock || fail "another Docker test holds the engine"
dockerd_start || skip "dockerd cannot start here"
$D info --format 'engine {{.ServerVersion}}, storage {{.Driver}}'

$D image inspect "$BASE" > /dev/null 2>&1 || IMPORTED=1
DOCKER=$D sh "$top_srcdir/demo/compose/base-image.sh" "$BASE" ||
    fail "no base image"
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
# The daemon's image holds clusteripd and clusterip, not the demo's apps.
$D run --rm --entrypoint sh clusteripd:latest -c \
    'command -v clusteripd && command -v clusterip && ! command -v backend' \
    > /dev/null || fail "the clusteripd image is not clusteripd alone"

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
Q1='^Quote of the day: Move your honourable arse!$'
Q2='^Quote of the day: Stop whining and get to work!$'
bad=$(count 40 "$W/answers")
c1=$(grep -c "$Q1" "$W/answers")
c2=$(grep -c "$Q2" "$W/answers")
echo "40 requests: $c1 + $c2 quotes, $bad failed"
[ "$bad" = 0 ] && [ "$c1" -gt 0 ] && [ "$c2" -gt 0 ] && [ $((c1 + c2)) = 40 ] ||
    fail "both quotes expected on every request: $(grep -v '^Hi there' "$W/answers" | head -3)"

# The CLI on the host, through the socket in the shared directory.
"$CLI" get svc > "$W/svc" 2>&1 || fail "clusterip get svc from the host: $(cat "$W/svc")"
cat "$W/svc"
grep -q "^backend .*$vip .*5000/TCP" "$W/svc" || fail "no Service backend from labels"
"$CLI" describe svc backend > "$W/describe" 2>&1 || fail "describe: $(cat "$W/describe")"
grep -q '^Selector: *clusterip.io/service=backend$' "$W/describe" ||
    fail "selector: $(cat "$W/describe")"
# The API's delete refuses what Docker owns.
"$CLI" delete svc backend > "$W/delete" 2>&1 && fail "the API deleted Docker's Service"
grep -q "docker" "$W/delete" || fail "delete refused without naming docker: $(cat "$W/delete")"
# Dual-stack: the IPv6 VIP, resolved by AAAA in a container and reached
# there, forwards to the backends' IPv6 addresses.
"$CLI" get svc -o wide > "$W/svcw" 2>&1 || fail "get svc -o wide: $(cat "$W/svcw")"
vip6=$(awk '$1 == "backend" { print $3 }' "$W/svcw" | cut -d, -f2)
case $vip6 in
fd00:29::1:0:0:*) echo "backend has the IPv6 VIP $vip6 too" ;;
*) fail "no IPv6 VIP of fd00:29:0:0:1::/112 in: $(cat "$W/svcw")" ;;
esac
aaaa=$($D exec "${P}_frontapp_1" getent ahostsv6 backend | awk 'NR == 1 { print $1 }')
[ "$aaaa" = "$vip6" ] || fail "backend's AAAA in the front app: \"$aaaa\""
: > "$W/answers6"
for _ in $(seq 16); do
	$D exec "${P}_frontapp_1" curl -gfsS -m 5 "http://[$vip6]:5000/" >> "$W/answers6" 2>&1 ||
	    fail "[$vip6]:5000 from the front app: $(tail -n 1 "$W/answers6")"
	echo >> "$W/answers6"
done
grep -q "honourable" "$W/answers6" && grep -q "whining" "$W/answers6" ||
    fail "both quotes expected over [$vip6]:5000: $(sort "$W/answers6" | uniq -c)"
echo "[$vip6]:5000 serves both quotes over IPv6 (${SECONDS}s)"
# And from inside the project, as the README shows it.
compose exec -T clusterip clusterip get pods > "$W/pods" 2>&1 ||
    fail "clusterip get pods: $(cat "$W/pods")"
grep -q "${P}-quotes1-1" "$W/pods" && grep -q "${P}-quotes2-1" "$W/pods" &&
    ! grep -q "${P}-clusterip-1" "$W/pods" || fail "unexpected pods: $(cat "$W/pods")"

# endpoints READY NOTREADY: the backend Service has that many of each.
endpoints() {
	"$CLI" get endpoints backend -o json 2>/dev/null | python3 -c '
import json, sys
d = json.load(sys.stdin)
r = n = 0
for s in d.get("subsets") or []:
    r += len(s.get("addresses") or [])
    n += len(s.get("notReadyAddresses") or [])
sys.exit(0 if (r, n) == (int(sys.argv[1]), int(sys.argv[2])) else 1)
' "$1" "$2"
}
until_ok 10 endpoints 2 0 || fail "endpoints: $("$CLI" get endpoints backend 2>&1)"

# Scaling up adds endpoints; requests reach the new replicas.
compose up -d --no-recreate --scale quotes1=3 quotes1 > "$W/scale.log" 2>&1 ||
    { cat "$W/scale.log" >&2; fail "--scale quotes1=3"; }
until_ok 30 endpoints 4 0 || fail "after --scale quotes1=3: $("$CLI" get endpoints backend 2>&1)"
"$CLI" get endpoints backend
echo "scaled up to 4 endpoints (${SECONDS}s)"

# A health check failing takes the container out, and back in.
compose exec -T --index 2 quotes1 touch /tmp/drain || fail "docker exec"
until_ok 30 endpoints 3 1 || fail "an unhealthy container stays: $("$CLI" get endpoints backend 2>&1)"
bad=$(count 20 "$W/answers")
[ "$bad" = 0 ] || fail "$bad requests failed with one replica unhealthy"
compose exec -T --index 2 quotes1 rm /tmp/drain || fail "docker exec"
until_ok 30 endpoints 4 0 || fail "a healthy container stays out: $("$CLI" get endpoints backend 2>&1)"
echo "unhealthy and back (${SECONDS}s)"

# A container defining backend otherwise: warned about, nothing changes.
$D run -d --name "$P-stray" --network "${P}_svcnet" \
    --label clusterip.io/service=backend --label clusterip.io/port=5001 \
    clusterip-demo:latest backend --quote stray > /dev/null || fail "docker run"
until_ok 30 endpoints 5 0 || fail "the stray container is no endpoint"
"$CLI" get svc backend | grep -q "5000/TCP" || fail "the stray container changed the Service"
$D rm -f "$P-stray" > /dev/null

# Scaling down removes them.
compose up -d --no-recreate --scale quotes1=1 quotes1 > "$W/scale.log" 2>&1 ||
    { cat "$W/scale.log" >&2; fail "--scale quotes1=1"; }
until_ok 30 endpoints 2 0 || fail "after --scale quotes1=1: $("$CLI" get endpoints backend 2>&1)"
bad=$(count 20 "$W/answers")
[ "$bad" = 0 ] || fail "$bad requests failed after scaling down"
echo "scaled down to 2 endpoints (${SECONDS}s)"

# The Service goes with its last container.
compose stop -t 1 quotes1 quotes2 > /dev/null 2>&1 || fail "docker-compose stop"
until_ok 30 sh -c '! "$1" get svc backend' _ "$CLI" || fail "the Service outlived its containers"

# What the daemon logged of it all.
compose logs --no-color clusterip > "$W/clusterip.log" 2>&1
for want in "container ${P}-quotes[12]-1 (.*) defines service default/backend" \
    "container ${P}-quotes1-2 (.*) is not ready; endpoint of default/backend" \
    "container ${P}-quotes1-2 (.*) is ready; endpoint of default/backend" \
    "container ${P}-stray (.*) defines service default/backend with ports 5001->5001/TCP, not 5000->5000/TCP; keeping the definition of container ${P}-quotes" \
    "service default/backend gone with its last container"; do
	grep -q "docker: $want" "$W/clusterip.log" ||
	    { cat "$W/clusterip.log" >&2; fail "not logged: $want"; }
done
echo "compose.sh: PASS (${SECONDS}s)"
