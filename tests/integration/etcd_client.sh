#!/usr/bin/env bash
# SPDX-License-Identifier: MIT
# etcd_client.sh -- the etcd client (server/cluster/etcd*.c) against a
# real etcd: create-if-absent txn, prefix range, a watch that survives
# the member's death and restart without losing or repeating a change,
# a watch from a compacted revision that reads everything again, and a
# lease granted, kept alive and revoked. Every request is given a dead
# member first, so each one also shows the move to the next member.
set -u
. "$top_srcdir/tests/integration/lib.sh"
. "$top_srcdir/tests/integration/etcd_lib.sh"
DRIVE="$top_builddir/tests/integration/etcd_drive"

etcd_start m1
dead="http://127.0.0.1:$(free_port)"
URLS="$dead,$ETCD_URL"
drive() { "$DRIVE" "$URLS" "$@"; }

# Create-if-absent: the second attempt fails and reads what is there.
out=$(drive create /t/a first) || fail "create: $out"
[[ $out == created* ]] || fail "first create: $out"
out=$(drive create /t/a second) || fail "create again: $out"
[ "$out" = "exists first" ] || fail "second create: $out"
[ "$(ectl get --print-value-only /t/a)" = first ] || fail "etcdctl sees another value"
pass "txn create-if-absent, on the live member after a dead one"

# Prefix range: /t/ holds a and b, not /u/c nor /t (no slash).
ectl put /t/b two >/dev/null; ectl put /u/c three >/dev/null; ectl put /t x >/dev/null
out=$(drive range /t/) || fail "range: $out"
[ "$(echo "$out" | sed 1d | sort | tr '\n' ' ')" = "/t/a=first /t/b=two " ] ||
	fail "range /t/: $out"
pass "prefix range"

# A watch across the member's death: 3 puts, kill -9, restart, 3 puts.
rev=$(ectl get /t/b -w json | python3 -c 'import json,sys; print(json.load(sys.stdin)["header"]["revision"])')
"$DRIVE" "$URLS" watch /w/ $((rev + 1)) 6 >"$TEST_TMP/watch.out" 2>"$TEST_TMP/watch.err" &
wpid=$!
TEST_PIDS+=("$wpid")
wait_log "$TEST_TMP/watch.out" '^up$' 30
for i in 1 2 3; do ectl put /w/k$i v$i >/dev/null; done
wait_log "$TEST_TMP/watch.out" '^PUT /w/k3=v3' 30
etcd_kill
# Written while the client cannot see: the watch must pick them up.
etcd_start m1
for i in 4 5 6; do ectl put /w/k$i v$i >/dev/null; done
wait "$wpid" || { cat "$TEST_TMP/watch.out" "$TEST_TMP/watch.err"; fail "watch exited non-zero"; }
got=$(grep '^PUT' "$TEST_TMP/watch.out" | cut -d' ' -f2 | tr '\n' ' ')
[ "$got" = "/w/k1=v1 /w/k2=v2 /w/k3=v3 /w/k4=v4 /w/k5=v5 /w/k6=v6 " ] ||
	fail "watch across a restart saw: $got"
grep -q '^broken' "$TEST_TMP/watch.out" || fail "the stream never broke: the test proves nothing"
pass "watch resumed after the member died: each change once, in order"

# Compaction: a watch from revision 2 after compacting to now.
ectl put /c/one 1 >/dev/null; ectl put /c/two 2 >/dev/null
now=$(ectl get /c/two -w json | python3 -c 'import json,sys; print(json.load(sys.stdin)["header"]["revision"])')
ectl compaction "$now" >/dev/null || fail "compaction"
"$DRIVE" "$URLS" watch /c/ 2 1 >"$TEST_TMP/compact.out" 2>&1 &
wpid=$!
TEST_PIDS+=("$wpid")
wait_log "$TEST_TMP/compact.out" '^have /c/two=2' 30
grep -q '^compacted' "$TEST_TMP/compact.out" || fail "no compaction reported"
grep -q '^have /c/one=1' "$TEST_TMP/compact.out" || fail "re-read lacks /c/one"
wait_log "$TEST_TMP/compact.out" '^up$' 30
ectl put /c/three 3 >/dev/null
wait "$wpid" || fail "compaction watch exited non-zero: $(cat "$TEST_TMP/compact.out")"
grep -q '^PUT /c/three=3' "$TEST_TMP/compact.out" || fail "no event after the re-read"
pass "compacted watch: read everything again, then watched on"

# Leases: grant, a key attached, keepalive, revoke (the key goes too).
out=$(drive lease /l/k 30) || fail "lease: $out"
echo "$out" | grep -qx 'granted 30' || fail "grant: $out"
echo "$out" | grep -Eqx 'alive (29|30)' || fail "keepalive: $out"
echo "$out" | grep -qx 'revoked' || fail "revoke: $out"
echo "$out" | grep -Eqx 'gone (0|-1)' || fail "keepalive after revoke: $out"
[ -z "$(ectl get /l/k)" ] || fail "the leased key outlived its lease"
pass "lease grant, keepalive, revoke"
