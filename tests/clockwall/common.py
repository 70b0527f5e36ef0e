# SPDX-License-Identifier: ISC
"""Shared by the clockwall tests: three real clockd in three zones on
loopback, a comparison of a shown time with the zone's time now, and a
clockwall whose plain lines are read as they come."""

import datetime
import glob
import os
import re
import selectors
import signal
import subprocess
import sys
import time
import zoneinfo

sys.path.insert(0, os.path.join(os.environ.get("top_srcdir", "."), "tests"))
from taplib import Daemon, binary, free_port, wait_port  # noqa: E402,F401

CLOCKD = "daemons/clockd/clockd"
CLOCKWALL = binary("clients/clockwall/clockwall")
ZONES = [("Tokyo", "Asia/Tokyo"), ("New York", "America/New_York"),
         ("London", "Europe/London")]
TIME = re.compile(r"^\d\d:\d\d:\d\d$")


def start_clock(tz, port=None):
    """A clockd in zone tz on a free port (all addresses, v4 and v6)."""
    port = port or free_port()
    d = Daemon([CLOCKD, "-q", "-p", str(port)], env={"TZ": tz}, port=port)
    # A loaded machine (or a sanitizer build) can be slow to start one.
    if not wait_port(port, timeout=30):
        print("# clockd for %s on port %d is not listening (alive: %s): %s"
              % (tz, port, d.alive(), d.output().strip()), flush=True)
    return d


def faketime_env(offset):
    """The environment that runs a program with its clock off by offset
    (e.g. "+2.5s") under libfaketime (Debian's faketime), or None when it
    is not installed.  The library is preloaded directly rather than
    through the faketime command, which would stand between the test and
    the daemon's PID (and its exit status), and leave shared memory behind
    when killed."""
    libs = sorted(glob.glob("/usr/lib/*/faketime/libfaketime.so.1") +
                  glob.glob("/usr/lib/faketime/libfaketime.so.1"))
    if not libs:
        return None
    asan = ":".join(x for x in (os.environ.get("ASAN_OPTIONS", ""),
                                "verify_asan_link_order=0") if x)
    # The sanitizer runtime wants to come first; libfaketime must.
    return {"LD_PRELOAD": libs[0], "FAKETIME": offset, "ASAN_OPTIONS": asan}


def tmux_env(home, **extra):
    """The environment of a tmux server for the live-view tests: a colour
    terminal, HOME in the test's own directory, the sanitizers' options."""
    env = {"PATH": os.environ.get("PATH", "/usr/bin:/bin"), "HOME": home,
           "TERM": "xterm-256color"}
    env.update(extra)
    for k in ("ASAN_OPTIONS", "UBSAN_OPTIONS", "LSAN_OPTIONS"):
        if k in os.environ:
            env[k] = os.environ[k]
    return env


def listening(daemons):
    """True when every daemon accepts connections."""
    return all(d.alive() and wait_port(d.port, timeout=10) for d in daemons)


def zone_skew(shown, tz):
    """Seconds between a shown HH:MM:SS (the first field of a line's text,
    before its offset) and the zone's time now (mod a day), or None if
    shown is not a time."""
    shown = (shown or "").split(" ")[0]
    if not TIME.match(shown):
        return None
    now = datetime.datetime.now(zoneinfo.ZoneInfo(tz))
    h, m, s = (int(x) for x in shown.split(":"))
    d = abs((h * 3600 + m * 60 + s) - (now.hour * 3600 + now.minute * 60 +
                                       now.second))
    return min(d, 86400 - d)


def parse_table(text):
    """Lines "NAME  TEXT" (name padded, two spaces) as [(name, text)]."""
    rows = []
    for line in text.splitlines():
        m = re.match(r"^(.*?\S)\s{2,}(\S.*)$", line)
        rows.append((m.group(1), m.group(2)) if m else (line, None))
    return rows


def split_time(text):
    """A plain line's text "HH:MM:SS  +0.004s[  off]" as (time, offset in
    seconds or None, off); (None, None, False) for a state."""
    m = re.match(r"^(\d\d:\d\d:\d\d)(?:  ([-+]\d+\.\d+)s(  off)?)?$",
                 text or "")
    if not m:
        return None, None, False
    return (m.group(1), float(m.group(2)) if m.group(2) else None,
            m.group(3) is not None)


class PlainWall:
    """clockwall writing plain lines into a pipe, read as they come."""

    def __init__(self, args, env=None):
        full = dict(os.environ, TERM="xterm-256color")
        full.update(env or {})
        self.proc = subprocess.Popen([CLOCKWALL] + args, stdout=subprocess.PIPE,
                                     stderr=subprocess.PIPE,
                                     stdin=subprocess.DEVNULL, env=full)
        os.set_blocking(self.proc.stdout.fileno(), False)
        self.sel = selectors.DefaultSelector()
        self.sel.register(self.proc.stdout, selectors.EVENT_READ)
        self.buf = b""
        self.lines = []		# (monotonic time, name, text)

    def pump(self, timeout):
        for _ in self.sel.select(timeout):
            chunk = self.proc.stdout.read()
            if chunk is None:
                continue
            if not chunk:
                # The wall has ended: nothing more will come.
                self.sel.unregister(self.proc.stdout)
                return
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
            if self.sel.get_map():
                self.pump(min(left, 0.2))
            else:
                time.sleep(min(left, 0.2))

    def since(self, when):
        return [ln for ln in self.lines if ln[0] >= when]

    def stop(self):
        if self.proc.poll() is None:
            self.proc.send_signal(signal.SIGTERM)
        try:
            return self.proc.wait(10)
        except subprocess.TimeoutExpired:
            self.proc.kill()
            self.proc.wait()
            return None
