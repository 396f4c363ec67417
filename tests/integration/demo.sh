#!/bin/sh
# SPDX-License-Identifier: MIT
# The seed's demo on loopback as `make demo` runs it, moved to addresses
# and a VIP range of its own so that it runs beside other tests: the
# front app asks the daemon's DNS for "backend" and fetches the quote
# through the VIP; over many requests both backends' quotes must appear
# and none may fail; dig and `clusterip describe svc backend` agree.
set -u
: "${top_builddir:?}" "${top_srcdir:?}"

. "$top_srcdir/tests/integration/ports.sh"

# Backends on addresses of their own (conf/demo's pods move with them):
# other tests use 127.0.10.1 and 127.0.10.2 and expect them idle.
taken() { ss -Hltn "src $1:5000" | grep -q .; }
while :; do
	n=$(( $(od -An -N1 -tu1 /dev/urandom) % 50 + 200 ))
	taken 127.0.$n.1 || taken 127.0.$n.2 || break
done
DEMO_BACKENDS="127.0.$n.1 127.0.$n.2"
export DEMO_BACKENDS
# A VIP range of its own: the demo's VIP in the default range is derived
# from default/backend, and other tests run the same manifests.
DEMO_VIP_RANGE=127.$(( $(od -An -N1 -tu1 /dev/urandom) % 40 + 150 )).$(( $(od -An -N1 -tu1 /dev/urandom) )).0/24
export DEMO_VIP_RANGE
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
