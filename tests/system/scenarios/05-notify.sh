# SPDX-License-Identifier: ISC
# sd_notify: Type=notify services become active only on READY=1, and the
# daemon reports a STATUS= line that systemctl shows.
. /mnt/rig/lib.sh

show() { systemctl show -p "$1" --value clock@8010.service; }
check "Type=notify" test "$(show Type)" = notify
check "ActiveState=active" test "$(show ActiveState)" = active
check "SubState=running" test "$(show SubState)" = running
check "StatusText set" wait_for 15 sh -c '[ -n "$(systemctl show -p StatusText --value clock@8010.service)" ]'
diag "$(systemctl show -p Type -p StatusText -p WatchdogUSec clock@8010.service)"
# A fresh instance started directly: start returns only once ready.
check "systemctl start clock@8030.service returns when ready" systemctl start clock@8030.service
check "clock@8030 active at once" systemctl is-active -q clock@8030.service
check "clock@8030 answers" sh -c 'clock_line() { timeout 5 nc -d 127.0.0.1 8030 | head -n 1; }; [ -n "$(clock_line)" ]'
systemctl stop clock@8030.socket clock@8030.service
finish
