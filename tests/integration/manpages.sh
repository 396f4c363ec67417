#!/usr/bin/env bash
# SPDX-License-Identifier: MIT
# manpages.sh -- what make install puts on a machine: the manual pages
# (mandoc -T lint clean, rendered by man, naming every flag --help
# prints), the default configuration (never over an existing one) and the
# systemd unit (systemd-analyze verify, when there is systemd-analyze).
set -u
. "$top_srcdir/tests/integration/lib.sh"

command -v mandoc >/dev/null || { echo "skip: no mandoc (apt-get install mandoc)"; exit 77; }
command -v man >/dev/null || { echo "skip: no man (apt-get install man-db)"; exit 77; }

D="$TEST_TMP/dest"
${MAKE:-make} -C "$top_builddir" install DESTDIR="$D" >"$TEST_TMP/install.log" 2>&1 ||
	fail "make install: $(tail -20 "$TEST_TMP/install.log")"
page() {	# page NAME.SECTION: the installed page's path
	local p
	p=$(find "$D" -path "*/man${1##*.}/$1" -type f | head -1)
	[ -n "$p" ] || fail "make install installed no $1"
	echo "$p"
}
P8=$(page clusteripd.8)
P1=$(page clusterip.1)
P5=$(page clusteripd.yaml.5)
[ -x "$(find "$D" -path '*/sbin/clusteripd' | head -1)" ] || fail "no sbin/clusteripd installed"
pass "make install DESTDIR: binaries and pages"

# Lint: any warning fails. Rendering: man-db's own formatter gives a page.
for p in "$P8" "$P1" "$P5"; do
	out=$(mandoc -T lint -W warning "$p" 2>&1) || fail "mandoc -T lint $p: $out"
	[ -z "$out" ] || fail "mandoc -T lint $p: $out"
	grep -q '@[a-z]*dir@' "$p" && fail "$p: a path was not filled in"
	MANWIDTH=80 man -l "$p" > "$TEST_TMP/rendered" 2>"$TEST_TMP/man.err" ||
		fail "man -l $p: $(cat "$TEST_TMP/man.err")"
	[ "$(wc -l < "$TEST_TMP/rendered")" -gt 20 ] || fail "man -l $p rendered next to nothing"
	grep -q "^NAME" "$TEST_TMP/rendered" || fail "man -l $p: no NAME section"
done
pass "mandoc -T lint -W warning clean; man -l renders"

# The pages cannot drift from the programs: every --flag of --help (and of
# each command's --help) is in the page, every option of the configuration
# (the --help table and the shipped file) has its entry in clusteripd.yaml(5).
text() {	# text PAGE: the page as plain text, long lines
	mandoc -T ascii -O width=300 "$1" | sed 's/.\x08//g'
}
flags() {	# flags PROGRAM ARGS...: the --flag words of its help
	"$@" 2>&1 | grep -o -- '--[a-z][a-z-]*' | sort -u
}
text "$P8" > "$TEST_TMP/8.txt"
text "$P1" > "$TEST_TMP/1.txt"
text "$P5" > "$TEST_TMP/5.txt"
n=0
for f in $(flags "$CIPD" --help); do
	grep -q -- "$f\\b" "$TEST_TMP/8.txt" || fail "clusteripd(8) lacks $f"
	n=$((n + 1))
done
[ "$n" -gt 30 ] || fail "only $n flags found in clusteripd --help"
CLI="$top_builddir/client/clusterip"
for f in $(for c in "" get describe apply delete register resolve version; do
	flags "$CLI" $c --help; done | sort -u); do
	grep -q -- "$f\\b" "$TEST_TMP/1.txt" || fail "clusterip(1) lacks $f"
done
opts=$("$CIPD" --help | sed -n '/flag wins/,$p' | grep -o -- '^  --[a-z][a-z-]*' | sed 's/^  --//')
[ "$(echo "$opts" | wc -l)" -gt 30 ] || fail "no option table in clusteripd --help"
keys=$(sed -n 's/^\([a-z][a-z-]*\):.*/\1/p' "$top_srcdir/conf/clusteripd.yaml")
for o in $opts $keys; do
	grep -Eq "^ +$o \(" "$TEST_TMP/5.txt" || fail "clusteripd.yaml(5) has no entry for $o"
	grep -q -- "--$o\\b" "$TEST_TMP/8.txt" || fail "clusteripd(8) lacks --$o"
done
pass "the pages name every flag and option"

# The default configuration is installed, and a second install keeps the
# administrator's edits.
CONF=$(find "$D" -path '*/clusterip/clusteripd.yaml' | head -1)
[ -n "$CONF" ] || fail "make install installed no clusterip/clusteripd.yaml"
cmp -s "$CONF" "$top_srcdir/conf/clusteripd.yaml" || fail "$CONF differs from conf/clusteripd.yaml"
echo "dns-ttl: 42" >> "$CONF"
${MAKE:-make} -C "$top_builddir" install DESTDIR="$D" >"$TEST_TMP/install2.log" 2>&1 ||
	fail "second make install: $(tail -20 "$TEST_TMP/install2.log")"
grep -q "^dns-ttl: 42" "$CONF" || fail "make install overwrote $CONF"
grep -q "$(dirname "$(dirname "$CONF")" | sed "s|^$D||")/clusterip/clusteripd.yaml" "$TEST_TMP/8.txt" ||
	fail "clusteripd(8) does not name the installed configuration file"
pass "default configuration installed, never overwritten"

# The unit: configured paths filled in; systemd-analyze verify on it, with
# the daemon it names taken from the DESTDIR tree.
UNIT=$(find "$D" -name clusteripd.service | head -1)
[ -n "$UNIT" ] || UNIT="$top_builddir/doc/clusteripd.service"
[ -f "$UNIT" ] || fail "no clusteripd.service made"
grep -q '@[a-z]*dir@' "$UNIT" && fail "$UNIT: a path was not filled in"
exe=$(sed -n 's/^ExecStart=\([^ ]*\) .*/\1/p' "$UNIT")
[ -x "$D$exe" ] || fail "ExecStart names $exe, which make install did not install"
for want in "Type=exec" "DynamicUser=yes" "StateDirectory=clusterip" \
	"ExecReload=/bin/kill -HUP \$MAINPID" "--state-dir /var/lib/clusterip" \
	"ProtectSystem=strict" "NoNewPrivileges=yes"; do
	grep -qF -- "$want" "$UNIT" || fail "the unit lacks $want"
done
if command -v systemd-analyze >/dev/null; then
	mkdir -p "$TEST_TMP/unit"
	sed "s|=$exe |=$D$exe |" "$UNIT" > "$TEST_TMP/unit/clusteripd.service"
	# Documentation= is checked with man: against the pages installed here.
	out=$(MANPATH="$(dirname "$(dirname "$P8")")" SYSTEMD_LOG_LEVEL=warning \
		systemd-analyze verify "$TEST_TMP/unit/clusteripd.service" 2>&1) ||
		fail "systemd-analyze verify: $out"
	echo "$out" | grep -q "clusteripd.service" && fail "systemd-analyze verify: $out"
	pass "the unit passes systemd-analyze verify"
else
	echo "skip: systemd-analyze verify (no systemd-analyze)"
fi
echo "manpages.sh: all passed"
