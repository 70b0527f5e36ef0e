#!/usr/bin/env python3
# SPDX-License-Identifier: ISC
"""clockwork-ftpd against hostile clients: ten attacks, each tried while a
bystander session (a process of its own, so that no lock of this one
delays it) sends NOOP and times every round trip, with the server's RSS
read from /proc and its log captured.

 1. 200 pipelined STAT of a 5,000-entry directory, 20 of a 100,000-entry one
 2. APPE of one byte to a big file (the old bytes copied before 150)
 3. 40 sessions: PASV, LIST of the 100,000-entry directory, never connect
 4. a PROT P download whose client stops reading (--data-timeout)
 5. PASV, a plain TCP connection, then PROT P and RETR (--require-tls)
 6. a file named with ESC, CR and BEL, stored then deleted (log, xferlog)
 7. 12,000 refused PORT commands (the log must not flood)
 8. 100 sessions hold every port of --pasv-ports (PASV, never connect)
 9. a good login as alice must not forgive failed logins as bob
10. 4 PROT P downloads at once (the loop must not do the crypto)

Bounds (the issue's): bystander max < 250 ms during each attack; p99 < 20
ms during the 4 PROT P downloads; RSS growth within --transfer-memory; no
raw control byte in the log; under 100 log lines from one flooding client.
Latency bounds are scaled by the suite's time factor, and get the slack
of the load measured over the same interval (the bystander's own late
wake-ups); the median during the downloads (< 3 ms) gets none.  Under
valgrind, which runs one thread at a time, the p99 and median of attack
10 are reported, not judged (the workers' crypto holds the loop there).  Under valgrind the
loads are smaller (a memcheck'd loop is 20-50 times slower, and the test
would run for many minutes otherwise) and RSS is valgrind's own, so the
memory bounds are not judged there; under ASan freed memory sits in the
quarantine, so only the growth while the attack holds memory is judged."""

import ftplib
import multiprocessing
import os
import re
import shutil
import socket
import ssl
import statistics
import subprocess
import sys
import tempfile
import time

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from ftptest import (Tree, start, read_reply, rss_kib,  # noqa: E402
                     ReuseFTP_TLS, tls_context, writable)
sys.path.insert(0, os.path.join(os.environ.get("top_srcdir", "."), "tests"))
import taplib  # noqa: E402
from taplib import Tap, binary, free_port_range, under_valgrind  # noqa: E402

PASSWD = "daemons/ftpd/clockwork-ftpd-passwd"
VALGRIND = under_valgrind()


def time_factor():
    """The suite's time factor (CLOCKWORK_TIME_FACTOR: 1 plain, more under
    the sanitizers and valgrind)."""
    if hasattr(taplib, "time_factor"):
        return taplib.time_factor()
    try:
        f = float(os.environ.get("CLOCKWORK_TIME_FACTOR") or 0)
    except ValueError:
        f = 0
    if f <= 0:
        f = 10.0 if VALGRIND else 1.0
    return min(max(f, 1.0), 100.0)


TF = time_factor()
MAX_MS = 250 * TF           # bystander's worst round trip during an attack
P99_MS = 20 * TF            # ... its p99 during 4 PROT P downloads
P50_MS = 3 * TF             # ... and its median
# Loads, smaller under valgrind (see above).
N_SMALL = 1000 if VALGRIND else 5000
N_BIG = 20000 if VALGRIND else 100000
STATS_SMALL = 40 if VALGRIND else 200
STATS_BIG = 5 if VALGRIND else 20
LISTERS = 10 if VALGRIND else 40
PORTS = 2000 if VALGRIND else 12000
PASV_HOLDERS = 100
# (valgrind holds every thread while one is in copy_file_range: the
# copy's own length is then the loop's pause, so it is kept short there.)
APPE_MIB = int(os.environ.get("HOSTILE_APPE_MIB") or (64 if VALGRIND else
                                                      512))
TLS_MIB = 16 if VALGRIND else 256
BUDGET_MIB = 8              # --transfer-memory given to the daemons


def sanitized(pid):
    """ASan or valgrind in the process: RSS does not show what it frees."""
    with open("/proc/%d/maps" % pid) as m:
        maps = m.read()
    return "libasan" in maps or "vgpreload" in maps


def raw_control_bytes(data):
    """The control bytes in data other than the line ends: C0, DEL, C1."""
    text = data.decode("utf-8", "surrogateescape")
    return sorted({"%02x" % ord(c) for c in text
                   if (ord(c) < 0x20 and c != "\n") or ord(c) == 0x7f or
                   0x80 <= ord(c) <= 0x9f})


def _bystander(host, port, conn):
    """The bystander's process: NOOP, time the reply, 5 ms pause, until
    told to stop; then the round trips (seconds) go back through conn,
    and how late each pause ended (the load on the machine, which delays
    the server's wake-ups as it delays ours)."""
    rtts = []
    late = []
    try:
        s = socket.create_connection((host, port), timeout=30)
        s.settimeout(30)
        buf = b""

        def line():
            nonlocal buf
            while b"\r\n" not in buf:
                chunk = s.recv(4096)
                if not chunk:
                    raise OSError("closed")
                buf += chunk
            out, buf = buf.split(b"\r\n", 1)
            return out
        line()
        s.sendall(b"USER anonymous\r\n")
        line()
        s.sendall(b"PASS x\r\n")
        line()
        conn.send("ready")
        while not conn.poll():
            t0 = time.monotonic()
            s.sendall(b"NOOP\r\n")
            r = line()
            rtts.append(time.monotonic() - t0)
            if not r.startswith(b"200"):
                break
            t0 = time.monotonic()
            time.sleep(0.005)
            late.append(max(0.0, time.monotonic() - t0 - 0.005))
        s.close()
    except OSError as e:
        rtts.append(("error", str(e)))
    conn.send((rtts, late))


class Bystander:
    """Another session's NOOP round trips while an attack runs."""

    def __init__(self, d):
        self.d = d
        self.ours, theirs = multiprocessing.Pipe()
        self.proc = multiprocessing.Process(
            target=_bystander, args=(d.ftp_host, d.ftp_port, theirs))
        self.rtts = []
        self.late = []
        self.error = None

    def __enter__(self):
        self.proc.start()
        if not self.ours.poll(30 * TF):
            self.error = "the bystander could not log in"
        else:
            self.ours.recv()
        return self

    def __exit__(self, *exc):
        self.ours.send("stop")
        if self.ours.poll(60 * TF):
            got, self.late = self.ours.recv()
            self.rtts = [r for r in got if isinstance(r, float)]
            errs = [r for r in got if not isinstance(r, float)]
            if errs:
                self.error = errs[0][1]
        else:
            self.error = "the bystander did not answer"
        self.proc.join(10)
        if self.proc.is_alive():
            self.proc.kill()

    def ms(self):
        """(n, p50, p99, max) in milliseconds."""
        if not self.rtts:
            return 0, 0.0, 0.0, 0.0
        v = sorted(x * 1000 for x in self.rtts)
        return (len(v), statistics.median(v),
                v[min(len(v) - 1, int(0.99 * len(v)))], v[-1])

    def slack(self):
        """What the load of the machine adds to a bound, in ms: three
        times the bystander's own p99 lateness over the same interval,
        at most 100 ms (scaled), so that a stalled loop always fails."""
        if not self.late:
            return 0.0
        v = sorted(self.late)
        worst = v[min(len(v) - 1, int(0.99 * len(v)))] * 1000
        return min(3 * worst, 100 * TF)

    def text(self):
        n, p50, p99, mx = self.ms()
        return "bystander NOOP p50 %.1f ms, p99 %.1f ms, max %.1f ms " \
            "(%d round trips; load slack %.1f ms)" % (p50, p99, mx, n,
                                                     self.slack())

    def max_ok(self, what):
        n, _, _, mx = self.ms()
        bound = MAX_MS + self.slack()
        return t.ok(self.error is None and n > 0 and mx < bound,
                    "%s: %s, bound %.0f ms" % (what, self.text(), bound),
                    self.error)


def session(d, user="anonymous", pw="x", src=None):
    """A raw logged-in control connection."""
    s = socket.create_connection((d.ftp_host, d.ftp_port), timeout=30 * TF,
                                 source_address=(src, 0) if src else None)
    read_reply(s, 30 * TF)
    s.sendall(b"USER %s\r\n" % user.encode())
    read_reply(s, 30 * TF)
    s.sendall(b"PASS %s\r\n" % pw.encode())
    r = read_reply(s, 60 * TF)
    if not r.startswith("230"):
        raise OSError("login as %s: %s" % (user, r))
    # Files byte for byte (the server's default is TYPE A).
    s.sendall(b"TYPE I\r\n")
    read_reply(s, 30 * TF)
    return s


def pasv_port(reply):
    m = re.search(r"\((\d+),(\d+),(\d+),(\d+),(\d+),(\d+)\)", reply)
    return int(m.group(5)) * 256 + int(m.group(6)) if m else None


def drain(s, limit, until=None):
    """Reads s until the peer closes, limit seconds pass or (if given) the
    bytes end with until; returns what came."""
    got = bytearray()
    s.settimeout(limit)
    deadline = time.monotonic() + limit
    try:
        while time.monotonic() < deadline:
            c = s.recv(1 << 20)
            if not c:
                break
            got += c
            if until is not None and got.endswith(until):
                break
    except OSError:
        pass
    return bytes(got)


def replies(s, end, count, limit):
    """What s sends until count replies ending with end have come (or the
    peer closes, or limit seconds pass)."""
    got = bytearray()
    s.settimeout(limit)
    try:
        while got.count(end) < count:
            c = s.recv(1 << 20)
            if not c:
                break
            got += c
    except OSError:
        pass
    return got


def log_since(d, mark):
    return d.output()[mark:]


def make_dir(path, n):
    os.makedirs(path)
    for i in range(n):
        os.close(os.open(os.path.join(path, "entry-%06d.txt" % i),
                         os.O_CREAT | os.O_WRONLY, 0o644))


def sparse(path, mib):
    with open(path, "wb") as f:
        f.truncate(mib * 1024 * 1024)


def fail_login(d, user, src=None):
    """A failed login; the seconds until its 530."""
    s = socket.create_connection((d.ftp_host, d.ftp_port), timeout=60 * TF,
                                 source_address=(src, 0) if src else None)
    read_reply(s)
    s.sendall(b"USER %s\r\n" % user.encode())
    read_reply(s)
    t0 = time.monotonic()
    s.sendall(b"PASS wrong\r\n")
    r = read_reply(s, 60 * TF)
    el = time.monotonic() - t0
    s.close()
    return el if r.startswith("530") else -1


t = Tap()
tree = Tree(big=1024 * 1024)
work = tempfile.mkdtemp(prefix="ftpd-hostile-")
os.chmod(work, 0o755)
make_dir(tree.path("small"), N_SMALL)
make_dir(tree.path("large"), N_BIG)
sparse(tree.path("tls.bin"), TLS_MIB)
sparse(tree.path("stall.bin"), 64)
upload = tree.path("upload")
os.mkdir(upload)
# Started as root, the daemon serves as another user: what it writes.
writable(tree.root, upload)
cert = os.path.join(work, "cert.pem")
key = os.path.join(work, "key.pem")
users = os.path.join(work, "users")
xferlog = os.path.join(work, "xferlog")
have_tls = shutil.which("openssl") is not None and subprocess.run(
    ["openssl", "req", "-x509", "-newkey", "rsa:2048", "-nodes", "-keyout",
     key, "-out", cert, "-days", "2", "-subj", "/CN=localhost"],
    capture_output=True).returncode == 0
for name in ("alice", "bob"):
    os.makedirs(os.path.join(work, "home-" + name), exist_ok=True)
    subprocess.run([binary(PASSWD), "-f", users, "add", name,
                    os.path.join(work, "home-" + name), "rw"],
                   input=b"%s-pw\n" % name.encode(), capture_output=True)
shutil.copy(tree.path("pub/big.bin"), os.path.join(work, "home-alice"))
budget = ["--transfer-memory", "%dM" % BUDGET_MIB]
helptext = subprocess.run([binary("daemons/ftpd/clockwork-ftpd"), "--help"],
                          capture_output=True, text=True).stdout
if "--transfer-memory" not in helptext:
    budget = []         # a build before the option: judged all the same


def attack_stat(d):
    """1. Pipelined STAT of big directories, read by the attacker."""
    for path, lines in (("/small", STATS_SMALL), ("/large", STATS_BIG)):
        s = session(d)
        rss0 = rss_kib(d.pid)
        with Bystander(d) as b:
            t0 = time.monotonic()
            s.sendall(b"STAT %s\r\n" % path.encode() * lines)
            got = replies(s, b"\r\n213 End", lines, 120 * TF)
            el = time.monotonic() - t0
        n = got.count(b"\r\n213 End")
        t.ok(n == lines, "1. %d STAT %s (%d entries) answered in %.2f s" % (
            lines, path, N_SMALL if path == "/small" else N_BIG, el),
            "%d answered" % n)
        b.max_ok("1. STAT %s flood" % path)
        kib = rss_kib(d.pid) - rss0
        if sanitized(d.pid):
            t.ok(True, "# SKIP RSS under ASan or valgrind, which keep "
                 "freed memory (%d KiB)" % kib)
        else:
            t.ok(kib < BUDGET_MIB * 1024, "1. RSS grew %d KiB (budget %d "
                 "MiB)" % (kib, BUDGET_MIB))
        s.close()


def attack_appe(d):
    """2. APPE of one byte to a big file: the copy must not stall others."""
    big = os.path.join(upload, "huge.bin")
    with open(big, "wb") as f:
        os.posix_fallocate(f.fileno(), 0, APPE_MIB * 1024 * 1024)
    writable(big)
    s = session(d)
    s.sendall(b"CWD /upload\r\nPASV\r\n")
    read_reply(s)
    port = pasv_port(read_reply(s))
    r2 = ""
    with Bystander(d) as b:
        t0 = time.monotonic()
        s.sendall(b"APPE huge.bin\r\n")
        r1 = read_reply(s, 300 * TF)
        el = time.monotonic() - t0
        if r1.startswith("150"):
            ds = socket.create_connection((d.ftp_host, port),
                                          timeout=30 * TF)
            ds.sendall(b"!")
            ds.close()
            r2 = read_reply(s, 300 * TF)
    t.ok(r1.startswith("150") and r2.startswith("226") and
         os.path.getsize(big) == APPE_MIB * 1024 * 1024 + 1,
         "2. APPE of 1 byte to %d MiB: %.2f s to the 150, then appended" % (
             APPE_MIB, el), (r1, r2))
    b.max_ok("2. APPE to %d MiB" % APPE_MIB)
    s.close()
    os.unlink(big)


def attack_listers(d):
    """3. Listings asked for and never fetched: memory bounded, given back."""
    time.sleep(0.5)
    rss0 = rss_kib(d.pid)
    socks, replies = [], []
    with Bystander(d) as b:
        for _ in range(LISTERS):
            s = session(d)
            s.sendall(b"PASV\r\n")
            read_reply(s)
            s.sendall(b"LIST /large\r\n")
            replies.append(read_reply(s, 60 * TF)[:3])
            socks.append(s)
        time.sleep(0.5)
        held = rss_kib(d.pid) - rss0
    for s in socks:
        s.sendall(b"QUIT\r\n")
    for s in socks:
        drain(s, 10 * TF)
        s.close()
    time.sleep(1.5)
    after = rss_kib(d.pid) - rss0
    t.ok(all(r in ("150", "450") for r in replies),
         "3. %d sessions LIST %d entries, never connect: %d x 150, "
         "%d x 450 (over --transfer-memory %d MiB)" % (
             LISTERS, N_BIG, replies.count("150"), replies.count("450"),
             BUDGET_MIB), replies)
    b.max_ok("3. %d unfetched listings" % LISTERS)
    if VALGRIND:
        t.ok(True, "# SKIP RSS under valgrind (%d KiB held)" % held)
        t.ok(True, "# SKIP RSS under valgrind (%d KiB after)" % after)
        return
    t.ok(held < BUDGET_MIB * 1024, "3. RSS grew %d KiB while held (budget "
         "%d MiB)" % (held, BUDGET_MIB))
    if sanitized(d.pid):
        t.ok(True, "# SKIP RSS given back: ASan keeps freed memory "
             "(%d KiB after)" % after)
    else:
        t.ok(after < 4096, "3. memory given back once they quit: %d KiB "
             "above the start" % after)


def attack_tls_stall(d):
    """4. A PROT P download whose client stops reading times out."""
    f = ReuseFTP_TLS(context=tls_context(), timeout=30 * TF)
    f.connect(d.ftp_host, d.ftp_port)
    f.auth()
    f.login("alice", "alice-pw")
    f.prot_p()
    f.cwd("/")
    ds = None
    try:
        # A file that fills every buffer: the client reads nothing.
        shutil.copy(tree.path("stall.bin"),
                    os.path.join(work, "home-alice", "stall.bin"))
        ds, _ = f.ntransfercmd("RETR stall.bin")
        t0 = time.monotonic()
        f.sock.settimeout(20 * TF)
        try:
            r = f.getresp()
        except ftplib.error_temp as e:
            r = str(e)
        except (ftplib.all_errors + (socket.timeout,)) as e:
            r = "no reply: %s" % e
        el = time.monotonic() - t0
        t.ok(r.startswith("426") and el < 2 + 10 * TF,
             "4. a PROT P download that stops reading: %s after %.1f s "
             "(--data-timeout 2)" % (r[:3], el), r)
    except (ftplib.all_errors + (ssl.SSLError,)) as e:
        t.ok(False, "4. a PROT P download that stops reading", repr(e))
    finally:
        if ds is not None:
            ds.close()
        f.close()


def tls_session(d, user, pw):
    """A raw control connection in TLS, logged in, PBSZ 0 given."""
    s = socket.create_connection((d.ftp_host, d.ftp_port), timeout=30 * TF)
    read_reply(s)
    s.sendall(b"AUTH TLS\r\n")
    read_reply(s)
    ts = tls_context().wrap_socket(s)
    for line in (b"USER %s" % user.encode(), b"PASS %s" % pw.encode(),
                 b"PBSZ 0"):
        ts.sendall(line + b"\r\n")
        r = read_reply(ts, 30 * TF)
    return ts, r


def attack_prot_switch(d):
    """5. A data connection opened in clear is not used after PROT P."""
    ts, r = tls_session(d, "alice", "alice-pw")
    ts.sendall(b"PASV\r\n")
    port = pasv_port(read_reply(ts))
    plain = socket.create_connection((d.ftp_host, port), timeout=30 * TF)
    time.sleep(0.2)
    ts.sendall(b"PROT P\r\n")
    rp = read_reply(ts)
    ts.sendall(b"RETR big.bin\r\n")
    r1 = read_reply(ts, 30 * TF)
    r2 = read_reply(ts, 30 * TF) if r1.startswith("150") else ""
    got = drain(plain, 3 * TF)
    clear = tree.big[:4096] in got
    t.ok(rp.startswith("200") and not clear and not r2.startswith("226"),
         "5. PASV, plain connection, PROT P, RETR: %d bytes in clear on "
         "it, replies %s %s" % (len(got), r1[:3], r2[:3]), (rp, r1, r2))
    plain.close()
    ts.close()


def attack_names(d):
    """6. A file named with control bytes: the log and xferlog escape it."""
    name = b"esc\x1b[31mred\rforged\x07.txt"
    mark = len(d.output())
    s = session(d)
    s.sendall(b"PASV\r\n")
    port = pasv_port(read_reply(s))
    s.sendall(b"STOR " + name + b"\r\n")
    r1 = read_reply(s)
    ds = socket.create_connection((d.ftp_host, port), timeout=30 * TF)
    ds.sendall(b"forged\n")
    ds.close()
    r2 = read_reply(s, 30 * TF) if r1.startswith("150") else ""
    s.sendall(b"DELE " + name + b"\r\n")
    r3 = read_reply(s)
    s.close()
    time.sleep(0.3)
    log = log_since(d, mark).encode("utf-8", "surrogateescape")
    with open(xferlog, "rb") as f:
        xl = f.read()
    t.ok(r1.startswith("150") and r2.startswith("226") and
         r3.startswith("250"), "6. STOR and DELE of a name with ESC, CR, "
         "BEL", (r1, r2, r3))
    bad = raw_control_bytes(log)
    t.ok(not bad and b"deleted" in log, "6. no raw control byte in the log "
         "(%d bytes): %s" % (len(log), bad or "none"), log[-600:])
    bad = raw_control_bytes(xl)
    t.ok(not bad and len(xl) > 0, "6. none in the xferlog: %s" % (
        bad or "none"), xl[-300:])


def attack_port_flood(d):
    """7. Thousands of refused PORT commands: a few log lines."""
    mark = len(d.output())
    s = session(d)
    with Bystander(d) as b:
        t0 = time.monotonic()
        s.sendall(b"PORT 10,0,0,1,4,1\r\n" * PORTS)
        got = replies(s, b"\r\n", PORTS, 60 * TF)
        el = time.monotonic() - t0
    s.sendall(b"QUIT\r\n")
    drain(s, 5 * TF)
    s.close()
    time.sleep(0.5)
    lines = [l for l in log_since(d, mark).splitlines()
             if "port 1025" in l or "refused" in l]
    t.ok(got.count(b"\r\n") == PORTS, "7. %d PORT to another address "
         "refused in %.2f s" % (PORTS, el))
    t.ok(len(lines) < 100, "7. %d log lines for them (bound 100)" %
         len(lines), "\n".join(lines[:5]))
    b.max_ok("7. PORT flood")
    return mark


def attack_pasv_hold(d, lo, hi):
    """8. Every passive port held by sessions that never connect."""
    holders = []
    replies = []
    for _ in range(PASV_HOLDERS):
        s = session(d)
        s.sendall(b"PASV\r\n")
        replies.append(read_reply(s, 30 * TF)[:3])
        holders.append(s)
    with Bystander(d) as b:
        s = session(d, src="127.0.0.2")
        s.sendall(b"PASV\r\n")
        r = read_reply(s, 30 * TF)
        port = pasv_port(r)
        data = b""
        if port is not None:
            s.sendall(b"RETR hello.txt\r\n")
            # From the control connection's address, as the server asks.
            ds = socket.create_connection((d.ftp_host, port),
                                          timeout=30 * TF,
                                          source_address=("127.0.0.2", 0))
            read_reply(s, 30 * TF)
            data = drain(ds, 10 * TF)
            ds.close()
            read_reply(s, 30 * TF)
        s.close()
    t.ok(replies.count("227") == PASV_HOLDERS, "8. %d sessions hold the %d "
         "ports of --pasv-ports %d-%d" % (PASV_HOLDERS, hi - lo + 1, lo, hi),
         replies)
    t.ok(port is not None and lo <= port <= hi and data == b"hello\n",
         "8. the next user still gets a port and a file: %s" % r[:60])
    b.max_ok("8. all passive ports held")
    for s in holders:
        s.close()


def attack_throttle(d):
    """9. A good login as alice does not forgive bob's failures."""
    first = fail_login(d, "bob")
    second = fail_login(d, "bob")
    s = session(d, "alice", "alice-pw")
    s.close()
    third = fail_login(d, "bob")
    t.ok(first >= 0.5 and second >= 1.0 and third >= 1.9,
         "9. bob's failed logins, alice logging in between: %.2f s, %.2f "
         "s, then %.2f s (0.5 s doubling: 0.5, 1, 2)" % (first, second,
                                                         third))
    # The best of two (a moment of load is not the throttle).
    other = min(fail_login(d, "carol", src="127.0.0.2"),
                fail_login(d, "dave", src="127.0.0.3"))
    t.ok(0 < other < first + 1.0, "9. another address and name is not "
         "slowed by them: %.2f s" % other)


def deadlines(d):
    """Every data connection state ends (--accept-timeout 1): a passive
    port nobody connects to, a TLS handshake that never starts."""
    ts, _ = tls_session(d, "alice", "alice-pw")
    ts.sendall(b"PASV\r\n")
    port = pasv_port(read_reply(ts))
    time.sleep(1 + 2 * TF)
    try:
        socket.create_connection((d.ftp_host, port), timeout=5).close()
        gone = False
    except OSError:
        gone = True
    t.ok(gone, "an unconnected passive port closes after --accept-timeout")
    ts.sendall(b"PROT P\r\nPASV\r\n")
    read_reply(ts)
    port = pasv_port(read_reply(ts))
    raw_data = socket.create_connection((d.ftp_host, port), timeout=30 * TF)
    t0 = time.monotonic()
    got = drain(raw_data, 10 + 10 * TF)
    el = time.monotonic() - t0
    t.ok(got == b"" and el < 1 + 5 * TF, "a TLS handshake that never "
         "starts: closed after %.1f s (--accept-timeout 1)" % el)
    raw_data.close()
    ts.sendall(b"PASV\r\n")
    port = pasv_port(read_reply(ts))
    raw_data = socket.create_connection((d.ftp_host, port), timeout=30 * TF)
    ts.sendall(b"RETR big.bin\r\n")
    r1 = read_reply(ts, 30 * TF)
    r2 = read_reply(ts, 30 * TF) if r1.startswith("150") else ""
    t.ok(r1.startswith("150") and r2[:3] in ("425", "522"),
         "... and with RETR waiting on it: %s %s" % (r1[:3], r2[:3]))
    raw_data.close()
    ts.close()


def attack_tls_load(d):
    """10. 4 PROT P downloads at once, and the bystander's round trips."""
    url = "ftp://127.0.0.1:%d/tls.bin" % d.ftp_port
    n = 2 if VALGRIND else 4
    with Bystander(d) as b:
        t0 = time.monotonic()
        ps = [subprocess.Popen(["curl", "-sS", "--ssl-reqd", "-k", "-o",
                                "/dev/null", "--max-time",
                                str(int(300 * TF)), "-u", "alice:alice-pw",
                                url],
                               stdout=subprocess.DEVNULL,
                               stderr=subprocess.PIPE) for _ in range(n)]
        while all(p.poll() is None for p in ps):
            time.sleep(0.05)
        el = time.monotonic() - t0
    for p in ps:
        p.wait(300 * TF)
    codes = [p.returncode for p in ps]
    _, p50, p99, mx = b.ms()
    t.ok(codes == [0] * n, "10. %d PROT P downloads of %d MiB: %s, the "
         "first done in %.1f s (%.0f MiB/s each)" % (
             n, TLS_MIB, codes, el, TLS_MIB / el if el else 0),
         [p.stderr.read() for p in ps])
    if VALGRIND:
        # valgrind runs one thread at a time: a TLS worker's crypto (50
        # times slower under memcheck) holds the loop for its slice, so
        # what the loop does not do cannot show here.
        t.ok(True, "# SKIP p99 and median under valgrind: %s" % b.text())
        t.ok(True, "# SKIP (the same)")
        t.ok(True, "# SKIP the worst round trip too (seen: 3,090 ms at a "
             "load of 12)")
    else:
        bound = P99_MS + b.slack()
        t.ok(b.error is None and b.ms()[0] > 0 and p99 < bound,
             "10. during them: %s, p99 bound %.0f ms" % (b.text(), bound),
             b.error)
        # The median too: the load cannot excuse a loop always busy.
        t.ok(p50 < P50_MS, "10. and their median %.2f ms < %.0f ms" % (
            p50, P50_MS))
        t.ok(mx < MAX_MS + b.slack(), "10. and the worst round trip %.1f ms "
             "< %.0f ms" % (mx, MAX_MS + b.slack()))


try:
    lo, hi = free_port_range(PASV_HOLDERS)
    os.chmod(upload, 0o777)
    # Attacks on anonymous sessions, who may write in /upload.
    with start(tree, "--anon-write", "--xferlog", xferlog, "-v",
               "--pasv-ports", "%d-%d" % (lo, hi), *budget) as d:
        time.sleep(0.3)
        t.ok(d.alive(), "the daemon runs (%d KiB RSS)" % rss_kib(d.pid))
        attack_stat(d)
        attack_appe(d)
        attack_listers(d)
        attack_names(d)
        attack_port_flood(d)
        attack_pasv_hold(d, lo, hi)
        code = d.stop(timeout=60 * TF)
        out = d.output()
        t.ok(code == 0 and "Sanitizer" not in out and
             "runtime error" not in out, "SIGTERM: clean exit 0",
             out[-1500:])
        t.ok(re.search(r"suppressed \d+", out) is not None, "7. the "
             "suppressed warnings are counted in a summary line",
             out[-800:])

    # Login throttling per address and per name.
    with start(tree, "--users", users, "--login-delay", "0.5", *budget) as d:
        attack_throttle(d)
        t.eq(d.stop(timeout=60 * TF), 0, "SIGTERM: exit 0")

    if not have_tls:
        t.ok(True, "# SKIP attacks 4, 5, 10: no openssl to make a "
             "certificate")
    else:
        tls = ["--users", users, "--tls-cert", cert, "--tls-key", key,
               "--require-tls", "--data-timeout", "2"] + budget
        with start(tree, *tls) as d:
            shutil.copy(tree.path("tls.bin"),
                        os.path.join(work, "home-alice", "tls.bin"))
            attack_tls_stall(d)
            attack_prot_switch(d)
            attack_tls_load(d)
            code = d.stop(timeout=60 * TF)
            out = d.output()
            t.ok(code == 0 and "Sanitizer" not in out and
                 "runtime error" not in out, "TLS daemon: clean exit 0",
                 out[-1500:])
        with start(tree, *(tls + ["--accept-timeout", "1"])) as d:
            deadlines(d)
            t.eq(d.stop(timeout=60 * TF), 0, "SIGTERM: exit 0")
finally:
    tree.cleanup()
    shutil.rmtree(work, ignore_errors=True)
t.done()
