#!/usr/bin/env bash
# Start/stop a peer DNS server on loopback with the generated cluster.local. data.
#
#   bench/dns-peer.sh start PEER [--port 5300] [--data DIR] [--threads N] [--cpus LIST]
#   bench/dns-peer.sh stop  PEER
#
# PEER: nsd | knot | unbound | dnsmasq | pdns
# --data    output dir of gen-dns-data.sh (default /tmp/dnsbench/1000)
# --threads worker threads/processes (nsd server-count, knot udp-workers,
#           unbound num-threads, pdns receiver-threads; dnsmasq is single-threaded)
# --cpus    pin the server with taskset -c LIST (e.g. 0)
# Config, log and pid go to /tmp/dnsbench/run-PEER/. "start" prints the PID once
# the server answers svc-0.default.svc.cluster.local.
set -euo pipefail
. "$(dirname "$0")/dns-lib.sh"
cmd=${1:?start|stop}; peer=${2:?peer}; shift 2
port=5300 data=/tmp/dnsbench/1000 threads=1 cpus=""
while [ $# -gt 0 ]; do
  case "$1" in
    --port) port=$2; shift 2;; --data) data=$2; shift 2;;
    --threads) threads=$2; shift 2;; --cpus) cpus=$2; shift 2;;
    *) echo "unknown arg $1" >&2; exit 2;;
  esac
done
wd=/tmp/dnsbench/run-$peer
data=$(realpath "$data")

if [ "$cmd" = stop ]; then
  [ -f "$wd/pid" ] && stop_pid "$(cat "$wd/pid")" && rm -f "$wd/pid"
  exit 0
fi
[ "$cmd" = start ] || { echo "start|stop" >&2; exit 2; }
[ -f "$wd/pid" ] && kill -0 "$(cat "$wd/pid")" 2>/dev/null && { echo "$peer already running" >&2; exit 1; }
rm -rf "$wd"; mkdir -p "$wd"

case "$peer" in
nsd)
  cat > "$wd/nsd.conf" <<CONF
server:
  ip-address: 127.0.0.1@$port
  server-count: $threads
  reuseport: yes
  rrl-ratelimit: 0            # Debian builds NSD with RRL at 200 qps/source: off for benchmarks
  rrl-whitelist-ratelimit: 0
  username: ""
  chroot: ""
  database: ""
  zonelistfile: "$wd/zone.list"
  xfrdfile: "$wd/xfrd.state"
  xfrdir: "$wd"
  pidfile: "$wd/nsd.pid"
  logfile: "$wd/log"
  verbosity: 0
remote-control:
  control-enable: no
zone:
  name: cluster.local
  zonefile: "$data/cluster.local.zone"
CONF
  run=(nsd -d -c "$wd/nsd.conf");;
knot)
  cat > "$wd/knot.conf" <<CONF
server:
  rundir: "$wd"
  listen: 127.0.0.1@$port
  udp-workers: $threads
  tcp-workers: 1
  background-workers: 1
log:
  - target: stderr
    any: warning
database:
  storage: "$wd"
template:
  - id: default
    storage: "$data"
    file: "%s.zone"
    zonefile-sync: -1
    zonefile-load: whole
    journal-content: none
    semantic-checks: off
zone:
  - domain: cluster.local
CONF
  run=(knotd -c "$wd/knot.conf");;
unbound)
  cat > "$wd/unbound.conf" <<CONF
server:
  interface: 127.0.0.1@$port
  port: $port
  num-threads: $threads
  so-reuseport: yes
  do-daemonize: no
  do-ip6: no
  chroot: ""
  username: ""
  directory: "$wd"
  pidfile: "$wd/unbound.pid"
  use-syslog: no
  verbosity: 0
  access-control: 127.0.0.0/8 allow
  module-config: "iterator"
remote-control:
  control-enable: no
include: "$data/unbound-local.conf"
CONF
  run=(unbound -d -c "$wd/unbound.conf");;
dnsmasq)
  cat > "$wd/dnsmasq.conf" <<CONF
port=$port
listen-address=127.0.0.1
bind-interfaces
no-resolv
no-hosts
no-poll
local=/cluster.local/
local-ttl=30
addn-hosts=$data/dnsmasq-hosts
conf-file=$data/dnsmasq-srv.conf
pid-file=
user=root
log-facility=$wd/log
CONF
  run=(dnsmasq -k -C "$wd/dnsmasq.conf");;
pdns)
  echo "zone \"cluster.local\" { type master; file \"$data/cluster.local.zone\"; };" > "$wd/named.conf"
  cat > "$wd/pdns.conf" <<CONF
launch=bind
bind-config=$wd/named.conf
local-address=127.0.0.1
local-port=$port
daemon=no
guardian=no
socket-dir=$wd
disable-syslog=yes
loglevel=3
receiver-threads=$threads
reuseport=yes
webserver=no
api=no
CONF
  run=(pdns_server --config-dir="$wd");;
*) echo "unknown peer $peer" >&2; exit 2;;
esac

[ -n "$cpus" ] && run=(taskset -c "$cpus" "${run[@]}")
nohup "${run[@]}" > "$wd/stdout.log" 2>&1 &
echo $! > "$wd/pid"
for _ in $(seq 600); do
  if dig +time=1 +tries=1 -p "$port" @127.0.0.1 svc-0.default.svc.cluster.local A +short 2>/dev/null | grep -q '^10\.'; then
    echo "$(cat "$wd/pid")"; exit 0
  fi
  kill -0 "$(cat "$wd/pid")" 2>/dev/null || { echo "$peer died:" >&2; tail -20 "$wd/stdout.log" >&2; exit 1; }
  sleep 0.5
done
echo "$peer did not answer in 300 s" >&2; tail -20 "$wd/stdout.log" >&2; stop_pid "$(cat "$wd/pid")"; exit 1
