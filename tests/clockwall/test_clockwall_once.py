#!/usr/bin/env python3
# SPDX-License-Identifier: ISC
"""clockwall --once and the command line, against real clockd instances in
three zones on loopback: names, each zone's correct time, a clock down,
a silent one, the configured clocks, and usage errors."""

import os
import shutil
import socket
import subprocess
import sys
import tempfile
import threading
import time

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from common import (CLOCKD, CLOCKWALL, ZONES, Daemon, faketime_env,  # noqa
                    free_port, listening, parse_table, split_time,
                    start_clock, wait_port, zone_skew)
from taplib import Lateness, Tap, budget, time_factor  # noqa: E402

t = Tap()


def run(args, timeout=20, env=None, prefix=()):
    full = dict(os.environ)
    full.update(env or {})
    return subprocess.run(list(prefix) + [CLOCKWALL] + args, capture_output=True,
                          text=True, timeout=budget(timeout), env=full,
                          stdin=subprocess.DEVNULL)


def refusal_time(port):
    """How long a --once that ends at once (its only clock refuses) takes
    here and now: start-up, a connection and the exit, which a run that
    waits for a deadline pays on top of it (under ASan the exit's leak
    check alone can take a tenth of a second on a busy machine)."""
    t0 = time.monotonic()
    run(["--once", "Gone=127.0.0.1:%d" % port])
    return time.monotonic() - t0


# --- command line ------------------------------------------------------------
r = run(["--help"])
t.ok(r.returncode == 0 and "--once" in r.stdout and "NAME=HOST:PORT" in r.stdout
     and "--config" in r.stdout and "--max-offset" in r.stdout,
     "--help exits 0 and shows the usage", r)
t0 = time.monotonic()
r = run(["--version"])
# What starting and ending the program costs here and now: the baseline of
# the durations below, which are otherwise the clocks' and the timeouts'.
startup = time.monotonic() - t0
t.ok(r.returncode == 0 and r.stdout.startswith("clockwall (clockwork) "),
     "--version names the program and version", r)
r = run(["--bogus"])
t.ok(r.returncode == 64 and "bogus" in r.stderr, "an unknown flag exits 64", r)

for arg, says in [("Tokyo=", "no HOST:PORT"), ("=localhost:8010", "no name"),
                  ("Tokyo=localhost", "no port"),
                  ("Tokyo=localhost:", "no port"),
                  ("Tokyo", "not NAME=HOST:PORT"),
                  ("Tokyo=localhost:0", "bad port"),
                  ("Tokyo=localhost:70000", "bad port"),
                  ("Tokyo=::1:8010", "brackets"),
                  ("Tokyo=bad host:8010", "bad host")]:
    r = run(["--once", arg])
    t.ok(r.returncode == 64 and says in r.stderr and "--help" in r.stderr,
         "'%s' is a usage error (64) that says '%s'" % (arg, says), r)

r = run(["--once", "--timeout", "0", "Tokyo=localhost:1"])
t.ok(r.returncode == 64 and "timeout" in r.stderr, "a bad --timeout exits 64", r)
for bad in ("0", "-1", "x", "100000"):
    r = run(["--once", "--max-offset", bad, "Tokyo=localhost:1"])
    t.ok(r.returncode == 64 and "max-offset" in r.stderr,
         "--max-offset %s exits 64" % bad, r)
r = run(["--config", "/tmp", "Tokyo=localhost:1"])
t.ok(r.returncode == 64, "clocks and --config together exit 64", r)

# An unknown host, resolved with files only in a private network and mount
# namespace, so that no query leaves the machine.
nss = tempfile.NamedTemporaryFile("w", prefix="nsswitch-", delete=False)
nss.write("hosts: files\n")
nss.close()
probe = subprocess.run(["unshare", "-m", "-n", "sh", "-c",
                        "mount --bind %s /etc/nsswitch.conf" % nss.name],
                       capture_output=True)
if probe.returncode == 0:
    r = subprocess.run(
        ["unshare", "-m", "-n", "sh", "-c",
         'mount --bind "$0" /etc/nsswitch.conf && exec "$@"', nss.name,
         CLOCKWALL, "--once", "Nowhere=no-such-host.invalid:8010"],
        capture_output=True, text=True, timeout=budget(20))
    t.ok(r.returncode == 64 and "no-such-host.invalid" in r.stderr
         and "Nowhere" in r.stderr, "an unknown host exits 64 and names it", r)
else:
    t.ok(True, "# SKIP no namespaces for the unknown-host case")
unshare_ok = probe.returncode == 0
nss_path = nss.name

# --- three zones ---------------------------------------------------------------
clocks = [start_clock(tz) for _, tz in ZONES]
t.ok(listening(clocks), "three clockd (Tokyo, New York, London) listen")
try:
    args = ["%s=localhost:%d" % (name, d.port)
            for (name, _), d in zip(ZONES, clocks)]
    with Lateness() as late:
        t0 = time.monotonic()
        r = run(["--once"] + args)
        took = time.monotonic() - t0
    rows = parse_table(r.stdout)
    t.eq(r.returncode, 0, "--once with three clocks up exits 0")
    t.eq([n for n, _ in rows], [n for n, _ in ZONES],
         "--once shows the three names in order")
    offs = [split_time(s)[1] for _, s in rows]
    t.ok(all(o is not None and abs(o) < 0.5 for o in offs) and
         not any(split_time(s)[2] for _, s in rows),
         "each with its offset, none off (%s)" % offs, r.stdout)
    for (name, tz), (_, shown) in zip(ZONES, rows):
        skew = zone_skew(shown, tz)
        t.ok(skew is not None and skew <= 2,
             "%s shows %s's time (%r, off by %s s)" % (name, tz, shown, skew),
             r.stdout)
    # Three lines from each, the first within a second of the connection.
    # The three clockd beside it are late too on a busy machine, which
    # this process's own lateness does not see: half a tick of slack at
    # least, and never a whole one, so that an answer a tick late fails.
    t.ok(took <= 3 + startup + late.slack(floor=0.5, cap=0.9),
         "--once answers at the clocks' third tick (%.2f s, start-up %.2f s, "
         "%s)" % (took, startup, late))

    # localhost is the loopback even where nothing resolves it (a minimal
    # system without /etc/hosts): files only, and an empty hosts file.
    if unshare_ok:
        r = subprocess.run(
            ["unshare", "-m", "sh", "-c",
             'mount --bind "$0" /etc/nsswitch.conf && '
             'mount --bind /dev/null /etc/hosts && exec "$@"', nss_path,
             CLOCKWALL, "--once", "Tokyo=localhost:%d" % clocks[0].port],
            capture_output=True, text=True, timeout=budget(20))
        rows = parse_table(r.stdout)
        t.ok(r.returncode == 0 and rows and zone_skew(rows[0][1], "Asia/Tokyo")
             is not None, "localhost is the loopback where no resolver "
             "knows it", r)
    else:
        t.ok(True, "# SKIP no mount namespaces for the localhost case")

    # IPv4 and IPv6 literals reach the same clocks.
    r = run(["--once", "V4=127.0.0.1:%d" % clocks[0].port,
             "V6=[::1]:%d" % clocks[0].port])
    rows = parse_table(r.stdout)
    t.ok(r.returncode == 0 and all(zone_skew(s, "Asia/Tokyo") is not None
                                   and zone_skew(s, "Asia/Tokyo") <= 2
                                   for _, s in rows),
         "IPv4 and bracketed IPv6 addresses work", r)

    # --- one clock down ---------------------------------------------------------
    dead = free_port()
    with Lateness() as late:
        t0 = time.monotonic()
        r = run(["--once"] + args + ["Paris=localhost:%d" % dead])
        took = time.monotonic() - t0
    rows = dict(parse_table(r.stdout))
    t.eq(r.returncode, 69, "one clock down: --once exits 69")
    t.ok(rows.get("Paris", "").startswith("down"),
         "the clock that is down is shown down (%r)" % rows.get("Paris"), r.stdout)
    t.ok("refused" in rows.get("Paris", ""), "and says it refused", r.stdout)
    t.ok(all(zone_skew(rows.get(n), tz) is not None for n, tz in ZONES),
         "the others still show their time", r.stdout)
    t.ok(took <= 3 + startup + late.slack(floor=0.5, cap=0.9),
         "a refusal does not wait for the timeout (%.2f s, start-up %.2f s, "
         "%s)" % (took, startup, late))

    # The same with the clock that is down first: the others are waited for.
    r = run(["--once", "Paris=localhost:%d" % dead] + args)
    rows = dict(parse_table(r.stdout))
    t.ok(r.returncode == 69 and rows.get("Paris", "").startswith("down") and
         all(zone_skew(rows.get(n), tz) is not None for n, tz in ZONES),
         "a clock down first does not end --once before the others answer",
         r)

    # --- a silent clock: accepts, never speaks -----------------------------------
    quiet = socket.socket()
    quiet.bind(("127.0.0.1", 0))
    quiet.listen(8)
    with Lateness() as late:
        base = max(startup, refusal_time(dead))
        t0 = time.monotonic()
        r = run(["--once", "Tokyo=127.0.0.1:%d" % clocks[0].port,
                 "Quiet=127.0.0.1:%d" % quiet.getsockname()[1]])
        took = time.monotonic() - t0
    quiet.close()
    rows = dict(parse_table(r.stdout))
    t.eq(r.returncode, 69, "a silent clock: --once exits 69")
    t.ok(rows.get("Quiet", "").startswith("down (silent"),
         "a clock that connects but never speaks is shown silent (%r)"
         % rows.get("Quiet"), r.stdout)
    # It might be a clockd that systemd starts on this connection: it has
    # until the deadline (5 s).
    t.ok(5 <= took <= 5 + base + late.slack(0.05 * time_factor()),
         "at the deadline (%.2f s, start-up and exit %.2f s, %s)"
         % (took, base, late))

    # A clock that sends control bytes cannot reach the terminal with them;
    # one that sends an endless line is a failure, not a memory sink.
    def serve(payload):
        srv = socket.socket()
        srv.bind(("127.0.0.1", 0))
        srv.listen(8)

        def run_server():
            try:
                while True:
                    c, _ = srv.accept()
                    try:
                        c.sendall(payload)
                    except OSError:
                        pass
                    time.sleep(0.5)
                    c.close()
            except OSError:
                return
        threading.Thread(target=run_server, daemon=True).start()
        return srv

    evil = serve(b"\x1b[2J\x1b]0;owned\x07\x9b31m12:00:00\r\n")
    endless = serve(b"9" * 100000)
    r = run(["--once", "Evil=127.0.0.1:%d" % evil.getsockname()[1],
             "Long=127.0.0.1:%d" % endless.getsockname()[1]],
            env={"LANG": "C.UTF-8", "LC_ALL": "C.UTF-8"})
    evil.close()
    endless.close()
    rows = dict(parse_table(r.stdout))
    t.ok("\x1b" not in r.stdout and "\x07" not in r.stdout and
         "\x9b" not in r.stdout and "\ufffd" not in r.stdout,
         "no control byte from a clock reaches the output", repr(r.stdout))
    t.eq(rows.get("Evil"), "?[2J?]0;owned??31m12:00:00",
         "each control byte is shown as '?'")
    t.eq(rows.get("Long"), "down (line too long)",
         "a line past the bound is a failure")
    t.eq(r.returncode, 69, "and the exit status says a clock failed")

    # --timeout bounds the wait.
    quiet = socket.socket()
    quiet.bind(("127.0.0.1", 0))
    quiet.listen(8)
    with Lateness() as late:
        base = max(startup, refusal_time(dead))
        t0 = time.monotonic()
        r = run(["--once", "--timeout", "1", "Quiet=127.0.0.1:%d" %
                 quiet.getsockname()[1]])
        took = time.monotonic() - t0
    quiet.close()
    t.ok(r.returncode == 69 and "down (silent)" in r.stdout and
         1 <= took <= 1 + base + late.slack(0.05 * time_factor()),
         "--timeout 1 gives up after a second (%.2f s, start-up and exit "
         "%.2f s, %s)" % (took, base, late), r)

    # --- the clocks configured on this host -------------------------------------
    conf = tempfile.mkdtemp(prefix="clockwork-conf-")
    try:
        for (_, tz), d in zip(ZONES, clocks):
            with open(os.path.join(conf, "clock@%d.env" % d.port), "w") as f:
                f.write("# written by the test\nTZ=%s\n" % tz)
        r = run(["--once", "--config", conf])
        rows = parse_table(r.stdout)
        want = sorted(zip(clocks, ZONES), key=lambda p: p[0].port)
        t.eq(r.returncode, 0, "--config: exit 0 with every clock up")
        t.eq([n for n, _ in rows], [z[0] for _, z in want],
             "--config names clocks after their TZ (New York with a space), "
             "in port order")
        t.ok(all(zone_skew(s, z[1]) is not None and zone_skew(s, z[1]) <= 2
                 for (_, s), (_, z) in zip(rows, want)),
             "--config clocks show their zone's time", r.stdout)
    finally:
        shutil.rmtree(conf)

    empty = tempfile.mkdtemp(prefix="clockwork-empty-")
    r = run(["--once", "--config", empty])
    os.rmdir(empty)
    t.ok(r.returncode == 78 and "no clocks" in r.stderr,
         "an empty config dir exits 78 and says so", r)
    r = run(["--once", "--config", "/nonexistent/clockwork"])
    t.ok(r.returncode == 78 and "/nonexistent/clockwork" in r.stderr,
         "a missing config dir exits 78 and names it", r)
finally:
    for d in clocks:
        d.stop()
    os.unlink(nss_path)

# --- a clock that is off: clockd under libfaketime, 2.5 s ahead --------------
fake = faketime_env("+2.5s")
if fake is None:
    t.ok(True, "# SKIP libfaketime is not installed (Debian package faketime)")
else:
    port = free_port()
    with Daemon([CLOCKD, "-q", "-p", str(port)], env=dict(
            fake, TZ="Asia/Tokyo"), port=port) as d, \
            start_clock("Europe/London") as honest:
        wait_port(port, timeout=30)
        args = ["Fast=127.0.0.1:%d" % port, "London=127.0.0.1:%d" % honest.port]
        r = run(["--once"] + args)
        rows = dict(parse_table(r.stdout))
        _, off, is_off = split_time(rows.get("Fast"))
        t.ok(r.returncode == 1 and is_off and off is not None and
             abs(off - 2.5) < 0.1 and not split_time(rows.get("London"))[2],
             "a clock 2.5 s ahead is shown off (%s) and --once exits 1"
             % off, r)
        r = run(["--once", "--max-offset", "3"] + args)
        t.ok(r.returncode == 0 and "off" not in r.stdout,
             "--max-offset 3: not off, exit 0", r)
        r = run(["--once", "Down=127.0.0.1:%d" % free_port()] + args)
        t.eq(r.returncode, 69, "a clock down and one off: down wins (69)")

# --- a clock started by socket activation, on clockwall's first connect --------
port = free_port()
with Daemon([CLOCKD], env={"TZ": "Asia/Tokyo"}, activate=True, port=port) as d:
    # Started on this connection: under valgrind that takes seconds, so
    # a deadline well past them (a healthy run ends after 3 lines).
    r = run(["--once", "--timeout", "20", "Tokyo=127.0.0.1:%d" % port],
            timeout=40)
    rows = parse_table(r.stdout)
    t.ok(r.returncode == 0 and rows and zone_skew(rows[0][1], "Asia/Tokyo") is
         not None and zone_skew(rows[0][1], "Asia/Tokyo") <= 2,
         "a socket-activated clockd answers the wall", r)

t.done()
