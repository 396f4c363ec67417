#!/bin/bash
# SPDX-License-Identifier: MIT
# --proxy-mode nftables in a network namespace of its own: the VIP is
# served by the kernel (nothing listens on it), both endpoints are
# reached, round-robin alternates, ClientIP affinity pins, a port without
# ready endpoint rejects TCP with a reset and UDP with ICMP while DNS
# still answers, a failing readiness probe takes an endpoint out,
# least-connections and the userspace annotation stay on the forwarder,
# and SIGTERM deletes the table; in userspace mode the table comes with
# the first service that asks for it. Needs root (else skipped).
. "$top_srcdir/tests/integration/proxy_lib.sh"
. "$top_srcdir/tests/integration/kernel_lib.sh"

VIP=127.96.7.10 VRR=127.96.7.11 VAFF=127.96.7.12 VNONE=127.96.7.13
VLC=127.96.7.14 VUS=127.96.7.15 VNU=127.96.7.16
PA=$(free_port) PB=$(free_port) PU=$(free_port udp)
touch "$T/ready-a" "$T/ready-b"
backend http a 127.0.10.1 "$PA" "$T/ready-a"
backend http b 127.0.10.2 "$PB" "$T/ready-b"
PROBE='{httpGet: {path: /healthz, port: p}, periodSeconds: 1, failureThreshold: 1}'
{
	svc web "$VIP" 80 web
	svc rr "$VRR" 80 web "" round-robin
	svc aff "$VAFF" 80 web "  sessionAffinity: ClientIP"
	svc none "$VNONE" 80 nothing
	svc none-udp "$VNU" 53 nothing "" "" UDP
	svc lc "$VLC" 80 web "" least-connections
	cat <<Y
apiVersion: v1
kind: Service
metadata: {name: us, annotations: {clusterip.io/proxy-mode: userspace}}
spec:
  selector: {app: web}
  clusterIP: $VUS
  ports: [{name: p, port: 80, targetPort: p}]
---
Y
	pod web-a 127.0.10.1 "$PA" web "$PROBE"
	pod web-b 127.0.10.2 "$PB" web "$PROBE"
} | manifest all.yaml
# Without CAP_NET_ADMIN the daemon refuses nftables mode at start.
if command -v setpriv > /dev/null; then
	NP=$(mktemp -d /tmp/cipk-np.XXXXXX) && chmod 777 "$NP"
	EXTRA_CLEANUP="$EXTRA_CLEANUP; rm -rf $NP"
	if $NSX setpriv --reuid 65534 --regid 65534 --clear-groups \
	    "$top_builddir/server/clusteripd" --proxy-mode nftables \
	    --state-dir "$NP" --dns-listen 127.0.0.1:0 --api-listen none \
	    --upstream 127.0.0.1:9 > "$T/np.log" 2>&1; then
		fail "nftables mode started without CAP_NET_ADMIN"
	fi
	grep -q "the kernel path cannot start" "$T/np.log" ||
	    fail "no reason given: $(cat "$T/np.log")"
	echo "kernel: refused at start without CAP_NET_ADMIN"
fi
kstart --dns-listen 127.0.0.1:5300 --log-level debug
wait_table "$(ep 127.0.10.2 $PB)"
wait_table "$(ep 127.0.10.1 $PA)"
# The manifest's services came in one transaction (lc and us are not
# the kernel's).
grep -q 'kernel: 7 services changed, 5 in one transaction' "$T/daemon.log" ||
    fail "the manifest's services were not one transaction"

# Nothing listens on the kernel's VIPs; the forwarder keeps the others.
$NSX ss -Hltn "src $VIP" | grep -q . && fail "a listener on $VIP"
wait_listen "$VLC" 80
wait_listen "$VUS" 80
grep -q "service default/lc stays on the userspace forwarder: least-conn" \
    "$T/daemon.log" || fail "least-connections not logged as userspace"
CLI="$top_builddir/client/clusterip --server http://127.0.0.1:$APIPORT"
$NSX $CLI describe svc web | grep -Eq '^Proxy Mode: +nftables$' ||
    fail "describe: no nftables line: $($NSX $CLI describe svc web)"
$NSX $CLI describe svc lc | grep -Eq '^Proxy Mode: +userspace \(least-connections' ||
    fail "describe: no reason for lc: $($NSX $CLI describe svc lc)"
$NSX $CLI describe svc us | grep -q '^Proxy Mode:' &&
    fail "describe: a proxy mode line for a service that asked userspace"
echo "kernel: VIP served by rules; least-connections and the annotation stay in userspace (describe says so)"

out=$(khits http://$VIP/ 30 | sort | uniq -c)
echo "$out" | grep -q ' a$' && echo "$out" | grep -q ' b$' ||
    fail "random: both endpoints not reached: $out"
out=$(khits http://$VRR/ 4 | tr -d '\n')
case "$out" in abab|baba) ;; *) fail "round-robin gave $out";; esac
out=$(khits http://$VAFF/ 12 | sort -u | wc -l)
[ "$out" = 1 ] || fail "affinity: $out endpoints for one client"
table | grep -A5 'set aff-' | grep -q 'timeout 3h' || fail "no affinity set with the timeout"
echo "kernel: random reaches both, round-robin alternates, affinity pins"

[ "$(kclient refused "$VNONE" 80)" = refused ] ||
    fail "no endpoint: TCP not refused"
# A local sender learns it from send() (EPERM), a neighbour by ICMP.
case $(kclient udp "$VNU" 53 "$PU") in
refused|refused-local) ;;
*) fail "no endpoint: UDP not refused";;
esac
out=$($NSX dig +short +time=2 @127.0.0.1 -p 5300 none.default.svc.cluster.local)
[ "$out" = "$VNONE" ] || fail "DNS did not answer the empty service: '$out'"
echo "kernel: no endpoint: reset, ICMP, DNS still answers"

# Readiness: a failing probe takes b out of the table, a success back.
rm "$T/ready-b"
wait_table "$(ep 127.0.10.2 $PB)" absent
out=$(khits http://$VIP/ 10 | sort -u | tr -d '\n')
[ "$out" = a ] || fail "not-ready endpoint still reached: $out"
touch "$T/ready-b"
wait_table "$(ep 127.0.10.2 $PB)"
echo "kernel: readiness takes an endpoint out and back"

# The counters count connections per endpoint, and /metrics shows them.
table | grep -Eq "counter packets [1-9][0-9]* .*dnat ip to 127.0.10.1:$PA" ||
    fail "no connection counted by an endpoint chain"
table | grep -Eq "$VIP \. tcp \. 80 \. 127.0.10.1 \. $PA counter packets [1-9]" ||
    fail "no connection counted in endpoint-counters"
for _ in $(seq 300); do
	$NSX curl -s "http://127.0.0.1:$APIPORT/metrics" > "$T/metrics"
	grep -Eq '^clusterip_forward_connections_total\{service="default/web",endpoint="default/web-a"\} [1-9]' \
	    "$T/metrics" && break
	sleep 0.05
done
grep -Eq '^clusterip_forward_connections_total\{service="default/web",endpoint="default/web-a"\} [1-9]' \
    "$T/metrics" || fail "no kernel connections in /metrics: $(grep forward_connections_total "$T/metrics")"
echo "kernel: per-endpoint connections from the nftables counters in /metrics"

# SIGHUP rebuilds the whole table in one transaction; traffic goes on.
kill -HUP "$DPID"
for _ in $(seq 200); do
	[ "$(grep -c 'kernel: table inet clusterip built' "$T/daemon.log")" -ge 2 ] && break
	sleep 0.05
done
[ "$(grep -c 'kernel: table inet clusterip built' "$T/daemon.log")" -ge 2 ] ||
    fail "no rebuild on SIGHUP"
grep 'kernel: table inet clusterip built' "$T/daemon.log" | tail -1 |
    grep -q ': 5 services in the kernel' || fail "SIGHUP rebuilt a different table"
out=$(khits "http://$VIP/" 10 | sort -u | wc -l)
[ "$out" = 2 ] || fail "after SIGHUP: $out endpoints reached"
echo "kernel: SIGHUP rebuilt the table"

kstop
echo "kernel: SIGTERM deleted the table"

# In userspace mode the table waits for the first service that asks for
# the kernel path, and then serves it.
start_daemon --log-level debug
wait_listen "$VIP" 80
table | grep -q . && fail "a table in userspace mode before any service asked"
svc kn 127.96.7.20 80 web "" "" | sed 's/namespace: default/namespace: default, annotations: {clusterip.io\/proxy-mode: nftables}/' |
    manifest kn.yaml
wait_table "127.96.7.20 . tcp . 80"
wait_table "127.0.10.1 . $PA"
table | grep -q "$VIP . tcp" && fail "a userspace service in the table"
kill -TERM "$DPID"
wait "$DPID" || fail "daemon exited with an error"
DPID=""
echo "kernel: userspace mode builds the table for the service that asks"
pass
