#!/usr/bin/env bash
# SPDX-License-Identifier: MIT
# diskfull.sh -- the state directory's disk fills up: an API change is
# applied and answered with 500 saying the state file could not be written,
# the last good api-objects.json and vips.json stay whole (no temporary
# file left), DNS and the API go on, and the next change once there is room
# writes everything. The state directory is a 256 KiB tmpfs in a mount
# namespace of the daemon's own (needs root; skipped otherwise).
set -u
. "$top_srcdir/tests/integration/lib.sh"

command -v curl >/dev/null || { echo "skip: curl missing"; exit 77; }
command -v unshare >/dev/null && command -v nsenter >/dev/null ||
	{ echo "skip: unshare/nsenter (util-linux) missing"; exit 77; }
mkdir -p "$TEST_TMP/probe"
unshare -m --propagation private sh -c "mount -t tmpfs -o size=64k tmpfs '$TEST_TMP/probe'" 2>/dev/null ||
	{ echo "skip: cannot mount a tmpfs in a mount namespace (not root?)"; exit 77; }

M="$TEST_TMP/manifests"
STATE="$TEST_TMP/state"
mkdir -p "$M" "$STATE"
API_PORT=$(free_port)
DNS_PORT=$(free_port)
API="http://127.0.0.1:$API_PORT"
# The daemon runs in a mount namespace whose STATE is a small tmpfs.
# shellcheck disable=SC2016
DAEMON_PREFIX=(unshare -m --propagation private sh -c
	'mount -t tmpfs -o size=256k tmpfs "$STATE_DIR" && exec "$0" "$@"')
export STATE_DIR="$STATE"
start_daemon "$TEST_TMP/daemon.log" --manifests "$M" --state-dir "$STATE" \
	--dns-listen "127.0.0.1:$DNS_PORT" --api-listen "127.0.0.1:$API_PORT" \
	--upstream 127.0.0.1:9 --vip-range 127.97.0.0/16
# in_ns CMD...: runs CMD in the daemon's mount namespace.
in_ns() { nsenter -t "$DAEMON_PID" -m -- "$@"; }
apply() {	# apply NAME: a Service through the API; prints the HTTP code
	curl -s -o "$TEST_TMP/body" -w '%{http_code}' -X POST "$API/v1/apply" \
		--data-binary "{\"kind\":\"Service\",\"metadata\":{\"name\":\"$1\"},\"spec\":{\"ports\":[{\"port\":80}]}}"
}
vip_of() { dig +short +time=2 +tries=1 -p "$DNS_PORT" @127.0.0.1 "$1.default.svc.cluster.local" A; }

[ "$(in_ns stat -f -c %T "$STATE")" = tmpfs ] || fail "state directory is not the namespace's tmpfs"
[ "$(stat -f -c %T "$STATE")" != tmpfs ] || fail "the tmpfs leaked out of the daemon's namespace"
[ "$(apply one)" = 200 ] || fail "apply one: $(cat "$TEST_TMP/body")"
in_ns grep -q '"one"' "$STATE/api-objects.json" || fail "one not saved"
good_api=$(in_ns cat "$STATE/api-objects.json")
good_vips=$(in_ns cat "$STATE/vips.json")

# Fill the disk.
in_ns sh -c "dd if=/dev/zero of='$STATE/fill' bs=4k 2>/dev/null; true"
[ "$(in_ns df --output=avail "$STATE" | tail -1 | tr -d ' ')" = 0 ] || fail "tmpfs not full"
code=$(apply two)
[ "$code" = 500 ] || fail "apply on a full disk: HTTP $code: $(cat "$TEST_TMP/body")"
grep -q "state file could not be written" "$TEST_TMP/body" || fail "500 without a reason: $(cat "$TEST_TMP/body")"
[ -n "$(vip_of two)" ] || fail "the applied service does not answer in DNS"
curl -sf "$API/v1/services/default/two" >/dev/null || fail "the applied service is not in the API"
[ "$(in_ns cat "$STATE/api-objects.json")" = "$good_api" ] || fail "api-objects.json changed on a full disk"
[ "$(in_ns cat "$STATE/vips.json")" = "$good_vips" ] || fail "vips.json changed on a full disk"
in_ns sh -c "ls '$STATE'/*.tmp 2>/dev/null" && fail "a temporary file was left on the full disk"
grep -Eq "cannot (save VIP state|write .*vips\.json)" "$TEST_TMP/daemon.log" ||
    fail "the failed VIP save was not logged"
kill -0 "$DAEMON_PID" || fail "daemon died on a full disk"
pass "full disk: the change applies, 500 says the state was not saved, the old files stay whole"

# Room again: the next change writes everything, the earlier one too.
in_ns rm -f "$STATE/fill"
[ "$(apply three)" = 200 ] || fail "apply after freeing space: $(cat "$TEST_TMP/body")"
for s in one two three; do
	in_ns grep -q "\"$s\"" "$STATE/api-objects.json" || fail "$s not in api-objects.json"
done
vip2=$(vip_of two)
[ "$(in_ns cat "$STATE/vips.json" | state_vip default/two)" = "$vip2" ] ||
	fail "two's VIP $vip2 not in vips.json"
stop_daemon
pass "with room again, the next change saves the state in full"
