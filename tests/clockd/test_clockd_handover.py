#!/usr/bin/env python3
# SPDX-License-Identifier: ISC
"""clockd hands its clients over, outside systemd: on SIGHUP it
re-executes itself with them (same PID), and under a service manager
with an fd store (played here by the test: tests/handover_rig.py) the
stop half of a restart (SIGUSR2) leaves them in the store for the next
start; a plain stop (SIGTERM) closes them.  Every client keeps one line
a second, none skipped or repeated, no disconnect; a damaged hand-over
closes exactly the clients it cannot vouch for, which can reconnect."""

import os
import re
import shutil
import signal
import socket
import struct
import sys
import tempfile
import time

sys.path.insert(0, os.path.join(os.environ.get("top_srcdir", "."), "tests"))
from taplib import Daemon, Tap, binary, free_port, read_lines, under_valgrind  # noqa: E402
from handover_rig import (Clients, Manager, consecutive, fd_count,  # noqa: E402
                          image_records, listener, make_capsule, open_capsule,
                          reseal_header, subimage, wait_log)

CLOCKD = "daemons/clockd/clockd"
N = 20
t = Tap()
# Under valgrind each generation starts valgrind afresh: seconds, not ms.
SLOW = 4 if under_valgrind() else 1


def at_phase(phase):
    """Sleeps until phase (0..1) of the next wall-clock second."""
    now = time.time()
    wait = (1 - now % 1) + phase
    time.sleep(wait if wait < 1 else wait - 1)


def took_over(d, generations, n):
    """Each of the first generations re-executions took over all of at least n."""
    deadline = time.monotonic() + 5 * SLOW
    while time.monotonic() < deadline:
        got = re.findall(r"took over (\d+) of (\d+) clients", d.output())
        if len(got) >= generations:
            break
        time.sleep(0.05)
    return len(got) >= generations and all(int(a) >= n for a, b in got[:generations])


def ticking(port):
    with socket.create_connection(("127.0.0.1", port), timeout=5) as s:
        return len(read_lines(s, 1, 5 * SLOW)) == 1


def check_clients(cl, which, desc, min_lines):
    """The clients in which kept ticking: enough lines, consecutive, no end."""
    lines, eof = cl.snapshot()
    bad = [(i, [l for _, l in lines[i]][-8:], eof[i]) for i in which
           if eof[i] is not None or len(lines[i]) < min_lines or
           not consecutive(lines[i])]
    t.ok(not bad, desc, bad[:3])


def check_closed(cl, which, desc):
    lines, eof = cl.snapshot()
    t.ok(all(eof[i] is not None for i in which), desc,
         [(i, eof[i]) for i in which if eof[i] is None])


# --- reload: SIGHUP re-executes clockd with every client ----------------------
port = free_port()
with Daemon([CLOCKD, "--port", str(port)], port=port, reexec=True) as d:
    ticking(port)
    cl = Clients(port, N)
    t.ok(cl.wait_lines(1, 5 * SLOW), "%d clients tick" % N)
    pid = d.pid
    fds_before = fd_count(pid)
    # Early, late (it waits for the tick) and just before a boundary.
    for k, phase in enumerate((0.15, 0.7, 0.93)):
        at_phase(phase)
        os.kill(pid, signal.SIGHUP)
        t.ok(took_over(d, k + 1, N),
             "SIGHUP %d (at .%02d s): the new clockd took over all %d clients" %
             (k + 1, phase * 100, N), d.output()[-600:])
    cl.wait_lines(len(cl.snapshot()[0][0]) + 2, 5 * SLOW)
    check_clients(cl, range(N), "every client: one line a second throughout, "
                  "none skipped or repeated, no disconnect", 4)
    t.ok(d.alive() and d.pid == pid, "the same process (PID %d) throughout" % pid)
    t.eq(d.output().count("re-executing"), 3, "three re-executions logged")
    if not under_valgrind():
        t.ok(fd_count(pid) <= fds_before, "no descriptor leaked across three "
             "re-executions", (fd_count(pid), fds_before))
    t.ok(ticking(port), "a new client is served after the reloads")
    cl.close()
    t.eq(d.stop(), 0, "SIGTERM after the reloads exits 0")

# --- a failed re-execution keeps the old process; a new binary is taken up ----
tmp = tempfile.mkdtemp(prefix="clockd-handover-")
os.chmod(tmp, 0o755)    # run as root, clockd re-executes as nobody
copy = os.path.join(tmp, "clockd")
shutil.copy2(binary(CLOCKD), copy)
port = free_port()
with Daemon([copy, "--port", str(port)], port=port, reexec=True) as d:
    ticking(port)
    cl = Clients(port, 5)
    cl.wait_lines(1, 5 * SLOW)
    os.unlink(copy)
    at_phase(0.2)
    os.kill(d.pid, signal.SIGHUP)
    t.ok(wait_log(d, "cannot re-execute", 5 * SLOW),
         "binary gone: the re-execution "
         "fails and says so", d.output()[-400:])
    cl.wait_lines(len(cl.snapshot()[0][0]) + 2, 5 * SLOW)
    check_clients(cl, range(5), "and the old clockd keeps serving every client", 3)
    # An upgrade puts the new file in place under the same name.
    shutil.copy2(binary(CLOCKD), copy + ".new")
    os.rename(copy + ".new", copy)
    at_phase(0.2)
    os.kill(d.pid, signal.SIGHUP)
    t.ok(wait_log(d, "took over 5 of 5 clients", 5 * SLOW),
         "the binary back: the "
         "re-execution takes over every client", d.output()[-400:])
    exe = os.readlink("/proc/%d/exe" % d.pid)
    t.ok(not under_valgrind() and not exe.endswith("(deleted)") or under_valgrind(),
         "the process runs the new file (%s)" % exe)
    cl.wait_lines(len(cl.snapshot()[0][0]) + 2, 5 * SLOW)
    check_clients(cl, range(5), "no client noticed either", 5)
    cl.close()
shutil.rmtree(tmp, ignore_errors=True)

# --- socket-activated: the successor serves systemd's socket -------------------
port = free_port()
with Daemon([CLOCKD], activate=True, port=port, reexec=True) as d:
    ticking(port)
    cl = Clients(port, 3)
    cl.wait_lines(1, 5 * SLOW)
    at_phase(0.3)
    os.kill(d.pid, signal.SIGHUP)
    t.ok(wait_log(d, "serving 1 socket handed over", 5 * SLOW),
         "socket-activated: the "
         "successor serves the socket it was handed", d.output()[-400:])
    cl.wait_lines(len(cl.snapshot()[0][0]) + 2, 5 * SLOW)
    check_clients(cl, range(3), "socket-activated: no client noticed", 3)
    t.ok(ticking(port), "socket-activated: new clients served")
    cl.close()

# --- restart through the fd store (the test plays systemd) ---------------------
m = Manager()
lsock = listener()
port = lsock.getsockname()[1]


def first(env=None):
    """A clockd as a service with N clients ticking."""
    d = m.start([CLOCKD], [lsock.fileno()], env=env)
    since = len(m.messages)
    m.wait(lambda: m.seen("READY", "1"), 10 * SLOW)
    cl = Clients(port, N)
    cl.wait_lines(1, 5 * SLOW)
    return d, cl, since


def opened():
    """A clockd with N clients stopped into the store, its capsule opened:
    the clients, the capsule's head, image and sockets."""
    d1, cl, _ = first()
    rc, caps = stop_to_store(d1)
    d1.stop()
    head, image, socks = open_capsule(caps[0])
    os.close(caps[0])
    return cl, head, image, socks


def stop_plain(d):
    """A stop as systemd does it: SIGTERM, then the store closed."""
    d.stop()
    m.poll()
    m.close_store()


def stop_to_store(d):
    """SIGUSR2: clockd leaves its clients in the store and exits 0."""
    d.proc.send_signal(signal.SIGUSR2)
    rc = d.wait(10 * SLOW)
    caps = m.take()
    m.close_store()
    return rc, caps


d1, cl, _ = first()
rc, caps = stop_to_store(d1)
t.eq(rc, 0, "stop: clockd exits 0")
t.ok(len(caps) == 1, "stop: one capsule in the fd store, named handover",
     m.messages[-3:])
t.ok(m.seen("BARRIER", "1"), "stop: clockd waits for systemd to hold it (BARRIER=1)")
t.ok("left to systemd" in d1.output(), "stop: says where the clients went",
     d1.output()[-300:])
d1.stop()
time.sleep(0.3)
_, eof = cl.snapshot()
t.ok(all(e is None for e in eof), "between the two processes no client sees an end")
d2 = m.start_ready([CLOCKD], [lsock.fileno()], caps, 10 * SLOW)
t.ok(d2.ready, "restart: the new clockd is ready")
t.ok(m.seen("FDSTOREREMOVE", "1", d2.mark), "restart: it empties the store (FDSTOREREMOVE=1)")
t.ok(wait_log(d2, "took over %d of %d clients" % (N, N), 5 * SLOW),
     "restart: it took over "
     "all %d clients" % N, d2.output()[-400:])
cl.wait_lines(len(cl.snapshot()[0][0]) + 2, 5 * SLOW)
check_clients(cl, range(N), "restart: one line a second throughout, none skipped "
              "or repeated, no disconnect", 3)
# A plain stop: clockd closes its clients itself, and stores nothing.
d2.proc.send_signal(signal.SIGTERM)
t.eq(d2.wait(10 * SLOW), 0, "second stop: exits 0")
m.poll()
t.eq(m.take(), [], "plain stop: nothing left in the fd store")
m.close_store()
time.sleep(1)
check_closed(cl, range(N), "plain stop: every client sees the end")
stop_plain(d2)
cl.close()

# --- damaged hand-overs close exactly the clients they cannot vouch for ---------
cl, head, image, socks = opened()
nl = head["nlisteners"]
recs = image_records(image)
t.eq((head["nclients"], len(recs)), (N, N), "the capsule holds %d clients" % N)
img = bytearray(image)
# 2: a flipped byte in its record (the checksum catches it).
off, rlen = recs[2]
img[off + 30] ^= 0x40
# 5 and 6: sockets swapped, so each record names the other's peer.
socks[nl + 5], socks[nl + 6] = socks[nl + 6], socks[nl + 5]
# 8: a pipe where its socket should be.
pr, pw = os.pipe()
os.close(socks[nl + 8])
socks[nl + 8] = pr
# 12: its socket lost on the way (the capsule's copy was the last one).
os.close(socks[nl + 12])
socks[nl + 12] = None
# 15: its record's length broken: it and every record after it are lost.
off, rlen = recs[15]
struct.pack_into("<I", img, off, 7)
forged = make_capsule(bytes(img), socks, nl)
for s in socks:
    if s is not None:
        os.close(s)
os.close(pw)
d2 = m.start_ready([CLOCKD], [lsock.fileno()], [forged], 10 * SLOW)
time.sleep(1.5 * SLOW)
closed = [2, 5, 6, 8, 12] + list(range(15, N))
kept = [i for i in range(N) if i not in closed]
check_closed(cl, closed, "damaged records, swapped or foreign sockets, a lost "
             "socket and broken framing: those %d clients see the end" % len(closed))
cl.wait_lines(len(cl.snapshot()[0][kept[0]]) + 2, 5 * SLOW)
check_clients(cl, kept, "the %d others keep ticking, none skipped or repeated" %
              len(kept), 2)
out = d2.output()
t.ok("took over %d of %d clients" % (len(kept), N) in out and "closed" in out,
     "the log counts the clients taken over and closed", out[-800:])
t.ok("its record names another peer" in out and "not a stream socket" in out,
     "and says why, client by client", out[-800:])
t.ok(ticking(port), "the closed clients can reconnect")
stop_plain(d2)
cl.close()

# Whole hand-overs that cannot be used: every client closed, the socket served.
cl, head, image, socks = opened()
nl = head["nlisteners"]
groups = [list(range(nl + 5 * g, nl + 5 * g + 5)) for g in range(4)]
bad_magic = b"XXHNDOVR" + image[8:]
other = bytearray(image)
other[16:32] = b"reverbd".ljust(16, b"\0")
other = reseal_header(bytes(other))
cases = [
    ("an image that is not one", dict(image=bad_magic)),
    ("an image not sealed against change", dict(image=image, seal=False)),
    ("another daemon's image", dict(image=other)),
    ("a capsule of an unknown kind", dict(image=image, magic=b"NOTACAPS")),
]
for (desc, kw), grp in zip(cases, groups):
    forged = make_capsule(kw.pop("image"), socks[:nl] + [socks[i] for i in grp],
                          nl, **kw)
    for i in grp:
        os.close(socks[i])
    d2 = m.start_ready([CLOCKD], [lsock.fileno()], [forged], 10 * SLOW)
    time.sleep(0.5 * SLOW)
    check_closed(cl, [i - nl for i in grp], "%s: its clients are closed" % desc)
    t.ok(ticking(port), "%s: new clients are served" % desc)
    stop_plain(d2)
for s in socks[:nl]:
    os.close(s)
cl.close()

# Two hand-overs in the store: the newer is taken, the older's clients closed.
cl, head, image, socks = opened()
nl = head["nlisteners"]
older = subimage(image, range(10), earlier_us=10**6)
newer = subimage(image, range(10, N))
c_old = make_capsule(older, socks[:nl] + socks[nl:nl + 10], nl)
c_new = make_capsule(newer, socks[:nl] + socks[nl + 10:], nl)
for s in socks:
    os.close(s)
d2 = m.start_ready([CLOCKD], [lsock.fileno()], [c_old, c_new], 10 * SLOW)
time.sleep(0.5 * SLOW)
check_closed(cl, range(10), "two hand-overs: the older one's clients are closed")
cl.wait_lines(len(cl.snapshot()[0][10]) + 2, 5 * SLOW)
check_clients(cl, range(10, N), "and the newer one's keep ticking", 2)
stop_plain(d2)
cl.close()

lsock.close()
m.close()
t.done()
