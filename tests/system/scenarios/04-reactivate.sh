# SPDX-License-Identifier: ISC
# `systemctl stop clock@8010.service` alone: the socket stays and the next
# connection starts the service again.
. /mnt/rig/lib.sh

pid1=$(systemctl show -p MainPID --value clock@8010.service)
check "clock@8010.service runs (pid $pid1)" test "$pid1" -gt 0
check "systemctl stop clock@8010.service" systemctl stop clock@8010.service
check "service inactive" sh -c '! systemctl is-active -q clock@8010.service'
check "socket still active" systemctl is-active -q clock@8010.socket
check "still listening on 8010" listening 8010
line=$(clock_line 8010)
check "a connection gets the time ($line)" near_zone "$line" Asia/Tokyo
check "service active again" wait_for 10 systemctl is-active -q clock@8010.service
pid2=$(systemctl show -p MainPID --value clock@8010.service)
check "a new process (pid $pid2)" sh -c "[ '$pid2' -gt 0 ] && [ '$pid2' != '$pid1' ]"
finish
