# SPDX-License-Identifier: ISC
# reverb.socket (port 8000), when the package has it: not started by the
# install alone; once started, a line sent with nc comes back three times
# (upper case at once, as sent after the delay, lower case after twice it),
# and the journal names the client.
. /mnt/rig/lib.sh

[ -e /lib/systemd/system/reverb.socket ] || skip_all "reverb.socket is not in this package"
check "reverb.socket not enabled by the install" sh -c '[ "$(systemctl is-enabled reverb.socket)" != enabled ]'
check_not "nothing on 8000 before it is started" listening 8000
check "systemctl start reverb.socket" systemctl start reverb.socket
check "8000 listens" wait_for 10 listening 8000
since=$(date '+%Y-%m-%d %H:%M:%S')
sleep 1
# nc -N shuts our side after the line: the pending echoes still come, then
# the server closes.
printf 'Héllo Reverb\n' | timeout 15 nc -N -s 127.0.0.7 127.0.0.1 8000 >/tmp/reverb.out
printf '\t HÉLLO REVERB\n\t Héllo Reverb\n\t héllo reverb\n' >/tmp/reverb.want
if cmp -s /tmp/reverb.out /tmp/reverb.want; then
	ok "three echoes, in order, then closed"
else
	not_ok "three echoes, in order, then closed"
	diag "got:" "$(od -c /tmp/reverb.out | head -n 8)"
fi
check "reverb.service active (Type=$(systemctl show -p Type --value reverb.service))" \
	systemctl is-active -q reverb.service
check "StatusText set" wait_for 15 sh -c '[ -n "$(systemctl show -p StatusText --value reverb.service)" ]'
diag "$(systemctl show -p StatusText reverb.service)"
check "journal has REMOTE_ADDR=127.0.0.7" wait_for 10 sh -c \
	"journalctl -u reverb.service --since '$since' -o verbose | grep -Eq 'REMOTE_ADDR=(::ffff:)?127\.0\.0\.7\$'"
journalctl -u reverb.service --no-pager --no-hostname -o short | tail -n 5 | sed 's/^/#   /'
finish
