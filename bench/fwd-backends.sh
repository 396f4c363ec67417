#!/usr/bin/env bash
# Start/stop the forwarding-benchmark backends on loopback: one nginx (tiny static
# 200 response, access_log off) listening on each of --ports, plus an iperf3 server.
#
#   bench/fwd-backends.sh start [--ports 18081,18082] [--iperf-port 15201]
#                               [--workers 1] [--cpus LIST]
#   bench/fwd-backends.sh stop
#
# --iperf-port 0 starts no iperf3 server. --cpus pins nginx and iperf3 (taskset -c).
# Files and PIDs live in /tmp/fwdbench/backends/.
set -euo pipefail
. "$(dirname "$0")/fwd-lib.sh"
cmd=${1:?start|stop}; shift
ports=18081,18082 iport=15201 workers=1 cpus=""
while [ $# -gt 0 ]; do
  case "$1" in
    --ports) ports=$2; shift 2;; --iperf-port) iport=$2; shift 2;;
    --workers) workers=$2; shift 2;; --cpus) cpus=$2; shift 2;;
    *) echo "unknown arg $1" >&2; exit 2;;
  esac
done
wd=/tmp/fwdbench/backends
if [ "$cmd" = stop ]; then
  for f in "$wd"/*.pid; do [ -f "$f" ] && stop_pid "$(cat "$f")" && rm -f "$f"; done; exit 0
fi
[ "$cmd" = start ] || { echo "start|stop" >&2; exit 2; }
rm -rf "$wd"; mkdir -p "$wd"
pin=(); [ -n "$cpus" ] && pin=(taskset -c "$cpus")
{
  echo "worker_processes $workers; daemon off; pid $wd/nginx.run; error_log $wd/error.log;"
  echo "worker_rlimit_nofile 65536; events { worker_connections 16384; }"
  echo "http { access_log off; keepalive_requests 1000000; default_type text/plain;"
  echo "  client_body_temp_path $wd/tmp; proxy_temp_path $wd/tmp; fastcgi_temp_path $wd/tmp;"
  echo "  uwsgi_temp_path $wd/tmp; scgi_temp_path $wd/tmp;"
  for p in ${ports//,/ }; do
    echo "  server { listen 127.0.0.1:$p backlog=4096; location / { return 200 \"ok $p\n\"; } }"
  done
  echo "}"
} > "$wd/nginx.conf"
nohup "${pin[@]}" nginx -e "$wd/error.log" -p "$wd" -c "$wd/nginx.conf" > "$wd/nginx.out" 2>&1 &
echo $! > "$wd/nginx-master.pid"
if [ "$iport" != 0 ]; then
  nohup "${pin[@]}" iperf3 -s -B 127.0.0.1 -p "$iport" > "$wd/iperf3.out" 2>&1 &
  echo $! > "$wd/iperf3.pid"
fi
for p in ${ports//,/ }; do
  for _ in $(seq 50); do curl -sf "http://127.0.0.1:$p/" > /dev/null 2>&1 && continue 2; sleep 0.1; done
  echo "backend on $p not answering:" >&2; cat "$wd/error.log" "$wd/nginx.out" >&2; exit 1
done
echo "nginx $(cat "$wd/nginx-master.pid") on $ports; iperf3 $(cat "$wd/iperf3.pid" 2>/dev/null || echo -) on $iport"
