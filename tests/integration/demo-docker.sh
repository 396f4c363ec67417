#!/bin/bash
# SPDX-License-Identifier: MIT
# The Docker provider against a real dockerd: clusteripd on the host with
# --docker follows busybox httpd containers labelled name=<unique> on the
# default bridge network. Pods turn ready once Docker's health check passes,
# the VIP serves both containers' pages (never the page of a third whose
# health check fails), a stopped container stops taking
# requests, one leaving the network loses its pod until it is connected
# again, and a removed one loses its pod. Then dockerd itself stops and
# comes back (when this test started it): the daemon reconnects, lists
# again and drops the pods of containers that died meanwhile, and picks
# them up again when they restart. Skipped (77) only when dockerd cannot
# run here.
set -u
: "${top_builddir:?}" "${top_srcdir:?}"

skip() {
	echo "############################################################" >&2
	echo "demo-docker.sh: SKIP: $*" >&2
	echo "############################################################" >&2
	exit 77
}
[ "$(id -u)" = 0 ] || skip "needs root to run dockerd"
for t in /usr/bin/docker /usr/sbin/dockerd /bin/busybox iptables-save \
    iptables-restore flock curl dig; do
	command -v "$t" > /dev/null ||
	    skip "$t is missing (apt-get install docker.io busybox-static curl bind9-dnsutils)"
done
/bin/busybox --list | grep -qx httpd || skip "/bin/busybox has no httpd (apt-get install busybox-static)"

P=cipdd$$
IMG=$P-busybox:latest
W=$(mktemp -d "${TMPDIR:-/tmp}/demo-docker.XXXXXX")
. "$top_srcdir/tests/integration/demo-dockerd.sh"
DPID=
cleanup() {
	set +e
	[ -n "$DPID" ] && kill "$DPID" 2>/dev/null && wait "$DPID"
	# Live-restore keeps containers across a dockerd stop: remove them.
	[ "$DOCKERD_OWN" = 1 ] && ! $D info > /dev/null 2>&1 && dockerd_start
	if $D info > /dev/null 2>&1; then
		$D rm -f "$P-be1" "$P-be2" "$P-be3" > /dev/null 2>&1
		$D rmi -f "$IMG" > /dev/null 2>&1
	fi
	dockerd_stop
	rm -rf "$W"
}
trap cleanup EXIT
trap 'exit 1' INT TERM
fail() {
	echo "demo-docker.sh: FAIL: $*" >&2
	tail -n 40 "$W/clusteripd.log" >&2
	exit 1
}
. "$top_srcdir/tests/integration/ports.sh"
# until_ok SECONDS CMD...: runs CMD every 0.2 s until it succeeds.
until_ok() {
	local n=$(( $1 * 5 ))
	shift
	while ! "$@" > /dev/null 2>&1; do
		n=$((n - 1))
		[ $n -gt 0 ] || return 1
		sleep 0.2
	done
}

dockerd_lock || fail "another Docker test holds the engine"
# Containers outlive a stop of a dockerd started here, so one can die
# while no dockerd reports it.
DOCKERD_FLAGS=--live-restore
dockerd_start || skip "dockerd cannot start here"

# A tiny image: busybox's httpd serving /www/index.html.
mkdir -p "$W/rootfs/bin" "$W/rootfs/www" "$W/rootfs/tmp"
cp /bin/busybox "$W/rootfs/bin/"
for a in sh httpd wget sleep cat; do ln -s busybox "$W/rootfs/bin/$a"; done
tar -C "$W/rootfs" -cf "$W/rootfs.tar" . &&
    $D import -c 'ENV PATH=/bin' "$W/rootfs.tar" "$IMG" > /dev/null ||
    fail "docker import"

# run NAME QUOTE: a labelled container serving QUOTE on :8080, healthy
# once its page answers.
run() {
	$D run -d --name "$1" --label "name=$P" --label "clusterip.io/namespace=ddtest" \
	    --health-cmd "wget -q -O /dev/null http://127.0.0.1:8080/" \
	    --health-interval 1s --health-retries 1 --health-start-period 1s \
	    "$IMG" sh -c "echo '$2' > /www/index.html && exec httpd -f -p 8080 -h /www" \
	    > /dev/null || fail "docker run $1"
}

mkdir "$W/manifests"
cat > "$W/manifests/svc.yaml" <<YML
apiVersion: v1
kind: Service
metadata: {name: quotes, namespace: ddtest}
spec:
  selector: {name: $P}
  ports: [{port: 5000, targetPort: 8080}]
YML
dns=$(free_port) api=$(free_port)
"$top_builddir/server/clusteripd" --manifests "$W/manifests" \
    --state-dir "$W/state" --dns-listen 127.0.0.1:$dns \
    --api-listen 127.0.0.1:$api --docker=/var/run/docker.sock \
    --docker-network bridge --log-level debug 2> "$W/clusteripd.log" &
DPID=$!
until_ok 10 grep -q "startup complete" "$W/clusteripd.log" ||
    fail "no startup"
vip=$(dig +short @127.0.0.1 -p $dns quotes.ddtest.svc.cluster.local A)
[ -n "$vip" ] || fail "no VIP for quotes"

pods() { curl -fsS "http://127.0.0.1:$api/v1/pods"; }
has_pod() { pods | grep -q "\"$P-$1\""; }
ready_pods() { grep -c "docker: container .* is pod ddtest/$P-be[12] at [0-9.]*\$" "$W/clusteripd.log"; }
# quotes N: N requests to the VIP; prints "<quote 1 count> <quote 2 count> <failures>".
quotes() {
	local n=0 bad=0
	: > "$W/answers"
	while [ $n -lt "$1" ]; do
		curl -fsS -m 3 "http://$vip:5000/" >> "$W/answers" 2>&1 || bad=$((bad + 1))
		n=$((n + 1))
	done
	echo "$(grep -c '^quote one$' "$W/answers") $(grep -c '^quote two$' "$W/answers") $bad"
}
both_ready() { [ "$(quotes 10 | awk '$1 > 0 && $2 > 0 && $3 == 0')" ]; }

run "$P-be1" "quote one"
run "$P-be2" "quote two"
# be3's health check never passes: a pod, but never an endpoint taking
# connections.
$D run -d --name "$P-be3" --label "name=$P" --label "clusterip.io/namespace=ddtest" \
    --health-cmd "false" --health-interval 1s --health-retries 1 \
    "$IMG" sh -c "echo 'quote three' > /www/index.html && exec httpd -f -p 8080 -h /www" \
    > /dev/null || fail "docker run be3"
until_ok 15 has_pod be1 && until_ok 15 has_pod be2 && until_ok 15 has_pod be3 ||
    fail "no pods for the containers"
# Labels come from inspect, not from events (whose "name" is the container's).
pods | grep -q "\"name\": *\"$P\"" || fail "pod labels: $(pods)"
until_ok 20 both_ready || fail "the VIP never served both: $(quotes 10)"
until_ok 10 sh -c "$D inspect -f '{{.State.Health.Status}}' $P-be3 | grep -qx unhealthy" ||
    fail "be3 should be unhealthy"
set -- $(quotes 30)
echo "30 requests: $1 x quote one, $2 x quote two, $3 failed"
[ "$3" = 0 ] && [ "$1" -gt 0 ] && [ "$2" -gt 0 ] || fail "both expected"
[ $(($1 + $2)) = 30 ] || fail "the unhealthy be3 took requests"
$D rm -f "$P-be3" > /dev/null

$D stop -t 1 "$P-be1" > /dev/null || fail "docker stop"
until_ok 10 sh -c "! curl -fsS http://127.0.0.1:$api/v1/pods | grep -q '\"$P-be1\"'" ||
    fail "pod be1 still there after docker stop"
set -- $(quotes 20)
echo "be1 stopped, 20 requests: $1 x quote one, $2 x quote two, $3 failed"
[ "$1" = 0 ] && [ "$2" = 20 ] && [ "$3" = 0 ] || fail "only be2 expected"

# Off the network, no pod; back on it, the pod returns (network events).
$D network disconnect bridge "$P-be2" || fail "docker network disconnect"
until_ok 10 sh -c "! curl -fsS http://127.0.0.1:$api/v1/pods | grep -q '\"$P-be2\"'" ||
    fail "pod be2 still there after leaving the network"
$D network connect bridge "$P-be2" || fail "docker network connect"
until_ok 10 has_pod be2 || fail "pod be2 not back on the network"
echo "be2 left the network and came back: its pod followed"

$D rm -f "$P-be2" > /dev/null || fail "docker rm"
until_ok 10 sh -c "! curl -fsS http://127.0.0.1:$api/v1/pods | grep -q '\"$P-be2\"'" ||
    fail "pod be2 still there after docker rm"
echo "be2 removed: its pod is gone"

if [ "$DOCKERD_OWN" = 1 ]; then
	$D start "$P-be1" > /dev/null || fail "docker start"
	until_ok 15 has_pod be1 || fail "be1 not back"
	# dockerd stops (be1 lives on: live-restore); be1 dies while no
	# dockerd can report it; only listing again tells the daemon.
	pid=$($D inspect -f '{{.State.Pid}}' "$P-be1")
	[ "${pid:-0}" -gt 1 ] || fail "no pid for be1"
	dockerd_kill
	until_ok 10 grep -q "docker: .*retrying" "$W/clusteripd.log" ||
	    fail "the daemon did not notice dockerd stopping"
	has_pod be1 || fail "be1 lost its pod with dockerd gone"
	kill -9 "$pid"
	until_ok 10 sh -c "! kill -0 $pid" || fail "be1 does not die"
	dockerd_start || fail "dockerd did not restart"
	until_ok 20 sh -c "! curl -fsS http://127.0.0.1:$api/v1/pods | grep -q '\"$P-be1\"'" ||
	    fail "after the resync, the dead container still has a pod"
	[ "$(grep -c "docker: following" "$W/clusteripd.log")" = 2 ] ||
	    fail "no reconnect"
	grep -q "docker: container .* gone (not listed)" "$W/clusteripd.log" ||
	    fail "be1's pod was not dropped by listing again"
	echo "dockerd restarted: the daemon listed again and dropped be1"
	$D start "$P-be1" > /dev/null || fail "docker start after restart"
	until_ok 15 has_pod be1 || fail "be1 not picked up after the restart"
	until_ok 15 sh -c "curl -fsS -m 2 http://$vip:5000/ | grep -q 'quote one'" ||
	    fail "the VIP does not serve be1 after the restart"
	echo "be1 started again: served through the VIP"
else
	echo "demo-docker.sh: a dockerd was already running: not restarting it"
fi
# SIGTERM: a clean exit, nothing for the sanitizers to report.
kill "$DPID"
wait "$DPID"
rc=$?
DPID=
[ "$rc" = 0 ] || fail "clusteripd exited with status $rc"
if grep -q "Sanitizer\|runtime error" "$W/clusteripd.log"; then
	fail "clusteripd: $(grep -A12 "Sanitizer\|runtime error" "$W/clusteripd.log")"
fi
echo "demo-docker.sh: PASS"
