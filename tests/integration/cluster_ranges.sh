#!/usr/bin/env bash
# SPDX-License-Identifier: MIT
# cluster_ranges.sh -- every host serves every Service, whatever its own
# VIP ranges: five daemons on one etcd. A (127.96.0.0/16, fd00:ca::/112),
# B (127.97.0.0/16, fd00:cb::/112) and C (127.98.0.0/16, no IPv6 range)
# in loopback mode. A dual-stack Service applied on A (its pod's backend
# on A, both families) resolves on B and C to A's VIPs, outside their
# ranges, and a client on B and on C reaches the backend through both
# of them (each host routes the foreign IPv6 VIP, a /128 local route on
# lo, to its own forwarder) and gets its PTR. D runs in interface mode
# (its eth0, 10.97.0.0/24, no IPv6 range): A's VIPs of both families go
# on its interface and forward there, and a Service applied on D gets a
# VIP outside 127.0.0.0/8, which B routes as a /32 on lo and forwards.
# F runs as nobody without an IPv6 range, so without CAP_NET_ADMIN: it
# answers A's AAAA and says once that the VIP cannot be reached there,
# and why, in its log and in describe. Deleted on A, the Service and its /128 routes leave B and C.
set -u
. "$top_srcdir/tests/integration/lib.sh"
. "$top_srcdir/tests/integration/cluster_lib.sh"
id nobody >/dev/null 2>&1 || { echo "SKIP: no user nobody"; exit 77; }

cl_dig6() { ip netns exec $CL_P$1 dig +short +time=2 +tries=1 @127.0.0.1 -p 53 AAAA "$2"; }
# routes6 H: the /128 local routes on H's lo.
routes6() { ip -n $CL_P$1 -6 route show table local type local dev lo; }

cl_net a b c d f
i=3
for h in a b c d f; do
	ip -n $CL_P$h -6 addr add fd00:178::$i/64 dev eth0 nodad || fail "IPv6 on $h"
	i=$((i + 1))
done
cl_etcd m1
cl_daemon a --vip-range 127.96.0.0/16 --vip-range fd00:ca::/112
cl_daemon b --vip-range 127.97.0.0/16 --vip-range fd00:cb::/112
cl_daemon c --vip-range 127.98.0.0/16
cl_daemon d --vip-range 10.97.0.0/24 --vip-interface eth0
chmod 0711 "$TEST_TMP"	# nobody's state directory lies inside
cl_daemon f --vip-range 127.99.0.0/16 --user nobody

# The backend on A: one server on both families.
ip netns exec ${CL_P}a python3 -c '
import socket
s = socket.socket(socket.AF_INET6); s.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
s.setsockopt(socket.IPPROTO_IPV6, socket.IPV6_V6ONLY, 0)
s.bind(("::", 8080)); s.listen(8)
while True:
    c, _ = s.accept(); c.sendall(b"from-a\n"); c.close()
' &
TEST_PIDS+=($!)
cl_greeting a 10.178.0.3 8080 from-a || fail "no backend on A: '$CL_GOT'"
cl_greeting a fd00:178::3 8080 from-a || fail "no IPv6 backend on A: '$CL_GOT'"

cl_apply a '{"apiVersion":"v1","kind":"Service","metadata":{"name":"web"},"spec":{"selector":{"app":"web"},"ipFamilyPolicy":"RequireDualStack","ipFamilies":["IPv4","IPv6"],"ports":[{"port":80,"targetPort":8080}]}}'
cl_apply a '{"apiVersion":"v1","kind":"Pod","metadata":{"name":"web-1","labels":{"app":"web"}},"status":{"podIP":"10.178.0.3","podIPs":[{"ip":"10.178.0.3"},{"ip":"fd00:178::3"}]}}'
v4=$(cl_dig a web.default.svc.cluster.local)
v6=$(cl_dig6 a web.default.svc.cluster.local)
case "$v4" in 127.96.*) ;; *) fail "A's IPv4 VIP for web: '$v4'";; esac
case "$v6" in fd00:ca:*) ;; *) fail "A's IPv6 VIP for web: '$v6'";; esac

for h in b c d; do
	cl_poll_dig $h web.default.svc.cluster.local "$v4"
	for ((n = 0; n < 300; n++)); do
		[ "$(cl_dig6 $h web.default.svc.cluster.local)" = "$v6" ] && break
		sleep 0.2
	done
	[ "$(cl_dig6 $h web.default.svc.cluster.local)" = "$v6" ] ||
		fail "host $h answers '$(cl_dig6 $h web.default.svc.cluster.local)' AAAA for web, A $v6"
	cl_poll_api $h /v1/pods 'fd00:178::3'
	cl_greeting $h "$v6" 80 from-a ||
		fail "host $h: [$v6]:80 (A's IPv6 VIP) answered '$CL_GOT'; log: $(grep -E 'web|route' "${CL_LOG[$h]}" | tail -5)"
	cl_greeting $h "$v4" 80 from-a ||
		fail "host $h: $v4:80 (A's IPv4 VIP) answered '$CL_GOT'"
	if [ $h = d ]; then
		ip -n ${CL_P}d -6 addr show dev eth0 | grep -q "inet6 $v6/128" ||
			fail "host d: $v6 not on eth0: $(ip -n ${CL_P}d addr show dev eth0)"
		continue
	fi
	routes6 $h | grep -q "^local $v6 " ||
		fail "host $h: no /128 local route for $v6: $(routes6 $h)"
	got=$(ip netns exec $CL_P$h dig +short +time=2 +tries=1 @127.0.0.1 -p 53 -x "$v6")
	[ "$got" = web.default.svc.cluster.local. ] || fail "host $h: PTR of $v6: '$got'"
	grep -q "VIP $v6 is outside the addresses lo takes as its own here: local route on lo" "${CL_LOG[$h]}" ||
		fail "host $h does not log the route for $v6"
done
# A's own VIP lies in its range: no route of its own there.
routes6 a | grep -q "^local $v6 " && fail "host a: a /128 route for its own $v6"

# F cannot route it: said once, with the reason; DNS still answers.
for ((n = 0; n < 300; n++)); do
	[ "$(cl_dig6 f web.default.svc.cluster.local)" = "$v6" ] && break
	sleep 0.2
done
[ "$(cl_dig6 f web.default.svc.cluster.local)" = "$v6" ] ||
	fail "host f answers '$(cl_dig6 f web.default.svc.cluster.local)' AAAA for web, A $v6"
cl_until "host f to say it cannot serve $v6" grep -q \
    "VIP $v6 is outside the addresses lo takes as its own here and cannot be reached on this host: adding a local route on lo: .*(needs CAP_NET_ADMIN)" \
    "${CL_LOG[f]}"
routes6 f | grep -q "^local $v6 " && fail "host f: a route for $v6 after all"
desc=$(ip netns exec ${CL_P}f "$top_builddir/client/clusterip" describe svc web)
echo "$desc" | grep -Eq "^Not Served Here: +$v6 \(adding a local route on lo: .*needs CAP_NET_ADMIN\)\)$" ||
	fail "describe on F does not say $v6 is not served: $desc"
ip netns exec ${CL_P}b "$top_builddir/client/clusterip" describe svc web | grep -q "Not Served" &&
	fail "describe on B says a VIP is not served"

# A Service of D's range: outside 127.0.0.0/8, routed to lo on B.
cl_apply d '{"apiVersion":"v1","kind":"Service","metadata":{"name":"web4"},"spec":{"selector":{"app":"web"},"ports":[{"port":81,"targetPort":8080}]}}'
d4=$(cl_dig d web4.default.svc.cluster.local)
case "$d4" in 10.97.0.*) ;; *) fail "D's VIP for web4: '$d4'";; esac
cl_greeting d "$d4" 81 from-a || fail "host d: $d4:81 answered '$CL_GOT'"
cl_poll_dig b web4.default.svc.cluster.local "$d4"
cl_greeting b "$d4" 81 from-a ||
	fail "host b: $d4:81 (D's VIP) answered '$CL_GOT'; log: $(grep -E 'web4' "${CL_LOG[b]}" | tail -5)"
ip -n ${CL_P}b route show table local type local dev lo | grep -q "^local $d4 " ||
	fail "host b: no /32 local route for $d4"

code=$(cl_api a -o /dev/null -w '%{http_code}' -X DELETE http://127.0.0.1:9901/v1/services/default/web)
[ "$code" = 200 ] || fail "delete web on A: $code"
for h in b c; do
	cl_poll_api $h /v1/services '"name": *"web"' absent
	cl_until "host $h keeps the /128 route of $v6" \
	    sh -c "! ip -n $CL_P$h -6 route show table local type local dev lo | grep -q '^local $v6 '"
done
pass "A's dual-stack Service answers and forwards on B (other ranges), C (no IPv6 range), D (interface mode); D's on B; F without CAP_NET_ADMIN says it cannot"
