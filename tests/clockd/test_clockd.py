#!/usr/bin/env python3
# SPDX-License-Identifier: ISC
"""clockd end to end: the real daemon on loopback, started with --port and
through systemd-socket-activate, read by plain sockets; started as root,
it serves as --user (default nobody)."""

import datetime
import os
import re
import selectors
import signal
import socket
import subprocess
import sys
import time
import zoneinfo

sys.path.insert(0, os.path.join(os.environ.get("top_srcdir", "."), "tests"))
from taplib import (Daemon, Lateness, Tap, binary, budget,  # noqa: E402
                    check_dropped, free_port, read_lines, under_valgrind)

CLOCKD = "daemons/clockd/clockd"
LINE = re.compile(rb"^\d\d:\d\d:\d\d\n$")
t = Tap()


def run(args, **kw):
    return subprocess.run([binary(CLOCKD)] + args, capture_output=True,
                          text=True, timeout=budget(10), **kw)


def seconds(line):
    h, m, s = (int(x) for x in line.decode().strip().split(":"))
    return h * 3600 + m * 60 + s


def connect(port, host="127.0.0.1"):
    return socket.create_connection((host, port), timeout=5)


def ticking(port):
    """Waits for a first line: the loop runs, so the signal handlers are
    in place (the port listens before that; a slow start, e.g. under
    valgrind, shows it)."""
    with connect(port) as s:
        read_lines(s, 1, 5)


def sees_close(c):
    """Reads what is left (a last tick may come first) up to the close."""
    c.settimeout(budget(5))
    try:
        while c.recv(4096):
            pass
        return True
    except OSError:
        return False


# --- command line ------------------------------------------------------------
r = run(["--help"])
t.ok(r.returncode == 0 and "--format" in r.stdout and "--port" in r.stdout,
     "--help exits 0 and lists the options", r)
r = run(["--version"])
t.ok(r.returncode == 0 and re.match(r"clockd \(clockwork\) \d", r.stdout),
     "--version names the program and version", r)
r = run(["--bogus"])
t.ok(r.returncode == 64 and "bogus" in r.stderr, "a bad flag exits 64 with a message", r)
r = run([])
t.ok(r.returncode == 64 and "--port" in r.stderr,
     "no port and no socket handed over: usage error 64", r)
r = run(["--port", "70000"])
t.ok(r.returncode == 64 and "70000" in r.stderr, "a bad port exits 64", r)
r = run(["-f", "", "-p", "1"])
t.ok(r.returncode == 64, "an empty format exits 64", r)

# --- the line, on the second, none skipped or repeated ------------------------
port = free_port()
with Daemon([CLOCKD, "--port", str(port)], port=port) as d:
    s = connect(port)
    lines = read_lines(s, 5, 9)
    s.close()
    t.eq(len(lines), 5, "five lines in five seconds")
    t.ok(all(LINE.match(l) for _, l in lines), "each line is HH:MM:SS\\n",
         [l for _, l in lines])
    secs = [seconds(l) for _, l in lines]
    t.ok(all((b - a) % 86400 == 1 for a, b in zip(secs, secs[1:])),
         "consecutive seconds: none skipped, none repeated", secs)
    # Arrival right after the boundary: late by no more than the load seen
    # meanwhile explains.
    with Lateness() as late:
        s = connect(port)
        got = []
        for _ in range(3):
            l = read_lines(s, 1, 3)
            if l:
                got.append(datetime.datetime.now().microsecond / 1e6)
        s.close()
    t.ok(late.on_time(got, [0, 0, 0], 0.25 if under_valgrind() else 0.05),
         "lines arrive right after the second boundary",
         "%s (%s)" % (got, late))
    now = datetime.datetime.now()
    t.ok(abs(secs[-1] - (now.hour * 3600 + now.minute * 60 + now.second)) % 86400 < 10,
         "local time without TZ is the host's")

    # Go-style flag and IPv6 on the same port: -port listens on both families.
with Daemon([CLOCKD, "-port", str(port)], port=port) as d:
    try:
        s = connect(port, "::1")
        l6 = read_lines(s, 1, 3)
        s.close()
    except OSError as e:
        l6 = e
    t.ok(isinstance(l6, list) and len(l6) == 1, "-port N also serves IPv6 (::1)", l6)

# --- two zones through socket activation --------------------------------------
zones = ["Asia/Tokyo", "America/New_York"]
daemons = []
for tz in zones:
    p = free_port()
    daemons.append((tz, p, Daemon([CLOCKD], env={"TZ": tz}, activate=True, port=p)))
try:
    for tz, p, d in daemons:
        s = connect(p)
        l = read_lines(s, 1, 4)
        s.close()
        want = datetime.datetime.now(zoneinfo.ZoneInfo(tz))
        ok = len(l) == 1 and LINE.match(l[0][1]) and abs(
            seconds(l[0][1]) - (want.hour * 3600 + want.minute * 60 + want.second)) % 86400 in (0, 1, 86399)
        t.ok(ok, "socket-activated clockd with TZ=%s gives that zone's time" % tz,
             (l, want.strftime("%H:%M:%S")))
    for tz, p, d in daemons:
        t.ok("from systemd" in d.output(), "TZ=%s: served the socket handed over" % tz,
             d.output())
finally:
    for _, _, d in daemons:
        d.__exit__(None, None, None)

# --- 600 concurrent clients all tick (two sending threads from 512 on) ---
port = free_port()
with Daemon([CLOCKD, "-q", "--port", str(port)], port=port) as d:
    sel = selectors.DefaultSelector()
    socks = []
    for _ in range(600):
        c = connect(port)
        c.setblocking(False)
        socks.append(c)
        sel.register(c, selectors.EVENT_READ, bytearray())
    deadline = time.monotonic() + budget(8)
    while time.monotonic() < deadline:
        if all(k.data.count(b"\n") >= 2 for k in sel.get_map().values()):
            break
        for key, _ in sel.select(0.5):
            try:
                key.data.extend(key.fileobj.recv(4096))
            except BlockingIOError:
                pass
    firsts = [bytes(k.data).split(b"\n")[:2] for k in sel.get_map().values()]
    complete = [f for f in firsts if len(f) == 2 and all(LINE.match(x + b"\n") for x in f)]
    t.eq(len(complete), 600, "600 concurrent clients each got two lines (sent from two threads)")
    # Lines of one tick are the same for everybody.
    ticks = set()
    for f in complete:
        ticks.update(f)
    t.ok(len(ticks) <= 4, "all clients saw the same ticks", sorted(ticks))
    for c in socks:
        c.close()

# --- a client that never reads is dropped, the others keep their ticks ------
port = free_port()
fmt = "%H:%M:%S " + "x" * 4000
with Daemon([CLOCKD, "--port", str(port), "-f", fmt], port=port) as d:
    lazy = socket.socket()
    lazy.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, 2048)
    lazy.connect(("127.0.0.1", port))
    good = connect(port)
    seen = []
    deadline = time.monotonic() + budget(30)
    while time.monotonic() < deadline and "dropped" not in d.output():
        for _, l in read_lines(good, 1, 2):
            seen.append(l[:8])
    t.ok("dropped" in d.output() and "not reading" in d.output(),
         "the client that never reads is dropped", d.output()[-500:])
    for _, l in read_lines(good, 2, 4):
        seen.append(l[:8])
    secs = [seconds(x + b"\n") for x in seen]
    t.ok(len(secs) >= 4 and all((b - a) % 86400 == 1 for a, b in zip(secs, secs[1:])),
         "the reading client kept every tick meanwhile", secs)
    lazy.close()
    good.close()

# --- format, limits, stop ------------------------------------------------------
port = free_port()
with Daemon([CLOCKD, "--port", str(port), "--format", "%Y-%m-%d %H:%M:%S",
             "--max-clients", "2"], port=port) as d:
    a, b = connect(port), connect(port)
    l = read_lines(a, 1, 3)
    t.ok(len(l) == 1 and re.match(rb"^\d{4}-\d\d-\d\d \d\d:\d\d:\d\d\n$", l[0][1]),
         "--format changes the line", l)
    c = connect(port)
    c.settimeout(budget(3))
    try:
        third = c.recv(100)
    except OSError:
        third = None
    t.eq(third, b"", "--max-clients 2: a third client is closed at once")
    for x in (a, b, c):
        x.close()

port = free_port()
d = Daemon([CLOCKD, "--port", str(port)], port=port)
ticking(port)
clients = [connect(port) for _ in range(3)]
t0 = time.monotonic()
rc = d.stop(timeout=5)
elapsed = time.monotonic() - t0
t.eq(rc, 0, "SIGTERM with clients connected exits 0")
t.ok(elapsed < 3, "and promptly (%.2f s)" % elapsed)
t.ok(all([sees_close(c) for c in clients]), "clients see the close")
t.ok("stopping" in d.output(), "the stop is logged", d.output())
d.__exit__(None, None, None)

port = free_port()
d = Daemon([CLOCKD, "--port", str(port)], port=port)
ticking(port)
d.signal(signal.SIGINT)
t.eq(d.proc.wait(budget(5)), 0, "SIGINT exits 0")
d.__exit__(None, None, None)

busy = free_port()
holder = socket.socket()
holder.bind(("127.0.0.1", busy))
holder.listen()
r = run(["-l", "127.0.0.1:%d" % busy])
t.ok(r.returncode == 69 and "in use" in r.stderr, "a port in use exits 69 with a message", r)
holder.close()

# Started as root: binds, then serves as nobody (or --user), for good.
if os.geteuid() == 0:
    for args, who in (([], "nobody"), (["--user", "daemon"], "daemon")):
        port = free_port()
        with Daemon([CLOCKD, "--port", str(port)] + args, port=port) as d:
            check_dropped(t, d, who, "clockd %s" % (" ".join(args) or
                                                    "(no --user)"))
            ticking(port)
    port = free_port()
    with Daemon([CLOCKD], activate=True, port=port) as d:
        ticking(port)
        check_dropped(t, d, "nobody", "clockd socket-activated as root")
    r = run(["--port", str(free_port()), "--user", "no-such-user-here"])
    t.ok(r.returncode == 78 and "no-such-user-here" in r.stderr,
         "--user of an unknown user: exit 78", r)
else:
    t.ok(True, "# SKIP not root: nothing to drop")

t.done()
