#!/bin/bash
# SPDX-License-Identifier: MIT
# Readiness probes: a tcpSocket probe and an httpGet probe (by port name)
# take their pod out of the VIP's rotation when they fail and put it back
# when they pass again; an endpoint that never answers times out; the
# initial delay holds the first probe back; a reply that is not HTTP and a
# reset before any reply both fail.
. "$top_srcdir/tests/integration/proxy_lib.sh"

P1=$(free_port) P2=$(free_port) P3=$(free_port) P4=$(free_port)
P5=$(free_port) P6=$(free_port)
VT=$(rand_vip) VH=$(rand_vip) VS=$(rand_vip) VO=$(rand_vip)
backend http stable 127.0.10.16 "$P1"
backend silent mute 127.0.10.17 "$P4"
backend banner garbage 127.0.10.19 "$P5"
backend rst reset 127.0.10.19 "$P6"
{
	svc tcp "$VT" 80 tcpw "" round-robin
	svc http "$VH" 80 httpw "" round-robin
	pod stable-t 127.0.10.16 "$P1" tcpw
	pod stable-h 127.0.10.16 "$P1" httpw
	pod flaky-t 127.0.10.17 "$P2" tcpw \
	    "{tcpSocket: {port: $P2}, periodSeconds: 1, failureThreshold: 1}"
	pod flaky-h 127.0.10.18 "$P3" httpw \
	    "{httpGet: {path: /healthz, port: p}, periodSeconds: 1, failureThreshold: 2, successThreshold: 2}"
	svc slow "$VS" 80 slow "" round-robin
	pod stable-s 127.0.10.16 "$P1" slow
	pod mute-s 127.0.10.17 "$P4" slow \
	    "{httpGet: {path: /, port: $P4}, periodSeconds: 1, timeoutSeconds: 1}"
	pod late-s 127.0.10.16 "$P1" slow \
	    "{tcpSocket: {port: $P1}, initialDelaySeconds: 2, periodSeconds: 1}"
	svc odd "$VO" 80 odd "" round-robin
	pod stable-o 127.0.10.16 "$P1" odd
	pod garbage-o 127.0.10.19 "$P5" odd "{httpGet: {path: /, port: $P5}, periodSeconds: 1}"
	pod reset-o 127.0.10.19 "$P6" odd "{httpGet: {path: /, port: $P6}, periodSeconds: 1}"
} | manifest all.yaml
start_daemon --log-level debug
wait_listen "$VT" 80
wait_listen "$VH" 80
wait_listen "$VS" 80
wait_listen "$VO" 80

# names URL: the distinct bodies of 8 requests, sorted, space-separated.
names() { hits "$1" 8 | sort -u | tr '\n' ' '; }
# until_names URL WANT: polls (10 s at most) until names URL = WANT.
until_names() {
	local n
	for _ in $(seq 100); do
		n=$(names "$1")
		[ "$n" = "$2" ] && return 0
		sleep 0.1
	done
	fail "$1: got '$n', want '$2'"
}

# Not ready until probed successfully: only the stable pods answer.
[ "$(names "http://$VT/")" = "stable " ] || fail "tcp: flaky pod served before its probe passed"
[ "$(names "http://$VH/")" = "stable " ] || fail "http: flaky pod served before its probe passed"

# tcpSocket: the backend comes up, the pod joins; it dies, the pod leaves.
backend http flaky 127.0.10.17 "$P2"; FT=$BPID
until_names "http://$VT/" "flaky stable "
echo "tcp probe: in"
kill "$FT"; wait "$FT" 2>/dev/null
for _ in $(seq 60); do
	grep -q "health: default/flaky-t is not ready" "$T/daemon.log" && break
	sleep 0.1
done
grep -q "health: default/flaky-t is not ready (connection refused)" "$T/daemon.log" ||
    fail "tcp probe never failed"
until_names "http://$VT/" "stable "
echo "tcp probe: out"

# httpGet: 503 keeps it out; 200 twice brings it in; 503 twice takes it out.
backend http flakyh 127.0.10.18 "$P3" "$T/healthy"
sleep 1.5
[ "$(names "http://$VH/")" = "stable " ] || fail "http: 503 pod served"
touch "$T/healthy"
until_names "http://$VH/" "flakyh stable "
echo "http probe: in"
rm -f "$T/healthy"
until_names "http://$VH/" "stable "
grep -q "health: default/flaky-h is not ready (HTTP status)" "$T/daemon.log" ||
    fail "http probe: no reason logged"
echo "http probe: out"
# initialDelaySeconds 2: no probe, so not ready, before 2 s.
for _ in $(seq 100); do
	grep -q "health: default/late-s is ready" "$T/daemon.log" && break
	sleep 0.1
done
grep -q "health: default/late-s is ready" "$T/daemon.log" ||
    fail "late-s never became ready"
# Log times: from "startup complete" to "late-s is ready".
stamp() { date -d "$(grep -m1 "$1" "$T/daemon.log" | cut -d' ' -f1)" +%s%3N; }
ms=$(( $(stamp "health: default/late-s is ready") - $(stamp "startup complete") ))
[ $ms -ge 1900 ] && [ $ms -le 4500 ] ||
    fail "late-s ready $ms ms after startup; the initial delay is 2 s"
echo "initial delay: ready $ms ms after startup"

# An endpoint that accepts but never answers: the probe times out.
for _ in $(seq 50); do
	grep -q "health: default/mute-s: timeout" "$T/daemon.log" && break
	sleep 0.1
done
grep -q "health: default/mute-s: timeout" "$T/daemon.log" ||
    fail "no probe timeout for mute-s"
out=$(hits "http://$VS/" 6 | sort -u | tr '\n' ' ')
[ "$out" = "stable " ] || fail "mute-s served: $out"
echo "timeout: mute-s stays out"

# Replies a probe must not take for success.
for want in "garbage-o: bad HTTP reply" "reset-o: bad HTTP reply"; do
	for _ in $(seq 50); do
		grep -q "health: default/$want" "$T/daemon.log" && break
		sleep 0.1
	done
	grep -q "health: default/$want" "$T/daemon.log" || fail "no probe failure '$want'"
done
grep -Eq "health: default/(garbage|reset)-o is ready" "$T/daemon.log" &&
    fail "an odd reply made a pod ready"
out=$(hits "http://$VO/" 8 | sort -u | tr '\n' ' ')
[ "$out" = "stable " ] || fail "odd pods served: $out"
echo "bad replies: not HTTP, reset before a reply: both stay out"
pass
