# SPDX-License-Identifier: ISC
# Shared by the shell integration tests: TAP lines, free ports, bounded
# waits, and cleanup of the daemons a test started (by PID).  Source it
# after setting nothing; it sets `pids` and `tmp` and a trap.
n=0
pids=""
tmp=$(mktemp -d)
cleanup() { for p in $pids; do kill "$p" 2>/dev/null; done; rm -rf "$tmp"; }
trap cleanup EXIT INT TERM
ok() { n=$((n + 1)); echo "ok $n - $1"; }
not_ok() { n=$((n + 1)); echo "not ok $n - $1"; }
check() { if [ "$1" -eq 0 ]; then ok "$2"; else not_ok "$2"; fi; }
done_testing() { echo "1..$n"; }
free_port() {
	python3 -c 'import sys; sys.path.insert(0, sys.argv[1]); import taplib; print(taplib.free_port())' \
		"$top_srcdir/tests"
}
# budget SECONDS: a deadline for what a plain build does within SECONDS
# on a busy machine, times CLOCKWORK_TIME_FACTOR (which make check sets:
# 1 in a plain build, more under the sanitizers).
budget() {
	awk -v s="$1" -v f="${CLOCKWORK_TIME_FACTOR:-1}" \
	    'BEGIN { f += 0; if (f < 1) f = 1; print s * f }'
}
# wait_port PORT: until something accepts on 127.0.0.1:PORT (10 s at most,
# scaled by the factor).
wait_port() {
	i=0
	tries=$(budget 100 | cut -d. -f1)
	while [ $i -lt "$tries" ]; do
		nc -z 127.0.0.1 "$1" 2>/dev/null && return 0
		sleep 0.1; i=$((i + 1))
	done
	return 1
}
