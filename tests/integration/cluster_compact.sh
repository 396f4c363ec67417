#!/usr/bin/env bash
# SPDX-License-Identifier: MIT
# cluster_compact.sh -- a compaction between two pages of a joining
# host's read: etcd holds 25,000 pods of a host (3 pages of 10,000
# keys); while host B reads them, a loop writes a key outside the prefix
# and compacts to its revision every 50 ms, so the snapshot of B's first
# page is compacted away before its next page. Once B's log says so,
# the loop deletes one pod, adds another and stops: B must start its
# read over and end with exactly what etcd holds -- every pod, the new
# one, not the deleted one.
set -u
. "$top_srcdir/tests/integration/lib.sh"
. "$top_srcdir/tests/integration/cluster_lib.sh"

N=25000
cl_net b
cl_etcd m1
GW=http://$CL_E:2379
# Pods of a host that publishes nothing else (keys without a lease).
ip netns exec ${CL_P}e python3 - "$GW" "$N" <<'PY' || fail "loading $N pods into etcd"
import base64, json, sys, urllib.request
gw, n = sys.argv[1], int(sys.argv[2])
b64 = lambda s: base64.b64encode(s.encode()).decode()
def put(i):
    obj = {"apiVersion": "v1", "kind": "Pod",
           "metadata": {"name": "p-%d" % i, "labels": {"app": "x"}},
           "status": {"podIP": "10.%d.%d.%d" % (200 + i // 65536, i // 256 % 256, i % 256)}}
    v = json.dumps({"host": "10.178.0.99", "object": obj})
    return {"requestPut": {"key": b64("/clusterip/hosts/10.178.0.99/pods/default/p-%d" % i),
                           "value": b64(v)}}
for start in range(0, n, 128):
    body = json.dumps({"success": [put(i) for i in range(start, min(n, start + 128))]})
    urllib.request.urlopen(gw + "/v3/kv/txn", body.encode(), timeout=60).read()
PY

# The compaction loop: stops once B logged a page of a compacted
# snapshot (or after 300 s, a guard), changing two pods on its way out.
log_b="$TEST_TMP/b.log"
: >"$log_b"
ip netns exec ${CL_P}e python3 - "$GW" "$log_b" >"$TEST_TMP/compact.out" 2>&1 <<'PY' &
import base64, json, re, sys, time, urllib.request
gw, log = sys.argv[1], sys.argv[2]
b64 = lambda s: base64.b64encode(s.encode()).decode()
def post(path, body):
    return json.loads(urllib.request.urlopen(gw + path, json.dumps(body).encode(),
                                             timeout=30).read())
end = time.time() + 300
n = 0
while time.time() < end:
    if re.search(r"cannot read .*compacted", open(log).read()):
        break
    r = post("/v3/kv/put", {"key": b64("/cetc-tick"), "value": b64(str(n))})
    post("/v3/kv/compaction", {"revision": r["header"]["revision"]})
    n += 1
    time.sleep(0.05)
else:
    sys.exit("no read of B met a compaction")
p = "/clusterip/hosts/10.178.0.99/pods/default/"
post("/v3/kv/deleterange", {"key": b64(p + "p-0")})
v = json.dumps({"host": "10.178.0.99", "object": {"apiVersion": "v1", "kind": "Pod",
    "metadata": {"name": "p-late"}, "status": {"podIP": "10.250.0.1"}}})
post("/v3/kv/put", {"key": b64(p + "p-late"), "value": b64(v)})
print("compactions:", n)
PY
LOOP=$!
TEST_PIDS+=($LOOP)

DAEMON_PREFIX=(ip netns exec ${CL_P}b)
start_daemon "$log_b" --dns-listen 127.0.0.1:53 --api-listen 127.0.0.1:9901 \
    --state-dir "$TEST_TMP/state-b" --etcd "$CL_EPS" \
    --advertise-address "$(cl_addr b)" --upstream 127.0.0.1:9
CL_LOG[b]=$DAEMON_LOG CL_PID[b]=$DAEMON_PID
wait "$LOOP" || fail "the compaction loop: $(cat "$TEST_TMP/compact.out")"
grep -Eq 'cannot read .*compacted' "$log_b" || fail "B's read never met a compaction"
wait_log "$log_b" 'etcd: read [0-9]+ key' 300
line=$(grep -E 'etcd: read [0-9]+ key' "$log_b")
echo "$line" | grep -q "read $N key(s) .* in 3 page(s): 0 services, $N pods here" ||
	fail "B's read after the compaction: $line"
pass "a compaction between two pages: B read again, $N keys in 3 pages ($(cat "$TEST_TMP/compact.out"))"

# (Polled: a read that began just before the loop's last two writes has
# them from its watch.)
cl_poll_api b /v1/pods/default/p-late '"name": *"p-late"'
cl_poll_api b /v1/pods/default/p-0 '"name": *"p-0"' absent
for i in 1 9999 10000 19999 20000 $((N - 1)); do
	cl_api b http://127.0.0.1:9901/v1/pods/default/p-$i | grep -q "\"name\": *\"p-$i\"" ||
		fail "B lacks p-$i"
done
pass "nothing lost: B holds every pod, the one added meanwhile, not the one deleted"
