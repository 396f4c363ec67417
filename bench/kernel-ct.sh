#!/usr/bin/env bash
# What reading conntrack at a scrape of /metrics costs in the kernel
# path: clusteripd in --proxy-mode nftables in a network namespace of its
# own, --services Services of one endpoint each, --entries established
# TCP entries translated to them (created with conntrack -I --dst-nat,
# as the table's DNAT would) and as many untranslated ones beside them
# (which the kernel's status filter leaves out of the dump); then
# --scrapes scrapes of /metrics, each printing the daemon's own debug
# line (entries of the table's, milliseconds of the dump) and the
# scrape's wall time.
#
#   bench/kernel-ct.sh [--builddir DIR] [--entries 10000] [--services 100]
#                      [--scrapes 5]
#
# Needs root and conntrack (Debian conntrack). Traffic: none (the
# entries are made, not sent).
set -euo pipefail
here=$(cd "$(dirname "$0")" && pwd)
builddir=$here/.. entries=10000 services=100 scrapes=5
while [ $# -gt 0 ]; do
  case "$1" in
    --builddir) builddir=$2; shift 2;; --entries) entries=$2; shift 2;;
    --services) services=$2; shift 2;; --scrapes) scrapes=$2; shift 2;;
    -h|--help) sed -n '2,/^set /{/^#/p}' "$0"; exit 0;;
    *) echo "unknown arg $1" >&2; exit 2;;
  esac
done
[ "$(id -u)" = 0 ] || { echo "needs root (a network namespace)" >&2; exit 2; }
command -v conntrack > /dev/null || { echo "conntrack missing (apt-get install conntrack)" >&2; exit 2; }
[ "$services" -le 250 ] || { echo "--services: 250 at most" >&2; exit 2; }

NS=cipct$$ T=$(mktemp -d /tmp/kernel-ct.XXXXXX) DPID=""
cleanup() {
  [ -n "$DPID" ] && kill "$DPID" 2> /dev/null && wait "$DPID" 2> /dev/null
  ip netns del "$NS" 2> /dev/null
  rm -rf "$T"
}
trap cleanup EXIT
trap 'exit 1' INT TERM
ip netns add "$NS"
X="ip netns exec $NS"
ip -n "$NS" link set lo up
# The API's listener resolves with AI_ADDRCONFIG: an IPv4 address beyond lo.
ip -n "$NS" link add d0 type veth peer name d1
ip -n "$NS" link set d0 up
ip -n "$NS" addr add 10.235.0.1/24 dev d0
mkdir -p "$T/m" "$T/state"
for i in $(seq "$services"); do
  cat <<Y
apiVersion: v1
kind: Service
metadata: {name: s$i}
spec:
  selector: {app: s$i}
  clusterIP: 127.97.0.$i
  ports: [{port: 80, targetPort: 8080}]
---
apiVersion: v1
kind: Pod
metadata: {name: p$i, labels: {app: s$i}}
status: {podIP: 127.0.11.$i}
---
Y
done > "$T/m/all.yaml"
$X "$builddir/server/clusteripd" --proxy-mode nftables --manifests "$T/m" \
    --state-dir "$T/state" --dns-listen 127.0.0.1:5399 \
    --api-listen 127.0.0.1:9399 --upstream 127.0.0.1:9 \
    --vip-range 127.97.0.0/16 --log-level debug 2> "$T/daemon.log" &
DPID=$!
for _ in $(seq 200); do
  grep -q "startup complete" "$T/daemon.log" && break
  sleep 0.05
done
grep -q "startup complete" "$T/daemon.log" || { tail "$T/daemon.log"; exit 1; }

# Entries: client 10.236.x.y:port -> VIP:80, translated to the endpoint.
awk -v n="$entries" -v s="$services" 'BEGIN {
  for (i = 0; i < n; i++) {
    k = i % s + 1; c = int(i / 60000); p = 1024 + i % 60000
    printf "-I -p tcp -s 10.236.%d.1 -d 127.97.0.%d --sport %d --dport 80 --state ESTABLISHED -t 3600 -u SEEN_REPLY,ASSURED --dst-nat 127.0.11.%d:8080\n", c, k, p, k
    printf "-I -p tcp -s 10.237.%d.1 -d 10.238.0.%d --sport %d --dport 80 --state ESTABLISHED -t 3600 -u SEEN_REPLY,ASSURED\n", c, k, p
  }
}' > "$T/entries"
$X conntrack -R "$T/entries" 2>&1 | tail -1
echo "conntrack holds $($X conntrack -C) entries ($entries translated)"
for _ in $(seq "$scrapes"); do
  t0=$(date +%s%N)
  $X curl -sS -o /dev/null --max-time 30 http://127.0.0.1:9399/metrics
  t1=$(date +%s%N)
  line=$(grep "conntrack read:" "$T/daemon.log" | tail -1)
  echo "${line#*kernel: }; scrape $(( (t1 - t0) / 1000000 )) ms"
done
$X curl -sS http://127.0.0.1:9399/metrics |
  grep '^clusterip_forward_connections_active{service="default/s1",' || true
