#!/bin/sh
# SPDX-License-Identifier: MIT
# run-demo.sh -- the seed's demo on this host, on loopback: clusteripd with
# conf/demo's manifests, two backends (127.0.10.1:5000, 127.0.10.2:5000),
# and the front app on 127.0.0.1:8080 asking the daemon's DNS for
# "backend", whose VIP forwards to the two backends. Ctrl-C stops it all.
#
#   run-demo.sh [--check N] [--builddir DIR]
#
# --check N sends N requests to the front app, prints how many each quote
# got, and exits 0 only when every request was answered, both quotes
# appeared, and dig and `clusterip describe svc backend` show the VIP.
# Addresses can be moved with DEMO_DNS, DEMO_HTTP, DEMO_API, DEMO_VIP_RANGE
# and DEMO_BACKENDS (two addresses; the pods of conf/demo move with them).
set -u

srcdir=$(cd "$(dirname "$0")/.." && pwd)
builddir=${top_builddir:-$(pwd)}
check=0
while [ $# -gt 0 ]; do
	case $1 in
	--check) check=$2; shift 2 ;;
	--builddir) builddir=$2; shift 2 ;;
	-h|--help) sed -n '3,13s/^# \{0,1\}//p' "$0"; exit 0 ;;
	*) echo "run-demo.sh: unknown argument $1" >&2; exit 2 ;;
	esac
done
case $check in ''|*[!0-9]*) echo "run-demo.sh: --check wants a count" >&2; exit 2 ;; esac

DNS=${DEMO_DNS:-127.0.0.1:5300}
HTTP=${DEMO_HTTP:-127.0.0.1:8080}
API=${DEMO_API:-127.0.0.1:9901}
VIPS=${DEMO_VIP_RANGE:-127.96.0.0/16}
set -- ${DEMO_BACKENDS:-127.0.10.1 127.0.10.2}
BE1=$1 BE2=$2
QUOTE1="Move your honourable arse!"
QUOTE2="Stop whining and get to work!"
daemon=$builddir/server/clusteripd
client=$builddir/client/clusterip
for p in "$daemon" "$client" "$builddir/demo/backend" "$builddir/demo/frontapp"; do
	[ -x "$p" ] || { echo "run-demo.sh: $p is not built (run make)" >&2; exit 1; }
done

work=$(mktemp -d "${TMPDIR:-/tmp}/clusterip-demo.XXXXXX")
pids=
cleanup() {
	trap - EXIT INT TERM
	for p in $pids; do kill "$p" 2>/dev/null; done
	for p in $pids; do wait "$p" 2>/dev/null; done
	rm -rf "$work"
}
trap cleanup EXIT
trap 'echo; echo "Stopping the demo."; exit 0' INT TERM

# wait_line FILE PATTERN PID: until PATTERN appears in FILE (10 s at most).
wait_line() {
	i=0
	while ! grep -q "$2" "$1" 2>/dev/null; do
		if ! kill -0 "$3" 2>/dev/null || [ $i -ge 200 ]; then
			echo "run-demo.sh: no \"$2\" in $1:" >&2
			sed 's/^/  | /' "$1" >&2
			return 1
		fi
		sleep 0.05
		i=$((i + 1))
	done
}

manifests=$srcdir/conf/demo
if [ "$BE1 $BE2" != "127.0.10.1 127.0.10.2" ]; then
	manifests=$work/manifests
	mkdir "$manifests"
	cp "$srcdir/conf/demo/service.yaml" "$manifests/"
	sed -e "s/127\.0\.10\.1\$/$BE1/" -e "s/127\.0\.10\.2\$/$BE2/" \
	    -e "s/127\.0\.10\.1}/$BE1}/" -e "s/127\.0\.10\.2}/$BE2}/" \
	    "$srcdir/conf/demo/pods.yaml" > "$manifests/pods.yaml"
fi

"$daemon" --manifests "$manifests" --state-dir "$work/state" \
    --dns-listen "$DNS" --api-listen "$API" --vip-range "$VIPS" \
    --log-level info \
    2> "$work/clusteripd.log" &
pids="$pids $!"
wait_line "$work/clusteripd.log" "startup complete" $! || exit 1

"$builddir/demo/backend" --listen "$BE1:5000" --quote "$QUOTE1" \
    --name backend-1 2> "$work/backend-1.log" &
pids="$pids $!"
wait_line "$work/backend-1.log" "backend: listening" $! || exit 1
"$builddir/demo/backend" --listen "$BE2:5000" --quote "$QUOTE2" \
    --name backend-2 2> "$work/backend-2.log" &
pids="$pids $!"
wait_line "$work/backend-2.log" "backend: listening" $! || exit 1
"$builddir/demo/frontapp" --listen "$HTTP" --dns "$DNS" \
    2> "$work/frontapp.log" &
pids="$pids $!"
wait_line "$work/frontapp.log" "frontapp: listening" $! || exit 1

# The readiness probes must pass once before the VIP forwards anywhere.
i=0
until curl -fsS -m 2 "http://$HTTP/" > "$work/first" 2>&1; do
	if [ $i -ge 100 ]; then
		echo "run-demo.sh: the front app never answered:" >&2
		cat "$work/first" >&2
		for f in "$work"/*.log; do echo "== $f" >&2; tail -n 20 "$f" >&2; done
		exit 1
	fi
	sleep 0.1
	i=$((i + 1))
done

dnshost=${DNS%:*}; dnsport=${DNS##*:}
if [ "$check" -gt 0 ]; then
	: > "$work/answers"
	n=0 bad=0
	while [ $n -lt "$check" ]; do
		curl -fsS -m 5 "http://$HTTP/" >> "$work/answers" 2>&1 || bad=$((bad + 1))
		n=$((n + 1))
	done
	c1=$(grep -c "^Quote of the day: $QUOTE1\$" "$work/answers")
	c2=$(grep -c "^Quote of the day: $QUOTE2\$" "$work/answers")
	echo "$check requests: $c1 x \"$QUOTE1\", $c2 x \"$QUOTE2\", $bad failed"
	if [ "$bad" -ne 0 ] || [ "$c1" -eq 0 ] || [ "$c2" -eq 0 ] ||
	    [ $((c1 + c2)) -ne "$check" ]; then
		grep -v '^Hi there!$' "$work/answers" | grep -v '^Quote of the day:' | head -5 >&2
		for f in "$work"/*.log; do echo "== $f" >&2; tail -n 20 "$f" >&2; done
		exit 1
	fi
	# What the demo invites to try works too.
	vip=$(dig +short @"$dnshost" -p "$dnsport" backend.default.svc.cluster.local A)
	echo "dig backend.default.svc.cluster.local: $vip"
	case $vip in
	127.*) ;;
	*) echo "run-demo.sh: no VIP from dig" >&2; exit 1 ;;
	esac
	"$client" describe svc backend --server "http://$API" > "$work/describe" 2>&1
	cat "$work/describe"
	grep -q "^IP: *$vip\$" "$work/describe" &&
	    grep -q "^Endpoints: *$BE1:5000,$BE2:5000\$" "$work/describe" || {
		echo "run-demo.sh: describe svc backend does not show the VIP and both endpoints" >&2
		exit 1
	}
	exit 0
fi

cat <<MSG

The seed's demo is running (logs in $work):
  clusteripd   DNS $DNS, API http://$API, manifests $manifests
  backend-1    $BE1:5000  "$QUOTE1"
  backend-2    $BE2:5000  "$QUOTE2"
  frontapp     http://$HTTP/  (resolves "backend" through $DNS)

Try:
  curl http://$HTTP
  dig @$dnshost -p $dnsport backend.default.svc.cluster.local
  $client describe svc backend --server http://$API
  kill $(echo $pids | cut -d' ' -f2)    # stop backend-1: every request still answered

Ctrl-C stops everything.
MSG
cat "$work/first"
wait
