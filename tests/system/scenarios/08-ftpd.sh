# SPDX-License-Identifier: ISC
# clockwork-ftpd.socket (port 21), when the package has it: once started,
# curl downloads a file from the anonymous root, byte for byte.
. /mnt/rig/lib.sh

[ -e /lib/systemd/system/clockwork-ftpd.socket ] || skip_all "clockwork-ftpd.socket is not in this package"
check "clockwork-ftpd.socket not enabled by the install" sh -c \
	'[ "$(systemctl is-enabled clockwork-ftpd.socket)" != enabled ]'
# The anonymous root of the unit (-r DIR in ExecStart=, else /srv/ftp).
root=$(systemctl show -p ExecStart --value clockwork-ftpd.service |
	sed -n 's/.*argv\[\]=\([^;]*\);.*/\1/p' | tr ' ' '\n' |
	awk 'p { print; exit } $0 == "-r" || $0 == "--root" { p = 1 } /^--root=/ { sub(/^--root=/, ""); print; exit }')
root=${root:-/srv/ftp}
diag "anonymous root: $root"
mkdir -p "$root/pub"
head -c 300000 /dev/urandom >"$root/pub/blob.bin"
chmod -R a+rX "$root"
want=$(sha256sum <"$root/pub/blob.bin")
check "systemctl start clockwork-ftpd.socket" systemctl start clockwork-ftpd.socket
check "21 listens" wait_for 10 listening 21
since=$(date '+%Y-%m-%d %H:%M:%S')
sleep 1
got=$(timeout 30 curl -sS ftp://127.0.0.1/pub/blob.bin | sha256sum)
check "curl downloads pub/blob.bin (passive)" test "$got" = "$want"
got=$(timeout 30 curl -sS --disable-epsv ftp://127.0.0.1/pub/blob.bin | sha256sum)
check "and with PASV" test "$got" = "$want"
check "a listing names it" sh -c 'timeout 30 curl -sS ftp://127.0.0.1/pub/ | grep -q blob.bin'
check "clockwork-ftpd.service active" systemctl is-active -q clockwork-ftpd.service
check "the journal has the transfer" wait_for 10 sh -c \
	"journalctl -u clockwork-ftpd.service --since '$since' --no-pager | grep -q blob.bin"
journalctl -u clockwork-ftpd.service --no-pager --no-hostname -o short | tail -n 6 | sed 's/^/#   /'
# Left running: the upgrade and the purge deal with it.
finish
