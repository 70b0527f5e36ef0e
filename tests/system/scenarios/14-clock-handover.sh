# SPDX-License-Identifier: ISC
# Upgrades nobody notices.  20 clients of clock@8010 record every line
# while version N is upgraded to N+1, then while the instance is
# restarted and reloaded: each sees one line a second, none skipped or
# repeated, and never the end; the instance runs the new clockd.  A reverb
# client keeps the echoes it is owed across a reload and a restart.  A
# hand-over that fails falls back to a restart and says so.
. /mnt/rig/lib.sh

[ -n "${UPGRADE_DEB:-}" ] || skip_all "no upgrade package given"
N=20
dir=/tmp/handover
rm -rf "$dir"
mkdir -p "$dir"

# journal_since TIME UNIT: the unit's journal from TIME on.
journal_since() {
	journalctl --no-pager -o cat --since "$1" -u "$2"
}

# new_binary PID: PID runs a binary that is on disk (not replaced).
new_binary() {
	exe=$(readlink "/proc/$1/exe") && [ "${exe% (deleted)}" = "$exe" ]
}

# took_over TIME: clockd of 8010 says it took over all of its clients
# since TIME, N of them at least.
took_over() {
	journal_since "$1" clock@8010.service |
		sed -n 's/.*took over \([0-9]*\) of \([0-9]*\) clients.*/\1 \2/p' |
		tail -n 1 | { read -r got of && [ "$got" = "$of" ] && [ "$got" -ge $N ]; }
}

show() { systemctl show -p "$1" --value "$2"; }

# Version N first (09-upgrade left N+1): a downgrade that hands over too.
if DEBIAN_FRONTEND=noninteractive apt-get install -y -q --allow-downgrades \
    -o Dpkg::Options::=--force-confold "$DEB" >/tmp/apt.log 2>&1; then
	ok "install version N: $(dpkg-query -W -f='${Version}' clockwork)"
else
	not_ok "install version N"
	sed 's/^/# /' /tmp/apt.log
fi
old=$(dpkg-query -W -f='${Version}' clockwork)
systemctl start clock@8010.socket
check "clock@8010.socket listens" wait_for 10 listening 8010
check "8010 answers" sh -c "[ -n \"\$(timeout 5 nc -d 127.0.0.1 8010 | head -n 1)\" ]"

# The clients: nc ends when the connection does.
i=1
while [ $i -le $N ]; do
	nc -d 127.0.0.1 8010 >"$dir/$i.log" 2>&1 &
	echo $! >>"$dir/pids"
	i=$((i + 1))
done
check "$N clients each got a line" wait_for 10 sh -c \
	"for f in $dir/*.log; do [ -s \"\$f\" ] || exit 1; done"
start=$(date +%s)
pid=$(show MainPID clock@8010.service)
restarts=$(show NRestarts clock@8010.service)

# --- the upgrade N -> N+1 ------------------------------------------------------
since=$(date '+%Y-%m-%d %H:%M:%S')
if apt_install "$UPGRADE_DEB" >/tmp/apt.log 2>&1; then
	ok "apt-get install $(basename "$UPGRADE_DEB")"
else
	not_ok "apt-get install $(basename "$UPGRADE_DEB")"
	sed 's/^/# /' /tmp/apt.log
fi
new=$(dpkg-query -W -f='${Version}' clockwork)
diag "upgraded $old -> $new"
check "version changed" dpkg --compare-versions "$new" gt "$old"
check "upgrade: clock@8010 took over all $N clients" wait_for 10 took_over "$since"
npid=$(show MainPID clock@8010.service)
check "upgrade: the same process (pid $pid -> $npid), not restarted" \
	sh -c "[ '$npid' = '$pid' ] && [ '$(show NRestarts clock@8010.service)' = '$restarts' ]"
check "upgrade: it runs the new clockd" new_binary "$npid"
check "upgrade: the package said the hand-over worked" sh -c \
	"journalctl --no-pager -o cat --since '$since' -t clockwork | grep -q 'clock@8010.service handed its clients'"
diag "$(journal_since "$since" clock@8010.service | grep -E 'took over|re-exec' | head -n 4)"
sleep 2

# --- systemctl restart -----------------------------------------------------------
since=$(date '+%Y-%m-%d %H:%M:%S')
check "systemctl restart clock@8010.service" systemctl restart clock@8010.service
check "restart: clock@8010 took over all $N clients" wait_for 10 took_over "$since"
rpid=$(show MainPID clock@8010.service)
check "restart: a new process (pid $npid -> $rpid) on the new clockd" sh -c \
	"[ '$rpid' -gt 0 ] && [ '$rpid' != '$npid' ]"
check "restart: the fd store is empty again" test "$(show NFileDescriptorStore clock@8010.service)" = 0
diag "$(journal_since "$since" clock@8010.service | grep -E 'took over|left to systemd' | head -n 4)"
sleep 2

# --- systemctl reload ----------------------------------------------------------
since=$(date '+%Y-%m-%d %H:%M:%S')
check "systemctl reload clock@8010.service" systemctl reload clock@8010.service
check "reload: clock@8010 took over all $N clients" wait_for 10 took_over "$since"
check "reload: the same process (pid $rpid)" test "$(show MainPID clock@8010.service)" = "$rpid"
check "reload: active again" wait_for 10 sh -c \
	"[ \"\$(systemctl show -p ActiveState --value clock@8010.service)\" = active ]"
diag "$(journal_since "$since" clock@8010.service | grep -E 'took over' | head -n 2)"
sleep 3

# --- what the clients saw ----------------------------------------------------------
alive=0
for p in $(cat "$dir/pids"); do
	kill -0 "$p" 2>/dev/null && alive=$((alive + 1))
done
elapsed=$(( $(date +%s) - start ))
check "no client saw the end: $alive of $N still connected" test "$alive" -eq $N
for p in $(cat "$dir/pids"); do kill "$p" 2>/dev/null; done
lines=0 bad=0
for f in "$dir"/*.log; do
	cnt=$(grep -c . "$f")
	lines=$((lines + cnt))
	# One second after the other throughout, and about one a second.
	if ! awk -F: -v min=$((elapsed - 2)) '
	    NF == 3 { s = $1 * 3600 + $2 * 60 + $3
		if (n++ && (s - p + 86400) % 86400 != 1) bad++
		p = s; next }
	    { bad++ }
	    END { exit !(bad == 0 && n >= min) }' "$f"; then
		bad=$((bad + 1))
		diag "$f:" "$(tr '\n' ' ' <"$f")"
	fi
done
check "every client saw consecutive seconds, none skipped or repeated ($lines lines in ${elapsed} s over $N clients)" \
	test "$bad" -eq 0
diag "clients connected during the upgrade: $N; lines lost: $bad clients with a gap; disconnects: $((N - alive))"

# --- reverb: echoes owed survive a reload and a restart -------------------------------
if [ -e /lib/systemd/system/reverb.socket ]; then
	systemctl start reverb.socket
	for action in reload restart; do
		# The line goes out, then the action while its echoes are owed.
		(printf 'Owed %s\n' "$action"; sleep 4) |
			timeout 15 nc -N 127.0.0.1 8000 >"$dir/reverb-$action.log" &
		rc=$!
		sleep 0.3
		rpid=$(show MainPID reverb.service)
		check "systemctl $action reverb.service (echoes owed)" systemctl "$action" reverb.service
		wait $rc
		cap=$(echo "$action" | tr a-z A-Z)
		printf '\t OWED %s\n\t Owed %s\n\t owed %s\n' "$cap" "$action" "$action" >"$dir/reverb.want"
		if cmp -s "$dir/reverb-$action.log" "$dir/reverb.want"; then
			ok "reverb $action: all three echoes arrived"
		else
			not_ok "reverb $action: all three echoes arrived"
			diag "got:" "$(od -c "$dir/reverb-$action.log" | head -n 6)"
		fi
		if [ "$action" = reload ]; then
			check "reverb reload: the same process" test "$(show MainPID reverb.service)" = "$rpid"
		fi
	done
fi

# --- a hand-over that fails: a restart instead, said in the journal ---------------------
mkdir -p /run/systemd/system/clock@8010.service.d
printf '[Service]\nExecReload=\nExecReload=/bin/false\n' \
	>/run/systemd/system/clock@8010.service.d/broken-reload.conf
systemctl daemon-reload
pid=$(show MainPID clock@8010.service)
since=$(date '+%Y-%m-%d %H:%M:%S')
if DEBIAN_FRONTEND=noninteractive apt-get install -y -q --reinstall \
    -o Dpkg::Options::=--force-confold "$UPGRADE_DEB" >/tmp/apt.log 2>&1; then
	ok "reinstall with a reload that fails"
else
	not_ok "reinstall with a reload that fails"
	sed 's/^/# /' /tmp/apt.log
fi
check "the journal says the hand-over failed and the unit was restarted" sh -c \
	"journalctl --no-pager -o cat --since '$since' -t clockwork | grep -q 'clock@8010.service: hand-over to the new binary failed; restarting it'"
npid=$(show MainPID clock@8010.service)
check "clock@8010 restarted (pid $pid -> $npid) on the new clockd" sh -c \
	"[ '$npid' -gt 0 ] && [ '$npid' != '$pid' ] && ! readlink /proc/$npid/exe | grep -q deleted"
rm -rf /run/systemd/system/clock@8010.service.d
systemctl daemon-reload
check "8010 still tells Tokyo time" near_zone "$(clock_line 8010)" Asia/Tokyo
check "no failed units" sh -c '[ -z "$(systemctl --failed --no-legend --plain)" ]'
finish
