#!/bin/sh
# SPDX-License-Identifier: ISC
# run-fuzzer.sh NAME BINARY FUZZDIR SECONDS OUTDIR
# Runs one libFuzzer binary for SECONDS on a fresh copy of its seeds
# (FUZZDIR/corpus/NAME, plus FUZZDIR/NAME.dict when there is one) and
# writes OUTDIR/NAME.log and a one-line OUTDIR/NAME.result: PASS with the
# number of executions, or FAIL on a crash, leak, timeout or sanitizer
# report (the reproducer is left as OUTDIR/NAME-crash-... and the like).
name=$1 bin=$2 fuzzdir=$3 seconds=$4 out=$5
log=$out/$name.log
result=$out/$name.result
work=$out/$name.corpus

rm -rf "$work" "$result" "$out/$name"-*
mkdir -p "$work" || exit 1
set -- -max_total_time="$seconds" -timeout=10 -rss_limit_mb=2048 \
	-print_final_stats=1 -artifact_prefix="$out/$name-"
[ -f "$fuzzdir/$name.dict" ] && set -- "$@" -dict="$fuzzdir/$name.dict"
start=$(date +%s)
"$bin" "$@" "$work" "$fuzzdir/corpus/$name" >"$log" 2>&1
rc=$?
secs=$(( $(date +%s) - start ))
execs=$(sed -n 's/^stat::number_of_executed_units: *//p' "$log" | tail -1)
units=$(ls "$work" | wc -l)
if [ $rc -eq 0 ] && ! grep -qE '^(==[0-9]+==ERROR|SUMMARY: |.*runtime error:|.*invariant broken)' "$log"; then
	echo "PASS: $name: ${execs:-?} executions in ${secs} s" \
	    "($(( ${execs:-0} / (secs > 0 ? secs : 1) ))/s), $units new inputs" \
	    >"$result"
else
	{
		echo "FAIL: $name: exit $rc after ${secs} s, ${execs:-?} executions"
		grep -E 'ERROR|SUMMARY|runtime error|invariant broken|Test unit written' \
		    "$log" | head -20 | sed 's/^/    /'
	} >"$result"
fi
