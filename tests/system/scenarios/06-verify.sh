# SPDX-License-Identifier: ISC
# systemd-analyze verify on unit instances (the template files themselves
# verify falsely: %i would be the literal "i").
. /mnt/rig/lib.sh

units="clock@8010.socket clock@8010.service"
for u in reverb.socket reverb.service chat.socket chat.service \
    clockwork-ftpd.socket clockwork-ftpd.service; do
	[ -e "/lib/systemd/system/$u" ] && units="$units $u"
done
for u in $units; do
	if outp=$(systemd-analyze verify "$u" 2>&1) && [ -z "$outp" ]; then
		ok "systemd-analyze verify $u"
	else
		not_ok "systemd-analyze verify $u"
		diag "$outp"
	fi
done
for u in $units; do
	case $u in *.service)
		diag "$u: $(systemd-analyze security "$u" 2>/dev/null | tail -n 1)" ;;
	esac
done
finish
