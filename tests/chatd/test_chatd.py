#!/usr/bin/env python3
# SPDX-License-Identifier: ISC
"""chatd end to end: the real daemon on loopback, with --port and through
systemd-socket-activate.  Every line of the wire format byte for byte,
one order for all, names, idle clients, half-close, SIGTERM, IPv6 and
IPv4-mapped addresses, TCP_NODELAY on the server's sockets."""

import ctypes
import os
import re
import signal
import socket
import subprocess
import sys
import time

sys.path.insert(0, os.path.join(os.environ.get("top_srcdir", "."), "tests"))
sys.path.insert(0, os.path.join(os.environ.get("top_srcdir", "."), "tests", "chatd"))
from taplib import Daemon, Tap, binary, check_common_cli, check_dropped, free_port  # noqa: E402
from chatlib import CHATD, SLOW, Client, seated, serve  # noqa: E402

t = Tap()


def run(args):
    return subprocess.run([binary(CHATD)] + args, capture_output=True,
                          text=True, timeout=10 * SLOW)


def greeting(c, others):
    """The two lines a newcomer gets."""
    here = b", ".join(o.who.encode() for o in others) if others else b"nobody else"
    return [b"You are " + c.who.encode() + b"\n", b"Here now: " + here + b"\n"]


def protocol(port, label, host="127.0.0.1"):
    """Every line of the wire format, exact bytes, as DESIGN.md has them."""
    a = Client(port, host)
    t.eq(a.lines(2), greeting(a, []), "%s: the first client: You are, Here now: nobody else" % label)
    b = Client(port, host)
    t.eq(b.lines(2), greeting(b, [a]), "%s: the second is told who is here" % label)
    t.eq(a.line(), b"%s has arrived\n" % b.who.encode(), "%s: the first hears of the second" % label)
    a.say(b"hello")
    want = b"%s: hello\n" % a.who.encode()
    t.eq((a.line(), b.line()), (want, want), "%s: WHO: line to everyone, the sender too" % label)
    b.send(b"with crlf\r\n")
    want = b"%s: with crlf\n" % b.who.encode()
    t.eq((a.line(), b.line()), (want, want), "%s: the CR before LF is dropped" % label)
    b.say(b"")
    want = b"%s: \n" % b.who.encode()
    t.eq((a.line(), b.line()), (want, want), "%s: an empty line is relayed" % label)
    a.send("h\u00e9llo w\u00f6rld \u20ac \U0001F600".encode() + b"\n")
    want = a.who.encode() + b": " + "h\u00e9llo w\u00f6rld \u20ac \U0001F600".encode() + b"\n"
    t.eq((a.line(), b.line()), (want, want), "%s: UTF-8 passes unchanged" % label)
    a.send(b"esc\x1b[2J nul\x00 del\x7f c1\xc2\x9b bad\xff\xc0\xaf tab\tend\n")
    want = a.who.encode() + b": esc?[2J nul? del? c1? bad??? tab\tend\n"
    t.eq((a.line(), b.line()), (want, want),
         "%s: control bytes (C0, DEL, C1) and invalid UTF-8 become ?, TAB stays" % label)
    # Longest line relayed, and one byte more.
    a.send(b"x" * 4096 + b"\r\n")
    want = a.who.encode() + b": " + b"x" * 4096 + b"\n"
    t.eq((a.line(), b.line()), (want, want), "%s: a line of 4096 bytes is relayed" % label)
    a.send(b"y" * 4097 + b"\n")
    t.eq(a.line(), b"Line too long (max 4096 bytes).\n", "%s: 4097 bytes: its sender alone is told" % label)
    t.ok(b.quiet(), "%s: the other hears nothing of it" % label)
    a.say(b"still here")
    want = b"%s: still here\n" % a.who.encode()
    t.eq((a.line(), b.line()), (want, want), "%s: the sender stays" % label)
    c = Client(port, host)
    t.eq(c.lines(2), greeting(c, [a, b]), "%s: Here now lists everyone in order of arrival" % label)
    arrived = b"%s has arrived\n" % c.who.encode()
    t.eq((a.line(), b.line()), (arrived, arrived), "%s: both hear of the third" % label)
    b.close()
    left = b"%s has left\n" % b.who.encode()
    t.eq((a.line(), c.line()), (left, left), "%s: WHO has left when it closes" % label)
    d = Client(port, host)
    t.eq(d.lines(2), greeting(d, [a, c]), "%s: one who left is no longer listed" % label)
    for x in (a, c, d):
        x.close()


def ordering(port, label, senders=5, each=40):
    """Several clients talk at once: every client sees the same order,
    and each sender's lines in the order it sent them."""
    cs = seated(port, senders)
    for k in range(each):
        for i, c in enumerate(cs):
            c.send(b"m%d-%d\n" % (i, k))
    # Only the lines said here: the departures of an earlier test's
    # clients may still come in (under valgrind, late).
    seen = []
    for c in cs:
        said = []
        while len(said) < senders * each:
            got = c.lines(1, timeout=20)
            if not got:
                break
            if re.match(rb"\S+: m\d+-\d+\n$", got[0]):
                said.append(got[0])
        seen.append(said)
    t.ok(all(len(s) == senders * each for s in seen),
         "%s: %d clients each got all %d lines" % (label, senders, senders * each),
         [len(s) for s in seen])
    t.ok(all(s == seen[0] for s in seen), "%s: every client saw one and the same order" % label)
    mine = [[l for l in seen[0] if l.startswith(c.who.encode() + b": ")] for c in cs]
    t.ok(all([l.split(b": ", 1)[1] for l in m] == [b"m%d-%d\n" % (i, k) for k in range(each)]
             for i, m in enumerate(mine)), "%s: each sender's lines in its own order" % label)
    for c in cs:
        c.close()


def names(port, label):
    """--names: asked, checked, unique without case, 5 tries."""
    a = Client(port)
    t.eq(a.line(), b"Your name?\n", "%s: asked for a name" % label)
    a.say(b"  Alice  ")
    t.eq(a.lines(2), [b"You are Alice\n", b"Here now: nobody else\n"],
         "%s: the name, trimmed, is WHO" % label)
    b = Client(port)
    t.eq(b.line(), b"Your name?\n", "%s: the second is asked too" % label)
    t.ok(a.quiet(), "%s: nobody hears of a client without a name" % label)
    bad = [b"ALICE", b"   ", b"tab\there", b"n" * 33]
    for name in bad:
        b.say(name)
        t.eq(b.line(), b"Name not allowed or taken. Your name?\n",
             "%s: %r is refused" % (label, name[:12]))
    b.say("\u00c9lodie".encode())
    t.eq(b.lines(2), ["You are \u00c9lodie\n".encode(), b"Here now: Alice\n"],
         "%s: the fifth try may succeed; Here now has names" % label)
    t.eq(a.line(), "\u00c9lodie has arrived\n".encode(), "%s: the others hear of it by name" % label)
    b.say(b"hi")
    want = "\u00c9lodie: hi\n".encode()
    t.eq((a.line(), b.line()), (want, want), "%s: lines carry the name" % label)
    c = Client(port)
    c.line()
    for i, name in enumerate([b"alice", "\uff21lice".encode(), "e\u0301lodie".encode(),
                              b"\x1b[31m", b""]):
        c.say(name)
        want = (b"Name not allowed or taken. Your name?\n" if i < 4
                else b"Name not allowed or taken.\n")
        t.eq(c.line(), want, "%s: try %d (%r) refused" % (label, i + 1, name[:10]))
    rest, eof = c.closed()
    t.ok(eof and rest == b"", "%s: after 5 tries the connection closes" % label, rest)
    t.ok(a.quiet() and b.quiet(), "%s: nobody heard of the refused client" % label)
    n32 = "\u00e9" * 32
    d = Client(port)
    d.line()
    d.say(n32.encode())
    t.eq(d.line(), ("You are %s\n" % n32).encode(), "%s: 32 characters (64 bytes) are a name" % label)
    a.close()
    left = b"Alice has left\n"
    t.ok(b.until(left)[-1:] == [left], "%s: WHO has left by name" % label)
    for x in (b, d):
        x.close()


def nodelay_of(pid, peer):
    """TCP_NODELAY on chatd's own socket for the connection from peer,
    read through a duplicate of its descriptor (pidfd_getfd)."""
    libc = ctypes.CDLL(None, use_errno=True)
    pidfd = os.pidfd_open(pid)
    try:
        for name in os.listdir("/proc/%d/fd" % pid):
            try:
                if not os.readlink("/proc/%d/fd/%s" % (pid, name)).startswith("socket:"):
                    continue
            except OSError:
                continue
            fd = libc.syscall(438, pidfd, int(name), 0)    # pidfd_getfd
            if fd < 0:
                return None
            s = socket.socket(fileno=fd)
            try:
                if s.type == socket.SOCK_STREAM and s.getpeername()[:2] == peer[:2]:
                    return s.getsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY)
            except OSError:
                pass
            finally:
                s.close()
    finally:
        os.close(pidfd)
    return None


def nodelay(port, d, label):
    c = Client(port)
    c.lines(2)
    v = nodelay_of(d.pid, c.s.getsockname())
    if v is None:
        t.ok(True, "%s: TCP_NODELAY # SKIP cannot reach the daemon's sockets" % label)
    else:
        t.ok(v != 0, "%s: TCP_NODELAY is set on the client's socket in chatd" % label, v)
    c.close()


# --- command line ------------------------------------------------------------
check_common_cli(t, CHATD, ("--names", "--idle-timeout", "--max-line", "--max-queue",
                            "--max-clients", "--user", "--port"), timeout=10 * SLOW)
for bad in (["--max-line", "0"], ["--max-line", "1048577"], ["--max-queue", "1000"],
            ["--idle-timeout", "-1"], ["--idle-timeout", "x"], ["--max-clients", "0"],
            ["-p", "0"]):
    r = run(bad + ["-p", "1"])
    t.ok(r.returncode == 64 and bad[1] in r.stderr, "%s exits 64" % " ".join(bad), r)
r = run(["--names", "extra", "-p", "1"])
t.ok(r.returncode == 64, "a stray argument exits 64", r)

# --- the wire format, with --port and socket-activated -------------------------
port, d = serve([])
with d:
    protocol(port, "--port")
    ordering(port, "--port")
    nodelay(port, d, "--port")
    # A port in use: unavailable, 69.
    r = run(["-p", str(port)])
    t.ok(r.returncode == 69, "a port in use exits 69", r)

port, d = serve([], activate=True)
with d:
    protocol(port, "socket-activated")
    nodelay(port, d, "socket-activated")
    t.eq(d.stop(), 0, "socket-activated: SIGTERM exits 0")

port, d = serve(["--names"])
with d:
    names(port, "--names")
port, d = serve(["--names"], activate=True)
with d:
    names(port, "--names socket-activated")

# --- IPv6, and IPv4 on a dual-stack socket as plain IPv4 ------------------------
port, d = serve([])
with d:
    try:
        v6 = Client(port, "::1")
    except OSError as e:
        v6 = None
        t.ok(True, "IPv6 # SKIP no ::1 here: %s" % e)
    if v6 is not None:
        t.eq(v6.line(), b"You are %s\n" % v6.who.encode(), "IPv6: WHO is [::1]:PORT")
        t.ok(v6.who.startswith("[::1]:"), "IPv6: the address in brackets", v6.who)
        v4 = Client(port)
        v4.lines(2)
        t.eq(v6.lines(2)[1:], [b"%s has arrived\n" % v4.who.encode()],
             "IPv6 and IPv4 clients share the room")
        v6.close()
        v4.close()
port, d = serve([], activate=True, host="::")
with d:
    try:
        a = Client(port, "127.0.0.1")
        first = a.line()
        t.eq(first, b"You are %s\n" % a.who.encode(),
             "dual-stack [::] socket: an IPv4 client is shown as IPv4, not ::ffff:")
        a.close()
    except OSError as e:
        t.ok(True, "dual-stack # SKIP %s" % e)

# --- idle clients (exercise 8.13) ------------------------------------------------
port, d = serve(["--idle-timeout", str(1 * SLOW)])
with d:
    quiet = Client(port)
    talker = Client(port)
    quiet.lines(2)
    talker.lines(2)
    quiet.line()
    t0 = time.monotonic()
    for _ in range(6):
        time.sleep(0.3 * SLOW)
        talker.say(b"keeping busy")
    got = quiet.until(b"Idle too long, bye.\n", timeout=3)
    rest, eof = quiet.closed()
    took = time.monotonic() - t0
    t.ok(got[-1:] == [b"Idle too long, bye.\n"] and eof,
         "--idle-timeout: a silent client gets 'Idle too long, bye.' and is closed", got[-3:])
    t.ok(0.8 * SLOW < took < 3.5 * SLOW, "--idle-timeout 1: closed after about 1 s (%.2f s)" % took)
    heard = talker.until(b"%s has left\n" % quiet.who.encode(), timeout=3)
    t.ok(heard[-1:] == [b"%s has left\n" % quiet.who.encode()],
         "--idle-timeout: the others hear it left; the talker stays", heard[-2:])
    talker.say(b"after")
    mine = b"%s: after\n" % talker.who.encode()
    t.eq(talker.until(mine)[-1:], [mine], "--idle-timeout: a talker is not idle")
    talker.close()
    t.ok("left as %s: idle timeout" % quiet.who in d.output(),
         "--idle-timeout: the departure is logged with the reason")
port, d = serve(["--idle-timeout", "0"])
with d:
    c = Client(port)
    c.lines(2)
    t.ok(c.quiet(wait=1.5), "--idle-timeout 0: never closed for silence")
    c.close()

# --- half-close, a last line without newline, SIGTERM ---------------------------------
port, d = serve([])
with d:
    a, b = seated(port)
    b.send(b"bye\nlast words")
    b.s.shutdown(socket.SHUT_WR)
    rest, eof = b.closed()
    want = b"%s: bye\n%s: last words\n" % (b.who.encode(), b.who.encode())
    t.ok(eof and rest == want,
         "half-close: the client gets its lines (the last without newline too), then EOF", rest)
    t.eq(a.lines(3), [b"%s: bye\n" % b.who.encode(), b"%s: last words\n" % b.who.encode(),
                      b"%s has left\n" % b.who.encode()],
         "half-close: the others get both lines, then WHO has left")
    c = Client(port)
    c.lines(2)
    a.line()
    t0 = time.monotonic()
    d.signal(signal.SIGTERM)
    ra, ea = a.closed()
    rc, ec = c.closed()
    t.ok(ea and ec and ra == b"Server shutting down.\n" and rc == ra,
         "SIGTERM: every client gets 'Server shutting down.' and is closed", (ra, rc))
    try:
        status = d.proc.wait(5 * SLOW)
    except subprocess.TimeoutExpired:
        status = None
    t.eq(status, 0, "SIGTERM: exit 0 (%.2f s)" % (time.monotonic() - t0))
    log = d.output()
    t.ok("left as %s: shutdown" % a.who in log and "stopped" in log,
         "SIGTERM: departures logged with the reason", log[-400:])
    t.ok("last words" not in log and "bye" not in log, "what clients say is never logged")

# A client that reads nothing does not hold the stop past the grace period.
port, d = serve([])
with d:
    stuck = Client(port, rcvbuf=4096)
    reader = Client(port)
    reader.lines(2)
    for _ in range(60):
        reader.send(b"z" * 4000 + b"\n")
    time.sleep(0.3 * SLOW)
    t0 = time.monotonic()
    d.signal(signal.SIGTERM)
    try:
        status = d.proc.wait(10 * SLOW)
    except subprocess.TimeoutExpired:
        status = None
    took = time.monotonic() - t0
    t.ok(status == 0 and took < 4 * SLOW,
         "SIGTERM with a client that does not read: exit 0 within the 2 s grace (%.2f s)" % took)
    stuck.close()
    reader.close()

# --- --max-clients ------------------------------------------------------------------
port, d = serve(["--max-clients", "2"])
with d:
    a, b = seated(port)
    c = Client(port)
    rest, eof = c.closed()
    t.ok(eof and b"You are" not in rest, "--max-clients 2: a third client is refused", rest)
    t.ok(a.quiet(), "--max-clients: the room heard nothing of it")
    for x in (a, b, c):
        x.close()

# --- started as root: binds, then serves as nobody (or --user), also after a reload
if os.geteuid() == 0:
    for args, who in (([], "nobody"), (["--user", "daemon"], "daemon")):
        port = free_port()
        with Daemon([CHATD, "--port", str(port)] + args, port=port, reexec=True) as d:
            what = "chatd %s" % (" ".join(args) or "(no --user)")
            check_dropped(t, d, who, what)
            a, b = seated(port)
            d.signal(signal.SIGHUP)
            deadline = time.monotonic() + 10 * SLOW
            while "took over 2 of 2" not in d.output() and time.monotonic() < deadline:
                time.sleep(0.05)
            check_dropped(t, d, who, what + " after a reload")
            a.say(b"still here")
            t.eq(b.line(), a.who.encode() + b": still here\n", what + ": the room goes on")
            a.close()
            b.close()
    port, d = serve([], activate=True)
    with d:
        check_dropped(t, d, "nobody", "chatd socket-activated as root")
    r = subprocess.run([binary(CHATD), "--port", str(free_port()), "--user",
                        "no-such-user-here"], capture_output=True, text=True,
                       timeout=10 * SLOW)
    t.ok(r.returncode == 78 and "no-such-user-here" in r.stderr,
         "--user that does not exist: exit 78 with a message", r)

t.done()
