#!/usr/bin/env bash
# SPDX-License-Identifier: MIT
# etcd_secure.sh -- the daemon against a real etcd with TLS and with
# authentication. A CA, a server and a client certificate are made with
# openssl; one etcd member serves https only and asks for client
# certificates (--client-cert-auth): a daemon given --etcd-cacert,
# --etcd-cert and --etcd-key reads the prefix and writes an applied
# Service, one without the client certificate is refused and says
# "unreachable". A second member has auth enabled (etcdctl user add,
# role, auth enable): a daemon given --etcd-user and
# --etcd-password-file writes its Service, one with a wrong password
# writes nothing.
set -u
. "$top_srcdir/tests/integration/lib.sh"
. "$top_srcdir/tests/integration/etcd_lib.sh"
command -v openssl >/dev/null || { echo "SKIP: openssl missing"; exit 77; }

K=$TEST_TMP/pki
mkdir -p "$K"
openssl req -x509 -newkey rsa:2048 -nodes -days 2 -subj /CN=test-ca \
    -keyout "$K/ca.key" -out "$K/ca.pem" 2>/dev/null || fail "CA"
mkcert() {	# mkcert NAME EXT
	openssl req -newkey rsa:2048 -nodes -subj "/CN=$1" \
	    -keyout "$K/$1.key" -out "$K/$1.csr" 2>/dev/null || fail "csr $1"
	printf '%s\n' "$2" >"$K/$1.ext"
	openssl x509 -req -in "$K/$1.csr" -CA "$K/ca.pem" -CAkey "$K/ca.key" \
	    -CAcreateserial -days 2 -extfile "$K/$1.ext" -out "$K/$1.pem" \
	    2>/dev/null || fail "cert $1"
}
# etcd's JSON gateway reaches etcd's own gRPC with the server's
# certificate: with --client-cert-auth it must be a client one too.
mkcert server 'subjectAltName=IP:127.0.0.1
extendedKeyUsage=serverAuth,clientAuth'
mkcert client 'extendedKeyUsage=clientAuth'

# apply_on PORT NAME: a Service through the daemon's API.
apply_on() {
	curl -s -m 30 -o /dev/null -w '%{http_code}' -X POST --data-binary \
	    "{\"apiVersion\":\"v1\",\"kind\":\"Service\",\"metadata\":{\"name\":\"$2\"},\"spec\":{\"selector\":{\"app\":\"$2\"},\"ports\":[{\"port\":80}]}}" \
	    "http://127.0.0.1:$1/v1/apply"
}
# daemon NAME ARGS...: a daemon on free ports; sets APORT.
daemon() {
	local n=$1
	shift
	APORT=$(free_port)
	DAEMON_PREFIX=()
	start_daemon "$TEST_TMP/$n.log" --dns-listen "127.0.0.1:$(free_port)" \
	    --api-listen "127.0.0.1:$APORT" --state-dir "$TEST_TMP/state-$n" \
	    --upstream 127.0.0.1:9 --advertise-address "$n" "$@"
}

# TLS, client certificates required.
cport=$(free_port) pport=$(free_port)
TLS_URL=https://127.0.0.1:$cport
etcd --name tls --data-dir "$TEST_TMP/tls" \
    --listen-client-urls "$TLS_URL" --advertise-client-urls "$TLS_URL" \
    --cert-file "$K/server.pem" --key-file "$K/server.key" \
    --trusted-ca-file "$K/ca.pem" --client-cert-auth \
    --listen-peer-urls "http://127.0.0.1:$pport" \
    --initial-advertise-peer-urls "http://127.0.0.1:$pport" \
    --initial-cluster "tls=http://127.0.0.1:$pport" >>"$TEST_TMP/tls.log" 2>&1 &
TEST_PIDS+=($!)
tctl() { etcdctl --endpoints "$TLS_URL" --cacert "$K/ca.pem" --cert "$K/client.pem" --key "$K/client.key" "$@"; }
for ((i = 0; i < 600; i++)); do tctl endpoint health >/dev/null 2>&1 && break; sleep 0.1; done
tctl endpoint health >/dev/null 2>&1 || fail "etcd with TLS did not become healthy"

daemon tls-a --etcd "$TLS_URL" --etcd-cacert "$K/ca.pem" \
    --etcd-cert "$K/client.pem" --etcd-key "$K/client.key"
wait_log "$DAEMON_LOG" 'etcd: read [0-9]+ key' 60
[ "$(apply_on $APORT web)" = 200 ] || fail "apply on the TLS daemon"
for ((i = 0; i < 300; i++)); do
	[ -n "$(tctl get /clusterip/services/default/web --keys-only)" ] && break
	sleep 0.2
done
[ -n "$(tctl get /clusterip/services/default/web --keys-only)" ] ||
	fail "the Service did not reach etcd over TLS: $(tail -5 "$DAEMON_LOG")"
pass "TLS with a client certificate: the daemon reads and writes etcd"

daemon tls-nocert --etcd "$TLS_URL" --etcd-cacert "$K/ca.pem"
for ((i = 0; i < 300; i++)); do
	curl -s -m 30 "http://127.0.0.1:$APORT/readyz" | grep -Eq '"etcd": *"unreachable"' && break
	sleep 0.2
done
curl -s -m 30 "http://127.0.0.1:$APORT/readyz" | grep -Eq '"etcd": *"unreachable"' ||
	fail "a daemon without client certificate is not told off: $(curl -s "http://127.0.0.1:$APORT/readyz")"
grep -q 'etcd: read [0-9]* key' "$DAEMON_LOG" && fail "a daemon without client certificate read etcd"
pass "TLS without the client certificate: refused, /readyz says unreachable"

# Authentication: users, a role on the prefix, auth enabled.
etcd_start auth
ectl user add root:rootpw >/dev/null || fail "user add root"
ectl user add cip:cippw >/dev/null || fail "user add cip"
ectl role add cip >/dev/null && ectl role grant-permission cip --prefix=true readwrite /clusterip/ >/dev/null ||
	fail "role"
ectl user grant-role cip cip >/dev/null || fail "grant-role"
ectl auth enable >/dev/null || fail "auth enable"
printf 'cippw\n' >"$TEST_TMP/pw"
printf 'wrong\n' >"$TEST_TMP/badpw"
daemon auth-a --etcd "$ETCD_URL" --etcd-user cip --etcd-password-file "$TEST_TMP/pw"
wait_log "$DAEMON_LOG" 'etcd: read [0-9]+ key' 60
[ "$(apply_on $APORT authweb)" = 200 ] || fail "apply on the auth daemon"
for ((i = 0; i < 300; i++)); do
	[ -n "$(ectl --user root:rootpw get /clusterip/services/default/authweb --keys-only)" ] && break
	sleep 0.2
done
[ -n "$(ectl --user root:rootpw get /clusterip/services/default/authweb --keys-only)" ] ||
	fail "the Service did not reach etcd with auth: $(tail -5 "$DAEMON_LOG")"
pass "etcd auth: the daemon as user cip reads and writes its prefix"

daemon auth-bad --etcd "$ETCD_URL" --etcd-user cip --etcd-password-file "$TEST_TMP/badpw"
code=$(apply_on $APORT badweb)
[ "$code" = 200 ] || fail "apply on the bad-password daemon: $code (it serves locally)"
for ((i = 0; i < 50; i++)); do
	[ -n "$(ectl --user root:rootpw get /clusterip/services/default/authweb --keys-only)" ] || fail "lost authweb"
	sleep 0.1
done
[ -z "$(ectl --user root:rootpw get /clusterip/services/default/badweb --keys-only)" ] ||
	fail "a daemon with a wrong password wrote to etcd"
grep -q 'etcd: read [0-9]* key' "$DAEMON_LOG" && fail "a daemon with a wrong password read etcd"
pass "etcd auth with a wrong password: nothing read or written"
