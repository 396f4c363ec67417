#!/usr/bin/env bash
# SPDX-License-Identifier: MIT
# fwd-family.sh -- the forwarder over each family of one dual-stack
# Service, side by side in one run: wrk keep-alive (50 connections) and
# wrk with a new connection per request against VIP4:80 and [VIP6]:80,
# alternating, in a network namespace of its own (loopback mode, the IPv6
# range routed to lo there), clusteripd on CPU 0, nginx and wrk on CPU 1.
# Prints each run and the medians, and IPv6/IPv4 ratios. Needs root.
#
#   bench/fwd-family.sh [--builddir DIR] [--duration S] [--runs N]
set -euo pipefail
builddir=. duration=5 runs=3
while [ $# -gt 0 ]; do
	case "$1" in
	--builddir) builddir=$2; shift 2 ;;
	--duration) duration=$2; shift 2 ;;
	--runs) runs=$2; shift 2 ;;
	*) echo "unknown arg $1" >&2; exit 2 ;;
	esac
done
for t in wrk nginx taskset ip; do
	command -v $t > /dev/null || { echo "$t missing" >&2; exit 2; }
done
cipd=$(cd "$builddir" && pwd)/server/clusteripd
[ -x "$cipd" ] || { echo "no $cipd" >&2; exit 2; }
NS=cipfam$$ W=$(mktemp -d) DP="" NP=""
cleanup() {
	[ -n "$DP" ] && kill "$DP" 2> /dev/null
	[ -n "$NP" ] && kill "$NP" 2> /dev/null
	wait 2> /dev/null
	ip netns del "$NS" 2> /dev/null
	rm -rf "$W"
}
trap cleanup EXIT
X() { ip netns exec "$NS" "$@"; }
ip netns add "$NS"
ip -n "$NS" link set lo up
ip -n "$NS" -6 addr add fd00:90::1/128 dev lo nodad
# A new connection per request uses up ports otherwise.
X sysctl -qw net.ipv4.tcp_tw_reuse=1 "net.ipv4.ip_local_port_range=1024 65000"
mkdir -p "$W/m" "$W/tmp"
cat > "$W/nginx.conf" <<N
worker_processes 1; daemon off; pid $W/nginx.pid; error_log $W/error.log;
events { worker_connections 16384; }
http { access_log off; keepalive_requests 1000000; default_type text/plain;
  client_body_temp_path $W/tmp; proxy_temp_path $W/tmp;
  fastcgi_temp_path $W/tmp; uwsgi_temp_path $W/tmp; scgi_temp_path $W/tmp;
  server { listen 127.0.10.1:18081 backlog=4096;
    listen [fd00:90::1]:18081 backlog=4096; location / { return 200 "ok\n"; } } }
N
# Not through X: $! must be the server itself, for the clean-up's kill.
ip netns exec "$NS" taskset -c 1 nginx -e "$W/error.log" -p "$W" \
    -c "$W/nginx.conf" &
NP=$!
cat > "$W/m/web.yaml" <<Y
apiVersion: v1
kind: Service
metadata: {name: web}
spec:
  selector: {app: web}
  ipFamilyPolicy: RequireDualStack
  clusterIPs: [127.96.7.10, "fd00:96::10"]
  ports: [{port: 80, targetPort: 18081}]
---
apiVersion: v1
kind: Pod
metadata: {name: a, labels: {app: web}}
status: {podIPs: [{ip: 127.0.10.1}, {ip: "fd00:90::1"}]}
Y
ip netns exec "$NS" taskset -c 0 "$cipd" --manifests "$W/m" --state-dir "$W/state" \
    --dns-listen 127.0.0.1:15353 --api-listen none --upstream 127.0.0.1:9 \
    --vip-range 127.96.0.0/16 --vip-range fd00:96::/112 2> "$W/d.log" &
DP=$!
for _ in $(seq 100); do
	grep -q "startup complete" "$W/d.log" && break
	sleep 0.1
done
X curl -gfsS -m 5 "http://[fd00:96::10]/" > /dev/null
X curl -fsS -m 5 "http://127.96.7.10/" > /dev/null

rate() {	# rate URL [HEADER]: wrk's requests per second
	X taskset -c 1 wrk -t1 -c50 -d"$duration" ${2:+-H "$2"} "$1" |
	    awk '/Requests\/sec/ { print $2 }'
}
: > "$W/runs"
for r in $(seq "$runs"); do
	for fam in v4 v6; do
		[ $fam = v4 ] && u=http://127.96.7.10/ || u="http://[fd00:96::10]/"
		ka=$(rate "$u")
		nc=$(rate "$u" "Connection: close")
		echo "run $r $fam keep-alive $ka req/s, new connection $nc conn/s"
		echo "$fam $ka $nc" >> "$W/runs"
	done
done
python3 - "$W/runs" <<'PY'
import statistics, sys
rows = [l.split() for l in open(sys.argv[1])]
med = {}
for fam in ("v4", "v6"):
    ka = [float(r[1]) for r in rows if r[0] == fam]
    nc = [float(r[2]) for r in rows if r[0] == fam]
    med[fam] = (statistics.median(ka), statistics.median(nc))
    print("%s median: keep-alive %.0f req/s, new connection %.0f conn/s"
          % (fam, med[fam][0], med[fam][1]))
print("IPv6/IPv4: keep-alive %.2fx, new connection %.2fx"
      % (med["v6"][0] / med["v4"][0], med["v6"][1] / med["v4"][1]))
PY
