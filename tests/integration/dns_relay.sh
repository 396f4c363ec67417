#!/bin/bash
# SPDX-License-Identifier: MIT
# dns_relay.sh -- forwarded answers reach real clients whole: an upstream
# (ldns-testns) sends answers of 600, 1,200, 1,500 and 4,000 bytes, a TC
# answer over UDP with the full one over TCP, and every rcode; dig and
# kdig, with and without EDNS, over UDP and TCP, from the upstream and
# from the cache, must get well-formed messages: whole, or cut at a record
# with TC set, and never a cut copy later.
. "$top_srcdir/tests/integration/dns_lib.sh"

DATA=$TEST_TMP/relay.data
# entry NAME TYPE RCODE [MATCH-EXTRA] [FLAGS]: an entry of the data file
# whose answer section is read from stdin.
entry() {
	{
		echo "ENTRY_BEGIN"
		echo "MATCH opcode qtype qname $4"
		echo "ADJUST copy_id"
		echo "REPLY QR RD RA $5 $3"
		echo "SECTION QUESTION"
		echo "$1 IN $2"
		cat
		echo "ENTRY_END"
	} >> "$DATA"
}
# records NAME N: N A records of NAME.
records() {
	local i
	echo "SECTION ANSWER"
	for ((i = 0; i < $2; i++)); do
		echo "$1 300 IN A 10.$((i / 250)).$((i % 250)).1"
	done
}
: > "$DATA"
# About 600, 1,200, 1,500 and 4,000 bytes (16 bytes per record).
declare -A NREC=([s600]=35 [s1200]=72 [s1500]=91 [s4000]=248 [fresh]=91)
for n in "${!NREC[@]}"; do
	records "$n.example.com." "${NREC[$n]}" | entry "$n.example.com." A NOERROR
done
records tc.example.com. 1 | entry tc.example.com. A NOERROR UDP TC
records tc.example.com. 3 | entry tc.example.com. A NOERROR TCP
# ldns-testns spells NOTIMP as ldns does
for rc in REFUSED NOTIMPL SERVFAIL FORMERR; do
	echo | entry "$(echo "$rc" | tr 'A-Z' 'a-z').example.com." A "$rc"
done
printf 'SECTION AUTHORITY\nexample.com. 300 IN SOA ns.example.com. h.example.com. 1 2 3 4 60\n' |
    entry nx.example.com. A NXDOMAIN
records www.example.com. 1 | entry www.example.com. A NOERROR

command -v ldns-testns >/dev/null 2>&1 || { echo "skip: ldns-testns missing"; exit 77; }
UP_PORT=$(free_port)
ldns-testns -p "$UP_PORT" "$DATA" >"$TEST_TMP/upstream.log" 2>&1 &
UP_PID=$!
TEST_PIDS+=("$UP_PID")
for ((i = 0; i < 100; i++)); do
	dig +time=1 +tries=1 -p "$UP_PORT" @127.0.0.1 www.example.com +short 2>/dev/null |
	    grep -q 10.0.0.1 && break
	sleep 0.05
done
[ "$i" -lt 100 ] || fail "ldns-testns did not answer: $(cat "$TEST_TMP/upstream.log")"

M="$TEST_TMP/manifests"
write_manifests "$M"
cat > "$M/external.yaml" <<'YAML'
kind: Service
metadata: {name: ext-out}
spec: {type: ExternalName, externalName: www.example.com.}
---
kind: Service
metadata: {name: inner}
spec: {type: ExternalName, externalName: backend.default.svc.cluster.local}
---
kind: Service
metadata: {name: chain}
spec: {type: ExternalName, externalName: inner.default.svc.cluster.local}
---
kind: Service
metadata: {name: loop1}
spec: {type: ExternalName, externalName: loop2.default.svc.cluster.local}
---
kind: Service
metadata: {name: loop2}
spec: {type: ExternalName, externalName: loop1.default.svc.cluster.local}
YAML
start_dns "$M" --api-listen none --upstream "127.0.0.1:$UP_PORT"

# check NAME WANT-COUNT WANT-TC DIG-ARGS...: a well-formed answer with
# WANT-COUNT records (or "some": at least one), TC as WANT-TC (yes/no).
check() {
	local name=$1 want=$2 tc=$3 out hdr got lines
	shift 3
	out=$(dq "$@" "$name" A)
	echo "$out" | grep -qi "malformed\|parse error\|Warning" &&
	    fail "$name $*: malformed: $out"
	echo "$out" | grep -q "status: NOERROR," || fail "$name $*: $out"
	hdr=$(echo "$out" | grep -o "ANSWER: [0-9]*" | head -1)
	got=${hdr#ANSWER: }
	lines=$(echo "$out" | grep -c "^$name\.[[:space:]].*IN[[:space:]]A[[:space:]]")
	[ "$got" = "$lines" ] || fail "$name $*: header says $got records, $lines present"
	if [ "$want" = some ]; then
		[ "$got" -ge 1 ] || fail "$name $*: no record in a cut answer"
	else
		[ "$got" = "$want" ] || fail "$name $*: $got records, want $want"
	fi
	if [ "$tc" = yes ]; then
		echo "$out" | grep -Eq "^;; flags:[a-z ]* tc[ ;]" || fail "$name $*: no TC"
	else
		echo "$out" | grep -Eq "^;; flags:[a-z ]* tc[ ;]" && fail "$name $*: TC"
	fi
	size=$(echo "$out" | sed -n 's/^;; MSG SIZE  rcvd: //p')
	echo "  $name $*: $got records, $size bytes, tc=$tc"
}

# The first client asks without EDNS: 512 bytes at most, cut at a record.
check fresh.example.com some yes +ignore +noedns +notcp
# Nothing cut was kept: TCP and EDNS clients get everything.
check fresh.example.com "${NREC[fresh]}" no +tcp
check fresh.example.com some yes +ignore +notcp +bufsize=4096
check fresh.example.com "${NREC[fresh]}" no +noedns
pass "a cut answer is never cached"

for round in upstream cache; do
	for n in s600 s1200 s1500 s4000; do
		c=${NREC[$n]}
		check "$n.example.com" some yes +ignore +noedns +notcp
		case $n in
		s600|s1200) check "$n.example.com" "$c" no +ignore +notcp +bufsize=1232 ;;
		*) check "$n.example.com" some yes +ignore +notcp +bufsize=1232 ;;
		esac
		check "$n.example.com" "$c" no +tcp
		# dig's own retry over TCP after TC
		check "$n.example.com" "$c" no +noedns
	done
	pass "600 to 4,000 bytes, from the $round: whole or cut at a record with TC"
done

out=$(kdig +time=2 +retry=0 -p "$DNS_PORT" @127.0.0.1 +notcp +noedns s1500.example.com A 2>&1)
echo "$out" | grep -q "status: NOERROR" || fail "kdig: $out"
echo "$out" | grep -qi "flags: qr tc" || fail "kdig: no TC: $out"
echo "$out" | grep -qi "malformed\|^;; error\|warning" && fail "kdig: $out"
out=$(kdig +time=2 +retry=0 -p "$DNS_PORT" @127.0.0.1 +tcp s4000.example.com A 2>&1)
[ "$(echo "$out" | grep -c 'IN[[:space:]]*A[[:space:]]*10\.')" = "${NREC[s4000]}" ] ||
    fail "kdig over TCP: $(echo "$out" | tail -5)"
pass "kdig parses the cut and the whole answers"

# TC from upstream: the daemon asks again over TCP itself.
check tc.example.com 3 no +ignore +notcp
pass "a TC answer upstream is asked again over TCP; the client gets it whole"

for rc in REFUSED NOTIMP SERVFAIL FORMERR; do
	name=$(echo "$rc" | tr 'A-Z' 'a-z')
	[ "$rc" = NOTIMP ] && name=notimpl
	expect_status "$rc" "$name.example.com" A
done
out=$(dq nx.example.com A)
echo "$out" | grep -q "status: NXDOMAIN" || fail "NXDOMAIN: $out"
echo "$out" | grep -q "AUTHORITY: 1" || fail "NXDOMAIN without its SOA: $out"
pass "upstream rcodes relayed as received, NXDOMAIN with its SOA"

# The answers to clients without EDNS carry no OPT; with EDNS, ours.
dq +noedns www.example.com A | grep -q "OPT PSEUDOSECTION" && fail "OPT to a client without EDNS"
dq +bufsize=4096 www.example.com A | grep -q "udp: 1232" || fail "our payload size not announced"
pass "EDNS answered as the client asked"
# ExternalName: the CNAME and the target's records, as CoreDNS answers.
D=default.svc.cluster.local
out=$(dq ext-out.$D A)
echo "$out" | grep -Eq "^ext-out\.$D\.[[:space:]]+5[[:space:]]+IN[[:space:]]+CNAME[[:space:]]+www\.example\.com\.$" ||
    fail "ExternalName CNAME: $out"
echo "$out" | grep -Eq "^www\.example\.com\.[[:space:]].*A[[:space:]]+10\.0\.0\.1$" ||
    fail "ExternalName target's A: $out"
[ "$(dshort ext-out.$D A)" = "$(printf 'www.example.com.\n10.0.0.1')" ] ||
    fail "ExternalName from the cache: $(dshort ext-out.$D A)"
[ "$(dshort +tcp ext-out A)" = "$(printf 'www.example.com.\n10.0.0.1')" ] ||
    fail "ExternalName short form over TCP"
[ "$(dshort ext-out.$D CNAME)" = www.example.com. ] || fail "ExternalName CNAME query"
pass "ExternalName to an outside name: CNAME + the target's A, cached, over UDP and TCP"
VIP=$(dshort backend.$D A)
[ "$(dshort chain.$D A)" = "$(printf 'inner.%s.\nbackend.%s.\n%s' "$D" "$D" "$VIP")" ] ||
    fail "ExternalName chain: $(dshort chain.$D A)"
dq chain.$D A | grep -Eq "^;; flags:[a-z ]* aa[ ;]" || fail "in-cluster chain not aa"
expect_status SERVFAIL loop1.$D A
pass "ExternalName to a service, through a chain; a loop is SERVFAIL"
stop_daemon
pass "dns_relay.sh"
