#!/usr/bin/env python3
# SPDX-License-Identifier: ISC
"""reverbd under pressure: an over-long line and a client that never reads
are dropped while another client is served normally; lines up to 64 KiB
come back whole; 100 clients x 10 lines all come back right; the
per-client bound on lines in flight slows a fast sender down without
losing anything."""

import os
import selectors
import socket
import sys
import threading
import time

sys.path.insert(0, os.path.join(os.environ.get("top_srcdir", "."), "tests"))
from taplib import (Daemon, Tap, budget, exchange_to_eof,  # noqa: E402
                    free_port, read_lines, timed_exchange, under_valgrind)

REVERBD = "daemons/reverbd/reverbd"
DELAY = 0.2
# How late an echo may come: the load seen meanwhile (Lateness) decides,
# from this floor; under valgrind (make check-valgrind) timers run late.
FLOOR = 0.3 if under_valgrind() else 0.05
CAP = 0.8 if under_valgrind() else 0.5
t = Tap()


def serve(args):
    """A reverbd on a free port (retried if another process takes it)."""
    for _ in range(5):
        port = free_port()
        d = Daemon([REVERBD, "--port", str(port)] + args, port=port)
        time.sleep(0.05)
        if d.alive():
            if under_valgrind():
                # Its first echoes run through code valgrind has still to
                # translate, late by up to 0.6 s on a busy machine.
                exchange_to_eof(port, b"warm-up\n")
            return port, d
        d.__exit__(None, None, None)
    raise RuntimeError("reverbd does not start: " + d.output())


def connect(port):
    return socket.create_connection(("127.0.0.1", port), timeout=5)


def echoes(line):
    return [b"\t " + line.upper() + b"\n", b"\t " + line + b"\n",
            b"\t " + line.lower() + b"\n"]


def text(n):
    """n bytes of mixed-case text with two-byte letters, which map one to
    one (as in Go)."""
    unit = "Héllo WÖrld reverb ".encode()
    return unit * (n // len(unit)) + b"x" * (n % len(unit))


def served_normally(port, label, delay=DELAY):
    """A fresh client gets its three echoes, on time: never early, and late
    by no more than the load seen meanwhile explains."""
    got, at, late = timed_exchange(port, b"Still Here\n", 3)
    t.ok(got == echoes(b"Still Here") and
         late.on_time(at, [0, delay, 2 * delay], FLOOR, CAP),
         "%s: another client is served normally" % label,
         (got, ["%.3f" % a for a in at], str(late)))


def is_closed(sock, timeout):
    """True once the peer has closed or reset the connection (waits for
    timeout seconds, scaled by the time factor)."""
    deadline = time.monotonic() + budget(timeout)
    sock.setblocking(True)
    while time.monotonic() < deadline:
        sock.settimeout(max(0.01, deadline - time.monotonic()))
        try:
            if sock.recv(65536) == b"":
                return True
        except socket.timeout:
            return False
        except OSError:
            return True
    return False


def blast(sock, data, stop):
    """Sends data over and over until the peer goes or stop is set."""
    sock.setblocking(False)
    sel = selectors.DefaultSelector()
    sel.register(sock, selectors.EVENT_WRITE)
    view = memoryview(data)
    sent = 0
    try:
        while not stop.is_set():
            if not sel.select(0.2):
                continue
            try:
                n = sock.send(view[sent % len(data):])
            except BlockingIOError:
                continue
            except OSError:
                break
            sent += n
    finally:
        sel.close()
    return sent


# --- a 1 MiB line without a newline --------------------------------------------
port, d = serve(["-d", str(DELAY)])
with d:
    big = connect(port)
    stop = threading.Event()
    th = threading.Thread(target=blast, args=(big, b"x" * (1 << 20), stop))
    th.start()
    served_normally(port, "during a 1 MiB line")
    deadline = time.monotonic() + budget(10)
    while time.monotonic() < deadline and "line longer" not in d.output():
        time.sleep(0.05)
    t.ok("dropped: line longer than 65536 bytes" in d.output(),
         "a 1 MiB line without newline: the client is dropped, and the log "
         "says why", d.output()[-600:])
    stop.set()
    th.join()
    t.ok(is_closed(big, 5), "its connection is closed")
    big.close()
    served_normally(port, "after the 1 MiB line")
    t.eq(d.stop(), 0, "the daemon exits 0 (no leak under LeakSanitizer)")

    # A line of exactly --max-line bytes passes, CRLF or not; one more drops.
port, d = serve(["-d", "0.05", "--max-line", "10"])
with d:
    s = connect(port)
    s.sendall(b"abcdefghij\r\nABCDEFGHIJ\n")
    got = [l for _, l in read_lines(s, 6, 5)]
    t.eq(sorted(got), sorted(echoes(b"abcdefghij") + echoes(b"ABCDEFGHIJ")),
         "--max-line 10: a 10-byte line passes, with CRLF or LF")
    s.sendall(b"abcdefghijk\n")
    t.ok(is_closed(s, 5) and "line longer than 10 bytes" in d.output(),
         "--max-line 10: an 11-byte line drops the client", d.output())
    s.close()
    t.eq(d.stop(), 0, "the daemon exits 0")

# --- Go-sized lines: up to 64 KiB by default, as bufio.Scanner --------------------
port, d = serve(["-d", "0.05"])
with d:
    s = connect(port)
    line = text(60 * 1024)
    s.sendall(line + b"\n")
    # Read only once all three are due: they wait within the output bound.
    time.sleep(0.15)
    got = b"".join(l for _, l in read_lines(s, 3, 10))
    want = ("\t " + line.decode().upper() + "\n\t " + line.decode() + "\n\t " +
            line.decode().lower() + "\n").encode()
    t.ok(got == want, "a 60 KiB line is echoed three times, byte for byte "
         "(%d bytes)" % len(got), "%d bytes, want %d" % (len(got), len(want)))
    s.close()
    s = connect(port)
    line = text(64 * 1024)
    s.sendall(line + b"\r\n")
    got = [l for _, l in read_lines(s, 3, 10)]
    t.ok([len(l) for l in got] == [len(line) + 3] * 3 and got[1][2:-1] == line,
         "a line of exactly 64 KiB (and CRLF) passes", [len(l) for l in got])
    s.close()
    s = connect(port)
    try:
        s.sendall(b"y" * (70 * 1024) + b"\n")
    except OSError:
        pass                    # closed before it has all been sent
    t.ok(is_closed(s, 5) and "line longer than 65536 bytes" in d.output(),
         "a 70 KiB line drops the client", d.output()[-600:])
    s.close()
    served_normally(port, "after the 70 KiB line", delay=0.05)
    t.eq(d.stop(), 0, "the daemon exits 0")

# --- a client that sends but never reads ---------------------------------------
port, d = serve(["-d", str(DELAY)])
with d:
    lazy = socket.socket()
    lazy.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, 4096)
    lazy.connect(("127.0.0.1", port))
    stop = threading.Event()
    th = threading.Thread(target=blast, args=(lazy, (b"y" * 1000 + b"\n") * 64, stop))
    th.start()
    served_normally(port, "while a client does not read")
    deadline = time.monotonic() + budget(30)
    while time.monotonic() < deadline and "not reading" not in d.output():
        time.sleep(0.1)
    t.ok("dropped: not reading" in d.output(),
         "a client that sends but never reads is dropped at the output bound",
         d.output()[-600:])
    stop.set()
    th.join()
    t.ok(is_closed(lazy, 5), "its connection is closed")
    lazy.close()
    served_normally(port, "after the client that did not read")
    t.ok(d.alive(), "the daemon is still running")
    t.eq(d.stop(), 0, "and exits 0")

# --- a client that half-closes and then does not read its echoes --------------
port, d = serve(["-d", "0.05", "--idle-timeout", "1", "--max-pending", "100"])
with d:
    lazy = socket.socket()
    lazy.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, 4096)
    lazy.connect(("127.0.0.1", port))
    # About 135 KB of echoes: more than the kernel buffers, so that some
    # wait in reverbd after its last echo (dropped after the idle timeout).
    lazy.sendall(b"".join(b"%04d" % i + b"z" * 1500 + b"\n" for i in range(30)))
    lazy.shutdown(socket.SHUT_WR)
    t0 = time.monotonic()
    deadline = t0 + budget(10)
    while time.monotonic() < deadline and "dropped" not in d.output():
        time.sleep(0.05)
    t.ok("dropped" in d.output() and time.monotonic() - t0 < 5,
         "a half-closed client that does not read its echoes is dropped "
         "(%.1f s)" % (time.monotonic() - t0), d.output()[-600:])
    lazy.close()
    served_normally(port, "after it", delay=0.05)
    t.eq(d.stop(), 0, "the daemon exits 0")

# --- the bound on lines in flight slows a sender down, loses nothing ------------
port, d = serve(["-d", "0.05", "--max-pending", "4"])
with d:
    s = connect(port)
    lines = [b"Line %d" % i for i in range(40)]
    s.sendall(b"".join(l + b"\n" for l in lines))
    got = [l for _, l in read_lines(s, 120, 20)]
    ups = [l for l in got if l == l.upper() and l != l.lower()]
    t.eq(len(got), 120, "--max-pending 4: 40 lines at once all get their echoes")
    t.eq(ups, [b"\t " + l.upper() + b"\n" for l in lines],
         "the upper-case echoes come in order")
    t.eq(sorted(got), sorted(sum((echoes(l) for l in lines), [])),
         "and every echo is right")
    t.ok("dropped" not in d.output(), "nobody is dropped for it")
    s.close()
    t.eq(d.stop(), 0, "the daemon exits 0")

# --- 100 clients x 10 lines ------------------------------------------------------
port, d = serve(["-q", "-d", str(DELAY)])
with d:
    sel = selectors.DefaultSelector()
    want = {}
    for i in range(100):
        c = connect(port)
        c.setblocking(False)
        sel.register(c, selectors.EVENT_READ, bytearray())
        want[c] = [("Client %d line %d àé" % (i, j)).encode() for j in range(10)]
    # Ten lines each, a little apart, so that echoes of lines overlap.
    for j in range(10):
        for c in want:
            c.sendall(want[c][j] + b"\n")
        time.sleep(0.03)
    deadline = time.monotonic() + budget(20)
    while time.monotonic() < deadline:
        if all(k.data.count(b"\n") >= 30 for k in sel.get_map().values()):
            break
        for key, _ in sel.select(0.5):
            try:
                key.data.extend(key.fileobj.recv(65536))
            except BlockingIOError:
                pass
    good = 0
    bad = None
    for key in list(sel.get_map().values()):
        c = key.fileobj
        got = bytes(key.data).splitlines(keepends=True)
        exp_up = [("\t " + l.decode().upper() + "\n").encode() for l in want[c]]
        exp_plain = [b"\t " + l + b"\n" for l in want[c]]
        exp_low = [("\t " + l.decode().lower() + "\n").encode() for l in want[c]]
        ok = (len(got) == 30 and
              [g for g in got if g in exp_up] == exp_up and
              [g for g in got if g in exp_plain] == exp_plain and
              [g for g in got if g in exp_low] == exp_low)
        if ok:
            good += 1
        elif bad is None:
            bad = got
        sel.unregister(c)
        c.close()
    t.eq(good, 100, "100 clients x 10 lines: all 3000 echoes right and in order")
    if bad is not None:
        print("# first bad client: %r" % bad[:12])
    t.ok(d.alive(), "the daemon is still running")
    t.eq(d.stop(), 0, "and exits 0 on SIGTERM")

t.done()
