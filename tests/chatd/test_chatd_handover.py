#!/usr/bin/env python3
# SPDX-License-Identifier: ISC
"""chatd keeps its room across a hand-over: on SIGHUP it re-executes
itself with every client, and on the stop half of a restart (SIGUSR2)
under a service manager with an fd store (played by the test,
tests/handover_rig.py) it leaves them in the store for the next start;
a plain stop (SIGTERM) says goodbye even then.  Nobody is disconnected; names, the order
of arrival (the roster newcomers are told) and what a client was owed
but had not read yet survive; every line said before and after arrives
once, in the one order everybody shares."""

import os
import signal
import struct
import sys
import time

sys.path.insert(0, os.path.join(os.environ.get("top_srcdir", "."), "tests"))
from taplib import Daemon, Tap, free_port, under_valgrind  # noqa: E402
from handover_rig import (Manager, image_records, listener,  # noqa: E402
                          make_capsule, open_capsule, reseal_record, wait_log)
from chatlib import CHATD, SLOW, Client, wait_greeting  # noqa: E402

t = Tap()
BIG = 200                       # lines of 1,000 bytes a slow reader is owed
PAD = b"x" * 990


def rest(c, last=None, have=()):
    """Every line c gets until it is quiet for a while.  After last (the
    last line said; have is what c read already) a short quiet is enough
    to catch a line sent twice: a long one after every client cost
    minutes under valgrind, where waits are twenty times as long."""
    out = list(have)
    while True:
        got = c.lines(1, 0.2 if out and out[-1] == last else 2.0)
        if not got:
            return out[len(have):]
        out.append(got[0])


def named(c, name, want_roster):
    """c gives its name; True when it is greeted as it should be."""
    c.say(name)
    got = c.lines(2, 5)
    return got == [b"You are " + name + b"\n", b"Here now: " + want_roster + b"\n"]


# --- reload (SIGHUP): a named room mid-conversation --------------------------
port = free_port()
with Daemon([CHATD, "--names", "--idle-timeout", "0", "--port", str(port), "-v"], port=port,
            reexec=True) as d:
    wait_greeting(port)
    # Accepted in one order, arrived (named) in another: the room's order
    # is the order of naming.
    c1, c2, c3, c4, c5 = (Client(port, rcvbuf=4096 if i == 2 else None)
                          for i in range(1, 6))
    for c in (c1, c2, c3, c4, c5):
        c.line()                                # "Your name?"
    ok = (named(c3, b"cy", b"nobody else") and named(c1, b"ann", b"cy") and
          named(c4, b"dee", b"cy, ann") and named(c2, b"bob", b"cy, ann, dee"))
    t.ok(ok, "four clients named, in an order of their own")
    c3.lines(3)
    c1.lines(2)
    c4.lines(1)
    room = {b"cy": c3, b"ann": c1, b"dee": c4, b"bob": c2}
    said = []
    seen = {w: [] for w in room if w != b"bob"}

    def say(c, who, text):
        """A line, seen by cy before anyone says the next: lines from
        different clients have no order until chatd reads them."""
        c.say(text)
        said.append(who + b": " + text + b"\n")
        seen[b"cy"] += c3.until(said[-1], 10)

    say(c1, b"ann", b"a1")
    say(c3, b"cy", b"c1")
    # A burst bob does not read: chatd holds much of it when it hands over.
    c1.send(b"".join(b"big %03d %s\n" % (i, PAD) for i in range(BIG)))
    said += [b"ann: big %03d %s\n" % (i, PAD) for i in range(BIG)]
    c4.send(b"half")                             # a line begun, not ended
    for w in seen:
        seen[w] += room[w].until(said[-1], 10)
    t.ok(all(v == said for v in seen.values()), "before the reload: every "
         "reader has every line, in order")
    pid = d.pid
    d.signal(signal.SIGHUP)
    t.ok(wait_log(d, "took over 5 of 5 clients", 10 * SLOW),
         "SIGHUP: the new chatd "
         "took over every client, the one still naming too",
         d.output()[-600:])
    t.ok(d.alive() and d.pid == pid, "the same process (PID %d)" % pid)
    im = [ln for ln in d.output().splitlines() if "hand-over: image of" in ln]
    owed = int(im[-1].split("(")[1].split()[0]) if im else 0
    t.ok(owed > 50000, "bob was owed much of the burst when it went over "
         "(image of %d bytes)" % owed, im[-1:])
    c4.send(b" done\n")
    said.append(b"dee: half done\n")
    seen[b"cy"] += c3.until(said[-1], 10)
    t.ok(named(c5, b"eve", b"cy, ann, dee, bob"), "after: a client named "
         "then is told of everyone, in the order they arrived")
    said.append(b"eve has arrived\n")
    seen[b"cy"] += c3.until(said[-1], 10)
    say(c2, b"bob", b"b1")
    seen[b"cy"] += c3.until(said[-1], 10)
    c6 = Client(port)
    c6.line()
    t.ok(named(c6, b"fay", b"cy, ann, dee, bob, eve"), "after: a newcomer "
         "gets the whole roster, in order")
    said.append(b"fay has arrived\n")
    say(c6, b"fay", b"f1")
    for w, c in room.items():
        got = seen.get(w, []) + rest(c, said[-1], seen.get(w, []))
        t.ok(got == said and not c.eof, "%s: every line before and after, "
             "once, in order, still connected (%d lines)" %
             (w.decode(), len(got)),
             [g[:40] for g in got if g not in said][:5] or
             (len(got), len(said)))
    eve = rest(c5, said[-1])
    t.ok(eve == said[said.index(b"eve has arrived\n") + 1:] and not c5.eof,
         "eve: everything said after her arrival", eve[:5])
    t.ok("left as" not in d.output(), "nobody left the room",
         d.output()[-600:])
    for c in (c1, c2, c3, c4, c5, c6):
        c.close()
    rc = d.stop()
    t.ok(rc == 0, "then a clean stop (no sanitizer report, no leak)",
         (rc, d.output()[-600:]))

# --- a restart with an fd store: the room waits in the store ----------------
m = Manager()
lsock = listener()
port = lsock.getsockname()[1]
d1 = m.start([CHATD, "--idle-timeout", "0", "-v"], [lsock.fileno()])
m.wait(lambda: m.seen("READY", "1"), 10 * SLOW)
ws = [Client(port, rcvbuf=4096 if i == 2 else None) for i in range(3)]
for i, c in enumerate(ws):
    c.lines(2 + 2 - i)
said = [ws[0].who.encode() + b": one\n"]
ws[0].say(b"one")
ws[0].send(b"".join(b"big %03d %s\n" % (i, PAD) for i in range(BIG)))
said += [ws[0].who.encode() + b": big %03d %s\n" % (i, PAD)
         for i in range(BIG)]
ws[1].send(b"two")
early = [ws[i].until(said[-1], 10) for i in (0, 1)]
d1.proc.send_signal(signal.SIGUSR2)
rc = d1.wait(10 * SLOW)
caps = m.take()
t.eq(rc, 0, "stop: chatd exits 0")
t.eq(len(caps), 1, "stop: the room goes to the fd store")
t.ok("left as" not in d1.output(), "stop: nobody is logged as gone",
     d1.output()[-400:])
d2 = m.start_ready([CHATD, "--idle-timeout", "0", "-v"], [lsock.fileno()], caps, 10 * SLOW)
t.ok(d2.ready and wait_log(d2, "took over 3 of 3 clients", 10 * SLOW),
     "restart: the "
     "new chatd took over the room", d2.output()[-400:])
ws[1].send(b" after\n")
said.append(ws[1].who.encode() + b": two after\n")
new = Client(port)
roster = ", ".join(c.who for c in ws).encode()
t.eq(new.lines(2), [b"You are " + new.who.encode() + b"\n",
                    b"Here now: " + roster + b"\n"],
     "restart: a newcomer is told of the three, in order of arrival")
said.append(new.who.encode() + b" has arrived\n")
# Under valgrind the slow reader (a 4 KiB receive buffer) waits so long
# that TCP's zero-window probes back off past this test's patience: its
# window never fits one of loopback's 32-64 KiB segments, so the bytes
# move only on the persist timer (seen: 92,026 bytes queued in the
# socket, persist timer at 1 min 47 s), whichever chatd holds them.  The
# reader needs a buffer of two segments and a bigger burst to be owed
# bytes; until then the check is reported, not judged, there.
OWED_GAP = ("a 4 KiB receive window stalls on TCP's persist timer under "
            "valgrind" if under_valgrind() else None)
for i, c in enumerate(ws):
    # The long quiet each time here: reading the slow reader sooner
    # changes how far TCP's persist timer has backed off, and so whether
    # its TODO under valgrind fails (seen passing: an XPASS, a failure).
    got = (early[i] if i < 2 else []) + rest(c)
    t.ok(got == said and not c.eof, "client %d: every line before and "
         "after the restart, once, in order, still connected" % i,
         "%d of %d lines\n--- the first chatd:\n%s\n--- the second:\n%s"
         % (len(got), len(said), d1.output()[-1500:], d2.output()[-1500:]),
         todo=OWED_GAP if i == 2 else None)
# A plain stop with the store there all the same: goodbye, nothing stored.
d2.proc.send_signal(signal.SIGTERM)
rc = d2.wait(10 * SLOW)
t.ok(rc == 0, "plain stop: the restarted chatd stops cleanly too",
     (rc, d2.output()[-600:]))
t.eq(m.take(), [], "plain stop: nothing left in the fd store")
bye = new.closed()
t.ok(bye[1] and bye[0].endswith(b"Server shutting down.\n"),
     "plain stop: a client is told 'Server shutting down.', then closed", bye)
m.close_store()
for c in ws + [new]:
    c.close()
d2.stop()
d1.stop()

# --- a record chatd cannot read back closes that client only ----------------
d1 = m.start([CHATD, "--idle-timeout", "0", "-v"], [lsock.fileno()])
m.wait(lambda: m.seen("READY", "1", len(m.messages) - 1), 10 * SLOW)
ws = [Client(port) for _ in range(3)]
for i, c in enumerate(ws):
    c.lines(2 + 2 - i)
d1.proc.send_signal(signal.SIGUSR2)
d1.wait(10 * SLOW)
caps = m.take()
d1.stop()
head, image, socks = open_capsule(caps[0])
os.close(caps[0])
img = bytearray(image)
off, _ = image_records(image)[0]
outlen, inlen, _ = struct.unpack_from("<III", img, off + 44)
img[off + 56 + outlen + inlen] = 9             # a state chatd does not know
forged = make_capsule(reseal_record(bytes(img), off), socks, head["nlisteners"])
for fd in socks:
    os.close(fd)
d2 = m.start_ready([CHATD, "--idle-timeout", "0", "-v"], [lsock.fileno()], [forged], 10 * SLOW)
rest0, eof0 = ws[0].closed()
t.ok(eof0, "a record of an unknown state: that client is closed",
     d2.output()[-400:])
ws[1].say(b"still")
t.eq(ws[2].line(), ws[1].who.encode() + b": still\n", "the others are served")
t.ok(ws[2].quiet() and "hand-over record was not usable" in d2.output(),
     "nobody is told of a client the room never had back; the log says why",
     d2.output()[-400:])
d2.stop()
m.close_store()
for c in ws:
    c.close()
lsock.close()
m.close()
t.done()
