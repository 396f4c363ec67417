#!/bin/bash
# SPDX-License-Identifier: MIT
# dns_clients.sh -- the cluster zone through real stub resolvers, which are
# stricter than dig: Go's pure-Go resolver (rejects a whole message it
# cannot decode, such as a compressed SRV target), musl's getaddrinfo (only
# port 53, A and AAAA in parallel along the search list) and glibc's, with
# and without EDNS0. Go needs no privileges; musl and glibc run in a network
# namespace whose resolv.conf names the daemon (root). What cannot run is
# reported and makes the test SKIP once the rest has passed.
. "$top_srcdir/tests/integration/dns_lib.sh"

SKIPPED=()
D=cluster.local
M="$TEST_TMP/manifests"
write_manifests "$M"

# --- Go, pure-Go resolver, against the daemon on a free port ------------
go_client() {
	# The build cache: the user's, else one under the temporary directory
	# that later runs reuse (a fresh one compiles the standard library).
	if [ -z "${GOCACHE:-}" ]; then
		if [ -n "${HOME:-}" ] && mkdir -p "$HOME/.cache" 2>/dev/null &&
		    [ -w "$HOME/.cache" ]; then
			GOCACHE=$HOME/.cache/go-build
		else
			GOCACHE=${TMPDIR:-/tmp}/clusterip-go-build
		fi
	fi
	export GOCACHE
	# No module, no network: the program uses the standard library only.
	cp "$top_srcdir/tests/integration/dns_goclient.go" "$TEST_TMP/main.go"
	(cd "$TEST_TMP" && GOFLAGS=-mod=mod CGO_ENABLED=0 GOPROXY=off \
	    go build -o "$TEST_TMP/goclient" main.go) ||
	    fail "building the Go client"
}

if command -v go >/dev/null 2>&1; then
	go_client
	start_dns "$M" --api-listen none --upstream 127.0.0.1:9
	VIP=$(dshort backend.default.svc.$D A)
	[ -n "$VIP" ] || fail "no VIP"
	G=("$TEST_TMP/goclient" "127.0.0.1:$DNS_PORT")

	for n in backend.default.svc.$D backend. backend.default. backend.default.svc.; do
		out=$("${G[@]}" host "$n" 2>&1) || fail "Go LookupHost $n: $out"
		[ "$out" = "$VIP" ] || fail "Go LookupHost $n: '$out', want $VIP"
	done
	pass "Go LookupHost: the full name and the short forms (A + NODATA AAAA)"

	out=$("${G[@]}" srv http tcp backend.default.svc.$D 2>&1) ||
	    fail "Go LookupSRV _http._tcp: $out"
	[ "$out" = "backend.default.svc.$D. 5000 0 100" ] || fail "Go LookupSRV _http._tcp: '$out'"
	out=$("${G[@]}" srv "" "" backend.default.svc.$D 2>&1) ||
	    fail "Go LookupSRV on the service name: $out"
	[ "$out" = "backend.default.svc.$D. 5000 0 100" ] || fail "Go LookupSRV name: '$out'"
	pass "Go LookupSRV _http._tcp.backend and backend.default.svc: whole targets"

	want="127-0-20-1.db.default.svc.$D. 5432 0 100
127-0-20-2.db.default.svc.$D. 5432 0 100"
	for args in "pg tcp db.default.svc.$D" "- - db.default.svc.$D"; do
		set -- $args
		[ "$1" = - ] && set -- "" "" "$3"
		out=$("${G[@]}" srv "$1" "$2" "$3" 2>&1) || fail "Go LookupSRV $args: $out"
		[ "$out" = "$want" ] || fail "Go LookupSRV $args: '$out'"
	done
	out=$("${G[@]}" host 127-0-20-2.db.default.svc.$D 2>&1) || fail "Go endpoint: $out"
	[ "$out" = 127.0.20.2 ] || fail "Go endpoint name: '$out'"
	pass "Go LookupSRV of a headless service: dashed endpoint names, which resolve"

	out=$("${G[@]}" addr "$VIP" 2>&1) || fail "Go LookupAddr $VIP: $out"
	[ "$out" = "backend.default.svc.$D." ] || fail "Go LookupAddr $VIP: '$out'"
	out=$("${G[@]}" addr 127.0.20.1 2>&1) || fail "Go LookupAddr endpoint: $out"
	[ "$out" = "127-0-20-1.db.default.svc.$D." ] || fail "Go LookupAddr endpoint: '$out'"
	pass "Go LookupAddr: the VIP and an endpoint"

	out=$("${G[@]}" host nosuch.default.svc.$D 2>&1) && fail "Go resolved nosuch: $out"
	echo "$out" | grep -q "no such host" || fail "Go nosuch: $out"
	pass "Go: an unknown name is 'no such host', not a malformed message"
	stop_daemon
else
	SKIPPED+=("Go resolver: go missing (Debian package golang-go)")
fi

# --- musl and glibc in a network namespace, the daemon on its 127.0.0.1:53
# The upstream's data (ldns-testns) for the namespace part.
upstream_data() {
	local n c i
	printf 'ENTRY_BEGIN\nMATCH opcode qtype qname\nADJUST copy_id\n'
	printf 'REPLY QR RD RA NOERROR\nSECTION QUESTION\nwww.example.com. IN A\n'
	printf 'SECTION ANSWER\nwww.example.com. 60 IN A 192.0.2.80\nENTRY_END\n'
	for n in big600:35 big1500:91; do
		c=${n#*:} n=${n%:*}
		printf 'ENTRY_BEGIN\nMATCH opcode qtype qname\nADJUST copy_id\n'
		printf 'REPLY QR RD RA NOERROR\nSECTION QUESTION\n%s.example.com. IN A\n' "$n"
		echo "SECTION ANSWER"
		for ((i = 0; i < c; i++)); do
			echo "$n.example.com. 60 IN A 10.0.$i.1"
		done
		echo "ENTRY_END"
	done
	# no AAAA: NODATA with a SOA
	for n in www big600 big1500; do
		printf 'ENTRY_BEGIN\nMATCH opcode qtype qname\nADJUST copy_id\n'
		printf 'REPLY QR RD RA NOERROR\nSECTION QUESTION\n%s.example.com. IN AAAA\n' "$n"
		printf 'SECTION AUTHORITY\nexample.com. 60 IN SOA ns.example.com. '
		printf 'h.example.com. 1 2 3 4 60\nENTRY_END\n'
	done
}

netns_part() {
	local ns=cipcl$$ conf n out musl=

	command -v ip >/dev/null 2>&1 || { SKIPPED+=("musl, glibc: ip missing"); return; }
	ip netns add "$ns" 2>/dev/null ||
	    { SKIPPED+=("musl, glibc: cannot create a network namespace"); return; }
	NETNS=$ns
	trap 'lib_cleanup; ip netns del "$NETNS" 2>/dev/null; rm -rf "/etc/netns/$NETNS"' EXIT
	ip -n "$ns" link set lo up
	mkdir -p "/etc/netns/$ns"
	conf="/etc/netns/$ns/resolv.conf"
	write_conf() {
		{
			echo "nameserver 127.0.0.1"
			echo "search default.svc.$D svc.$D $D"
			echo "options ndots:5 timeout:1 attempts:1 $1"
		} >"$conf"
	}
	write_conf ""
	if command -v musl-gcc >/dev/null 2>&1; then
		musl-gcc -static -O1 -o "$TEST_TMP/gai" \
		    "$top_srcdir/tests/integration/dns_gai.c" || fail "musl-gcc"
		musl=$TEST_TMP/gai
	else
		SKIPPED+=("musl resolver: musl-gcc missing (Debian package musl-tools)")
	fi

	# An upstream in the namespace: an ExternalName's target, and names
	# whose answers are 600 and 1,500 bytes (16 bytes per address).
	upstream_data > "$TEST_TMP/ns-upstream.data"
	ip netns exec "$ns" ldns-testns -p 5353 "$TEST_TMP/ns-upstream.data" \
	    > "$TEST_TMP/ns-upstream.log" 2>&1 &
	TEST_PIDS+=("$!")
	cat > "$M/external.yaml" <<'YAML'
kind: Service
metadata: {name: ext-out}
spec: {type: ExternalName, externalName: www.example.com.}
---
kind: Service
metadata: {name: ext-in}
spec: {type: ExternalName, externalName: backend.default.svc.cluster.local}
YAML
	mkdir -p "$TEST_TMP/state-ns"
	DAEMON_PREFIX=(ip netns exec "$ns")	# execs the daemon: same pid
	start_daemon "$TEST_TMP/daemon-ns.log" --dns-listen 127.0.0.1:53 \
	    --api-listen none --vip-range "$VIP_RANGE" \
	    --state-dir "$TEST_TMP/state-ns" --manifests "$M" \
	    --upstream 127.0.0.1:5353
	DAEMON_PREFIX=()
	VIP=$(ip netns exec "$ns" dig +short +time=1 @127.0.0.1 backend.default.svc.$D A)
	[ -n "$VIP" ] || fail "no VIP in the namespace"

	if [ -n "$musl" ]; then
		for n in backend backend.default backend.default.svc backend.default.svc.$D; do
			out=$(ip netns exec "$ns" "$musl" "$n" 2>&1) || fail "musl $n: $out"
			echo "$out" | grep -qx "$VIP" || fail "musl $n: $out"
			echo "$out" | grep -qx "canon backend.default.svc.$D" || fail "musl canon $n: $out"
		done
		out=$(ip netns exec "$ns" "$musl" db 2>&1) || fail "musl db: $out"
		[ "$(echo "$out" | grep -Ec '^127\.0\.20\.[12]$')" = 2 ] || fail "musl db: $out"
		out=$(ip netns exec "$ns" "$musl" 127-0-20-1.db 2>&1) || fail "musl endpoint: $out"
		echo "$out" | grep -qx 127.0.20.1 || fail "musl endpoint: $out"
		out=$(ip netns exec "$ns" "$musl" nosuch 2>&1) && fail "musl resolved nosuch: $out"
		pass "musl getaddrinfo: the short forms along the search list, headless, unknown"
		out=$(ip netns exec "$ns" "$musl" ext-out 2>&1) || fail "musl ext-out: $out"
		echo "$out" | grep -qx 192.0.2.80 || fail "musl ext-out: $out"
		out=$(ip netns exec "$ns" "$musl" ext-in 2>&1) || fail "musl ext-in: $out"
		echo "$out" | grep -qx "$VIP" || fail "musl ext-in: $out"
		pass "musl getaddrinfo: ExternalName to an outside name and to a service"
		for n in big600 big1500; do
			out=$(ip netns exec "$ns" "$musl" $n.example.com 2>&1) ||
			    fail "musl $n: $out"
			echo "$out" | grep -q '^10\.' || fail "musl $n: $out"
		done
		pass "musl getaddrinfo: forwarded answers over 512 bytes give addresses"
	fi

	for opt in "" edns0; do
		write_conf "$opt"
		for n in backend backend.default backend.default.svc.$D; do
			out=$(ip netns exec "$ns" getent ahosts "$n") || fail "glibc ($opt) ahosts $n failed"
			echo "$out" | grep -Eq "^$VIP[[:space:]]+STREAM backend\.default\.svc\.$D\$" ||
			    fail "glibc ($opt) ahosts $n: $out"
		done
		out=$(ip netns exec "$ns" getent ahosts db) || fail "glibc ($opt) ahosts db"
		[ "$(echo "$out" | grep -Ec '^127\.0\.20\.[12][[:space:]]+STREAM')" = 2 ] ||
		    fail "glibc ($opt) ahosts db: $out"
		ip netns exec "$ns" getent ahosts nosuch >/dev/null && fail "glibc ($opt) resolved nosuch"
		pass "glibc getent ahosts ${opt:-without edns0}: short forms, headless, unknown"
		out=$(ip netns exec "$ns" getent ahosts ext-out) || fail "glibc ($opt) ext-out"
		echo "$out" | grep -q "^192.0.2.80[[:space:]]" || fail "glibc ($opt) ext-out: $out"
		out=$(ip netns exec "$ns" getent ahosts ext-in) || fail "glibc ($opt) ext-in"
		echo "$out" | grep -q "^$VIP[[:space:]]" || fail "glibc ($opt) ext-in: $out"
		for n in big600:35 big1500:91; do
			out=$(ip netns exec "$ns" getent ahosts "${n%:*}.example.com") ||
			    fail "glibc ($opt) ${n%:*} failed"
			[ "$(echo "$out" | grep -c 'STREAM')" = "${n#*:}" ] ||
			    fail "glibc ($opt) ${n%:*}: $(echo "$out" | grep -c STREAM) addresses"
		done
		pass "glibc ${opt:-without edns0}: ExternalName, answers of 600 and 1,500 bytes whole"
	done
	stop_daemon
}

if [ "$(id -u)" = 0 ]; then
	netns_part
else
	SKIPPED+=("musl, glibc: the network namespace needs root")
fi

if [ ${#SKIPPED[@]} -gt 0 ]; then
	printf 'skip: %s\n' "${SKIPPED[@]}"
	exit 77
fi
