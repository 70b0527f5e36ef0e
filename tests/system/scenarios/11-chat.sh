# SPDX-License-Identifier: ISC
# chat.socket (port 8001), when the package has it: not started by the
# install alone; once started, two people talk with nc (each from its own
# address and port, so every line is known in advance), the journal shows
# both arrivals with REMOTE_ADDR, a restart keeps the room, and stopping
# the service says goodbye.
. /mnt/rig/lib.sh

[ -e /lib/systemd/system/chat.socket ] || skip_all "chat.socket is not in this package"
check "chat.socket not enabled by the install" sh -c '[ "$(systemctl is-enabled chat.socket)" != enabled ]'
check_not "nothing on 8001 before it is started" listening 8001
check "systemctl start chat.socket" systemctl start chat.socket
check "8001 listens" wait_for 10 listening 8001
since=$(date '+%Y-%m-%d %H:%M:%S')
sleep 1

ann=127.0.0.8:40008
bob=127.0.0.9:40009
rm -f /tmp/ann.in /tmp/bob.in /tmp/ann.out /tmp/bob.out
mkfifo /tmp/ann.in /tmp/bob.in
timeout 60 nc -N -s 127.0.0.8 -p 40008 127.0.0.1 8001 </tmp/ann.in >/tmp/ann.out &
annpid=$!
exec 3>/tmp/ann.in
check "ann is told the room is empty" wait_for 15 grep -qx "Here now: nobody else" /tmp/ann.out
timeout 60 nc -N -s 127.0.0.9 -p 40009 127.0.0.1 8001 </tmp/bob.in >/tmp/bob.out &
bobpid=$!
exec 4>/tmp/bob.in
check "ann hears bob arrive" wait_for 10 grep -qx "$bob has arrived" /tmp/ann.out
printf 'hi ann\n' >&4
check "ann hears bob" wait_for 10 grep -qx "$bob: hi ann" /tmp/ann.out
printf 'hello bob, caf\303\251\n' >&3
check "bob hears ann" wait_for 10 grep -qx "$ann: hello bob, caf$(printf '\303\251')" /tmp/bob.out
exec 4>&-
check "bob's nc ends once chatd closes" wait_for 10 sh -c "! kill -0 $bobpid"
check "ann hears bob leave" wait_for 10 grep -qx "$bob has left" /tmp/ann.out
printf 'You are %s\nHere now: nobody else\n%s has arrived\n%s: hi ann\n%s: hello bob, caf\303\251\n%s has left\n' \
	"$ann" "$bob" "$bob" "$ann" "$bob" >/tmp/ann.want
printf 'You are %s\nHere now: %s\n%s: hi ann\n%s: hello bob, caf\303\251\n' \
	"$bob" "$ann" "$bob" "$ann" >/tmp/bob.want
for who in ann bob; do
	if cmp -s /tmp/$who.out /tmp/$who.want; then
		ok "$who's transcript, byte for byte"
	else
		not_ok "$who's transcript, byte for byte"
		diag "got:" "$(cat /tmp/$who.out)"
	fi
done
sed 's/^/#   ann| /' /tmp/ann.out

check "chat.service active (Type=$(systemctl show -p Type --value chat.service))" \
	systemctl is-active -q chat.service
check "StatusText set" wait_for 15 sh -c '[ -n "$(systemctl show -p StatusText --value chat.service)" ]'
diag "$(systemctl show -p StatusText chat.service)"
for a in 127.0.0.8 127.0.0.9; do
	check "journal: the arrival from $a, with REMOTE_ADDR=$a" wait_for 10 sh -c \
		"journalctl -u chat.service --since '$since' REMOTE_ADDR=$a -o cat | grep -q 'arrived as $a:400'"
done
check "journal: what they said is not there" sh -c \
	"! journalctl -u chat.service --since '$since' -o cat | grep -Eq 'hi ann|hello bob'"

# A restart keeps the room: ann waits in the fd store, the new chatd
# takes her over, and a newcomer finds her there; she is told nothing.
pid=$(systemctl show -p MainPID --value chat.service)
since=$(date '+%Y-%m-%d %H:%M:%S')
check "systemctl restart chat.service" systemctl restart chat.service
npid=$(systemctl show -p MainPID --value chat.service)
check "restart: a new chatd (pid $pid -> $npid)" sh -c "[ '$npid' != '$pid' ] && [ '$npid' -gt 0 ]"
check "restart: the old chatd was told it is a restart (SIGUSR2 from ExecStop=)" wait_for 10 sh -c \
	"journalctl -u chat.service --since '$since' -o cat | grep -q '^User defined signal 2: stopping for a restart'"
check "restart: the new chatd took ann over" wait_for 10 sh -c \
	"journalctl -u chat.service --since '$since' -o cat | grep -q 'took over 1 of 1 clients'"
carl=127.0.0.10:40010
rm -f /tmp/carl.out
timeout 20 nc -N -s 127.0.0.10 -p 40010 127.0.0.1 8001 </dev/null >/tmp/carl.out &
carlpid=$!
check "restart: a newcomer finds ann in the room" wait_for 10 grep -qx "Here now: $ann" /tmp/carl.out
check "restart: ann hears the newcomer arrive" wait_for 10 grep -qx "$carl has arrived" /tmp/ann.out
check "restart: the newcomer's nc ends" wait_for 10 sh -c "! kill -0 $carlpid"
check "restart: ann hears the newcomer leave" wait_for 10 grep -qx "$carl has left" /tmp/ann.out
check_not "restart: ann was not told the server shuts down" grep -q "Server shutting down" /tmp/ann.out

# Stopping the service: ann is told, then let go; the stop is clean.
since=$(date '+%Y-%m-%d %H:%M:%S')
systemctl stop chat.service
check "ann gets 'Server shutting down.' last" sh -c '[ "$(tail -n 1 /tmp/ann.out)" = "Server shutting down." ]'
# chatd closed its side: ann's end of the connection waits in CLOSE_WAIT
# until nc, whose input is still open, is done with it.
check "chatd closed ann's connection" wait_for 10 sh -c \
	"ss -Htn state close-wait '( sport = :40008 )' | grep -q ."
exec 3>&-
check "ann's nc ends" wait_for 10 sh -c "! kill -0 $annpid"
check "stop: chatd was told it is a stop (SIGTERM from ExecStop=)" sh -c \
	"journalctl -u chat.service --since '$since' -o cat | grep -qx 'Terminated: stopping'"
check "chat.service stopped cleanly (Result=$(systemctl show -p Result --value chat.service))" \
	sh -c '[ "$(systemctl show -p Result --value chat.service)" = success ]'
check "chat.socket still listens" listening 8001
journalctl -u chat.service --no-pager --no-hostname -o short --since "$since" | tail -n 12 | sed 's/^/#   /'
finish
