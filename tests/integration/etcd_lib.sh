# SPDX-License-Identifier: MIT
# etcd_lib.sh -- a real single-member etcd (Debian's etcd-server) for the
# cluster tests, on 127.0.0.1 with free ports; stopped by lib.sh's
# cleanup (its pid is in TEST_PIDS). Source after lib.sh.

command -v etcd >/dev/null || { echo "SKIP: etcd (etcd-server) not installed"; exit 77; }
command -v etcdctl >/dev/null || { echo "SKIP: etcdctl (etcd-client) not installed"; exit 77; }

# etcd_start NAME: starts member NAME with data in $TEST_TMP/NAME (kept
# across restarts), sets ETCD_URL and ETCD_PID.
etcd_start() {
	local name=$1 cport pport
	cport=${ETCD_CPORT:-$(free_port)}
	pport=${ETCD_PPORT:-$(free_port)}
	ETCD_CPORT=$cport ETCD_PPORT=$pport
	ETCD_URL="http://127.0.0.1:$cport"
	etcd --name "$name" --data-dir "$TEST_TMP/$name" \
	    --listen-client-urls "$ETCD_URL" --advertise-client-urls "$ETCD_URL" \
	    --listen-peer-urls "http://127.0.0.1:$pport" \
	    --initial-advertise-peer-urls "http://127.0.0.1:$pport" \
	    --initial-cluster "$name=http://127.0.0.1:$pport" \
	    >>"$TEST_TMP/$name.log" 2>&1 &
	ETCD_PID=$!
	TEST_PIDS+=("$ETCD_PID")
	etcd_wait_healthy
}

# etcd_wait_healthy: polls until the member answers (60 s, a guard).
etcd_wait_healthy() {
	local i
	for ((i = 0; i < 600; i++)); do
		etcdctl --endpoints "$ETCD_URL" endpoint health >/dev/null 2>&1 && return 0
		sleep 0.1
	done
	fail "etcd at $ETCD_URL did not become healthy"
}

# etcd_kill: SIGKILL the member (its data stays for etcd_start again).
etcd_kill() {
	kill -9 "$ETCD_PID" 2>/dev/null
	wait "$ETCD_PID" 2>/dev/null
}

ectl() {
	etcdctl --endpoints "$ETCD_URL" "$@"
}
