#!/usr/bin/env bash
# SPDX-License-Identifier: MIT
# api_burst.sh -- api-objects.json, written by the state writer's thread,
# after bursts of concurrent applies and deletes: every client that got
# its 200 finds its object in the file already (acknowledged only once
# durable), the file holds exactly what the API owns, and a restart
# brings every object back.
set -u
. "$top_srcdir/tests/integration/lib.sh"

command -v curl >/dev/null || { echo "curl missing"; exit 77; }

N=60
STATE="$TEST_TMP/state"
API_PORT=$(free_port)
API="http://127.0.0.1:$API_PORT"
ARGS=(--state-dir "$STATE" --dns-listen "127.0.0.1:$(free_port)"
	--api-listen "127.0.0.1:$API_PORT" --upstream 127.0.0.1:9)
FILE="$STATE/api-objects.json"

# in_file KIND NAME: true when the state file lists that object.
in_file() {
	python3 - "$FILE" "$1" "$2" <<'PY'
import json, sys
d = json.load(open(sys.argv[1]))
sys.exit(not any(i["kind"] == sys.argv[2] and
                 i["metadata"]["name"] == sys.argv[3] for i in d["items"]))
PY
}

# names KIND: the names of that kind in the state file, sorted.
names() {
	python3 - "$FILE" "$1" <<'PY'
import json, sys
d = json.load(open(sys.argv[1]))
assert d["kind"] == "List", d["kind"]
print(" ".join(sorted(i["metadata"]["name"] for i in d["items"]
                      if i["kind"] == sys.argv[2])))
PY
}

# client I: applies Service b-I and Pod b-I-0 in one request; once
# answered 200, both must be in the file. Prints "ok I" or why not.
client() {
	local i=$1 code
	code=$(curl -s -o "$TEST_TMP/body.$i" -w '%{http_code}' -X POST \
	    --data-binary @- "$API/v1/apply" <<Y
kind: Service
metadata: {name: b-$i}
spec: {selector: {app: b-$i}, ports: [{port: 80}]}
---
kind: Pod
metadata: {name: b-$i-0, labels: {app: b-$i}}
status: {podIP: 127.0.40.$((i + 1))}
Y
)
	[ "$code" = 200 ] || { echo "apply $i: $code $(cat "$TEST_TMP/body.$i")"; return; }
	in_file Service "b-$i" && in_file Pod "b-$i-0" ||
	    { echo "apply $i: acknowledged, not in the file"; return; }
	echo "ok $i"
}

# remover I: deletes Service b-I; once answered, it must be gone.
remover() {
	local i=$1 code
	code=$(curl -s -o /dev/null -w '%{http_code}' -X DELETE \
	    "$API/v1/services/default/b-$i")
	[ "$code" = 200 ] || { echo "delete $i: $code"; return; }
	in_file Service "b-$i" && { echo "delete $i: acknowledged, still in the file"; return; }
	echo "ok $i"
}

start_daemon "$TEST_TMP/d1.log" "${ARGS[@]}"

# A burst of applies at once (waiting for the clients, not the daemon).
pids=()
for ((i = 0; i < N; i++)); do client "$i" > "$TEST_TMP/out.$i" & pids+=($!); done
wait "${pids[@]}"
for ((i = 0; i < N; i++)); do
	grep -qx "ok $i" "$TEST_TMP/out.$i" || fail "$(cat "$TEST_TMP/out.$i")"
done
want=$(for ((i = 0; i < N; i++)); do echo "b-$i"; done | sort | tr '\n' ' ')
[ "$(names Service) " = "$want" ] || fail "services in the file: $(names Service)"
[ "$(names Pod | wc -w)" = "$N" ] || fail "pods in the file: $(names Pod)"
pass "$N concurrent applies: each acknowledged object already in api-objects.json"

# A burst of deletes of every third service, with applies beside them.
pids=()
for ((i = 0; i < N; i += 3)); do remover "$i" > "$TEST_TMP/rm.$i" & pids+=($!); done
for ((i = N; i < N + 10; i++)); do client "$i" > "$TEST_TMP/out.$i" & pids+=($!); done
wait "${pids[@]}"
for ((i = 0; i < N; i += 3)); do
	grep -qx "ok $i" "$TEST_TMP/rm.$i" || fail "$(cat "$TEST_TMP/rm.$i")"
done
for ((i = N; i < N + 10; i++)); do
	grep -qx "ok $i" "$TEST_TMP/out.$i" || fail "$(cat "$TEST_TMP/out.$i")"
done
want=$(for ((i = 0; i < N + 10; i++)); do
	((i < N && i % 3 == 0)) || echo "b-$i"; done | sort | tr '\n' ' ')
[ "$(names Service) " = "$want" ] || fail "after deletes: $(names Service)"
pass "deletes and applies at once: the file follows each"

# A restart brings back exactly what the file holds.
stop_daemon
start_daemon "$TEST_TMP/d2.log" "${ARGS[@]}"
got=$(curl -s "$API/v1/services" | python3 -c 'import json, sys
print(" ".join(sorted(i["metadata"]["name"] for i in json.load(sys.stdin)["items"])))')
[ "$got " = "$want" ] || fail "after restart: $got"
got=$(curl -s "$API/v1/pods" | python3 -c 'import json, sys
print(len(json.load(sys.stdin)["items"]))')
[ "$got" = $((N + 10)) ] || fail "pods after restart: $got"
stop_daemon
pass "restart: every service and pod the API owned is back"
