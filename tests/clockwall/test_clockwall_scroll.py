#!/usr/bin/env python3
# SPDX-License-Identifier: ISC
"""A wall taller than its terminal (tmux, 80x12): it shows a page and
says which; j/k and the arrows move by a row, space/b and Page Down/Up by
a page, g/G and Home/End go to either end; a taller window shows every
clock again."""

import os
import re
import shlex
import shutil
import subprocess
import sys
import tempfile
import time

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from common import (CLOCKWALL, ZONES, listening, start_clock,  # noqa: E402
                    tmux_env)
from taplib import Tap  # noqa: E402

N = 30		# clocks on the wall
PAGE = 8	# of them in 12 rows: title, blank, header, 8, the last row

t = Tap()
if shutil.which("tmux") is None:
    t.skip_all("tmux is not installed")

tmp = tempfile.mkdtemp(prefix="clockwall-scroll-")
sock = os.path.join(tmp, "sock")
env = tmux_env(tmp)


def tmux(*args):
    return subprocess.run(["tmux", "-S", sock] + list(args),
                          capture_output=True, text=True, env=env, timeout=10)


def shown():
    """(first, last) clock numbers on the screen, and the last row."""
    text = tmux("capture-pane", "-p", "-t", "wall").stdout
    nums = [int(m.group(1)) for m in re.finditer(r"^  c(\d\d)  ", text,
                                                  re.M)]
    rows = [x for x in text.splitlines() if x.strip()]
    return (nums[0] if nums else 0, nums[-1] if nums else 0,
            rows[-1] if rows else "")


def after(keys, first, what):
    """Sends keys; true once the page starts at clock first."""
    tmux("send-keys", "-t", "wall", *keys)
    deadline = time.monotonic() + 5
    while True:
        got = shown()
        if got[0] == first or time.monotonic() > deadline:
            break
        time.sleep(0.05)
    last = min(first + PAGE - 1, N)
    return t.ok(got[:2] == (first, last) and
                got[2].strip().startswith("%d-%d of %d" % (first, last, N)),
                "%s: clocks %d-%d shown and counted (%r)"
                % (what, first, last, got))


clocks = [start_clock(tz) for _, tz in ZONES]
t.ok(listening(clocks), "three clockd listen")
try:
    # Thirty clocks, named in order, on three servers.
    args = ["c%02d=127.0.0.1:%d" % (i + 1, clocks[i % 3].port)
            for i in range(N)]
    cmd = " ".join(shlex.quote(a) for a in [CLOCKWALL] + args)
    r = tmux("-f", "/dev/null", "new-session", "-d", "-s", "wall", "-x", "80",
             "-y", "12", cmd)
    if r.returncode != 0:
        t.skip_all("tmux cannot start here: %s" % r.stderr.strip())
    deadline = time.monotonic() + 15
    while shown()[:2] != (1, PAGE) and time.monotonic() < deadline:
        time.sleep(0.1)
    first, last, foot = shown()
    t.ok((first, last) == (1, PAGE) and "1-8 of 30" in foot and
         "j/k" in foot, "a page of the wall, and which (%r)" % foot)

    after(["j"], 2, "j")
    after(["k"], 1, "k")
    after(["Down"], 2, "Down")
    after(["Up"], 1, "Up")
    after(["Space"], 1 + PAGE - 1, "space (a page, one row kept)")
    after(["b"], 1, "b")
    after(["NPage"], 1 + PAGE - 1, "Page Down")
    after(["PPage"], 1, "Page Up")
    after(["G"], N - PAGE + 1, "G")
    after(["j"], N - PAGE + 1, "j at the bottom stays")
    after(["g"], 1, "g")
    after(["k"], 1, "k at the top stays")
    after(["End"], N - PAGE + 1, "End")
    after(["Home"], 1, "Home")

    # Taller: every clock fits, no page row.
    tmux("resize-window", "-t", "wall", "-x", "80", "-y", "40")
    deadline = time.monotonic() + 5
    while shown()[:2] != (1, N) and time.monotonic() < deadline:
        time.sleep(0.1)
    first, last, foot = shown()
    t.ok((first, last) == (1, N) and " of " not in foot,
         "a window tall enough shows all %d clocks (%d-%d)" % (N, first, last))
    tmux("send-keys", "-t", "wall", "q")
    deadline = time.monotonic() + 5
    while (tmux("has-session", "-t", "wall").returncode == 0 and
           time.monotonic() < deadline):
        time.sleep(0.1)
    t.ok(tmux("has-session", "-t", "wall").returncode != 0, "q ends the wall")
finally:
    tmux("kill-server")
    for d in clocks:
        d.stop()
    shutil.rmtree(tmp, ignore_errors=True)

t.done()
