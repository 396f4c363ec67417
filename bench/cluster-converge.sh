#!/usr/bin/env bash
# SPDX-License-Identifier: MIT
# cluster-converge.sh -- hosts sharing a registry through etcd: how long a
# change applied on host A takes to be answered by host C's DNS.
#
#   bench/cluster-converge.sh [--cipd PATH] [--changes 1000] [--members 3]
#                             [--startup 0] [--etcd-dir DIR] [--perf FILE]
#
# Builds network namespaces on one bridge (names cbench<pid>*): etcd's
# (Debian's etcd-server, --members of them) and hosts A, B and C, each
# running clusteripd with --etcd. From inside C, a client applies
# --changes new Services one at a time through A's API and, from the
# moment each apply is sent (its reply is read afterwards), asks C's DNS
# for the new name in a loop until it answers: that is one convergence
# time. Prints median, p90, p99 and max in ms, and for reference the
# round trip of one put through etcd's gateway alone.
# --startup N first publishes N Services from A's manifests, then starts
# a daemon on C and reports the time from its start to the first correct
# answer for the last of them, and its memory (RSS, PSS); --perf FILE
# records that daemon with `perf record --call-graph dwarf` until then
# (perf report -i FILE).
# --etcd-dir puts etcd's data there (e.g. /dev/shm, standing in for
# etcd on machines of its own, whose disk the daemons' fsyncs do not
# share). Everything is removed on exit.
set -euo pipefail
B=$(cd "$(dirname "$0")" && pwd)
cipd="" changes=1000 members=3 startup=0 edir= perfout=
while [ $# -gt 0 ]; do
  case "$1" in
    --cipd) cipd=$2; shift 2;; --changes) changes=$2; shift 2;;
    --members) members=$2; shift 2;; --startup) startup=$2; shift 2;;
    --etcd-dir) edir=$2; shift 2;; --perf) perfout=$2; shift 2;;
    -h|--help) sed -n '2,/^set /{/^#/p}' "$0"; exit 0;;
    *) echo "unknown arg $1" >&2; exit 2;;
  esac
done
[ -n "$cipd" ] || cipd=$(command -v clusteripd || echo "$B/../server/clusteripd")
[ -x "$cipd" ] || { echo "clusteripd not found: --cipd PATH" >&2; exit 2; }
[ "$(id -u)" = 0 ] || { echo "needs root (network namespaces)" >&2; exit 2; }
command -v etcd > /dev/null || { echo "etcd missing: apt-get install etcd-server etcd-client" >&2; exit 2; }

P=cbench$$ W=$(mktemp -d /tmp/cluster-converge.XXXXXX) E=10.179.0.2
ED=$(mktemp -d "${edir:-$W}/etcd.XXXXXX")
NS=()
cleanup() {
  local n
  for n in "${NS[@]}"; do ip netns pids "$n" 2> /dev/null | xargs -r kill -9 2> /dev/null || true; done
  for n in "${NS[@]}"; do ip netns del "$n" 2> /dev/null || true; done
  rm -rf "$W" "$ED"
}
trap cleanup EXIT
ip netns add ${P}sw; NS+=(${P}sw)
ip -n ${P}sw link add br0 type bridge; ip -n ${P}sw link set br0 up
i=2
for h in e a b c; do
  ip netns add $P$h; NS+=($P$h); ip -n $P$h link set lo up
  ip link add v$P$h type veth peer name eth0 netns $P$h
  ip link set v$P$h netns ${P}sw; ip -n ${P}sw link set v$P$h master br0 up
  ip -n $P$h addr add 10.179.0.$i/24 dev eth0; ip -n $P$h link set eth0 up
  i=$((i + 1))
done
cl="" eps=""
for m in $(seq 1 "$members"); do
  cp=$((2379 + (m - 1) * 10000)); cl="$cl${cl:+,}m$m=http://$E:$((cp + 1))"
  eps="$eps${eps:+,}http://$E:$cp"
done
for m in $(seq 1 "$members"); do
  cp=$((2379 + (m - 1) * 10000))
  ip netns exec ${P}e etcd --name m$m --data-dir "$ED/m$m" --listen-client-urls http://$E:$cp \
    --advertise-client-urls http://$E:$cp --listen-peer-urls http://$E:$((cp + 1)) \
    --initial-advertise-peer-urls http://$E:$((cp + 1)) --initial-cluster "$cl" \
    --quota-backend-bytes 8589934592 > "$W/m$m.log" 2>&1 &
done
for _ in $(seq 600); do
  ip netns exec ${P}e etcdctl --endpoints "$eps" endpoint health > /dev/null 2>&1 && break; sleep 0.1
done

# daemon H ARGS...: clusteripd on host H; waits for its first etcd read.
daemon() {
  local h=$1 a
  shift
  a=$(ip -n $P$h -4 -o addr show eth0 | awk '{sub(/\/.*/, "", $4); print $4}')
  ip netns exec $P$h "$cipd" --dns-listen 127.0.0.1:53 --api-listen "$a:9901" --api-insecure \
    --state-dir "$W/state-$h" --etcd "$eps" --advertise-address "$a" --upstream 127.0.0.1:9 \
    --vip-range 127.64.0.0/10 \
    --log-level warn "$@" 2> "$W/$h.log" &
  echo $! > "$W/$h.pid"
  for _ in $(seq 6000); do
    [ -n "$(ip netns exec $P$h dig +short +time=1 +tries=1 @127.0.0.1 dns-version.cluster.local TXT 2> /dev/null)" ] && return 0
    sleep 0.01
  done
  echo "clusteripd on $h did not start: $(tail -5 "$W/$h.log")" >&2
  exit 1
}

if [ "$startup" -gt 0 ]; then
  mkdir -p "$W/man"
  python3 - "$startup" > "$W/man/svcs.yaml" << 'PY'
import sys
for i in range(int(sys.argv[1])):
    print("---\napiVersion: v1\nkind: Service\nmetadata: {name: svc-%d}\nspec: {}" % i)
PY
  daemon a --manifests "$W/man"
  last=svc-$((startup - 1)).default.svc.cluster.local
  for _ in $(seq 6000); do
    n=$(ip netns exec ${P}e etcdctl --endpoints "$eps" get /clusterip/hosts/ --prefix --keys-only --limit 1 -w json 2> /dev/null |
      python3 -c 'import json,sys; print(json.load(sys.stdin).get("count", 0))' 2> /dev/null || echo 0)
    [ "$n" -ge "$startup" ] && break; sleep 0.5
  done
  # Every VIP claimed too, so the joining host meets a settled cluster.
  for _ in $(seq 6000); do
    n=$(ip netns exec ${P}e etcdctl --endpoints "$eps" get /clusterip/vips/ --prefix --keys-only --limit 1 -w json 2> /dev/null |
      python3 -c 'import json,sys; print(json.load(sys.stdin).get("count", 0))' 2> /dev/null || echo 0)
    [ "$n" -ge "$startup" ] && break; sleep 0.5
  done
  want=$(ip netns exec ${P}a dig +short @127.0.0.1 "$last")
  t0=$(date +%s.%N)
  ip netns exec ${P}c "$cipd" --dns-listen 127.0.0.1:53 --api-listen none --state-dir "$W/state-c" \
    --etcd "$eps" --advertise-address 10.179.0.5 --upstream 127.0.0.1:9 --vip-range 127.64.0.0/10 \
    --log-level warn 2> "$W/c.log" &
  cpid=$!
  if [ -n "$perfout" ]; then
    perf record -q --call-graph dwarf -F 300 -p "$cpid" -o "$perfout" 2> /dev/null &
    ppid=$!
  fi
  until [ "$(ip netns exec ${P}c dig +short +time=1 +tries=1 @127.0.0.1 "$last" 2> /dev/null)" = "$want" ]; do
    sleep 0.01
  done
  t1=$(date +%s.%N)
  if [ -n "$perfout" ]; then kill -INT "$ppid"; wait "$ppid" || true; fi
  # Its CPU time to then (user + system): less at the mercy of the load.
  cpu=$(awk -v hz="$(getconf CLK_TCK)" '{ printf "%.2f", ($14 + $15) / hz }' /proc/$cpid/stat)
  sleep 1
  rss=$(awk '/^Rss:/ {print $2}' /proc/$cpid/smaps_rollup)
  pss=$(awk '/^Pss:/ {print $2}' /proc/$cpid/smaps_rollup)
  printf 'startup: %d services in etcd: first correct answer on a joining host after %.2f s (%s s of CPU), RSS %d KiB, PSS %d KiB\n' \
    "$startup" "$(echo "$t1 - $t0" | bc)" "$cpu" "$rss" "$pss"
  kill "$cpid"; wait "$cpid" 2> /dev/null || true
  exit 0
fi

for h in a b c; do daemon $h; done
ip netns exec ${P}c python3 - "$changes" 10.179.0.3 "$E:2379" << 'PY'
import json, random, socket, statistics, struct, sys, time, urllib.request
n, api, etcd = int(sys.argv[1]), sys.argv[2], sys.argv[3]
s = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
s.settimeout(1)
def answered(name):
    qid = random.randrange(65536)
    q = struct.pack(">HHHHHH", qid, 0x0100, 1, 0, 0, 0)
    q += b"".join(bytes([len(p)]) + p.encode() for p in name.split(".")) + b"\0"
    q += struct.pack(">HH", 1, 1)
    s.sendto(q, ("127.0.0.1", 53))
    while True:
        try:
            r = s.recv(4096)
        except socket.timeout:
            return False
        if len(r) >= 12 and struct.unpack(">H", r[:2])[0] == qid:
            flags, _, an = struct.unpack(">HHH", r[2:8])
            return flags & 0xf == 0 and an > 0
run = "%x" % random.randrange(1 << 32)
conv = []
for i in range(n):
    name = "conv-%s-%d" % (run, i)
    body = json.dumps({"apiVersion": "v1", "kind": "Service", "metadata": {"name": name},
                       "spec": {"selector": {"app": name}, "ports": [{"port": 80}]}}).encode()
    # The whole request leaves in one write; C is asked from then on,
    # and A's reply is read once C answered.
    c = socket.create_connection((api, 9901), timeout=30)
    c.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
    req = (b"POST /v1/apply HTTP/1.1\r\nHost: a\r\nContent-Type: application/json\r\n"
           b"Content-Length: %d\r\nConnection: close\r\n\r\n" % len(body)) + body
    t0 = time.perf_counter()
    c.sendall(req)
    fqdn = name + ".default.svc.cluster.local"
    while not answered(fqdn):
        if time.perf_counter() - t0 > 30:
            sys.exit("no answer for %s on C after 30 s" % name)
    conv.append((time.perf_counter() - t0) * 1000)
    reply = b""
    while True:
        d = c.recv(65536)
        if not d:
            break
        reply += d
    c.close()
    if not reply.startswith(b"HTTP/1.1 200"):
        sys.exit("apply of %s: %r" % (name, reply[:200]))
def pct(v, p):
    v = sorted(v)
    return v[min(len(v) - 1, int(len(v) * p))]
print("convergence A apply -> C DNS, %d changes: median %.1f ms, p90 %.1f ms, p99 %.1f ms, max %.1f ms"
      % (n, statistics.median(conv), pct(conv, 0.9), pct(conv, 0.99), max(conv)))
# The floor: one put through etcd's gateway, as the daemon writes.
puts = []
for i in range(min(n, 300)):
    req = urllib.request.Request("http://%s/v3/kv/put" % etcd, method="POST",
                                 data=b'{"key":"L2JlbmNoL3g=","value":"eQ=="}')
    t0 = time.perf_counter()
    urllib.request.urlopen(req, timeout=30).read()
    puts.append((time.perf_counter() - t0) * 1000)
print("etcd alone, one put through the gateway from C: median %.1f ms, p99 %.1f ms"
      % (statistics.median(puts), pct(puts, 0.99)))
PY
