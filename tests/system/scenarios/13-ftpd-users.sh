# SPDX-License-Identifier: ISC
# Named FTP users as an admin sets them up from the package alone: the
# system user and /srv/ftp-users made by the install,
# `clockwork-ftpd-passwd add alice --rw` with the password on stdin,
# `systemctl reload`, an upload with curl -T through port 21 and back by
# checksum, a restart (the upload still there, same owner), a second user
# added by a reload while alice's session is open, FTPS with a snakeoil
# pair, and an upgrade that keeps users, homes and uploads.  09-upgrade
# has already installed the newer package: this one goes back to the
# first one, so that an upgrade can follow.
. /mnt/rig/lib.sh

[ -e /lib/systemd/system/clockwork-ftpd.service ] || skip_all "clockwork-ftpd is not in this package"
users=/etc/clockwork/ftpd.users
homes=/srv/ftp-users
ftp=ftp://127.0.0.1

# ftp_journal: clockwork-ftpd's journal since this scenario began.
since=$(date '+%Y-%m-%d %H:%M:%S')
ftp_journal() {
	journalctl -u clockwork-ftpd.service --since "$since" --no-pager -o cat
}

# reloaded N: the service says it has read N named users since the last
# look (the reload happens after `systemctl reload` returns).
reloads=0
reloaded() {
	ftp_journal | grep -c "reload: $1 named users" | {
		read -r c
		[ "$c" -gt "$reloads" ]
	}
}

# reload N: systemctl reload, then wait for the daemon's line.
reload() {
	reloads=$(ftp_journal | grep -c "reload: $1 named users")
	systemctl reload clockwork-ftpd.service && wait_for 10 reloaded "$1"
}

# owner PATH: user and uid that own PATH.
owner() {
	stat -c '%U %u' "$1"
}

if [ -n "${UPGRADE_DEB:-}" ] && [ "$(dpkg-query -W -f='${Version}' clockwork)" != \
    "$(dpkg-deb -f "$DEB" Version)" ]; then
	if DEBIAN_FRONTEND=noninteractive apt-get install -y -q --no-install-recommends \
	    --allow-downgrades -o Dpkg::Options::=--force-confold "$DEB" >/tmp/apt.log 2>&1; then
		ok "back to $(dpkg-query -W -f='${Version}' clockwork), for an upgrade later"
	else
		not_ok "back to the first package"
		sed 's/^/# /' /tmp/apt.log
	fi
fi

# What the install made.
pw=$(getent passwd clockwork-ftp)
check "the install made the system user clockwork-ftp ($pw)" sh -c \
	"echo '$pw' | awk -F: '\$3 < 1000 && \$6 == \"/nonexistent\" && \$7 ~ /nologin\$/ { ok = 1 } END { exit !ok }'"
check "and its group" sh -c 'getent group clockwork-ftp >/dev/null'
check "$homes exists (root, 0755)" test "$(stat -c '%U %a' "$homes" 2>/dev/null)" = "root 755"
check "the unit runs as clockwork-ftp, not a dynamic user" test \
	"$(systemctl show -p User,DynamicUser --value clockwork-ftpd.service | tr '\n' ' ')" = "clockwork-ftp no "

# Anonymous as before (08-ftpd left the socket running).
systemctl start clockwork-ftpd.socket
check "21 listens" wait_for 10 listening 21
timeout 30 curl -sS -o /dev/null "$ftp/" 2>/dev/null
check "clockwork-ftpd.service runs" wait_for 10 systemctl is-active -q clockwork-ftpd.service
check "anonymous still lists the root" sh -c "timeout 30 curl -sS $ftp/ | grep -q pub"
check_not "anonymous may not upload" sh -c "echo x | timeout 30 curl -sS -T - $ftp/pub/anon.txt 2>/dev/null"

# alice, with her password on stdin.
if printf 'alice in wonderland\n' | clockwork-ftpd-passwd add alice --rw >/tmp/passwd.log 2>&1; then
	ok "clockwork-ftpd-passwd add alice --rw"
else
	not_ok "clockwork-ftpd-passwd add alice --rw"
	sed 's/^/# /' /tmp/passwd.log
fi
check "the users file is root:clockwork-ftp 0640" test "$(stat -c '%U:%G %a' $users 2>/dev/null)" = "root:clockwork-ftp 640"
check "alice's home is made, owned by clockwork-ftp" test "$(stat -c '%U %a' $homes/alice 2>/dev/null)" = "clockwork-ftp 750"
check "systemctl reload: 1 named user read" reload 1
ftp_journal | grep 'reload' | sed 's/^/#   /'

# Her upload, through port 21, and back.
head -c 1000000 /dev/urandom >/tmp/up.bin
want=$(sha256sum </tmp/up.bin)
upload_since=$(date '+%Y-%m-%d %H:%M:%S')
check "curl -T: alice uploads up.bin" timeout 30 curl -sS -T /tmp/up.bin "ftp://alice:alice%20in%20wonderland@127.0.0.1/up.bin"
got=$(timeout 30 curl -sS "ftp://alice:alice%20in%20wonderland@127.0.0.1/up.bin" | sha256sum)
check "and downloads it back: same checksum" test "$got" = "$want"
before=$(owner $homes/alice/up.bin)
check "on disk, owned by clockwork-ftp ($before)" sh -c "[ '${before%% *}' = clockwork-ftp ]"
check "the journal has alice's upload" wait_for 10 sh -c \
	"journalctl -u clockwork-ftpd.service --since '$upload_since' --no-pager | grep -q 'received /up.bin from alice'"
diag "journalctl -u clockwork-ftpd of alice's upload:"
# (from the line before her first one: earlier sessions of the same second
# come first)
journalctl -u clockwork-ftpd.service --since "$upload_since" --no-pager --no-hostname -o short |
	grep -v ' NOOP' | awk '!on && /alice/ { on = 1; if (p != "") print p } on { print; next } { p = $0 }' |
	head -n 12 | sed 's/^/#   /'
check "a wrong password: 530" sh -c \
	"timeout 30 curl -sS -o /dev/null 'ftp://alice:wrong@127.0.0.1/up.bin' 2>&1 | grep -q 530"

# A restart: the upload is there, same owner.
pid=$(systemctl show -p MainPID --value clockwork-ftpd.service)
check "systemctl restart clockwork-ftpd" systemctl restart clockwork-ftpd.service
got=$(timeout 30 curl -sS "ftp://alice:alice%20in%20wonderland@127.0.0.1/up.bin" | sha256sum)
npid=$(systemctl show -p MainPID --value clockwork-ftpd.service)
check "after the restart (pid $pid -> $npid), the same bytes" test "$got" = "$want"
check "and the same owner ($(owner $homes/alice/up.bin))" test "$(owner $homes/alice/up.bin)" = "$before"

# bob, added by a reload while alice's session is open.
rm -f /tmp/alice.in /tmp/alice.out
mkfifo /tmp/alice.in
timeout 60 nc 127.0.0.1 21 </tmp/alice.in >/tmp/alice.out 2>&1 &
session=$!
exec 3>/tmp/alice.in
printf 'USER alice\r\nPASS alice in wonderland\r\n' >&3
check "alice's session logs in" wait_for 10 grep -q '^230' /tmp/alice.out
printf 'bob builder\n' | clockwork-ftpd-passwd add bob --rw >/tmp/passwd.log 2>&1
check "clockwork-ftpd-passwd add bob --rw" grep -q '^bob:' $users
check "systemctl reload while alice is logged in: 2 named users" reload 2
printf 'bob was here\n' >/tmp/bob.txt
check "bob uploads at once" timeout 30 curl -sS -T /tmp/bob.txt "ftp://bob:bob%20builder@127.0.0.1/bob.txt"
check "and reads it back" sh -c "[ \"\$(timeout 30 curl -sS 'ftp://bob:bob%20builder@127.0.0.1/bob.txt')\" = 'bob was here' ]"
printf 'NOOP\r\nPWD\r\n' >&3
check "alice's session goes on after the reload (NOOP, PWD)" wait_for 10 grep -q '^257' /tmp/alice.out
printf 'QUIT\r\n' >&3
exec 3>&-
check "and ends with her QUIT" wait_for 10 grep -q '^221' /tmp/alice.out
wait $session 2>/dev/null
tr -d '\r' </tmp/alice.out | sed 's/^/#   alice: /'

# FTPS with a snakeoil pair (ssl-cert is not installed here: one made the
# same way), through the credential, as the system user.
made_pair=
if [ ! -e /etc/ssl/private/ssl-cert-snakeoil.key ] && command -v openssl >/dev/null; then
	mkdir -p /etc/ssl/private
	openssl req -x509 -newkey rsa:2048 -nodes -days 2 -subj /CN=clockwork-box \
		-keyout /etc/ssl/private/ssl-cert-snakeoil.key \
		-out /etc/ssl/certs/ssl-cert-snakeoil.pem >/dev/null 2>&1 &&
		chmod 0640 /etc/ssl/private/ssl-cert-snakeoil.key && made_pair=1
fi
if [ -e /etc/ssl/private/ssl-cert-snakeoil.key ]; then
	systemctl restart clockwork-ftpd.service
	got=$(timeout 30 curl -sS -k --ssl-reqd "ftp://alice:alice%20in%20wonderland@127.0.0.1/up.bin" | sha256sum)
	check "FTPS (snakeoil key as a credential): alice's file by checksum" test "$got" = "$want"
	if [ -n "$made_pair" ]; then
		rm -f /etc/ssl/private/ssl-cert-snakeoil.key /etc/ssl/certs/ssl-cert-snakeoil.pem
		systemctl restart clockwork-ftpd.service
	fi
	check "without the pair, the service serves on (plain FTP)" sh -c \
		"timeout 30 curl -sS 'ftp://alice:alice%20in%20wonderland@127.0.0.1/up.bin' | sha256sum | grep -q '${want%% *}'"
else
	diag "no openssl: FTPS not tried"
fi

# The upgrade keeps both users, their homes and uploads.
if [ -n "${UPGRADE_DEB:-}" ]; then
	old=$(dpkg-query -W -f='${Version}' clockwork)
	filesum=$(sha256sum <$users)
	if apt_install "$UPGRADE_DEB" >/tmp/apt.log 2>&1; then
		ok "apt-get install $(basename "$UPGRADE_DEB")"
	else
		not_ok "apt-get install $(basename "$UPGRADE_DEB")"
		sed 's/^/# /' /tmp/apt.log
	fi
	new=$(dpkg-query -W -f='${Version}' clockwork)
	check "upgraded $old -> $new" dpkg --compare-versions "$new" gt "$old"
	check "the users file unchanged" test "$(sha256sum <$users)" = "$filesum"
	check "and still root:clockwork-ftp 0640" test "$(stat -c '%U:%G %a' $users)" = "root:clockwork-ftp 640"
	check "clockwork-ftpd.service runs the new program" sh -c \
		"pid=\$(systemctl show -p MainPID --value clockwork-ftpd.service); [ \"\$pid\" -gt 0 ] && ! readlink /proc/\$pid/exe | grep -q deleted"
	got=$(timeout 30 curl -sS "ftp://alice:alice%20in%20wonderland@127.0.0.1/up.bin" | sha256sum)
	check "alice logs in after the upgrade; her upload by checksum" test "$got" = "$want"
	check "bob too" sh -c "[ \"\$(timeout 30 curl -sS 'ftp://bob:bob%20builder@127.0.0.1/bob.txt')\" = 'bob was here' ]"
	check "the upload kept its owner" test "$(owner $homes/alice/up.bin)" = "$before"
else
	diag "no upgrade package given: upgrade not tried"
fi

diag "clockwork-ftpd-passwd list:" "$(clockwork-ftpd-passwd list)"
diag "systemd-analyze security clockwork-ftpd.service:"
systemd-analyze security --no-pager clockwork-ftpd.service 2>&1 | sed 's/^/#   /'
check "no failed units" sh -c '[ -z "$(systemctl --failed --no-legend --plain)" ]'
# Left running, with alice's and bob's files: 90-purge checks what stays.
finish
