# SPDX-License-Identifier: ISC
# Purge while clocks run and a client is connected: the instances stop,
# nothing listens, and nothing of the package is left on disk.  The admin's
# own drop-in (from `systemctl edit`) is the admin's and stays, and so do
# the FTP users' uploads under /srv/ftp-users and the clockwork-ftp user
# that owns them (13-ftpd-users made them), as Debian's daemons leave
# their data; clockwork-ftpd's users file goes with the configuration.
. /mnt/rig/lib.sh

uploads=$(find /srv/ftp-users -type f 2>/dev/null | sort)
ftp_owner=
[ -z "$uploads" ] || ftp_owner=$(stat -c '%U %u' $uploads | sort -u)

timeout 60 nc -d 127.0.0.1 8010 >/tmp/client.log 2>&1 &
client=$!
check "clock@8010.service runs" wait_for 10 systemctl is-active -q clock@8010.service
check "clock@8020.socket listens" listening 8020
if DEBIAN_FRONTEND=noninteractive apt-get purge -y -q clockwork >/tmp/apt.log 2>&1; then
	ok "apt-get purge clockwork"
else
	not_ok "apt-get purge clockwork"
fi
sed 's/^/# /' /tmp/apt.log | grep -v '^# \(Reading\|Building\)'
check "the connected client was let go" wait_for 15 sh -c "! kill -0 $client"
kill $client 2>/dev/null
check "dpkg knows nothing of it" sh -c '! dpkg-query -W -f="\${db:Status-Status}" clockwork 2>/dev/null | grep -qv not-installed'
for u in clock@8010.service clock@8010.socket clock@8020.service clock@8020.socket; do
	check "$u stopped" sh -c "! systemctl is-active -q $u"
done
check "nothing listens on 8010 or 8020" sh -c '! ss -Htln | grep -Eq ":80[12]0 "'
check "no clockd process" sh -c '! pgrep -x clockd'
check "no clockwork daemon process" sh -c '! pgrep -x reverbd && ! pgrep -x clockwork-ftpd'
# Everything named after the package, wherever the package or its
# scripts could have put it, except the admin's drop-in (and man-db's
# cache of formatted pages, which man-db expires itself).
left=$(find /etc /usr /lib /var/lib /var/cache /run -xdev \
	\( -path /etc/systemd/system/clock@8020.service.d -o -path /var/cache/man \) -prune -o \
	\( -name '*clockwork*' -o -name 'clock@*' -o -name 'clockd*' -o -name 'reverb*' \) -print 2>/dev/null |
	grep -v '^/etc/systemd/system/clock@8020.service.d$')
check "no file of the package left" test -z "$left"
[ -z "$left" ] || diag "left:" $left
check "/etc/clockwork gone" test ! -e /etc/clockwork
check "clockwork-ftpd's users file gone" test ! -e /etc/clockwork/ftpd.users
if [ -n "$uploads" ]; then
	files=$(echo "$uploads" | wc -l)
	check "the $files uploaded files under /srv/ftp-users kept" test \
		"$(find /srv/ftp-users -type f 2>/dev/null | sort)" = "$uploads"
	check "the clockwork-ftp user kept" sh -c 'getent passwd clockwork-ftp >/dev/null'
	check "the uploads keep their owner ($ftp_owner)" test \
		"$(stat -c '%U %u' $uploads | sort -u)" = "$ftp_owner"
	diag "kept:" $uploads
else
	diag "no FTP uploads to keep (13-ftpd-users did not run)"
fi
check "the enable link of clock@8010.socket gone" test ! -L /etc/systemd/system/sockets.target.wants/clock@8010.socket
check "systemd has no clock@ unit loaded" sh -c '[ -z "$(systemctl list-units --all --no-legend --plain "clock@*")" ]'
systemctl list-units --all --no-legend --plain 'clock@*' | sed 's/^/# still loaded: /'
diag "admin's drop-in kept: $(ls /etc/systemd/system/clock@8020.service.d 2>/dev/null)"
check "no failed units" sh -c '[ -z "$(systemctl --failed --no-legend --plain)" ]'
finish
