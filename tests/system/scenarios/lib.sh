# SPDX-License-Identifier: ISC
# Shared by the scenarios, which run as root inside the booted box:
# TAP-style checks and bounded waits.  Each scenario sources it, makes its
# checks, and ends with `finish` (the line "N passed, N failed").
# shellcheck shell=sh

. /mnt/rig/env
n=0
passed=0
failed=0

ok() {
	n=$((n + 1)); passed=$((passed + 1))
	echo "ok $n - $*"
}

not_ok() {
	n=$((n + 1)); failed=$((failed + 1))
	echo "not ok $n - $*"
}

# check DESCRIPTION COMMAND...: ok when the command succeeds.
check() {
	desc=$1
	shift
	if "$@"; then ok "$desc"; else not_ok "$desc"; fi
}

# check_not DESCRIPTION COMMAND...: ok when the command fails.
check_not() {
	desc=$1
	shift
	if "$@"; then not_ok "$desc"; else ok "$desc"; fi
}

# diag TEXT...: commentary lines, shown under the checks.
diag() {
	printf '%s\n' "$@" | sed 's/^/# /'
}

# skip_all WHY: the scenario does not apply (e.g. a unit not packaged).
skip_all() {
	echo "# SKIP $*"
	echo "0 passed, 0 failed"
	exit 0
}

finish() {
	echo "$passed passed, $failed failed"
	[ "$failed" -eq 0 ]
}

# wait_for SECONDS COMMAND...: polls the command every 0.1 s until it
# succeeds; fails at the deadline.
wait_for() {
	limit=$(( $1 * 10 ))
	shift
	i=0
	while [ $i -lt $limit ]; do
		"$@" >/dev/null 2>&1 && return 0
		sleep 0.1
		i=$((i + 1))
	done
	return 1
}

# listening PORT: something listens on TCP PORT.
listening() {
	ss -Htln "sport = :$1" | grep -q .
}

# clock_line PORT [SOURCE]: the first line a clock sends (5 s at most).
clock_line() {
	if [ -n "${2:-}" ]; then
		timeout 5 nc -d -s "$2" 127.0.0.1 "$1" 2>/dev/null | head -n 1
	else
		timeout 5 nc -d 127.0.0.1 "$1" 2>/dev/null | head -n 1
	fi
}

# seconds HH:MM:SS: seconds since midnight.
seconds() {
	echo "$1" | awk -F: 'NF == 3 { print $1 * 3600 + $2 * 60 + $3; ok = 1 } END { if (!ok) print -1 }'
}

# near_zone LINE ZONE: LINE is the time of day in ZONE, give or take 2 s.
near_zone() {
	got=$(seconds "$1")
	want=$(seconds "$(TZ=$2 date +%H:%M:%S)")
	[ "$got" -ge 0 ] || return 1
	d=$(( (want - got + 86400) % 86400 ))
	[ $d -le 2 ] || [ $d -ge 86398 ]
}

# apt_install FILE: install a local package as an admin would, keeping the
# admin's conffiles.
apt_install() {
	DEBIAN_FRONTEND=noninteractive apt-get install -y -q --no-install-recommends \
		-o Dpkg::Options::=--force-confold "$1"
}
