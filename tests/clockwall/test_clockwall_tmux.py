#!/usr/bin/env python3
# SPDX-License-Identifier: ISC
"""The live view, driven in a real terminal (tmux): every name and a time
that changes, colour unless NO_COLOR, a clock killed and restarted, a
resize, and the terminal given back as it was on q, Ctrl-C and SIGTERM."""

import os
import re
import shlex
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import time

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from common import (CLOCKWALL, ZONES, free_port, listening,  # noqa: E402
                    start_clock, tmux_env, zone_skew)
import taplib  # noqa: E402
from taplib import Tap, budget  # noqa: E402

t = Tap()
if shutil.which("tmux") is None:
    t.skip_all("tmux is not installed")

tmp = tempfile.mkdtemp(prefix="clockwall-tmux-")
sock = os.path.join(tmp, "sock")
env = tmux_env(tmp, SHELL="/bin/sh", PS1="$ ")


def tmux(*args):
    return subprocess.run(["tmux", "-S", sock] + list(args),
                          capture_output=True, text=True, env=env,
                          timeout=budget(10))


def screen(escapes=False):
    return tmux("capture-pane", "-p", "-t", "wall",
                *(["-e"] if escapes else [])).stdout


def fmt(f):
    return tmux("display-message", "-p", "-t", "wall", f).stdout.strip()


def type_line(text):
    tmux("send-keys", "-t", "wall", "-l", text)
    tmux("send-keys", "-t", "wall", "Enter")


def poll(pred, timeout=10.0):
    """pred()'s first true value within timeout seconds (scaled), else its
    last; tmux is asked every 0.1 s, not more often."""
    return taplib.poll(pred, timeout, interval=0.1)


def rows(text):
    """{name: (time, state)} of the clock rows on the screen (the offset
    column, blank for a clock that is not up, between them)."""
    out = {}
    for line in text.splitlines():
        m = re.match(r"^  (\S.*?)\s{2,}(\S+)\s{2,}(?:[-+]\d+\.\d+s\s{2,})?"
                     r"(\S+)\s{2,}(\S.*?)\s*$", line)
        if m and m.group(1) != "NAME":
            out[m.group(1)] = (m.group(2), m.group(4))
    return out


def all_up(text):
    r = rows(text)
    return all(r.get(n, ("", ""))[1] == "up" for n, _ in ZONES)


def read(path):
    try:
        with open(path) as f:
            return f.read()
    except OSError:
        return ""


def run_wall(tag, prefix="", extra=()):
    """Starts the wall in the pane's shell; it echoes tag=STATUS at exit."""
    type_line("%s%s %s; echo %s=$?" % (prefix, shlex.quote(CLOCKWALL),
                                       " ".join(args + list(extra)), tag))
    return poll(lambda: all_up(screen()) and fmt("#{alternate_on}") == "1",
                15)


def restored(tag, stty_file):
    """After the wall exits: status 0, main screen, cursor, same modes."""
    ok = poll(lambda: "%s=0" % tag in screen() and
              fmt("#{alternate_on}") == "0", 10)
    cursor = fmt("#{cursor_flag}")
    type_line("stty -g > %s" % stty_file)
    poll(lambda: read(stty_file), 5)
    return ok, cursor, read(stty_file)


clocks = [start_clock(tz) for _, tz in ZONES]
t.ok(listening(clocks), "three clockd (Tokyo, New York, London) listen")
paris = None
try:
    # Paris has no clockd yet: it is down from the start.
    paris_port = free_port()
    args = [shlex.quote("%s=localhost:%d" % (n, d.port))
            for (n, _), d in zip(ZONES, clocks)]
    args.append("Paris=localhost:%d" % paris_port)
    r = tmux("-f", "/dev/null", "new-session", "-d", "-s", "wall", "-x", "80",
             "-y", "24", "/bin/sh")
    if r.returncode != 0:
        t.skip_all("tmux cannot start here: %s" % r.stderr.strip())
    before = os.path.join(tmp, "stty.before")
    type_line("stty -g > %s" % before)
    poll(lambda: read(before), 5)
    t.ok(read(before) != "", "the shell in tmux saved its terminal modes")

    # --- the live view -----------------------------------------------------------
    up = run_wall("first")
    shot = screen()
    t.ok(up, "the live view shows every clock up", shot)
    r1 = rows(shot)
    t.eq(sorted(r1), sorted([n for n, _ in ZONES] + ["Paris"]),
         "all four names are shown")
    t.ok(r1.get("Paris", ("", ""))[1].startswith("down (refused)"),
         "a clock with no server is shown down", shot)
    for name, tz in ZONES:
        skew = zone_skew(r1.get(name, ("",))[0], tz)
        t.ok(skew is not None and skew <= 2, "%s shows %s's time (off by %s s)"
             % (name, tz, skew), shot)
    t.eq(fmt("#{alternate_on}"), "1", "the view is on the alternate screen")
    t.eq(fmt("#{cursor_flag}"), "0", "the cursor is hidden")
    during = subprocess.run(["stty", "-g", "-F", fmt("#{pane_tty}")],
                            capture_output=True, text=True).stdout
    t.ok(during and during != read(before),
         "keys are read one at a time without echo while it runs")
    later = poll(lambda: (lambda r: r if all(
        r.get(n, ("",))[0] not in ("", r1[n][0]) for n, _ in ZONES) else None)(
        rows(screen())), 5)
    t.ok(later, "every time changes in place (Tokyo %s, then %s)"
         % (r1.get("Tokyo", ("?",))[0], later and later["Tokyo"][0]))
    t.ok(re.search(r"\x1b\[[0-9;]*32m", screen(True)) is not None,
         "times are in colour on a colour terminal")
    lines = screen().splitlines()
    t.ok(lines and "clockwall: 4 clocks, 3 up, 1 down" in lines[0]
         and "q quit" in lines[0], "the title counts the clocks", lines[:1])
    t.ok(len(lines) >= 3 and "NAME" in lines[2] and "TIME" in lines[2],
         "a header names the columns", lines[:4])
    print("# the live view (tmux capture-pane, 80x24):")
    for line in shot.rstrip("\n").splitlines():
        print("#   " + line)

    # A clock killed mid-run is shown down, the others keep ticking, and it
    # is picked up when it comes back.
    port = clocks[2].port
    clocks[2].proc.kill()
    clocks[2].proc.wait()
    down = poll(lambda: rows(screen()).get("London", ("", ""))[1]
                .startswith("down"), 8)
    shot = screen()
    t.ok(down, "London killed: shown down", shot)
    t.ok("--:--:--" in rows(shot).get("London", ("",))[0],
         "with no time", shot)
    t.ok("retry in" in rows(shot).get("London", ("", ""))[1],
         "and a retry countdown", shot)
    t0 = rows(shot).get("Tokyo", ("",))[0]
    t.ok(poll(lambda: rows(screen()).get("Tokyo", ("",))[0] not in ("", t0),
              5), "Tokyo keeps ticking meanwhile")
    print("# one clock down:")
    for line in shot.rstrip("\n").splitlines()[:7]:
        print("#   " + line)
    clocks[2] = start_clock("Europe/London", port)
    t.ok(poll(lambda: rows(screen()).get("London", ("", ""))[1] == "up", 15),
         "London restarted: up again", screen())

    # Resize: redrawn to the new size.
    tmux("resize-window", "-t", "wall", "-x", "60", "-y", "12")
    ok = poll(lambda: fmt("#{pane_width}") == "60" and
              screen().splitlines()[0].rstrip().endswith("r retry"), 5)
    shot = screen()
    t.ok(ok and all(len(x) <= 60 for x in shot.splitlines()),
         "a resize redraws the view at the new width", shot)
    t.ok(sorted(rows(shot)) == sorted([n for n, _ in ZONES] + ["Paris"]),
         "every clock still shown after the resize", shot)
    tmux("resize-window", "-t", "wall", "-x", "80", "-y", "24")

    # The back-off has grown to 8 s for Paris (a 4 s wait never shows more
    # than 4s); r retries at once, before the countdown runs out.
    def countdown():
        m = re.search(r"retry in (\d+)s$",
                      rows(screen()).get("Paris", ("", ""))[1])
        return int(m.group(1)) if m else 0
    left = poll(lambda: (lambda n: n if n >= 6 else 0)(countdown()), 20)
    t.ok(left, "retries back off up to 8 s (retry in %ss)" % left, screen())
    paris = start_clock("Europe/Paris", paris_port)
    pressed = time.monotonic()
    tmux("send-keys", "-t", "wall", "r")
    up = poll(lambda: rows(screen()).get("Paris", ("", ""))[1] == "up", 10)
    took = time.monotonic() - pressed
    t.ok(up and left and took < left - 1,
         "r retries at once: Paris up %.1f s later, before its %d s wait"
         % (took, left - 1), screen())

    # q ends it and gives the terminal back as it was.
    tmux("send-keys", "-t", "wall", "q")
    ok, cursor, modes = restored("first", os.path.join(tmp, "stty.q"))
    t.ok(ok, "q exits 0 and leaves the alternate screen", screen())
    t.eq(cursor, "1", "q: the cursor is visible again")
    t.eq(modes, read(before), "q: the terminal modes are restored")

    # --- NO_COLOR, then Ctrl-C ---------------------------------------------------
    # With a clock that accepts but never speaks: it spins while connecting.
    quiet = socket.socket()
    quiet.bind(("127.0.0.1", 0))
    quiet.listen(16)
    up = run_wall("second", "NO_COLOR=1 ",
                  ["Quiet=127.0.0.1:%d" % quiet.getsockname()[1]])
    t.ok(up, "the view runs again with NO_COLOR set", screen())
    t.ok(re.search(r"\x1b\[[0-9;]*3[0-7]m", screen(True)) is None,
         "NO_COLOR: no colour at all", screen(True))
    spins = set()
    deadline = time.monotonic() + budget(8)
    while len(spins) < 3 and time.monotonic() < deadline:
        m = re.match(r"connecting ([-\\|/])$",
                     rows(screen()).get("Quiet", ("", ""))[1])
        if m:
            spins.add(m.group(1))
        time.sleep(0.05)
    t.ok(len(spins) >= 3, "a clock still connecting shows a turning spinner "
         "(%s)" % " ".join(sorted(spins)))
    quiet.close()
    tmux("send-keys", "-t", "wall", "C-c")
    ok, cursor, modes = restored("second", os.path.join(tmp, "stty.int"))
    t.ok(ok, "Ctrl-C exits 0 and leaves the alternate screen", screen())
    t.eq(cursor, "1", "Ctrl-C: the cursor is visible again")
    t.eq(modes, read(before), "Ctrl-C: the terminal modes are restored")

    # --- SIGTERM -------------------------------------------------------------------
    pidfile = os.path.join(tmp, "pid")
    up = run_wall("third", "sh -c 'echo $$ > %s; exec \"$0\" \"$@\"' " % pidfile)
    t.ok(up and read(pidfile).strip().isdigit(), "the view runs a third time")
    if read(pidfile).strip().isdigit():
        os.kill(int(read(pidfile)), signal.SIGTERM)
    ok, cursor, modes = restored("third", os.path.join(tmp, "stty.term"))
    t.ok(ok, "SIGTERM exits 0 and leaves the alternate screen", screen())
    t.eq(cursor, "1", "SIGTERM: the cursor is visible again")
    t.eq(modes, read(before), "SIGTERM: the terminal modes are restored")
finally:
    tmux("kill-server")
    for d in clocks + ([paris] if paris else []):
        d.stop()
    shutil.rmtree(tmp, ignore_errors=True)

t.done()
