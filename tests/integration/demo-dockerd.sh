# SPDX-License-Identifier: MIT
# demo-dockerd.sh -- sourced by the Docker tests (demo-docker.sh,
# compose.sh): one test at a time takes the Docker engine (a lock), uses
# the dockerd already running or starts one, and when it started it,
# stops it and restores what dockerd changes on the host: firewall rules
# (IPv4 and IPv6) and the FORWARD policy, ip_forward and IPv6 forwarding
# (the demo's network is dual-stack), docker0, the mounts on
# /var/lib/docker, /var/lib/docker and /run/containerd when they did not
# exist before.
#
# The caller sets W (its work directory) and calls dockerd_stop from its
# EXIT trap.

D=/usr/bin/docker
export DOCKER_HOST=unix:///var/run/docker.sock
DOCKERD_PID= DOCKERD_OWN=0

# dockerd_lock: waits (15 min at most) for the other Docker tests.
dockerd_lock() {
	exec 9> /run/lock/clusterip-docker-tests.lock
	flock -w 900 9
}

# The number of mounts on /var/lib/docker (dockerd mounts it on itself).
dockerd_mounts() {
	awk '$2 == "/var/lib/docker"' /proc/mounts | wc -l
}

# dockerd_start: 0 when an engine answers, 1 (reason on stderr) when none
# can. A dockerd started here gets $DOCKERD_FLAGS.
dockerd_start() {
	$D info > /dev/null 2>&1 && return 0
	if [ "$DOCKERD_OWN" = 0 ]; then
		iptables-save > "$W/iptables.before" || return 1
		DOCKERD_FWD0=$(cat /proc/sys/net/ipv4/ip_forward)
		DOCKERD_IP6T=0
		if command -v ip6tables-save > /dev/null &&
		    ip6tables-save > "$W/ip6tables.before"; then
			DOCKERD_IP6T=1
		fi
		DOCKERD_FWD6=$(cat /proc/sys/net/ipv6/conf/all/forwarding 2>/dev/null)
		DOCKERD_FWD6D=$(cat /proc/sys/net/ipv6/conf/default/forwarding 2>/dev/null)
		DOCKERD_LIB_EXISTED=0 DOCKERD_RUNC_EXISTED=0
		[ -e /var/lib/docker ] && DOCKERD_LIB_EXISTED=1
		[ -e /run/containerd ] && DOCKERD_RUNC_EXISTED=1
		DOCKERD_MOUNTS0=$(dockerd_mounts)
		DOCKERD_OWN=1
	fi
	# Without the lock descriptor: what dockerd spawns must not hold it.
	/usr/sbin/dockerd ${DOCKERD_FLAGS:-} >> "$W/dockerd.log" 2>&1 9>&- &
	DOCKERD_PID=$!
	for i in $(seq 100); do
		$D info > /dev/null 2>&1 && return 0
		kill -0 "$DOCKERD_PID" 2>/dev/null || break
		sleep 0.3
	done
	tail -n 15 "$W/dockerd.log" >&2
	return 1
}

# dockerd_kill: stops the dockerd we started (it stays ours to restore).
dockerd_kill() {
	[ -n "$DOCKERD_PID" ] || return 0
	kill "$DOCKERD_PID" 2>/dev/null
	for i in $(seq 150); do
		kill -0 "$DOCKERD_PID" 2>/dev/null || break
		sleep 0.2
	done
	DOCKERD_PID=
}

# dockerd_stop: dockerd_kill, then puts the host back as it was.
dockerd_stop() {
	[ "$DOCKERD_OWN" = 1 ] || return 0
	dockerd_kill
	ip link del docker0 2>/dev/null
	# A dockerd started twice leaves one of its mounts behind.
	while [ "$(dockerd_mounts)" -gt "$DOCKERD_MOUNTS0" ]; do
		umount /var/lib/docker || break
	done
	for t in filter nat; do
		iptables -t $t -F
		iptables -t $t -X
	done
	iptables -P FORWARD ACCEPT
	iptables-restore < "$W/iptables.before"
	echo "$DOCKERD_FWD0" > /proc/sys/net/ipv4/ip_forward
	if [ "$DOCKERD_IP6T" = 1 ]; then
		for t in filter nat; do
			ip6tables -t $t -F
			ip6tables -t $t -X
		done
		ip6tables -P FORWARD ACCEPT
		ip6tables-restore < "$W/ip6tables.before"
	fi
	[ -n "$DOCKERD_FWD6" ] &&
	    echo "$DOCKERD_FWD6" > /proc/sys/net/ipv6/conf/all/forwarding
	[ -n "$DOCKERD_FWD6D" ] &&
	    echo "$DOCKERD_FWD6D" > /proc/sys/net/ipv6/conf/default/forwarding
	[ "$DOCKERD_LIB_EXISTED" = 0 ] && rm -rf /var/lib/docker
	[ "$DOCKERD_RUNC_EXISTED" = 0 ] && rm -rf /run/containerd
	rm -rf /var/run/docker
	DOCKERD_OWN=0
}
