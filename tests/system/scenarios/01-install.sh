# SPDX-License-Identifier: ISC
# Installing the package with apt, as an admin would: files in place,
# the example configuration a conffile, nothing started by itself.
. /mnt/rig/lib.sh

if apt_install "$DEB" >/tmp/apt.log 2>&1; then
	ok "apt-get install $(basename "$DEB")"
else
	not_ok "apt-get install $(basename "$DEB")"
	sed 's/^/# /' /tmp/apt.log
fi
check "dpkg says installed" sh -c 'dpkg-query -W -f="\${db:Status-Status}" clockwork | grep -qx installed'
diag "version $(dpkg-query -W -f='${Version}' clockwork)"
for f in /usr/sbin/clockd /lib/systemd/system/clock@.socket /lib/systemd/system/clock@.service \
    /etc/clockwork/clock@8010.env /usr/share/man/man8/clockd.8.gz /usr/share/man/man7/clockwork.7.gz; do
	check "installed $f" test -e "$f"
done
check "clock@8010.env is a conffile" sh -c \
	'dpkg-query -W -f="\${Conffiles}" clockwork | grep -q " /etc/clockwork/clock@8010.env "'
if [ -e /usr/sbin/clockwork-ftpd ]; then
	check "/etc/default/clockwork-ftpd is a conffile" sh -c \
		'dpkg-query -W -f="\${Conffiles}" clockwork | grep -q " /etc/default/clockwork-ftpd "'
fi
# Every program has its manual page.
for p in $(dpkg -L clockwork | grep -E '^/usr/s?bin/'); do
	check "man page for $(basename "$p")" sh -c "man -w $(basename "$p") >/dev/null 2>&1"
done
check "clock@8010.env names Asia/Tokyo" grep -qx 'TZ=Asia/Tokyo' /etc/clockwork/clock@8010.env
check "clockd --version runs" /usr/sbin/clockd --version
check "nothing listens after the install alone" sh -c '! ss -Htln | grep -Eq ":(80[0-9][0-9]|21) "'
check "no failed units" sh -c '[ -z "$(systemctl --failed --no-legend --plain)" ]'
systemctl --failed --no-legend --plain | sed 's/^/# failed: /'
finish
