# SPDX-License-Identifier: MIT
# dns_lib.sh -- helpers of the DNS integration tests (sourced, bash).
. "$top_srcdir/tests/integration/lib.sh"

for tool in dig kdig python3; do
	command -v "$tool" >/dev/null 2>&1 || { echo "skip: $tool missing"; exit 77; }
done

# dq ARGS...: dig at the daemon; prints dig's whole output.
dq() {
	dig +time=2 +tries=1 -p "$DNS_PORT" @127.0.0.1 "$@" 2>&1
}

# dshort ARGS...: the answer data only.
dshort() {
	dq +short "$@"
}

# expect_status STATUS ARGS...: the query gets STATUS (NOERROR, NXDOMAIN...).
expect_status() {
	local want=$1 out
	shift
	out=$(dq "$@")
	echo "$out" | grep -q "status: $want," ||
	    fail "$* -> want $want, got: $(echo "$out" | grep -E 'status|timed out')"
}

# expect_flag FLAG ARGS...: the answer's header has FLAG (aa, tc, ra...).
expect_flag() {
	local flag=$1 out
	shift
	out=$(dq "$@")
	echo "$out" | grep -Eq "^;; flags:[a-z ]* $flag[ ;]" ||
	    fail "$* -> no $flag flag: $(echo "$out" | grep flags)"
}

# start_upstream: ldns-testns with dns_upstream.data on a free port.
start_upstream() {
	command -v ldns-testns >/dev/null 2>&1 || { echo "skip: ldns-testns missing"; exit 77; }
	UP_PORT=$(free_port)
	ldns-testns -p "$UP_PORT" "$top_srcdir/tests/integration/dns_upstream.data" \
	    >"$TEST_TMP/upstream.log" 2>&1 &
	UP_PID=$!
	TEST_PIDS+=("$UP_PID")
	local i
	for ((i = 0; i < 100; i++)); do
		dig +time=1 +tries=1 -p "$UP_PORT" @127.0.0.1 www.example.com +short 2>/dev/null |
		    grep -q 192.0.2.80 && return 0
		sleep 0.05
	done
	fail "ldns-testns did not answer"
}

# VIPs from a /16 of our own (127.VIP_NET.0.0/16), so the forwarder's
# VIP:port listeners never collide with other tests running in parallel.
VIP_NET=$((200 + RANDOM % 50))
VIP_RANGE=127.$VIP_NET.0.0/16

# start_dns MANIFEST_DIR ARGS...: the daemon answering DNS on 127.0.0.1:$DNS_PORT.
start_dns() {
	local dir=$1
	shift
	DNS_PORT=$(free_port)
	mkdir -p "$TEST_TMP/state"
	start_daemon "$TEST_TMP/daemon.log" --dns-listen "127.0.0.1:$DNS_PORT" \
	    --state-dir "$TEST_TMP/state" --manifests "$dir" --vip-range "$VIP_RANGE" "$@"
}

# The manifests of the tests: a ClusterIP service with two pods, a headless
# service with two ready pods and one not ready, one with no ready pod, an
# ExternalName, and a service in another namespace.
write_manifests() {
	local dir=$1
	mkdir -p "$dir"
	cat >"$dir/apps.yaml" <<'YAML'
apiVersion: v1
kind: Service
metadata: {name: backend}
spec:
  selector: {name: backend}
  ports: [{name: http, port: 5000, targetPort: 5000, protocol: TCP}]
---
kind: Pod
metadata: {name: backend-1, labels: {name: backend}}
status: {podIP: 127.0.10.1}
---
kind: Pod
metadata: {name: backend-2, labels: {name: backend}}
status: {podIP: 127.0.10.2}
---
kind: Service
metadata: {name: db}
spec:
  clusterIP: None
  selector: {app: db}
  ports: [{name: pg, port: 5432, protocol: TCP}]
---
kind: Pod
metadata: {name: db-0, labels: {app: db}}
status: {podIP: 127.0.20.1}
---
kind: Pod
metadata: {name: db-1, labels: {app: db}}
status: {podIP: 127.0.20.2}
---
kind: Pod
metadata: {name: db-2, labels: {app: db}}
status:
  podIP: 127.0.20.3
  conditions: [{type: Ready, status: "False"}]
---
kind: Service
metadata: {name: idle}
spec:
  clusterIP: None
  selector: {app: idle}
  ports: [{port: 80}]
---
kind: Service
metadata: {name: ext}
spec: {type: ExternalName, externalName: www.example.org}
---
kind: Service
metadata: {name: web, namespace: other}
spec:
  selector: {app: web}
  ports: [{port: 80}]
YAML
}

# reverse_name A.B.C.D: D.C.B.A.in-addr.arpa
reverse_name() {
	echo "$1" | awk -F. '{print $4"."$3"."$2"."$1".in-addr.arpa"}'
}
