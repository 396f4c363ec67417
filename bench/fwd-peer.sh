#!/usr/bin/env bash
# Start/stop a peer TCP forwarder (L4 load balancer) on loopback.
#
#   bench/fwd-peer.sh start PEER [--listen 127.0.0.1:18080] [--backends 127.0.0.1:18081,127.0.0.1:18082]
#                                [--iperf-listen 127.0.0.1:15200] [--iperf-backend 127.0.0.1:15201]
#                                [--threads 1] [--cpus LIST] [--splice]
#   bench/fwd-peer.sh stop PEER
#
# PEER: haproxy (mode tcp, roundrobin, nbthread=--threads) | nginx (stream module,
#       roundrobin, worker_processes=--threads) | socat (fork per connection, first backend only)
# The iperf listener forwards to one backend: iperf3's control and data connections
# must reach the same server. "start" prints the PID (pin with --cpus, e.g. 0).
# --splice: haproxy only, adds "option splice-auto" (kernel splice(2), off by default).
set -euo pipefail
. "$(dirname "$0")/fwd-lib.sh"
cmd=${1:?start|stop}; peer=${2:?peer}; shift 2
listen=127.0.0.1:18080 backends=127.0.0.1:18081,127.0.0.1:18082
ilisten=127.0.0.1:15200 ibackend=127.0.0.1:15201 threads=1 cpus="" splice=""
while [ $# -gt 0 ]; do
  case "$1" in
    --listen) listen=$2; shift 2;; --backends) backends=$2; shift 2;;
    --iperf-listen) ilisten=$2; shift 2;; --iperf-backend) ibackend=$2; shift 2;;
    --threads) threads=$2; shift 2;; --cpus) cpus=$2; shift 2;;
    --splice) splice="  option splice-auto"; shift;;
    *) echo "unknown arg $1" >&2; exit 2;;
  esac
done
wd=/tmp/fwdbench/$peer
if [ "$cmd" = stop ]; then
  for f in "$wd"/*.pid; do [ -f "$f" ] && stop_pid "$(cat "$f")" && rm -f "$f"; done; exit 0
fi
[ "$cmd" = start ] || { echo "start|stop" >&2; exit 2; }
rm -rf "$wd"; mkdir -p "$wd"
pin=(); [ -n "$cpus" ] && pin=(taskset -c "$cpus")

case "$peer" in
haproxy)
  {
    echo -e "global\n  nbthread $threads\n  maxconn 4000\n"
    echo -e "defaults\n  mode tcp\n  balance roundrobin\n  timeout connect 5s\n  timeout client 60s\n  timeout server 60s\n$splice\n"
    echo -e "listen web\n  bind $listen"
    i=0; for b in ${backends//,/ }; do i=$((i + 1)); echo "  server b$i $b"; done
    echo -e "\nlisten iperf\n  bind $ilisten\n  server i1 $ibackend"
  } > "$wd/haproxy.cfg"
  nohup "${pin[@]}" haproxy -db -f "$wd/haproxy.cfg" > "$wd/out.log" 2>&1 &
  echo $! > "$wd/main.pid";;
nginx)
  {
    echo "load_module /usr/lib/nginx/modules/ngx_stream_module.so;"
    echo "worker_processes $threads; daemon off; pid $wd/nginx.run; error_log $wd/error.log;"
    echo "worker_rlimit_nofile 65536; events { worker_connections 16384; }"
    echo "stream {"
    echo "  upstream web {"; for b in ${backends//,/ }; do echo "    server $b;"; done; echo "  }"
    echo "  server { listen $listen backlog=4096; proxy_pass web; }"
    echo "  server { listen $ilisten; proxy_pass $ibackend; }"
    echo "}"
  } > "$wd/nginx.conf"
  nohup "${pin[@]}" nginx -e "$wd/error.log" -p "$wd" -c "$wd/nginx.conf" > "$wd/out.log" 2>&1 &
  echo $! > "$wd/main.pid";;
socat)
  first=${backends%%,*}
  nohup "${pin[@]}" socat TCP-LISTEN:${listen##*:},bind=${listen%:*},fork,reuseaddr,backlog=4096 \
    TCP:$first > "$wd/out.log" 2>&1 &
  echo $! > "$wd/main.pid"
  nohup "${pin[@]}" socat TCP-LISTEN:${ilisten##*:},bind=${ilisten%:*},fork,reuseaddr \
    TCP:$ibackend > "$wd/iperf.log" 2>&1 &
  echo $! > "$wd/iperf.pid";;
*) echo "unknown peer $peer" >&2; exit 2;;
esac
for _ in $(seq 50); do
  curl -sf "http://$listen/" > /dev/null 2>&1 && { cat "$wd/main.pid"; exit 0; }
  kill -0 "$(cat "$wd/main.pid")" 2>/dev/null || break
  sleep 0.1
done
echo "$peer not forwarding on $listen:" >&2; cat "$wd"/*.log >&2; exit 1
