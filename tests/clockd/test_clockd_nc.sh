#!/bin/sh
# SPDX-License-Identifier: ISC
# clockd read by nc, as a person would: once with --port, once handed a
# socket by systemd-socket-activate with TZ passed through.
set -u
clockd="$top_builddir/daemons/clockd/clockd"
. "$top_srcdir/tests/lib.sh"

command -v nc >/dev/null || { echo "1..0 # SKIP nc missing"; exit 0; }

port=$(free_port)
"$clockd" -q --port "$port" & pids="$pids $!"
wait_port "$port" || not_ok "clockd --port listens"
out=$(timeout "$(budget 2.6)" nc 127.0.0.1 "$port" </dev/null)
lines=$(printf '%s\n' "$out" | grep -cE '^[0-9]{2}:[0-9]{2}:[0-9]{2}$')
if [ "$lines" -ge 2 ]; then ok "nc reads HH:MM:SS lines from clockd --port"; else not_ok "nc reads HH:MM:SS lines from clockd --port (got: $out)"; fi

port=$(free_port)
TZ=Asia/Tokyo systemd-socket-activate -E TZ -l "127.0.0.1:$port" "$clockd" -q & pids="$pids $!"
wait_port "$port" || not_ok "systemd-socket-activate listens"
# nc ends at the second line (head has gone) or at the timeout: the line
# read came up to two seconds before the date taken after it.
out=$(timeout "$(budget 1.6)" nc 127.0.0.1 "$port" </dev/null | head -n 1)
want=$(TZ=Asia/Tokyo date +%H:%M:%S)
want2=$(TZ=Asia/Tokyo date -d '1 second ago' +%H:%M:%S)
want3=$(TZ=Asia/Tokyo date -d '2 seconds ago' +%H:%M:%S)
if [ "$out" = "$want" ] || [ "$out" = "$want2" ] || [ "$out" = "$want3" ]; then ok "socket-activated clockd gives Tokyo time to nc ($out)"
else not_ok "socket-activated clockd gives Tokyo time to nc (got '$out', want '$want')"; fi

done_testing
