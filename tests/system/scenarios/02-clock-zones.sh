# SPDX-License-Identifier: ISC
# Two clock instances in two zones: 8010 from the packaged
# /etc/clockwork/clock@8010.env (Asia/Tokyo), 8020 from a drop-in made
# with `systemctl edit` (America/New_York).  Both answer through nc with
# their own local time.
. /mnt/rig/lib.sh

check "systemctl enable --now clock@8010.socket" systemctl enable --now clock@8010.socket
check "8010 listens" wait_for 10 listening 8010

# systemctl edit wants a terminal and an editor: script(1) gives it the
# one, and the "editor" writes the drop-in an admin would type.
cat >/tmp/dropin-editor <<'EOS'
#!/bin/sh
printf '[Service]\nEnvironment=TZ=America/New_York\n' >"$1"
EOS
chmod 755 /tmp/dropin-editor
check "systemctl edit clock@8020.service" script -qec \
	'SYSTEMD_EDITOR=/tmp/dropin-editor systemctl edit clock@8020.service' /dev/null
check "drop-in written" grep -q 'TZ=America/New_York' /etc/systemd/system/clock@8020.service.d/override.conf
check "systemctl start clock@8020.socket" systemctl start clock@8020.socket
check "8020 listens" wait_for 10 listening 8020

tokyo=$(clock_line 8010)
newyork=$(clock_line 8020)
diag "8010 says $tokyo (Tokyo now $(TZ=Asia/Tokyo date +%T))" \
    "8020 says $newyork (New York now $(TZ=America/New_York date +%T))"
check "8010 gives HH:MM:SS" sh -c "echo '$tokyo' | grep -Eqx '[0-2][0-9]:[0-5][0-9]:[0-6][0-9]'"
check "8010 tells Tokyo time" near_zone "$tokyo" Asia/Tokyo
check "8020 tells New York time" near_zone "$newyork" America/New_York
check "the two zones differ" test "$(seconds "$tokyo")" -ne "$(seconds "$newyork")"
check "clock@8010.service activated by the connection" systemctl is-active -q clock@8010.service
check "clock@8020.service has the drop-in's TZ" sh -c \
	'systemctl show -p Environment clock@8020.service | grep -q TZ=America/New_York'
finish
