#!/usr/bin/env python3
# SPDX-License-Identifier: ISC
"""reverbd end to end: the real daemon on loopback, with --port and through
systemd-socket-activate; exact bytes, their spacing in time, interleaving,
UTF-8 and CRLF, half-close, idle timeout, stop; started as root, it serves
as --user (default nobody)."""

import os
import re
import signal
import socket
import subprocess
import sys
import time

sys.path.insert(0, os.path.join(os.environ.get("top_srcdir", "."), "tests"))
from taplib import (Daemon, Lateness, Tap, binary, budget,  # noqa: E402
                    check_dropped, exchange_to_eof, free_port, read_lines,
                    timed_exchange, under_valgrind)

REVERBD = "daemons/reverbd/reverbd"
DELAY = 0.2
# How late an echo may come: the load seen meanwhile (Lateness) decides,
# from this floor; under valgrind (make check-valgrind) timers run late.
FLOOR = 0.3 if under_valgrind() else 0.05
CAP = 0.8 if under_valgrind() else 0.5
t = Tap()


def run(args, **kw):
    return subprocess.run([binary(REVERBD)] + args, capture_output=True,
                          text=True, timeout=budget(10), **kw)


def connect(port, host="127.0.0.1"):
    return socket.create_connection((host, port), timeout=5)


def serve(args, activate=False, port_flag="--port"):
    """A reverbd on a free port: (port, Daemon).  Another process may take
    the port between free_port() and bind; then try another one."""
    for _ in range(5):
        port = free_port()
        argv = [REVERBD] + args + ([] if activate else [port_flag, str(port)])
        d = Daemon(argv, activate=activate, port=port)
        time.sleep(0.05)
        if d.alive():
            if under_valgrind() and not activate:
                # Its first echoes run through code valgrind has still to
                # translate, late by up to 0.6 s on a busy machine.
                exchange_to_eof(port, b"warm-up\n")
            return port, d
        d.__exit__(None, None, None)
    raise RuntimeError("reverbd does not start: " + d.output())


def read_all(sock, timeout):
    """Everything until EOF: (bytes, monotonic time of EOF or None), for
    at most timeout seconds (scaled by the time factor)."""
    timeout = budget(timeout)
    sock.settimeout(timeout)
    buf = b""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        try:
            sock.settimeout(max(0.01, deadline - time.monotonic()))
            chunk = sock.recv(65536)
        except socket.timeout:
            return buf, None
        except ConnectionResetError:
            return buf, None
        if not chunk:
            return buf, time.monotonic()
        buf += chunk
    return buf, None


def echoes(line):
    """The three echoes of an ASCII line, as the original writes them."""
    return [b"\t " + line.upper() + b"\n", b"\t " + line + b"\n",
            b"\t " + line.lower() + b"\n"]


def timing(port, label):
    """One line: exact bytes, at 0, DELAY and 2*DELAY: never early, and
    late by no more than the load seen meanwhile explains."""
    got, at, late = timed_exchange(port, b"Hello, World\n", 3)
    t.eq(got, echoes(b"Hello, World"),
         "%s: three echoes, byte for byte" % label)
    # At once: well before the delay (under valgrind, within the slack).
    t.ok(late.on_time(at, [0, DELAY, 2 * DELAY], FLOOR, CAP) and
         (at[0] < DELAY / 2 or under_valgrind()),
         "%s: at once, after %.1f s, after %.1f s more" % (label, DELAY, DELAY),
         "%s (%s)" % (["%.3f" % a for a in at], late))


# --- command line ------------------------------------------------------------
r = run(["--help"])
t.ok(r.returncode == 0 and "--delay" in r.stdout and "--idle-timeout" in r.stdout
     and "--port" in r.stdout, "--help exits 0 and lists the options", r)
t.ok(re.search(r"--max-line BYTES .*\(default 65536\)", r.stdout),
     "--help gives --max-line's default: 64 KiB, as Go's bufio.Scanner", r.stdout)
r = run(["--version"])
t.ok(r.returncode == 0 and re.match(r"reverbd \(clockwork\) \d", r.stdout),
     "--version names the program and version", r)
r = run(["--bogus"])
t.ok(r.returncode == 64 and "bogus" in r.stderr, "a bad flag exits 64 with a message", r)
r = run([])
t.ok(r.returncode == 64 and "--port" in r.stderr,
     "no port and no socket handed over: usage error 64", r)
for bad in (["-d", "x"], ["-d", "-1"], ["-d", "3601"], ["--idle-timeout", "0"],
            ["--max-line", "0"], ["--max-pending", "0"], ["-p", "0"]):
    r = run(bad + ["-p", "1"])
    t.ok(r.returncode == 64 and bad[1] in r.stderr, "%s exits 64" % " ".join(bad), r)
r = run(["-d", "2", "--idle-timeout", "4", "-p", "1"])
t.ok(r.returncode == 64 and "twice" in r.stderr,
     "an idle timeout not longer than twice the delay exits 64", r)

# --- with --port ---------------------------------------------------------------
port, d = serve(["-d", str(DELAY)])
with d:
    timing(port, "--port")

    # Two lines back to back reverberate concurrently.
    s = connect(port)
    s.sendall(b"one\ntwo\n")
    got = [l for _, l in read_lines(s, 6, 5)]
    t.eq(got, [b"\t ONE\n", b"\t TWO\n", b"\t one\n", b"\t two\n",
               b"\t one\n", b"\t two\n"],
         "two lines back to back: UPPER1 UPPER2, both plain, both lower")
    # Sent apart: the second line's echoes fall between the first's.
    with Lateness() as late:
        t0 = time.monotonic()
        s.sendall(b"Aa\n")
        time.sleep(DELAY / 2)
        t1 = time.monotonic()
        s.sendall(b"Bb\n")
        got = read_lines(s, 6, 5)
    t.eq([l for _, l in got], [b"\t AA\n", b"\t BB\n", b"\t Aa\n", b"\t Bb\n",
                               b"\t aa\n", b"\t bb\n"],
         "two lines half a delay apart interleave")
    # Each echo timed from the send of its own line; AA is left out, as it
    # waits unread during the sleep.
    at = [w - (t0 if i % 2 == 0 else t1) for i, (w, _) in enumerate(got)][1:]
    t.ok(late.on_time(at, [0, DELAY, DELAY, 2 * DELAY, 2 * DELAY],
                      FLOOR, CAP),
         "and keep their own timing",
         "%s (%s)" % (["%.3f" % a for a in at], late))
    s.close()

    # UTF-8, CRLF, bytes that are not UTF-8.
    s = connect(port)
    s.sendall("héllo wörld\r\n".encode())
    got = [l for _, l in read_lines(s, 3, 5)]
    t.eq(got, ["\t HÉLLO WÖRLD\n".encode(), "\t héllo wörld\n".encode(),
               "\t héllo wörld\n".encode()],
         "UTF-8 maps by character and the CR before LF is dropped")
    s.sendall("ΣΊΣΥΦΟΣ straße ǅ\n".encode())
    got = [l for _, l in read_lines(s, 3, 5)]
    t.eq(got, ["\t ΣΊΣΥΦΟΣ STRAßE Ǆ\n".encode(), "\t ΣΊΣΥΦΟΣ straße ǅ\n".encode(),
               "\t σίσυφοσ straße ǆ\n".encode()],
         "Greek, ß and titlecase map as Go's unicode.ToUpper/ToLower")
    s.sendall(b"caf\xe9 \xff\xc3(ok\r\r\n")
    got = [l for _, l in read_lines(s, 3, 5)]
    t.eq(got, [b"\t CAF\xe9 \xff\xc3(OK\r\n", b"\t caf\xe9 \xff\xc3(ok\r\n",
               b"\t caf\xe9 \xff\xc3(ok\r\n"],
         "invalid UTF-8 bytes and an inner CR pass unchanged")
    s.sendall(b"\n")
    got = [l for _, l in read_lines(s, 3, 5)]
    t.eq(got, [b"\t \n"] * 3, "an empty line gives three empty echoes")
    s.close()

    # Half-close: owed echoes are still delivered, then the server closes.
    with Lateness() as late:
        s = connect(port)
        t0 = time.monotonic()
        s.sendall(b"first\nsecond\nlast without newline\r")
        s.shutdown(socket.SHUT_WR)
        data, eof = read_all(s, 5)
        s.close()
    want = [b"\t FIRST\n", b"\t SECOND\n", b"\t LAST WITHOUT NEWLINE\n",
            b"\t first\n", b"\t second\n", b"\t last without newline\n",
            b"\t first\n", b"\t second\n", b"\t last without newline\n"]
    t.eq(data.splitlines(keepends=True), want,
         "after the client's EOF every owed echo arrives (a last line without "
         "newline too)")
    t.ok(eof is not None and late.on_time([eof - t0], [2 * DELAY], FLOOR, CAP),
         "then the server closes, right after the last echo",
         None if eof is None else "%.3f s (%s)" % (eof - t0, late))
    s = connect(port)
    s.shutdown(socket.SHUT_WR)
    data, eof = read_all(s, 3)
    t.ok(data == b"" and eof is not None, "EOF with nothing owed closes at once")
    s.close()
    t.eq(d.stop(), 0, "the daemon exits 0 (no leak under LeakSanitizer)")

    # IPv6, Go-style flag.
port, d = serve(["-d", str(DELAY)], port_flag="-port")
with d:
    try:
        s = connect(port, "::1")
        s.sendall(b"v6\n")
        got = [l for _, l in read_lines(s, 3, 5)]
        s.close()
    except OSError as e:
        got = e
    t.eq(got, echoes(b"v6"), "-port N also serves IPv6 (::1)")

# --- through socket activation -----------------------------------------------
port, d = serve(["-d", str(DELAY)], activate=True)
with d:
    # The first connection starts the daemon (under ASan on a busy machine
    # that alone can take 0.1 s): it waits for one echo; a second is timed.
    s = connect(port)
    s.sendall(b"wake up\n")
    read_lines(s, 1, 5)
    s.close()
    timing(port, "socket-activated")
    s = connect(port)
    s.sendall("héllo wörld\n".encode())
    got = [l for _, l in read_lines(s, 1, 5)]
    s.close()
    t.eq(got, ["\t HÉLLO WÖRLD\n".encode()],
         "socket-activated, no locale in the environment: UTF-8 still maps")
    t.ok("from systemd" in d.output(), "served the socket handed over", d.output())
    t.eq(d.stop(), 0, "socket-activated reverbd exits 0 on SIGTERM")

# --- idle timeout ----------------------------------------------------------------
port, d = serve(["-d", "0.1", "--idle-timeout", "1"])
with d:
    quiet = connect(port)
    s = connect(port)
    s.sendall(b"x\n")
    read_lines(s, 3, 3)
    t0 = time.monotonic()
    time.sleep(0.5)
    with Lateness() as late:
        t1 = time.monotonic()
        s.sendall(b"y\n")           # a line restarts the idle clock
        got = read_lines(s, 3, 3)
        data, eof = read_all(s, 5)
    t.ok(len(got) == 3 and data == b"" and eof is not None and
         late.on_time([eof - t1], [1.0], FLOOR, CAP),
         "a client idle for --idle-timeout 1 is closed, counted from its last line",
         None if eof is None else "%.2f s after the last line, %.2f after the "
         "first (%s)" % (eof - t1, eof - t0, late))
    data, eof = read_all(quiet, 3)
    t.ok(data == b"" and eof is not None, "a client that never sends is closed too")
    t.ok("idle timeout" in d.output(), "the close is logged", d.output())
    s.close()
    quiet.close()
    t.eq(d.stop(), 0, "the daemon exits 0")

# --- stop --------------------------------------------------------------------------
port, d = serve(["-d", str(DELAY)])
s = connect(port)
idle = connect(port)
s.sendall(b"bye\n")
read_lines(s, 1, 3)
t0 = time.monotonic()
d.signal(signal.SIGTERM)
data, eof = read_all(s, 5)
rc = d.proc.wait(budget(10))
t.eq(rc, 0, "SIGTERM exits 0")
t.eq(data, b"\t bye\n\t bye\n", "owed echoes are still sent on SIGTERM")
t.ok(eof is not None and eof - t0 < 3 * DELAY + 1, "then the client is closed")
t.eq(read_all(idle, 3)[0], b"", "an idle client is closed on SIGTERM")
t.ok("stopping" in d.output() and "stopped" in d.output(), "the stop is logged",
     d.output())
d.__exit__(None, None, None)
s.close()
idle.close()

port, d = serve([])
# The port listens before the signal handlers are in place (and, started
# as root, before the drop to nobody): an echo says the loop runs.
with connect(port) as c:
    c.sendall(b"ready?\n")
    read_lines(c, 1, 20)
d.signal(signal.SIGINT)
t.eq(d.proc.wait(budget(5)), 0, "SIGINT exits 0")
d.__exit__(None, None, None)

busy = free_port()
holder = socket.socket()
holder.bind(("127.0.0.1", busy))
holder.listen()
r = run(["-l", "127.0.0.1:%d" % busy])
t.ok(r.returncode == 69 and "in use" in r.stderr, "a port in use exits 69", r)
holder.close()

# Started as root: binds, then serves as nobody (or --user), for good.
if os.geteuid() == 0:
    for args, who in (([], "nobody"), (["--user", "daemon"], "daemon")):
        port, d = serve(args)
        check_dropped(t, d, who, "reverbd %s" % (" ".join(args) or
                                                 "(no --user)"))
        with connect(port) as c:
            c.sendall(b"up\n")
            lines = read_lines(c, 1, 5)
            t.ok(lines and lines[0][1] == b"\t UP\n",
                 "and echoes as %s" % who, lines)
        d.__exit__(None, None, None)
    r = run(["--port", str(free_port()), "--user", "no-such-user-here"])
    t.ok(r.returncode == 78 and "no-such-user-here" in r.stderr,
         "--user of an unknown user: exit 78", r)
else:
    t.ok(True, "# SKIP not root: nothing to drop")

t.done()
