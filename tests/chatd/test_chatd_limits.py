#!/usr/bin/env python3
# SPDX-License-Identifier: ISC
"""chatd under load and abuse, the real daemon on loopback: 500 clients
all receiving every message, a client that never reads (closed as too
slow while the others keep every message, with no more delay than a
baseline measured in this same run), over-long lines and an endless one,
a flood of lines, a mass departure."""

import os
import select
import sys
import time

sys.path.insert(0, os.path.join(os.environ.get("top_srcdir", "."), "tests"))
sys.path.insert(0, os.path.join(os.environ.get("top_srcdir", "."), "tests", "chatd"))
from taplib import Tap, rss_kib, under_valgrind  # noqa: E402
from chatlib import SLOW, Client, seated, serve  # noqa: E402

t = Tap()
CLIENTS = 500


def sanitized(pid):
    """True when the daemon runs with ASan, whose quarantine keeps freed
    memory resident: its RSS says nothing of what chatd holds."""
    try:
        with open("/proc/%d/maps" % pid) as f:
            return "libasan" in f.read()
    except OSError:
        return False


def quantile(v, q):
    v = sorted(v)
    return v[min(len(v) - 1, int(q * (len(v) - 1) + 0.5))]


def drain(c):
    """Reads whatever c has now, without waiting; returns it as lines."""
    out = []
    while select.select([c.s], [], [], 0)[0]:
        if not c._fill(time.monotonic() + 0.01):
            break
    while b"\n" in c.buf:
        line, c.buf = c.buf.split(b"\n", 1)
        out.append(line + b"\n")
    return out


# --- 500 clients, every message to every client, one order ---------------------------
port, d = serve([])
with d:
    cs = []
    for i in range(CLIENTS):
        cs.append(Client(port, timeout=30))
        if i % 50 == 49:
            time.sleep(0.05 * SLOW)     # a backlog of 4096 is not ours to assume
    said = []
    for k in range(10):
        sender = cs[(k * 97) % CLIENTS]
        sender.say(b"message %d" % k)
        said.append(b"%s: message %d\n" % (sender.who.encode(), k))
    got = []
    for c in cs:
        lines = c.until(said[-1], timeout=30)
        got.append([l for l in lines if b": message " in l])
    complete = sum(1 for g in got if g == said)
    t.eq(complete, CLIENTS, "%d clients: every one got all 10 messages, in the one order" % CLIENTS)
    # The last one in hears everyone leave.
    last = cs[-1]
    for c in cs[:-1]:
        c.close()
    want = {b"%s has left\n" % c.who.encode() for c in cs[:-1]}
    heard = set()
    deadline = time.monotonic() + 30 * SLOW
    while heard != want and time.monotonic() < deadline:
        line = last.line(timeout=5)
        if line is None:
            break
        if line.endswith(b" has left\n"):
            heard.add(line)
    t.eq(len(heard & want), CLIENTS - 1,
         "%d clients leave at once: the last one hears every one of them" % (CLIENTS - 1))
    last.say(b"alone")
    t.eq(last.until(b"%s: alone\n" % last.who.encode())[-1:],
         [b"%s: alone\n" % last.who.encode()], "and the room goes on")
    last.close()

# --- a client that never reads (exercise 8.15) --------------------------------------------
LINE = 4000


def timed_round(sender, reader, seq, tag):
    """Sends one line and waits for the reader to get it: the delay, or
    None when it did not come.  The sender hears itself too: drained."""
    payload = b"%s %06d " % (tag, seq) + b"p" * (LINE - 16)
    want = b"%s: %s\n" % (sender.who.encode(), payload)
    t0 = time.monotonic()
    sender.send(payload + b"\n")
    deadline = t0 + 10 * SLOW
    seen = []
    while time.monotonic() < deadline:
        line = reader.line(timeout=10)
        if line is None:
            return None, seen
        seen.append(line)
        if line == want:
            drain(sender)
            return time.monotonic() - t0, seen
    return None, seen


port, d = serve([])
with d:
    sender, reader = seated(port)
    # Baseline: the same two clients, the same lines, nobody slow.
    base = []
    for i in range(100):
        dt, _ = timed_round(sender, reader, i, b"base")
        if dt is not None:
            base.append(dt)
        time.sleep(0.002)
    t.eq(len(base), 100, "baseline: the reader got all 100 lines")
    stuck = Client(port, rcvbuf=4096)
    reader.line()
    drain(sender)
    with_stuck, other = [], []
    lost = 0
    for i in range(300):
        dt, seen = timed_round(sender, reader, i, b"slow")
        other += [l for l in seen if not l.startswith(sender.who.encode() + b": slow ")]
        if dt is None:
            lost += 1
        else:
            with_stuck.append(dt)
        time.sleep(0.002)
    left = b"%s has left\n" % stuck.who.encode()
    t.ok(lost == 0 and len(with_stuck) == 300,
         "with a client that never reads, the reader still got all 300 lines, in order",
         "lost %d" % lost)
    t.ok(left in other, "the client that never reads is closed, and the room is told", other[-3:])
    rest, eof = stuck.closed(timeout=10)
    t.ok(eof, "the non-reader's connection is closed (%d bytes were still on their way)" % len(rest))
    log = d.output()
    t.ok("left as %s: too slow" % stuck.who in log, "the log says it was too slow")
    b50, b90 = quantile(base, 0.5), quantile(base, 0.9)
    s50, s90 = quantile(with_stuck, 0.5), quantile(with_stuck, 0.9)
    msg = "delay p50 %.2f ms (baseline %.2f), p90 %.2f ms (baseline %.2f)" % (
        s50 * 1000, b50 * 1000, s90 * 1000, b90 * 1000)
    if under_valgrind():
        t.ok(True, "no delay for the others # SKIP timing under valgrind: " + msg)
    else:
        # Budget: three times the baseline of this run plus 5 ms of noise
        # on a shared machine; a broadcaster that waited for the stuck
        # client would take seconds.
        t.ok(s50 <= 3 * b50 + 0.005 and s90 <= 3 * b90 + 0.005,
             "the others get every line with no more delay than without it: " + msg)
    sender.close()
    reader.close()

# --- long lines ------------------------------------------------------------------------
port, d = serve(["--max-line", "100"])
with d:
    a, b = seated(port)
    a.send(b"q" * 101 + b"\n")
    t.eq(a.line(), b"Line too long (max 100 bytes).\n", "--max-line 100: 101 bytes refused to its sender")
    a.send(b"q" * 100 + b"\r\n")
    want = a.who.encode() + b": " + b"q" * 100 + b"\n"
    t.eq((a.line(), b.line()), (want, want), "--max-line 100: 100 bytes (and CR) relayed")
    rss0 = rss_kib(d.pid)
    chunk = b"e" * 65536
    for _ in range(8 * 16):          # 8 MiB, no newline
        a.send(chunk)
    a.send(b"\nafter the endless line\n")
    t.eq(a.line(timeout=30), b"Line too long (max 100 bytes).\n",
         "an endless line: one refusal, however long")
    want = b"%s: after the endless line\n" % a.who.encode()
    t.eq((a.line(timeout=30), b.line(timeout=30)), (want, want),
         "the next line is relayed; the other heard nothing of the long one")
    grew = rss_kib(d.pid) - rss0
    if under_valgrind() or sanitized(d.pid):
        t.ok(True, "memory # SKIP RSS under valgrind or ASan is theirs (%d KiB)" % grew)
    else:
        t.ok(grew < 2048, "8 MiB without a newline is never held (RSS grew %d KiB)" % grew)
    a.close()
    b.close()

# --- a flood of short lines: none lost, none reordered ---------------------------------
port, d = serve([])
with d:
    a, b = seated(port)
    n = 20000
    flood = b"".join(b"%d\n" % i for i in range(n))
    # Both read as they go, the sender too, as nc does: a client that
    # leaves its lines unread is closed as too slow.
    got = {a: [], b: []}
    a.s.setblocking(False)
    deadline = time.monotonic() + 60 * SLOW
    while min(len(v) for v in got.values()) < n and time.monotonic() < deadline:
        if flood:
            try:
                flood = flood[a.s.send(flood[:16384]):]
            except BlockingIOError:
                pass
        for c in (a, b):
            got[c] += drain(c)
        time.sleep(0.001)
    t.eq([l.split(b": ", 1)[1] for l in got[b]] == [b"%d\n" % i for i in range(n)], True,
         "a flood of %d lines in one write: all relayed, in order" % n)
    t.eq(got[a], got[b], "the sender hears all of them too")
    a.close()
    b.close()

t.done()
