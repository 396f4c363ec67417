# SPDX-License-Identifier: MIT
# ports.sh -- free_port for the integration tests (sourced, sh or bash).

# free_port [tcp|udp|both]: a port on loopback that no socket of the
# protocol holds in any state, drawn below the ephemeral range (32768 and
# up) so that no client socket of a test running beside takes it before
# the caller binds it; never one given before to a script that sets
# FREE_PORT_FILE. Default: both.
free_port() {
	case "${1:-both}" in udp) _fp_f=u ;; tcp) _fp_f=t ;; *) _fp_f=tu ;; esac
	while :; do
		_fp=$(( $(od -An -N2 -tu2 /dev/urandom) % 22000 + 10000 ))
		if [ -n "${FREE_PORT_FILE:-}" ] &&
		    grep -qx "$_fp" "$FREE_PORT_FILE" 2>/dev/null; then
			continue
		fi
		ss -Han"$_fp_f" "sport = :$_fp" | grep -q . && continue
		[ -z "${FREE_PORT_FILE:-}" ] || echo "$_fp" >> "$FREE_PORT_FILE"
		echo "$_fp"
		return 0
	done
}
