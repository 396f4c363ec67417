#!/bin/bash
# SPDX-License-Identifier: MIT
# Failures through the VIP: a killed endpoint costs no failed request and
# shows as unhealthy in the metrics until it is back; a held connection outlives its pod's deletion while new ones avoid it; no
# endpoint means an immediate reset; an endpoint's reset reaches the
# client as a reset; a client that half-closes still gets the whole
# response. Listeners and metrics follow the manifests.
. "$top_srcdir/tests/integration/proxy_lib.sh"

P1=$(free_port) P2=$(free_port) B1=$(free_port) B2=$(free_port) R=$(free_port)
VK=$(rand_vip) VD=$(rand_vip) VN=$(rand_vip) VH=$(rand_vip) VR=$(rand_vip)
backend http a 127.0.10.13 "$P1"; PA=$BPID
backend http b 127.0.10.14 "$P2"
backend banner a 127.0.10.13 "$B1"
backend banner b 127.0.10.14 "$B2"
backend rst r 127.0.10.14 "$R"
docs() {
	svc kill "$VK" 80 web
	svc drain "$VD" 7000 held "" round-robin
	[ "${NONE:-}" = no ] || svc none "$VN" 80 nothing
	svc half "$VH" "${HPORT:-80}" web
	svc rst "$VR" 80 rst
	pod rst-1 127.0.10.14 "$R" rst
	pod web-a 127.0.10.13 "$P1" web
	pod web-b 127.0.10.14 "$P2" web
	pod held-b 127.0.10.14 "$B2" held
}
{ docs; pod held-a 127.0.10.13 "$B1" held; } | manifest all.yaml
start_daemon
for v in "$VK:80" "$VD:7000" "$VN:80" "$VH:80" "$VR:80"; do
	wait_listen "${v%:*}" "${v#*:}"
done

# No endpoint: the connection is reset at once, not left to time out.
python3 - "$VN" 80 <<'PY' || fail "no endpoint"
import socket, sys, time
t0 = time.monotonic()
try:
    # The reset may even beat connect() back to the caller.
    s = socket.create_connection((sys.argv[1], int(sys.argv[2])), 2)
    s.settimeout(2)
    d = s.recv(100)
    raise SystemExit("no reset: got %r" % d)
except ConnectionResetError:
    pass
dt = (time.monotonic() - t0) * 1000
assert dt < 100, "reset after %.1f ms" % dt
print("no endpoint: reset after %.1f ms" % dt)
PY

# The endpoint resets: so does the forwarder, toward the client.
python3 - "$VR" 80 <<'PY' || fail "reset passed on"
import socket, sys
s = socket.create_connection((sys.argv[1], int(sys.argv[2])), 2)
s.settimeout(2)
s.sendall(b"hello\n")
try:
    d = s.recv(100)
    raise SystemExit("no reset: got %r" % d)
except ConnectionResetError:
    print("reset: passed on to the client")
PY

# Half-close: request, FIN, then the whole 1 MiB response.
python3 - "$VH" 80 <<'PY' || fail "half-close"
import socket, sys
s = socket.create_connection((sys.argv[1], int(sys.argv[2])), 5)
s.settimeout(5)
s.sendall(b"GET /big HTTP/1.0\r\nHost: x\r\n\r\n")
s.shutdown(socket.SHUT_WR)
buf = b""
while True:
    d = s.recv(65536)
    if not d:
        break
    buf += d
head, _, body = buf.partition(b"\r\n\r\n")
assert head.startswith(b"HTTP/1.0 200"), head[:40]
assert body == bytes(range(256)) * 4096, len(body)
print("half-close: %d body bytes" % len(body))
PY

# A killed endpoint: every request still succeeds (retried elsewhere).
kill "$PA"; wait "$PA" 2>/dev/null
out=$(hits "http://$VK/" 40) || fail "killed endpoint: a request failed"
[ "$(echo "$out" | grep -c '^b$')" -eq 40 ] || fail "killed endpoint: $out"
echo "killed endpoint: 40/40 from b"
curl -s "http://127.0.0.1:$APIPORT/metrics" > "$T/metrics"
grep -q '^clusterip_forward_connect_failures_total{service="default/kill",endpoint="default/web-a"} [1-9]' "$T/metrics" ||
    fail "no connect failure counted: $(grep connect_failures "$T/metrics")"
# Passive health shows: web-a stays ready (nothing probes it) but is not
# healthy while the forwarder skips it; web-b is both.
ka='service="default/kill",endpoint="default/web-a"'
kb='service="default/kill",endpoint="default/web-b"'
grep -qx "clusterip_endpoint_healthy{$ka} 0" "$T/metrics" ||
    fail "web-a not shown unhealthy: $(grep "endpoint_.*$ka" "$T/metrics")"
grep -qx "clusterip_endpoint_ready{$ka} 1" "$T/metrics" ||
    fail "web-a not shown ready: $(grep "endpoint_.*$ka" "$T/metrics")"
grep -qx "clusterip_endpoint_healthy{$kb} 1" "$T/metrics" ||
    fail "web-b not shown healthy: $(grep "endpoint_.*$kb" "$T/metrics")"
grep -qx 'clusterip_service_endpoints_ready{service="default/kill"} 2' "$T/metrics" &&
    grep -qx 'clusterip_service_endpoints_healthy{service="default/kill"} 1' "$T/metrics" ||
    fail "service endpoint counts: $(grep 'service_endpoints.*kill' "$T/metrics")"
grep -q '^clusterip_service_connect_failures_total{service="default/kill"} [1-9]' "$T/metrics" ||
    fail "no connect failure counted for the service"
echo "passive health: web-a ready 1 healthy 0, web-b healthy 1; service 2 ready, 1 healthy"
# web-a comes back: once its skip ends the gauge says so and it is used.
backend http a 127.0.10.13 "$P1"
ok=0
for _ in $(seq 400); do
	curl -s "http://127.0.0.1:$APIPORT/metrics" |
	    grep -qx "clusterip_endpoint_healthy{$ka} 1" && { ok=1; break; }
	sleep 0.1
done
[ $ok = 1 ] || fail "web-a never shown healthy again"
out=$(hits "http://$VK/" 40) || fail "recovered endpoint: a request failed"
echo "$out" | grep -q '^a$' || fail "recovered endpoint not used: $out"
curl -s "http://127.0.0.1:$APIPORT/metrics" |
    grep -qx "clusterip_endpoint_healthy{$ka} 1" ||
    fail "web-a unhealthy after serving"
curl -s "http://127.0.0.1:$APIPORT/metrics" |
    grep -qx 'clusterip_service_endpoints_healthy{service="default/kill"} 2' ||
    fail "service not back to 2 healthy endpoints"
echo "passive health: web-a healthy again and used"

# Drain: hold a connection to held-a, delete the pod, the connection lives.
mkfifo "$T/ctl"
python3 - "$VD" 7000 "$T/ctl" > "$T/drain.out" 2>&1 <<'PY' &
import socket, sys
vip, port, ctl = sys.argv[1], int(sys.argv[2]), sys.argv[3]
for _ in range(4):
    s = socket.create_connection((vip, port), 2)
    s.settimeout(5)
    f = s.makefile("rwb")
    if f.readline().strip() == b"a":
        break
    s.close()
else:
    raise SystemExit("never reached a")
print("held", flush=True)
open(ctl).read()            # wait for the pod's deletion
f.write(b"ping\n"); f.flush()
print(f.readline().strip().decode(), flush=True)
PY
HP=$!
PIDS="$PIDS $HP"
for _ in $(seq 100); do grep -q held "$T/drain.out" && break; sleep 0.05; done
grep -q held "$T/drain.out" || fail "drain: $(cat "$T/drain.out")"
docs | manifest all.yaml
# New connections avoid held-a once the change is in.
ok=0
for _ in $(seq 100); do
	n=$(python3 - "$VD" 7000 <<'PY'
import socket, sys
names = []
for _ in range(6):
    s = socket.create_connection((sys.argv[1], int(sys.argv[2])), 2)
    s.settimeout(2)
    names.append(s.makefile("rb").readline().strip().decode())
    s.close()
print("".join(names))
PY
)
	[ "$n" = bbbbbb ] && { ok=1; break; }
	sleep 0.05
done
[ $ok = 1 ] || fail "drain: new connections still reach held-a: $n"
echo go > "$T/ctl"
wait "$HP" || fail "drain: held connection: $(cat "$T/drain.out")"
grep -q '^a:ping$' "$T/drain.out" || fail "drain: $(cat "$T/drain.out")"
echo "drain: held connection to the deleted pod still answered"

# The drained endpoint's series go once its last connection has.
key='endpoint="default/held-a"'
for _ in $(seq 100); do
	curl -s "http://127.0.0.1:$APIPORT/metrics" | grep -q "$key" || break
	sleep 0.05
done
curl -s "http://127.0.0.1:$APIPORT/metrics" | grep -q "$key" &&
    fail "metrics of the deleted pod remain"
# The service's sums keep what went through the deleted endpoint.
curl -s "http://127.0.0.1:$APIPORT/metrics" > "$T/metrics"
svc_total=$(awk '$1 == "clusterip_service_connections_total{service=\"default/drain\"}" {print $2}' "$T/metrics")
b_total=$(awk '$1 == "clusterip_forward_connections_total{service=\"default/drain\",endpoint=\"default/held-b\"}" {print $2}' "$T/metrics")
[ -n "$svc_total" ] && [ -n "$b_total" ] && [ "$svc_total" -gt "$b_total" ] ||
    fail "service total ${svc_total:-none} not above held-b's ${b_total:-none}"
grep -q '^clusterip_service_bytes_total{service="default/drain",direction="to_client"} [1-9]' "$T/metrics" ||
    fail "no bytes counted for the service"
python3 "$top_srcdir/tests/integration/promcheck.py" < "$T/metrics" ||
    fail "/metrics is not valid exposition format"
echo "metrics: the deleted endpoint's series are gone, the service's sums stay ($svc_total > $b_total)"

# A port changes and a Service goes: their listeners follow.
HPORT=81 NONE=no docs | manifest all.yaml
wait_listen "$VH" 81
gone=0
for _ in $(seq 100); do
	ss -Hltn "src $VH:80" | grep -q . || ss -Hltn "src $VN:80" | grep -q . ||
	    { gone=1; break; }
	sleep 0.05
done
[ $gone = 1 ] || fail "old listeners remain: $(ss -Hltn | grep -e "$VH" -e "$VN")"
case "$(curl -sS --max-time 5 "http://$VH:81/")" in
a|b) ;;
*) fail "no answer on the new port" ;;
esac
echo "listeners: port 80 -> 81 moved, removed service closed"

# A connection still being tried when its Service goes: once it has
# ended, nothing of the service stays, its series neither.
FULL=$(free_port) VS=$(rand_vip)
# A listener that never accepts, its queue full: connects to it hang.
python3 - "$FULL" > "$T/full.log" 2>&1 <<'PY' &
import socket, sys, threading
l = socket.socket()
l.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
l.bind(("127.0.10.16", int(sys.argv[1])))
l.listen(0)
cs = []
for _ in range(3):
    c = socket.socket()
    c.setblocking(False)
    try:
        c.connect(("127.0.10.16", int(sys.argv[1])))
    except BlockingIOError:
        pass
    cs.append(c)
print("ready", flush=True)
threading.Event().wait()
PY
PIDS="$PIDS $!"
for _ in $(seq 100); do grep -q ready "$T/full.log" && break; sleep 0.05; done
{ svc stuck "$VS" 80 stuck; pod stuck-1 127.0.10.16 "$FULL" stuck; } |
    manifest stuck.yaml
wait_listen "$VS" 80
# syn_sent: connects waiting for stuck-1 (the listener's own ones too).
syn_sent() { ss -Htn state syn-sent "dst 127.0.10.16:$FULL" | wc -l; }
n0=$(syn_sent)
python3 - "$VS" > "$T/stuck.out" 2>&1 <<'PY' &
import socket, sys
s = socket.create_connection((sys.argv[1], 80), 5)
s.settimeout(10)
try:
    s.recv(10)
except OSError:
    pass
PY
CP=$!
# The forwarder's connect to stuck-1 waits for an answer to its SYN.
for _ in $(seq 100); do
	[ "$(syn_sent)" -gt "$n0" ] && break
	sleep 0.05
done
: | manifest stuck.yaml
wait "$CP" || fail "client of the stuck service: $(cat "$T/stuck.out")"
key='service="default/stuck"'
for _ in $(seq 100); do
	curl -s "http://127.0.0.1:$APIPORT/metrics" | grep -q "$key" || break
	sleep 0.05
done
curl -s "http://127.0.0.1:$APIPORT/metrics" | grep "$key" &&
    fail "series of a deleted service remain after its last connection"
echo "metrics: a service deleted while a connect was pending leaves no series"
pass
