#!/bin/bash
# SPDX-License-Identifier: MIT
# dns.sh -- the cluster zone over real UDP and TCP with dig and kdig: every
# row of the DNS table, and the protocol rules (EDNS, TC, case, rcodes,
# pipelining, a stalled TCP client, a client that does not read, a registry
# change seen at once).
. "$top_srcdir/tests/integration/dns_lib.sh"

M="$TEST_TMP/manifests"
write_manifests "$M"
API_PORT=$(free_port)
V6=()
if python3 -c 'import socket; socket.socket(socket.AF_INET6).bind(("::1", 0))' 2>/dev/null; then
	V6=(--dns-listen "[::1]:0")
fi
start_dns "$M" --api-listen "127.0.0.1:$API_PORT" --upstream 127.0.0.1:9 \
    --dns-ttl 5 --dns-negative-ttl 30 "${V6[@]}"

D=cluster.local
VIP=$(dshort backend.default.svc.$D A)
echo "$VIP" | grep -Eq "^127\\.$VIP_NET\\.[0-9]+\\.[0-9]+\$" || fail "backend VIP: '$VIP'"
pass "S.N.svc.$D A -> $VIP"
expect_flag aa backend.default.svc.$D A
dq backend.default.svc.$D A | grep -Eq "^backend\.default\.svc\.cluster\.local\.[[:space:]]+5[[:space:]]+IN[[:space:]]+A" ||
    fail "TTL 5"
for n in backend backend.default backend.default.svc; do
	[ "$(dshort $n A)" = "$VIP" ] || fail "short form $n"
	expect_flag aa $n A
done
pass "short forms S, S.N, S.N.svc"
[ "$(dshort web.other A)" = "$(dshort web.other.svc.$D A)" ] || fail "web.other"
pass "S.N for another namespace"

# SRV with the A in additional
out=$(dq _http._tcp.backend.default.svc.$D SRV)
echo "$out" | grep -Eq "SRV[[:space:]]+0 100 5000 backend\.default\.svc\.cluster\.local\." || fail "SRV: $out"
echo "$out" | sed -n '/ADDITIONAL SECTION/,$p' | grep -q "$VIP" || fail "SRV additional: $out"
pass "SRV _port._proto with A in additional"

# SRV on the service name: one per port (CoreDNS)
out=$(dq backend.default.svc.$D SRV)
echo "$out" | grep -Eq "SRV[[:space:]]+0 100 5000 backend\.default\.svc\.cluster\.local\." || fail "name SRV: $out"
echo "$out" | sed -n '/ADDITIONAL SECTION/,$p' | grep -q "$VIP" || fail "name SRV additional: $out"
pass "SRV on S.N.svc.$D: one per port, A in additional"

# headless: ready endpoints only, dashed-address names (pod names too),
# SRV per endpoint, PTR
out=$(dshort db.default.svc.$D A | sort | tr '\n' ' ')
[ "$out" = "127.0.20.1 127.0.20.2 " ] || fail "headless A: '$out'"
[ "$(dshort 127-0-20-2.db.default.svc.$D A)" = 127.0.20.2 ] || fail "dashed name"
[ "$(dshort db-1.db.default.svc.$D A)" = 127.0.20.2 ] || fail "pod name"
expect_status NXDOMAIN db-2.db.default.svc.$D A
expect_status NXDOMAIN 127-0-20-3.db.default.svc.$D A
for q in _pg._tcp.db.default.svc.$D db.default.svc.$D; do
	out=$(dq $q SRV)
	[ "$(echo "$out" | grep -Ec 'SRV[[:space:]]+0 100 5432 127-0-20-[12]\.db\.default\.svc\.cluster\.local\.')" = 2 ] ||
	    fail "headless SRV $q: $out"
	[ "$(echo "$out" | sed -n '/ADDITIONAL SECTION/,$p' | grep -Ec '^127-0-20-[12]\.db.*127\.0\.20\.[12]')" = 2 ] ||
	    fail "headless SRV additional $q: $out"
done
[ "$(dshort "$(reverse_name 127.0.20.1)" PTR)" = 127-0-20-1.db.default.svc.$D. ] || fail "endpoint PTR"
expect_status NXDOMAIN idle.default.svc.$D A
expect_flag aa idle.default.svc.$D A
pass "headless: A per ready endpoint, dashed and pod names, SRV, PTR, none ready -> NXDOMAIN"

# The target's records come from upstream (dns_relay.sh); this daemon's
# upstream never answers, so the CNAME alone is asked for here.
[ "$(dshort ext.default.svc.$D CNAME)" = www.example.org. ] || fail "ExternalName"
expect_flag aa ext.default.svc.$D CNAME
pass "ExternalName -> CNAME"

[ "$(dshort "$(reverse_name "$VIP")" PTR)" = backend.default.svc.$D. ] || fail "VIP PTR"
expect_flag aa "$(reverse_name "$VIP")" PTR
expect_status NXDOMAIN 254.255.$VIP_NET.127.in-addr.arpa PTR
dq 254.255.$VIP_NET.127.in-addr.arpa PTR | grep -Eq "^$VIP_NET\\.127\\.in-addr\\.arpa\\..*SOA" || fail "reverse SOA"
pass "PTR of the VIP; unknown reverse name -> NXDOMAIN + SOA"

[ "$(dshort dns-version.$D TXT)" = '"1.1.0"' ] || fail "dns-version"
dq $D SOA | grep -Eq "^cluster\.local\..*SOA[[:space:]]+ns\.dns\.cluster\.local\. hostmaster\.cluster\.local\. [0-9]+ 7200 1800 86400 30" ||
    fail "apex SOA: $(dq $D SOA)"
[ "$(dshort $D NS)" = ns.dns.$D. ] || fail "apex NS"
[ "$(dshort ns.dns.$D A)" = 127.0.0.1 ] || fail "NS address"
pass "dns-version TXT, apex SOA and NS"

out=$(dq nosuch.default.svc.$D A)
echo "$out" | grep -q "status: NXDOMAIN" || fail "unknown: $out"
echo "$out" | grep -Eq "flags: qr aa" || fail "NXDOMAIN without aa"
echo "$out" | sed -n '/AUTHORITY SECTION/,$p' | grep -Eq "^cluster\.local\.[[:space:]]+30[[:space:]]+IN[[:space:]]+SOA" ||
    fail "NXDOMAIN SOA: $out"
out=$(dq backend.default.svc.$D AAAA)
echo "$out" | grep -q "status: NOERROR" || fail "AAAA: $out"
echo "$out" | grep -q "ANSWER: 0," || fail "AAAA answer"
echo "$out" | sed -n '/AUTHORITY SECTION/,$p' | grep -q SOA || fail "NODATA SOA"
for n in svc.$D pod.$D default.svc.$D; do
	out=$(dq $n A)
	echo "$out" | grep -q "status: NOERROR" || fail "$n: $out"
	echo "$out" | sed -n '/AUTHORITY SECTION/,$p' | grep -Eq "^cluster\.local\..*SOA" || fail "$n SOA: $out"
done
# a short form is outside cluster.local: no SOA of it
out=$(dq backend AAAA)
echo "$out" | grep -q "status: NOERROR" || fail "short AAAA: $out"
echo "$out" | grep -Eq "flags: qr aa" || fail "short AAAA aa: $out"
echo "$out" | grep -q "AUTHORITY: 0," || fail "short AAAA SOA: $out"
pass "NXDOMAIN and NODATA with SOA and aa; svc, pod, N.svc exist; short forms without SOA"

# ANY: minimal (RFC 8482)
out=$(dq backend.default.svc.$D ANY)
echo "$out" | grep -q "ANSWER: 1," || fail "ANY: $out"
pass "ANY minimal"

# kdig sees the same answers as dig, row by row, over UDP and TCP.
rows="backend.default.svc.$D/A backend/A backend.default/A backend.default.svc/A
_http._tcp.backend.default.svc.$D/SRV backend.default.svc.$D/SRV db.default.svc.$D/A
db-0.db.default.svc.$D/A 127-0-20-1.db.default.svc.$D/A _pg._tcp.db.default.svc.$D/SRV db.default.svc.$D/SRV ext.default.svc.$D/CNAME $(reverse_name "$VIP")/PTR
$(reverse_name 127.0.20.2)/PTR dns-version.$D/TXT $D/SOA $D/NS"
for row in $rows; do
	name=${row%/*} type=${row#*/}
	want=$(dshort "$name" "$type" | sort)
	[ -n "$want" ] || fail "dig: no answer for $name $type"
	for tr in +notcp +tcp; do
		got=$(kdig $tr +short +timeout=2 +retry=0 -p "$DNS_PORT" @127.0.0.1 "$name" "$type" | sort)
		[ "$got" = "$want" ] || fail "kdig $tr $name $type: '$got', dig: '$want'"
	done
	out=$(kdig -p "$DNS_PORT" @127.0.0.1 "$name" "$type")
	echo "$out" | grep -Eq "Flags: qr aa" || fail "kdig $name $type: no aa: $out"
done
for row in nosuch.default.svc.$D/A idle.default.svc.$D/A 254.255.$VIP_NET.127.in-addr.arpa/PTR; do
	out=$(kdig +timeout=2 +retry=0 -p "$DNS_PORT" @127.0.0.1 "${row%/*}" "${row#*/}")
	echo "$out" | grep -q "status: NXDOMAIN" || fail "kdig ${row}: $out"
	echo "$out" | grep -Eq "Flags: qr aa" || fail "kdig ${row}: no aa"
done
pass "kdig agrees with dig on every table row (UDP and TCP), aa everywhere"

# --- protocol ---
out=$(dq +tcp backend.default.svc.$D A)
echo "$out" | grep -q "(TCP)" || fail "not over TCP"
echo "$out" | grep -q "$VIP" || fail "TCP answer"
out=$(kdig +tcp -p "$DNS_PORT" @127.0.0.1 db.default.svc.$D A)
echo "$out" | grep -q "127.0.20.1" || fail "kdig TCP: $out"
pass "TCP (dig, kdig)"
if [ ${#V6[@]} -gt 0 ]; then
	# port 0: the kernel's choice, as logged
	P6=$(sed -n 's/.*dns: listening on \[::1\]:\([0-9]*\) .*/\1/p' "$DAEMON_LOG")
	[ -n "$P6" ] || fail "no IPv6 listener logged"
	[ "$(dig +short +time=2 +tries=1 -p "$P6" @::1 backend A)" = "$VIP" ] || fail "IPv6 UDP"
	[ "$(dig +short +tcp +time=2 +tries=1 -p "$P6" @::1 backend A)" = "$VIP" ] || fail "IPv6 TCP"
	pass "IPv6 listener, UDP and TCP"
fi

dq +noedns backend.default.svc.$D A | grep -q "OPT PSEUDOSECTION" && fail "OPT without EDNS query"
dq +edns=0 +bufsize=4096 backend.default.svc.$D A | grep -q "udp: 1232" || fail "EDNS payload"
out=$(dq +edns=1 +noednsnegotiation backend.default.svc.$D A)
echo "$out" | grep -q "status: BADVERS" || fail "BADVERS: $out"
pass "EDNS0: our payload, none without, BADVERS"

out=$(dq +noall +question BaCkEnD.DeFaUlT.sVc.ClUsTeR.lOcAl A)
echo "$out" | grep -q "BaCkEnD.DeFaUlT.sVc.ClUsTeR.lOcAl" || fail "case: $out"
pass "question case preserved"

expect_status NOTIMP +opcode=2 backend.default.svc.$D A
expect_status FORMERR +header-only
out=$(dq +tcp $D AXFR)
echo "$out" | grep -q "Transfer failed" || fail "AXFR: $out"
out=$(kdig +tcp -p "$DNS_PORT" @127.0.0.1 $D AXFR 2>&1)
echo "$out" | grep -q "REFUSED" || fail "kdig AXFR: $out"
pass "NOTIMP, FORMERR (no question), AXFR refused"

# TC: a headless service with more endpoints than 512 bytes hold
{
	echo "kind: Service"
	echo "metadata: {name: many}"
	echo "spec: {clusterIP: None, selector: {app: many}}"
	for i in $(seq 1 60); do
		echo "---"
		echo "kind: Pod"
		echo "metadata: {name: many-$i, labels: {app: many}}"
		echo "status: {podIP: 127.0.40.$i}"
	done
} >"$M/many.yaml"
for ((i = 0; i < 100; i++)); do
	[ "$(dshort +tcp many.default.svc.$D A | wc -l)" = 60 ] && break
	sleep 0.05
done
[ "$i" -lt 100 ] || fail "manifest many.yaml not seen"
out=$(dq +ignore +noedns many.default.svc.$D A)
echo "$out" | grep -Eq "^;; flags: qr aa tc" || fail "TC: $out"
echo "$out" | grep -q "ANSWER: 0," || fail "TC with answers"
out=$(dq +ignore +bufsize=1232 many.default.svc.$D A)
echo "$out" | grep -q "flags: qr aa tc" && fail "1232 should hold 60 A: $out"
[ "$(dshort +noedns many.default.svc.$D A | wc -l)" = 60 ] || fail "retry over TCP"
pass "TC over UDP beyond the client's size, full answer over TCP"

# A registry change is in the very next answer: the file is watched.
rm "$M/many.yaml"
for ((i = 0; i < 100; i++)); do
	dq many.default.svc.$D A | grep -q "status: NXDOMAIN" && break
	sleep 0.05
done
[ "$i" -lt 100 ] || fail "removed service still answered"
pass "registry changes followed"

# Raw packets: QR=1 dropped, pipelining, a stalled TCP client.
python3 - "$DNS_PORT" "$VIP" <<'PY' || fail "raw protocol checks"
import socket, struct, sys, time
port, vip = int(sys.argv[1]), sys.argv[2]
def q(name, qid, qtype=1, flags=0x0100):
    wire = b"".join(bytes([len(l)]) + l.encode() for l in name.split(".")) + b"\0"
    return struct.pack("!HHHHHH", qid, flags, 1, 0, 0, 0) + wire + struct.pack("!HH", qtype, 1)
u = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
u.settimeout(0.5)
u.sendto(q("backend.default.svc.cluster.local", 7, flags=0x8100), ("127.0.0.1", port))
try:
    u.recvfrom(4096); print("QR=1 answered"); sys.exit(1)
except socket.timeout:
    pass
u.sendto(b"\x00\x01\x00", ("127.0.0.1", port))
try:
    u.recvfrom(4096); print("3-byte packet answered"); sys.exit(1)
except socket.timeout:
    pass
# a stalled TCP client: half a length prefix, then nothing
stall = socket.create_connection(("127.0.0.1", port))
stall.sendall(b"\x00")
t0 = time.time()
u.sendto(q("backend.default.svc.cluster.local", 8), ("127.0.0.1", port))
data, _ = u.recvfrom(4096)
if struct.unpack("!H", data[:2])[0] != 8 or socket.inet_aton(vip) not in data:
    print("UDP answer wrong"); sys.exit(1)
if time.time() - t0 > 0.2:
    print("UDP delayed by a stalled TCP client"); sys.exit(1)
# pipelining: three queries in one write, three answers on one connection
t = socket.create_connection(("127.0.0.1", port))
t.settimeout(2)
msgs = [q("backend.default.svc.cluster.local", 100 + i) for i in range(3)]
t.sendall(b"".join(struct.pack("!H", len(m)) + m for m in msgs))
buf, ids = b"", set()
while len(ids) < 3:
    chunk = t.recv(65536)
    if not chunk: break
    buf += chunk
    while len(buf) >= 2 and len(buf) >= 2 + struct.unpack("!H", buf[:2])[0]:
        n = struct.unpack("!H", buf[:2])[0]
        ids.add(struct.unpack("!H", buf[2:4])[0]); buf = buf[2 + n:]
if ids != {100, 101, 102}:
    print("pipelining: got ids", ids); sys.exit(1)
stall.close(); t.close()
PY
pass "QR=1 and runts dropped; stalled TCP client does not delay UDP; TCP pipelining"

# A TCP client that sends and never reads: the daemon stops reading it
# once its answers back up (so its queries wait in the kernel, not in the
# daemon), UDP goes on, and every
# answer arrives once the client reads. A length below a DNS header closes.
python3 - "$DNS_PORT" "$VIP" <<'PY' || fail "TCP backpressure"
import select, socket, struct, sys, time
port, vip = int(sys.argv[1]), sys.argv[2]
def q(name, qid):
    wire = b"".join(bytes([len(l)]) + l.encode() for l in name.split(".")) + b"\0"
    m = struct.pack("!HHHHHH", qid, 0x0100, 1, 0, 0, 0) + wire + struct.pack("!HH", 1, 1)
    return struct.pack("!H", len(m)) + m
# More queries than the kernel's buffers on both paths hold (the small
# buffers of the client's side keep that number down).
N = 250000
data = b"".join(q("backend.default.svc.cluster.local", i % 65536) for i in range(N))
t = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
t.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, 16384)
t.setsockopt(socket.SOL_SOCKET, socket.SO_SNDBUF, 65536)
t.connect(("127.0.0.1", port))
t.setblocking(False)
sent = 0
deadline = time.time() + 5
while sent < len(data) and time.time() < deadline:
    try:
        sent += t.send(data[sent:sent + 65536])
    except BlockingIOError:
        time.sleep(0.05)
if sent >= len(data):
    print("the daemon read everything from a client that does not read"); sys.exit(1)
u = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
u.settimeout(2)
u.sendto(q("backend.default.svc.cluster.local", 9)[2:], ("127.0.0.1", port))
if socket.inet_aton(vip) not in u.recv(4096):
    print("no UDP answer beside a backed-up TCP client"); sys.exit(1)
# Now read: every query gets its answer.
buf, answers, deadline = b"", 0, time.time() + 60
while answers < N and time.time() < deadline:
    r, w, _ = select.select([t], [t] if sent < len(data) else [], [], 1)
    if w:
        try:
            sent += t.send(data[sent:sent + 65536])
        except BlockingIOError:
            pass
    if r:
        chunk = t.recv(1 << 20)
        if not chunk:
            break
        buf += chunk
        off = 0
        while len(buf) - off >= 2 and len(buf) - off >= 2 + struct.unpack("!H", buf[off:off + 2])[0]:
            off += 2 + struct.unpack("!H", buf[off:off + 2])[0]
            answers += 1
        buf = buf[off:]
if answers != N:
    print("%d answers of %d" % (answers, N)); sys.exit(1)
t.close()
b = socket.create_connection(("127.0.0.1", port))
b.settimeout(2)
b.sendall(b"\x00\x05hello")
if b.recv(100) != b"":
    print("a TCP length below a DNS header was answered"); sys.exit(1)
PY
pass "a TCP client that does not read is paused, not buffered; all its answers follow"

# metrics
out=$(curl -s "http://127.0.0.1:$API_PORT/metrics")
echo "$out" | grep -Eq '^clusterip_dns_queries_total\{qtype="A",rcode="NOERROR"\} [1-9]' ||
    fail "metrics: $(echo "$out" | grep dns_)"
echo "$out" | grep -Eq '^clusterip_dns_queries_total\{qtype="A",rcode="NXDOMAIN"\} [1-9]' || fail "NXDOMAIN metric"
pass "clusterip_dns_queries_total{qtype,rcode}"

kill -0 "$DAEMON_PID" || fail "daemon died"
stop_daemon
pass "clean exit"

# TCP caps: two idle clients fill --dns-tcp-max-clients 2; a third is not
# served until the idle timeout closes them.
start_dns "$M" --api-listen none --upstream 127.0.0.1:9 \
    --dns-tcp-max-clients 2 --dns-tcp-idle-timeout 700ms
python3 - "$DNS_PORT" <<'PY' || fail "TCP caps"
import socket, struct, sys, time
port = int(sys.argv[1])
wire = b"".join(bytes([len(l)]) + l.encode() for l in "backend.default.svc.cluster.local".split(".")) + b"\0"
m = struct.pack("!HHHHHH", 9, 0x0100, 1, 0, 0, 0) + wire + struct.pack("!HH", 1, 1)
idle = [socket.create_connection(("127.0.0.1", port)) for _ in range(2)]
time.sleep(0.1)
t0 = time.time()
c = socket.create_connection(("127.0.0.1", port))   # the kernel's backlog takes it
c.sendall(struct.pack("!H", len(m)) + m)
c.settimeout(0.3)
try:
    c.recv(2); print("third client served beyond the cap"); sys.exit(1)
except socket.timeout:
    pass
c.settimeout(3)
data = c.recv(65536)
took = time.time() - t0
if len(data) < 14 or struct.unpack("!H", data[2:4])[0] != 9:
    print("bad answer after the idle clients left"); sys.exit(1)
if not 0.4 < took < 2.5:
    print("served after %.2f s, want about the idle timeout" % took); sys.exit(1)
for s in idle:
    s.settimeout(1)
    if s.recv(1) != b"":
        print("idle client not closed"); sys.exit(1)
PY
pass "TCP client cap and idle timeout"
stop_daemon
