#!/bin/sh
# SPDX-License-Identifier: ISC
# Two people talk through chatd with nc, as in the book: once with --port,
# once handed a socket by systemd-socket-activate.  Each nc reads what a
# person types from a FIFO, so the conversation goes turn by turn.
set -u
chatd="$top_builddir/daemons/chatd/chatd"
. "$top_srcdir/tests/lib.sh"

command -v nc >/dev/null || { echo "1..0 # SKIP nc missing"; exit 0; }
nc -h 2>&1 | grep -q 'Shutdown the network socket' || { echo "1..0 # SKIP nc without -N (not OpenBSD's)"; exit 0; }

# wait_for FILE TEXT: until FILE has a line TEXT (10 s at most).
wait_for() {
	i=0
	while [ $i -lt 100 ]; do
		grep -qxF "$2" "$1" 2>/dev/null && return 0
		sleep 0.1; i=$((i + 1))
	done
	return 1
}

# talk LABEL PORT: ann and bob chat; each transcript must be exact.
talk() {
	mkfifo "$tmp/ann.in" "$tmp/bob.in"
	nc -N 127.0.0.1 "$2" <"$tmp/ann.in" >"$tmp/ann.out" & ann=$!
	exec 3>"$tmp/ann.in"
	wait_for "$tmp/ann.out" "Your name?"
	printf 'ann\n' >&3
	wait_for "$tmp/ann.out" "Here now: nobody else"
	nc -N 127.0.0.1 "$2" <"$tmp/bob.in" >"$tmp/bob.out" & bob=$!
	exec 4>"$tmp/bob.in"
	wait_for "$tmp/bob.out" "Your name?"
	printf 'bob\n' >&4
	wait_for "$tmp/ann.out" "bob has arrived"
	printf 'hi ann\n' >&4
	wait_for "$tmp/ann.out" "bob: hi ann"
	printf 'hello bob, caf\303\251?\n' >&3
	wait_for "$tmp/bob.out" "ann: hello bob, caf$(printf '\303\251')?"
	exec 4>&-
	wait "$bob"
	check $? "$1: bob's nc exits once chatd closes"
	wait_for "$tmp/ann.out" "bob has left"
	exec 3>&-
	wait "$ann"
	printf 'Your name?\nYou are ann\nHere now: nobody else\nbob has arrived\nbob: hi ann\nann: hello bob, caf\303\251?\nbob has left\n' >"$tmp/ann.want"
	printf 'Your name?\nYou are bob\nHere now: ann\nbob: hi ann\nann: hello bob, caf\303\251?\n' >"$tmp/bob.want"
	cmp -s "$tmp/ann.out" "$tmp/ann.want"
	check $? "$1: ann's side, byte for byte"
	cmp -s "$tmp/ann.out" "$tmp/ann.want" || sed 's/^/# /' "$tmp/ann.out"
	cmp -s "$tmp/bob.out" "$tmp/bob.want"
	check $? "$1: bob's side, byte for byte"
	cmp -s "$tmp/bob.out" "$tmp/bob.want" || sed 's/^/# /' "$tmp/bob.out"
	rm -f "$tmp/ann.in" "$tmp/bob.in"
}

port=$(free_port)
"$chatd" -q --names --port "$port" & pids="$pids $!"
wait_port "$port"
check $? "chatd --port listens"
talk "--port" "$port"

port=$(free_port)
systemd-socket-activate -l "127.0.0.1:$port" "$chatd" -q --names & pids="$pids $!"
wait_port "$port"
check $? "systemd-socket-activate listens"
talk "socket-activated" "$port"

done_testing
