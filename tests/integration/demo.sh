#!/bin/sh
# SPDX-License-Identifier: MIT
# The seed's demo on loopback, as `make demo` runs it: the front app asks
# the daemon's DNS for "backend" and fetches the quote through the VIP;
# over many requests both backends' quotes must appear and none may fail.
set -u
: "${top_builddir:?}" "${top_srcdir:?}"

# free_port PROTO: a port nobody listens on (tcp or udp) on 127.0.0.1.
free_port() {
	while :; do
		p=$(( $(od -An -N2 -tu2 /dev/urandom) % 12000 + 20000 ))
		ss -Hln"$( [ "$1" = udp ] && echo u || echo t)" "sport = :$p" |
		    grep -q . || { echo $p; return; }
	done
}

for a in 127.0.10.1 127.0.10.2; do
	if ss -Hltn "src $a:5000" | grep -q .; then
		echo "demo.sh: $a:5000 is taken; the demo's backends need it" >&2
		exit 1
	fi
done
dnsport=$(free_port udp)
DEMO_DNS=127.0.0.1:$dnsport
DEMO_HTTP=127.0.0.1:$(free_port tcp)
DEMO_API=127.0.0.1:$(free_port tcp)
export DEMO_DNS DEMO_HTTP DEMO_API

out=$("$top_srcdir/demo/run-demo.sh" --builddir "$top_builddir" --check 60 2>&1)
rc=$?
echo "$out"
[ $rc -eq 0 ] || { echo "demo.sh: FAIL" >&2; exit 1; }
echo "$out" | grep -q '^60 requests: [1-9][0-9]* x "Move your honourable arse!", [1-9][0-9]* x "Stop whining and get to work!", 0 failed$' ||
    { echo "demo.sh: FAIL: unexpected summary" >&2; exit 1; }
echo "demo.sh: PASS"
