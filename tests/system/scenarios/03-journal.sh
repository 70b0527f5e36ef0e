# SPDX-License-Identifier: ISC
# A connection shows in `journalctl -u clock@8010.service`, with the
# client's address and port as structured fields (REMOTE_ADDR/REMOTE_PORT).
. /mnt/rig/lib.sh

since=$(date '+%Y-%m-%d %H:%M:%S')
sleep 1
line=$(timeout 5 nc -d -s 127.0.0.5 -p 40123 127.0.0.1 8010 | head -n 1)
check "a line from 127.0.0.5:40123" test -n "$line"
check "the journal has REMOTE_ADDR=127.0.0.5" wait_for 10 sh -c \
	"journalctl -u clock@8010.service --since '$since' -o verbose | grep -Eq 'REMOTE_ADDR=(::ffff:)?127\.0\.0\.5\$'"
check "and REMOTE_PORT=40123" sh -c \
	"journalctl -u clock@8010.service --since '$since' -o verbose | grep -q 'REMOTE_PORT=40123'"
echo "# journalctl -u clock@8010.service:"
journalctl -u clock@8010.service --no-pager --no-hostname -o short | tail -n 8 | sed 's/^/#   /'
echo "# the connection's entry, fields:"
journalctl -u clock@8010.service --since "$since" -o verbose --no-pager REMOTE_PORT=40123 |
	grep -E '^ +(MESSAGE|PRIORITY|REMOTE_ADDR|REMOTE_PORT|_SYSTEMD_UNIT|SYSLOG_IDENTIFIER)=' | sed 's/^ */#   /'
finish
