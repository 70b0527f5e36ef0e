#!/bin/sh
# SPDX-License-Identifier: ISC
# reverbd talked to with nc, as a person would: nc -N shuts its sending side
# at the end of its input, reverbd sends the owed echoes and closes, and nc
# exits.  Once with --port, once handed a socket by systemd-socket-activate.
set -u
reverbd="$top_builddir/daemons/reverbd/reverbd"
. "$top_srcdir/tests/lib.sh"
now() { date +%s.%N; }

command -v nc >/dev/null || { echo "1..0 # SKIP nc missing"; exit 0; }
nc -h 2>&1 | grep -q 'Shutdown the network socket' || { echo "1..0 # SKIP nc without -N (not OpenBSD's)"; exit 0; }

# The input: a UTF-8 line with CRLF, a plain one, a last one without newline.
printf 'h\303\251llo w\303\266rld\r\nabc\nLast' >"$tmp/in"
printf '\t H\303\211LLO W\303\226RLD\n\t ABC\n\t LAST\n' >"$tmp/want"
printf '\t h\303\251llo w\303\266rld\n\t abc\n\t Last\n' >>"$tmp/want"
printf '\t h\303\251llo w\303\266rld\n\t abc\n\t last\n' >>"$tmp/want"

# talk LABEL PORT: nc through one session, checks bytes and duration.
ncwait=$(budget 10)
talk() {
	t0=$(now)
	timeout "$ncwait" nc -N 127.0.0.1 "$2" <"$tmp/in" >"$tmp/out"
	rc=$?
	t1=$(now)
	check $rc "$1: nc exits by itself once reverbd closes (rc $rc)"
	cmp -s "$tmp/out" "$tmp/want"
	check $? "$1: the nine echoes, byte for byte"
	cmp -s "$tmp/out" "$tmp/want" || od -c "$tmp/out" | sed 's/^/# /' | head -20
	took=$(python3 -c "print(round($t1 - $t0, 3))")
	python3 -c "import sys; sys.exit(0 if 0.35 < $took < 1.5 else 1)"
	check $? "$1: after twice the 0.2 s delay ($took s)"
}

port=$(free_port)
"$reverbd" -q -d 0.2 --port "$port" & pids="$pids $!"
wait_port "$port"
check $? "reverbd --port listens"
talk "--port" "$port"

port=$(free_port)
systemd-socket-activate -l "127.0.0.1:$port" "$reverbd" -q -d 0.2 & pids="$pids $!"
wait_port "$port"
check $? "systemd-socket-activate listens"
talk "socket-activated" "$port"

done_testing
