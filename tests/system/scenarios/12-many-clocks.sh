# SPDX-License-Identifier: ISC
# A hundred clocks on one host: clock@9000..9099.socket, each with its own
# zone in /etc/clockwork/clock@PORT.env.  clockwall with no arguments finds
# every one of them; the figures: the memory the hundred clockd cost (PSS,
# which shares the library pages fairly among them) and how long
# `clockwall --once` takes over all of them.  Everything is stopped and
# removed at the end, so the purge after this finds the package as shipped.
. /mnt/rig/lib.sh

first=9000
count=100
last=$((first + count - 1))
ports=$(seq $first $last)

# A hundred zones, one per clock, from the system's list.
zones=$(timedatectl list-timezones 2>/dev/null | grep / | sed -n "1,${count}p")
[ "$(echo "$zones" | wc -l)" -eq $count ] ||
	zones=$(cd /usr/share/zoneinfo && find Africa America Asia Europe -type f | sort | sed -n "1,${count}p")
check "$count zones to give the clocks" test "$(echo "$zones" | wc -l)" -eq $count

k=0
for z in $zones; do
	echo "TZ=$z" >/etc/clockwork/clock@$((first + k)).env
	k=$((k + 1))
done
units=$(for p in $ports; do printf 'clock@%s.socket ' "$p"; done)
# shellcheck disable=SC2086
check "systemctl start $count clock@PORT.socket" systemctl start $units
check "all $count listen" wait_for 20 sh -c "[ \$(ss -Htln | awk '{print \$4}' | grep -Ec ':(9[0-9][0-9][0-9])\$') -ge $count ]"

# Every clock configured on this host must answer for --once to exit 0.
configured=$(ls /etc/clockwork | sed -n 's/^clock@\([0-9]*\)\.env$/\1/p')
for p in $configured; do
	listening "$p" || systemctl start "clock@$p.socket"
done
nconf=$(echo "$configured" | wc -l)

# The first connections start the hundred services (socket activation),
# all at once; a clock that takes more than 3 s to send its first line is
# down (silent) for that --once, so this one only wakes them.
t0=$(date +%s%N)
clockwall --once --timeout 30 >/tmp/wall-first.txt 2>&1
rc=$?
t1=$(date +%s%N)
diag "first clockwall --once (starts every clockd): exit $rc, $(( (t1 - t0) / 1000000 )) ms," \
	"$(grep -c '  [-+][0-9]' /tmp/wall-first.txt) clocks answered"
check "all $count services started" wait_for 60 sh -c \
	"[ \$(systemctl list-units --state=active --no-legend 'clock@9*.service' | wc -l) -eq $count ]"

# Then the figure: --once over the running clocks, three times.
times=
for run in 1 2 3; do
	t0=$(date +%s%N)
	clockwall --once >/tmp/wall.txt 2>/tmp/wall.err
	rc=$?
	t1=$(date +%s%N)
	times="$times $(( (t1 - t0) / 1000000 ))"
done
diag "clockwall --once over $nconf clocks: $times ms (three runs)"
check "clockwall with no arguments exits 0 (every clock up, none off)" test $rc -eq 0
check "it shows one row per configured clock ($nconf)" test "$(wc -l </tmp/wall.txt)" -eq "$nconf"
missing=0
k=0
for z in $zones; do
	name=$(echo "${z##*/}" | tr _ ' ')
	grep -Eq "^$name +[0-2][0-9]:[0-5][0-9]:[0-6][0-9]  [-+][0-9]+\.[0-9]{3}s\$" /tmp/wall.txt ||
		{ missing=$((missing + 1)); [ $missing -gt 5 ] || diag "no time for $name (clock@$((first + k)))"; }
	k=$((k + 1))
done
check "each of the $count clocks, named after its zone, shows a time and an offset" test $missing -eq 0
diag "a few rows:" "$(sed -n '1,3p;98,100p' /tmp/wall.txt)"
check "nothing on stderr" test ! -s /tmp/wall.err
[ ! -s /tmp/wall.err ] || diag "$(head -n 5 /tmp/wall.err)"

# Memory: the PSS of the hundred clockd, from their smaps_rollup.
pss=0
rss=0
procs=0
for p in $ports; do
	pid=$(systemctl show -p MainPID --value clock@$p.service)
	[ "${pid:-0}" -gt 0 ] || continue
	kb=$(awk '/^Pss:/ {print $2}' /proc/$pid/smaps_rollup)
	r=$(awk '/^Rss:/ {print $2}' /proc/$pid/smaps_rollup)
	pss=$((pss + kb))
	rss=$((rss + r))
	procs=$((procs + 1))
done
check "$count clockd processes measured" test $procs -eq $count
[ $procs -gt 0 ] &&
	diag "PSS of the $procs clockd: $pss kB in all, $((pss / procs)) kB each (RSS $((rss / procs)) kB each, shared pages counted whole)"

# The wall itself, plain lines, with every clock connected.
clockwall >/tmp/wall-live.txt 2>&1 &
wall=$!
sleep 3
wpss=$(awk '/^Pss:/ {print $2}' /proc/$wall/smaps_rollup 2>/dev/null)
kill $wall
wait $wall
wrc=$?
diag "clockwall following $nconf clocks: PSS ${wpss:-?} kB; $(wc -l </tmp/wall-live.txt) lines in 3 s"
check "clockwall ended by SIGTERM exits 0" test $wrc -eq 0
check "it printed a line for every clock every second" test "$(wc -l </tmp/wall-live.txt)" -ge $((nconf * 2))

# shellcheck disable=SC2086
systemctl stop $units $(for p in $ports; do printf 'clock@%s.service ' "$p"; done)
for p in $ports; do rm -f /etc/clockwork/clock@$p.env; done
check "the $count clocks stopped" sh -c "! ss -Htln | grep -Eq ':9[0-9][0-9][0-9] '"
finish
