#!/bin/sh
# SPDX-License-Identifier: ISC
# valgrind-report.sh DIR: sums the memcheck logs that make check-valgrind
# left in DIR (one per daemon process, or per re-executed daemon with all
# its generations) and fails on any error or definite leak, or when no
# daemon ran under valgrind at all.
dir=$1
runs=0 bad=0 killed=0
for log in "$dir"/*.log; do
	[ -f "$log" ] || continue
	runs=$((runs + 1))
	# A daemon that re-executed itself left a summary for its last
	# generation only: the errors of the others are counted as reported.
	errors=$(sed -n 's/.*ERROR SUMMARY: \([0-9]*\) errors.*/\1/p' "$log" |
		awk '{ s += $1; n++ } END { if (n) print s }')
	seen=$(grep -cE '^==[0-9]+== (Invalid (read|write|free)|Conditional jump|Use of uninitialised|Syscall param|Mismatched free|Source and destination overlap)' "$log")
	if [ -n "$errors" ] && [ "$seen" -gt "$errors" ]; then
		errors=$seen
	fi
	if [ -z "$errors" ]; then
		# Killed before it could report: the test that did it says why.
		echo "valgrind: $log: no summary (killed?)"
		tail -5 "$log"
		killed=$((killed + 1))
	elif [ "$errors" -ne 0 ]; then
		echo "valgrind: $log: $errors errors"
		cat "$log"
		bad=$((bad + 1))
	fi
done
lost=$(grep -h 'definitely lost:' "$dir"/*.log 2>/dev/null |
	sed 's/.*definitely lost: \([0-9,]*\) bytes.*/\1/' | tr -d , |
	awk '{ s += $1 } END { print s + 0 }')
echo "valgrind: $runs daemon runs, $bad with errors, $killed without a" \
    "summary, $lost bytes definitely lost"
[ "$runs" -gt 0 ] && [ "$bad" -eq 0 ]
