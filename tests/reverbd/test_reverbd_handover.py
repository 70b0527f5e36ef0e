#!/usr/bin/env python3
# SPDX-License-Identifier: ISC
"""reverbd hands its clients over without losing an echo: on SIGHUP it
re-executes itself with every client and the echoes each is owed (sent
on time by the successor); on the stop half of a restart (SIGUSR2) under
a service manager with an fd store (played by the test,
tests/handover_rig.py) it first sends every echo owed, then leaves the
clients, with what they sent meanwhile, to the store; a plain stop
(SIGTERM) sends them and closes.  A client record that does not read back is closed."""

import os
import signal
import socket
import struct
import sys
import time

sys.path.insert(0, os.path.join(os.environ.get("top_srcdir", "."), "tests"))
from taplib import Daemon, Tap, free_port, under_valgrind  # noqa: E402
from handover_rig import (Clients, Manager, image_records, listener,  # noqa: E402
                          make_capsule, open_capsule, reseal_record, wait_log)

REVERBD = "daemons/reverbd/reverbd"
t = Tap()
SLOW = 4 if under_valgrind() else 1
# How late an echo may be on a shared machine; under valgrind a
# re-execution starts valgrind afresh (seconds): only the order counts.
TOL = 1e9 if under_valgrind() else 0.3


def echoes(cl, i):
    lines, eof = cl.snapshot()
    return [(round(tm, 2), l.decode()) for tm, l in lines[i]], eof[i]


def on_time(got, want, t0):
    """got: [(time, line)]; want: [(seconds after t0, line)], in order."""
    if [l for _, l in got] != [l for _, l in want]:
        return False
    return all(-0.05 <= tm - t0 - w <= TOL for (tm, _), (w, _) in zip(got, want))


# --- reload with echoes owed: the successor sends them on time ----------------
port = free_port()
with Daemon([REVERBD, "--port", str(port), "-d", "1"], port=port, reexec=True) as d:
    cl = Clients(port, 3)
    t0 = time.monotonic()
    cl.send(0, b"Alpha one\n")
    time.sleep(0.3)
    cl.send(1, b"Beta\n")
    cl.send(2, b"Gamma\nPart")
    time.sleep(0.2)
    pid = d.pid
    os.kill(pid, signal.SIGHUP)
    time.sleep(0.2)
    cl.send(2, b"Ial\n")
    time.sleep(0.2)
    cl.socks[1].shutdown(socket.SHUT_WR)
    time.sleep(2.6 + (SLOW - 1))
    t.ok(wait_log(d, "took over 3 of 3 clients", 5 * SLOW),
         "SIGHUP: the new reverbd took "
         "over every client", d.output()[-500:])
    t.ok(d.alive() and d.pid == pid, "the same process (PID %d)" % pid)
    got0, eof0 = echoes(cl, 0)
    t.ok(on_time(got0, [(0, "\t ALPHA ONE"), (1, "\t Alpha one"),
                        (2, "\t alpha one")], t0) and eof0 is None,
         "a line sent before the reload: its two owed echoes on time", got0)
    got1, eof1 = echoes(cl, 1)
    t.ok(on_time(got1, [(0.3, "\t BETA"), (1.3, "\t Beta"), (2.3, "\t beta")], t0),
         "a client that half-closed after the reload: every echo on time", got1)
    t.ok(eof1 is not None and got1 and eof1 >= got1[-1][0] - 0.01,
         "then it is closed, after its last echo", (eof1, got1[-1:]))
    got2, eof2 = echoes(cl, 2)
    want2 = [(0.3, "\t GAMMA"), (0.7, "\t PARTIAL"), (1.3, "\t Gamma"),
             (1.7, "\t PartIal"), (2.3, "\t gamma"), (2.7, "\t partial")]
    t.ok(on_time(got2, want2, t0) and eof2 is None, "a line half sent before the "
         "reload, finished after: its start was handed over", got2)
    cl.send(0, b"after\n")
    time.sleep(0.3 * SLOW)
    got0, _ = echoes(cl, 0)
    t.ok("\t AFTER" in [l for _, l in got0], "new lines are echoed after the "
         "reload", got0[-2:])
    cl.close()

# --- a client reading paused (too much in flight): its lines wait, then come --
port = free_port()
with Daemon([REVERBD, "--port", str(port), "-d", "0.5", "--max-pending", "2"],
            port=port, reexec=True) as d:
    cl = Clients(port, 1)
    cl.send(0, b"one\ntwo\nthree\nfour\nfive\n")
    time.sleep(0.2)
    os.kill(d.pid, signal.SIGHUP)
    deadline = time.monotonic() + 8 * SLOW
    while time.monotonic() < deadline and len(cl.snapshot()[0][0]) < 15:
        time.sleep(0.1)
    got, eof = echoes(cl, 0)
    texts = sorted(l for _, l in got)
    want = sorted("\t " + w for x in ("one", "two", "three", "four", "five")
                  for w in (x.upper(), x, x))
    t.ok(texts == want and eof is None, "a paused client: every line held back "
         "before the reload gets its three echoes after it", got)
    cl.close()

# --- restart with an fd store: echoes owed first, then the clients to the store
m = Manager()
lsock = listener()
port = lsock.getsockname()[1]
d1 = m.start([REVERBD, "-d", "1"], [lsock.fileno()])
m.wait(lambda: m.seen("READY", "1"), 10 * SLOW)
cl = Clients(port, 2)
t0 = time.monotonic()
cl.send(0, b"Owed\n")
cl.send(1, b"Also owed\n")
time.sleep(0.3)
d1.proc.send_signal(signal.SIGUSR2)
time.sleep(0.2)
cl.send(0, b"Late\n")
rc = d1.wait(10 * SLOW)
t_exit = time.monotonic()
caps = m.take()
t.eq(rc, 0, "stop: reverbd exits 0")
t.ok(t_exit - t0 >= 1.9, "stop: only once the echoes owed are out (%.1f s)" %
     (t_exit - t0))
got0, _ = echoes(cl, 0)
t.ok(on_time(got0, [(0, "\t OWED"), (1, "\t Owed"), (2, "\t owed")], t0),
     "stop: every echo owed is sent, on time, by the old process", got0)
t.eq(len(caps), 1, "stop: then the clients go to the fd store")
t.ok("Late" not in str(got0), "a line sent while stopping is not taken by the "
     "old process", got0)
d2 = m.start_ready([REVERBD, "-d", "1"], [lsock.fileno()], caps, 10 * SLOW)
t_start = time.monotonic()
t.ok(wait_log(d2, "took over 2 of 2 clients", 5 * SLOW),
     "restart: the new reverbd took "
     "over both clients", d2.output()[-400:])
time.sleep(2.3 + (SLOW - 1))
got0, eof0 = echoes(cl, 0)
late = [(tm, l) for tm, l in got0 if l.lower() == "\t late"]
t.ok([l for _, l in late] == ["\t LATE", "\t Late", "\t late"] and eof0 is None,
     "restart: the line sent while stopping is echoed by the new reverbd", got0)
t.ok(late and late[0][0] - t_start < TOL + 0.2, "restart: at once", (late, t_start))
_, eof1 = echoes(cl, 1)
t.ok(eof1 is None, "no client saw an end")
# A plain stop: every echo owed, then reverbd closes; nothing stored.
cl.send(1, b"last\n")
time.sleep(0.1)
d2.proc.send_signal(signal.SIGTERM)
d2.wait(10 * SLOW)
t.eq(m.take(), [], "plain stop: nothing left in the fd store")
m.close_store()
time.sleep(0.5)
got1, eof1 = echoes(cl, 1)
t.ok(eof1 is not None and [l for _, l in got1][-3:] == ["\t LAST", "\t last", "\t last"],
     "plain stop: every echo owed, then the end", got1[-3:])
d2.stop()
cl.close()

# --- a record reverbd cannot read back closes that client only -----------------
d1 = m.start([REVERBD, "-d", "1"], [lsock.fileno()])
m.wait(lambda: m.seen("READY", "1", len(m.messages) - 1), 10 * SLOW)
cl = Clients(port, 3)
for i in range(3):
    cl.send(i, b"x\n")
time.sleep(0.1)
d1.proc.send_signal(signal.SIGUSR2)
d1.wait(10 * SLOW)
caps = m.take()
d1.stop()
head, image, socks = open_capsule(caps[0])
os.close(caps[0])
img = bytearray(image)
recs = image_records(image)
for i, patch in ((0, lambda b, o: b.__setitem__(o, 9)),           # version 9
                 (1, lambda b, o: struct.pack_into("<I", b, o + 4, 1))):  # 1 echo, none there
    off, rlen = recs[i]
    outlen, inlen, datalen = struct.unpack_from("<III", img, off + 44)
    patch(img, off + 56 + outlen + inlen)
    img = bytearray(reseal_record(bytes(img), off))
forged = make_capsule(bytes(img), socks, head["nlisteners"])
for s in socks:
    os.close(s)
d2 = m.start_ready([REVERBD, "-d", "1"], [lsock.fileno()], [forged], 10 * SLOW)
time.sleep(0.5 * SLOW)
cl.send(2, b"still\n")
time.sleep(0.3 * SLOW)
_, eof0 = echoes(cl, 0)
_, eof1 = echoes(cl, 1)
got2, eof2 = echoes(cl, 2)
t.ok(eof0 is not None and eof1 is not None, "records of an unknown version or "
     "promising echoes not there: those clients are closed", d2.output()[-500:])
t.ok(eof2 is None and "\t STILL" in [l for _, l in got2], "the intact one is "
     "served", got2)
t.ok("hand-over record was not usable" in d2.output(), "and the log says why",
     d2.output()[-500:])
d2.stop()
m.close_store()
cl.close()
lsock.close()
m.close()
t.done()
