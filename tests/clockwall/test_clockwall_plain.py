#!/usr/bin/env python3
# SPDX-License-Identifier: ISC
"""clockwall with its output to a pipe (plain lines, no redrawing), against
real clockd instances in three zones: every clock ticks; a clock killed
mid-run is shown down while the others keep ticking, and is picked up
again when it comes back; a stopped clock is shown silent, and ticks on
when it speaks again; SIGTERM ends the wall with exit 0."""

import os
import signal
import sys
import time

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from common import (ZONES, PlainWall, listening, start_clock,  # noqa: E402
                    zone_skew)
from taplib import Tap, budget  # noqa: E402

t = Tap()


def is_time(name, text):
    return text is not None and zone_skew(text, dict(ZONES)[name]) is not None


clocks = [start_clock(tz) for _, tz in ZONES]
t.ok(listening(clocks), "three clockd (Tokyo, New York, London) listen")
wall = None
try:
    names = [n for n, _ in ZONES]
    wall = PlainWall(["%s=localhost:%d" % (n, d.port)
                 for n, d in zip(names, clocks)])

    # Every clock ticks, each in its zone, about once a second.
    wall.wait_for(lambda n, s: False, 3.5)
    for name, tz in ZONES:
        got = [s for _, n, s in wall.lines if n == name]
        t.ok(len(got) >= 2 and all(zone_skew(s, tz) is not None for s in got)
             and zone_skew(got[-1], tz) <= 2 and len(set(got)) == len(got),
             "%s prints its zone's time as plain lines, one per second "
             "(%d lines)" % (name, len(got)), wall.lines)
    raw = [ln for ln in wall.lines if "\033" in (ln[2] or "") + ln[1]]
    t.eq(raw, [], "no escape sequences when the output is not a terminal")

    # London killed mid-run: shown down; the others keep ticking.
    london = clocks[2]
    port = london.port
    london.proc.kill()
    london.proc.wait()
    killed = time.monotonic()
    down = wall.wait_for(lambda n, s: n == "London" and s.startswith("down"),
                         budget(6))
    t.ok(down is not None, "a killed clock is shown down (%r)"
         % (down and down[2]), wall.lines[-6:])
    wall.wait_for(lambda n, s: False, 4)
    after = wall.since(killed + 0.5)
    for name in ("Tokyo", "New York"):
        n = sum(1 for _, nm, s in after if nm == name and is_time(nm, s))
        t.ok(n >= 2, "%s keeps ticking while London is down (%d lines)"
             % (name, n))
    t.ok(not any(nm == "London" and is_time(nm, s) for _, nm, s in after),
         "London shows no time while it is down")
    downs = [s for _, nm, s in after if nm == "London"]
    t.ok(len(downs) <= 2, "a clock that keeps refusing is reported once, "
         "not at every retry (%r)" % downs)

    # Restarted on the same port: picked up again by the retries.
    clocks[2] = start_clock("Europe/London", port)
    back = wall.wait_for(lambda n, s: n == "London" and is_time(n, s),
                         budget(15))
    t.ok(back is not None and zone_skew(back[2], "Europe/London") <= 2,
         "the restarted clock is picked up again (%r)" % (back and back[2]))

    # Stopped (SIGSTOP): connected but silent.  Shown silent 3 s after its
    # last line, the connection kept; when it speaks again it ticks on,
    # never having been down.
    tokyo = clocks[0]
    tokyo.signal(signal.SIGSTOP)
    stopped = time.monotonic()
    silent = wall.wait_for(lambda n, s: n == "Tokyo" and not is_time(n, s),
                           budget(8))
    last = [ln[0] for ln in wall.lines if ln[1] == "Tokyo" and
            is_time(ln[1], ln[2]) and (silent is None or ln[0] < silent[0])]
    t.ok(silent is not None and silent[2] == "silent",
         "a clock without a line for 3 s is shown silent (%r)"
         % (silent and silent[2]))
    # 3 s (plus two round trips, nothing on loopback) after its last line.
    took = silent[0] - last[-1] if silent and last else -1
    t.ok(2.9 <= took <= 5, "3 s after its last line (%.2f s)" % took)
    tokyo.signal(signal.SIGCONT)
    back = wall.wait_for(lambda n, s: n == "Tokyo" and is_time(n, s),
                         budget(5))
    t.ok(back is not None, "and ticks again once it speaks")
    t.ok(not any(nm == "Tokyo" and s.startswith("down")
                 for _, nm, s in wall.since(stopped)),
         "on the same connection: it was never down")

    rc = wall.stop()
    t.eq(rc, 0, "SIGTERM ends the wall with exit 0")
    err = wall.proc.stderr.read().decode(errors="replace")
    t.eq(err, "", "nothing on stderr")
finally:
    if wall is not None:
        wall.stop()
    for d in clocks:
        d.signal(signal.SIGCONT)
        d.stop()

t.done()
