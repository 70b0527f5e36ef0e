#!/usr/bin/env python3
# SPDX-License-Identifier: ISC
"""clockwall with its output to a pipe (plain lines, no redrawing), against
real clockd instances in three zones: every clock ticks; a clock killed
mid-run is shown down while the others keep ticking, and is picked up
again when it comes back; a stopped (silent) clock is shown silent; SIGTERM
ends the wall with exit 0."""

import os
import selectors
import signal
import subprocess
import sys
import time

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from common import (CLOCKWALL, ZONES, listening, parse_table,  # noqa: E402
                    start_clock, zone_skew)
from taplib import Tap, budget  # noqa: E402

t = Tap()


class Wall:
    """clockwall writing plain lines into a pipe, read as they come."""

    def __init__(self, args):
        env = dict(os.environ, TERM="xterm-256color")
        self.proc = subprocess.Popen([CLOCKWALL] + args, stdout=subprocess.PIPE,
                                     stderr=subprocess.PIPE,
                                     stdin=subprocess.DEVNULL, env=env)
        os.set_blocking(self.proc.stdout.fileno(), False)
        self.sel = selectors.DefaultSelector()
        self.sel.register(self.proc.stdout, selectors.EVENT_READ)
        self.buf = b""
        self.lines = []		# (monotonic time, name, text)

    def pump(self, timeout):
        for _ in self.sel.select(timeout):
            chunk = self.proc.stdout.read() or b""
            self.buf += chunk
            while b"\n" in self.buf:
                line, self.buf = self.buf.split(b"\n", 1)
                name, text = parse_table(line.decode(errors="replace"))[0]
                self.lines.append((time.monotonic(), name, text))

    def wait_for(self, pred, timeout):
        """The first line after now for which pred(name, text) holds."""
        start = len(self.lines)
        deadline = time.monotonic() + timeout
        while True:
            for ln in self.lines[start:]:
                if pred(ln[1], ln[2]):
                    return ln
            start = len(self.lines)
            left = deadline - time.monotonic()
            if left <= 0:
                return None
            self.pump(min(left, 0.2))

    def since(self, when):
        return [ln for ln in self.lines if ln[0] >= when]

    def stop(self):
        if self.proc.poll() is None:
            self.proc.send_signal(signal.SIGTERM)
        try:
            return self.proc.wait(budget(10))
        except subprocess.TimeoutExpired:
            self.proc.kill()
            self.proc.wait()
            return None


def is_time(name, text):
    return text is not None and zone_skew(text, dict(ZONES)[name]) is not None


clocks = [start_clock(tz) for _, tz in ZONES]
t.ok(listening(clocks), "three clockd (Tokyo, New York, London) listen")
wall = None
try:
    names = [n for n, _ in ZONES]
    wall = Wall(["%s=localhost:%d" % (n, d.port)
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

    # Stopped (SIGSTOP): connected but silent; shown silent, then back.
    tokyo = clocks[0]
    tokyo.signal(signal.SIGSTOP)
    stopped = time.monotonic()
    silent = wall.wait_for(lambda n, s: n == "Tokyo" and s.startswith("down"),
                           budget(8))
    t.ok(silent is not None and "silent" in silent[2],
         "a clock silent for over 3 s is shown silent (%r)"
         % (silent and silent[2]))
    # 3 s after the last line, which came up to a second before the stop.
    t.ok(silent is not None and 1.5 <= silent[0] - stopped <= 7,
         "3 s after its last line (%.1f s after the stop)"
         % ((silent[0] - stopped) if silent else -1))
    tokyo.signal(signal.SIGCONT)
    back = wall.wait_for(lambda n, s: n == "Tokyo" and is_time(n, s),
                         budget(15))
    t.ok(back is not None, "and ticks again once it speaks")

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
