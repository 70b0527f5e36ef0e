# SPDX-License-Identifier: ISC
# Upgrade to a rebuilt package while clocks run: the sockets keep
# listening throughout, every connection made during the upgrade gets the
# time, none is cut, and the running instances end up on the new clockd:
# the clocks and reverb in the same process (re-executed with their
# clients, 14-clock-handover follows them closely), the FTP server
# restarted.
. /mnt/rig/lib.sh

[ -n "${UPGRADE_DEB:-}" ] || skip_all "no upgrade package given"
old=$(dpkg-query -W -f='${Version}' clockwork)
sock1=$(systemctl show -p ActiveEnterTimestampMonotonic --value clock@8010.socket)
clock_line 8010 >/dev/null
clock_line 8020 >/dev/null
pid1=$(systemctl show -p MainPID --value clock@8010.service)
pid2=$(systemctl show -p MainPID --value clock@8020.service)
check "both instances run before" sh -c "[ '$pid1' -gt 0 ] && [ '$pid2' -gt 0 ]"
# The other daemons' sockets and services, where they run (earlier
# scenarios started them): NAME SOCKET-TIMESTAMP SERVICE-PID.
others=""
for u in reverb clockwork-ftpd; do
	systemctl is-active -q "$u.socket" || continue
	others="$others $u $(systemctl show -p ActiveEnterTimestampMonotonic --value "$u.socket") \
$(systemctl show -p MainPID --value "$u.service")"
done

# A client that connects every 0.2 s during the upgrade and notes what it
# got: the time, a connection closed before the first line (it was open
# across a restart that did not keep it), or no connection at all.
rm -f /tmp/probe.log /tmp/probe.stop
(
	while [ ! -e /tmp/probe.stop ]; do
		l=$(timeout 5 nc -d -v 127.0.0.1 8010 2>/tmp/probe.err | head -n 1)
		if [ -n "$l" ]; then echo "line $l"
		elif grep -q succeeded /tmp/probe.err; then echo "cut"
		else echo "refused $(cat /tmp/probe.err)"; fi
		sleep 0.2
	done >/tmp/probe.log
) &
probe=$!
sleep 1
if apt_install "$UPGRADE_DEB" >/tmp/apt.log 2>&1; then
	ok "apt-get install $(basename "$UPGRADE_DEB")"
else
	not_ok "apt-get install $(basename "$UPGRADE_DEB")"
	sed 's/^/# /' /tmp/apt.log
fi
sleep 2
touch /tmp/probe.stop
wait $probe
new=$(dpkg-query -W -f='${Version}' clockwork)
diag "upgraded $old -> $new"
check "version changed" sh -c "[ '$new' != '$old' ] && dpkg --compare-versions '$new' gt '$old'"
probes=$(grep -c . /tmp/probe.log)
lines=$(grep -c '^line' /tmp/probe.log)
cuts=$(grep -c '^cut' /tmp/probe.log)
refused=$(grep -c '^refused' /tmp/probe.log)
diag "connections during the upgrade: $probes; got the time: $lines; cut by the restart: $cuts; refused: $refused"
check "no connection refused during the upgrade" sh -c "[ $probes -ge 3 ] && [ $refused -eq 0 ]"
check "no connection cut" test "$cuts" -eq 0
check "the last connections got the time" test "$(tail -n 3 /tmp/probe.log | grep -c '^line')" -eq 3
check "clock@8010.socket never restarted" test \
	"$(systemctl show -p ActiveEnterTimestampMonotonic --value clock@8010.socket)" = "$sock1"
npid1=$(systemctl show -p MainPID --value clock@8010.service)
npid2=$(systemctl show -p MainPID --value clock@8020.service)
check "clock@8010.service on the new clockd in the same process (pid $pid1 -> $npid1)" \
	sh -c "[ '$npid1' = '$pid1' ]"
check "clock@8020.service on the new clockd in the same process (pid $pid2 -> $npid2)" \
	sh -c "[ '$npid2' = '$pid2' ]"
set -- $others
while [ $# -ge 3 ]; do
	check "$1.socket never restarted" test \
		"$(systemctl show -p ActiveEnterTimestampMonotonic --value "$1.socket")" = "$2"
	npid=$(systemctl show -p MainPID --value "$1.service")
	if [ "$3" -gt 0 ] && [ "$1" = reverb ]; then
		check "$1.service on the new binary in the same process (pid $3 -> $npid)" \
			sh -c "[ '$npid' = '$3' ] && ! readlink /proc/$npid/exe | grep -q deleted"
	elif [ "$3" -gt 0 ]; then
		check "$1.service restarted (pid $3 -> $npid)" sh -c "[ '$npid' -gt 0 ] && [ '$npid' != '$3' ] &&
			! readlink /proc/$npid/exe | grep -q deleted"
	fi
	shift 3
done
check "they run the new clockd" sh -c "! readlink /proc/$npid1/exe /proc/$npid2/exe | grep -q deleted"
check "8010 still tells Tokyo time" near_zone "$(clock_line 8010)" Asia/Tokyo
check "8020 still tells New York time" near_zone "$(clock_line 8020)" America/New_York
if systemctl is-active -q reverb.socket; then
	out=$(printf 'up\n' | timeout 10 nc -N 127.0.0.1 8000 | head -n 1)
	check "reverb answers after the upgrade" test "$out" = "$(printf '\t UP')"
fi
check "the conffile is unchanged" grep -qx 'TZ=Asia/Tokyo' /etc/clockwork/clock@8010.env
check "no failed units" sh -c '[ -z "$(systemctl --failed --no-legend --plain)" ]'
finish
