#!/usr/bin/env bash
# SPDX-License-Identifier: MIT
# fwd-idle.sh -- memory of clusteripd holding N idle forwarded connections:
# a python3 backend accepts and holds them, a python3 client opens N
# connections through a VIP and waits; RSS/PSS of the daemon before and
# after. Each forwarded connection costs the daemon two descriptors: the
# hard descriptor limit is raised to 2N + 64 when it is lower (this needs
# CAP_SYS_RESOURCE; otherwise N must fit in ulimit -Hn / 2).
#
#   bench/fwd-idle.sh [--cipd PATH] [--conns 10000]
set -euo pipefail
B=$(cd "$(dirname "$0")" && pwd)
cipd="$B/../server/clusteripd"
conns=10000
while [ $# -gt 0 ]; do
	case $1 in
	--cipd) cipd=$2; shift 2 ;;
	--conns) conns=$2; shift 2 ;;
	-h|--help) sed -n '2,10p' "$0"; exit 0 ;;
	*) echo "unknown option $1" >&2; exit 2 ;;
	esac
done
tmp=$(mktemp -d)
pids=()
cleanup() { kill "${pids[@]}" 2>/dev/null || true; wait 2>/dev/null || true; rm -rf "$tmp"; }
trap cleanup EXIT
need=$((conns * 2 + 64))
if [ "$(ulimit -Hn)" != unlimited ] && [ "$(ulimit -Hn)" -lt "$need" ]; then
	ulimit -Hn "$need" 2>/dev/null ||
	    { echo "$conns connections need $need descriptors; ulimit -Hn is $(ulimit -Hn)" >&2; exit 2; }
fi
ulimit -n "$(ulimit -Hn)"
mkdir "$tmp/m"
cat > "$tmp/m/idle.yaml" <<'Y'
kind: Service
metadata: {name: idle}
spec: {clusterIP: 127.96.250.1, selector: {app: idle}, ports: [{port: 7000, targetPort: 17000}]}
---
kind: Pod
metadata: {name: idle-1, labels: {app: idle}}
status: {podIP: 127.0.0.1}
Y
python3 - "$conns" > "$tmp/backend.log" 2>&1 <<'PY' &
import asyncio, sys
held = []
async def handle(r, w):
    held.append(w)
    await r.read()
async def main():
    s = await asyncio.start_server(handle, "127.0.0.1", 17000, backlog=4096)
    await asyncio.sleep(3600)
asyncio.run(main())
PY
pids+=($!)
: > "$tmp/d.log"
"$cipd" --manifests "$tmp/m" --state-dir "$tmp/s" --dns-listen 127.0.0.1:0 \
	--api-listen none --upstream 127.0.0.1:9 2> "$tmp/d.log" &
cpid=$!
pids+=($cpid)
for _ in $(seq 100); do grep -q "startup complete" "$tmp/d.log" && break; sleep 0.1; done
sleep 0.5
mem() { awk '/^Rss:/ {r=$2} /^Pss:/ {p=$2} END {printf "%d %d", r, p}' "/proc/$cpid/smaps_rollup"; }
read -r rss0 pss0 <<<"$(mem)"
python3 - "$conns" <<'PY' &
import socket, sys, time
n = int(sys.argv[1]); socks = []
for i in range(n):
    s = socket.create_connection(("127.96.250.1", 7000)); socks.append(s)
    s.sendall(b"x")
print("opened", len(socks), flush=True)
time.sleep(30)
PY
pids+=($!)
for _ in $(seq 300); do
	n=$(ls "/proc/$cpid/fd" | wc -l)
	[ "$n" -ge $((conns * 2)) ] && break
	sleep 0.1
done
sleep 1
read -r rss1 pss1 <<<"$(mem)"
fds=$(ls "/proc/$cpid/fd" | wc -l)
echo "conns=$conns daemon_fds=$fds rss_idle_kib=$rss0 pss_idle_kib=$pss0 rss_held_kib=$rss1 pss_held_kib=$pss1 per_conn_bytes=$(( (rss1 - rss0) * 1024 / conns ))"
