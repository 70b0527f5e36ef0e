# SPDX-License-Identifier: ISC
"""Helpers shared by the integration tests: TAP output, free ports, and
real daemons started on loopback (directly or through systemd's socket
activation) and stopped by PID."""

import errno
import os
import pwd
import random
import re
import shlex
import signal
import socket
import subprocess
import sys
import tempfile
import threading
import time

BUILDDIR = os.environ.get("top_builddir", os.getcwd())
SRCDIR = os.environ.get("top_srcdir", os.getcwd())


def binary(path):
    """Path of a built program, e.g. binary('daemons/clockd/clockd')."""
    return os.path.join(BUILDDIR, path)


class Tap:
    """Minimal TAP producer: one line per check, the plan at the end."""

    def __init__(self):
        self.n = 0
        self.failed = 0

    def ok(self, cond, desc, diag=None, todo=None):
        """One check; todo (a reason) marks a known failure that is being
        worked on: reported as TODO (automake's XFAIL), so it shows in
        every run's summary without failing it."""
        self.n += 1
        if not cond and todo is None:
            self.failed += 1
        if todo is not None:
            desc = "%s # TODO %s" % (desc, todo)
        print("%s %d - %s" % ("ok" if cond else "not ok", self.n, desc), flush=True)
        if not cond and diag is not None:
            for line in str(diag).splitlines() or [""]:
                print("# " + line, flush=True)
        return bool(cond)

    def eq(self, got, want, desc):
        return self.ok(got == want, desc, "got:  %r\nwant: %r" % (got, want))

    def skip_all(self, why):
        print("1..0 # SKIP %s" % why, flush=True)
        sys.exit(0)

    def done(self):
        print("1..%d" % self.n, flush=True)
        sys.exit(0)


def port_free(port):
    """Whether nobody listens on port, on any address of either family
    (a daemon's --port binds them all)."""
    try:
        with socket.socket(socket.AF_INET) as s4:
            s4.bind(("0.0.0.0", port))
            try:
                with socket.socket(socket.AF_INET6) as s6:
                    s6.setsockopt(socket.IPPROTO_IPV6, socket.IPV6_V6ONLY, 1)
                    s6.bind(("::", port))
            except OSError as e:
                if e.errno == errno.EADDRINUSE:
                    return False
                # No IPv6 here: the IPv4 check is all there is.
        return True
    except OSError:
        return False


def free_port(host="127.0.0.1"):
    """A TCP port nobody listens on right now, below the ephemeral range
    (32768-60999), so that outgoing connections of other tests cannot take
    it between this check and the daemon's bind."""
    for _ in range(200):
        port = random.randint(20000, 32000)
        if port_free(port):
            return port
    raise RuntimeError("no free port found")


def free_port_range(count):
    """(lo, hi): count consecutive free ports, below the ephemeral range
    as free_port()'s are (for --pasv-ports)."""
    for _ in range(200):
        lo = random.randint(20000, 32700 - count)
        if all(port_free(p) for p in range(lo, lo + count)):
            return lo, lo + count - 1
    raise RuntimeError("no free port range found")


def wait_port(port, host="127.0.0.1", timeout=10.0):
    """Waits until something accepts on host:port (for timeout seconds,
    scaled by the time factor); True if it did."""
    deadline = time.monotonic() + budget(timeout)
    while time.monotonic() < deadline:
        try:
            with socket.create_connection((host, port), timeout=0.5):
                return True
        except OSError:
            time.sleep(0.05)
    return False


def under_valgrind():
    """True under make check-valgrind: the daemons then run many times
    slower, without openat2 (valgrind 3.19 lacks it), and their RSS is
    valgrind's, so latency and memory figures mean nothing."""
    return os.environ.get("CLOCKWORK_VALGRIND") == "1"


def time_factor():
    """How many times slower than a plain build this one runs:
    CLOCKWORK_TIME_FACTOR, which make check sets (1 in a plain build, more
    under the sanitizers and valgrind); 1 when unset."""
    try:
        f = float(os.environ.get("CLOCKWORK_TIME_FACTOR") or 1)
    except ValueError:
        f = 1.0
    return min(max(f, 1.0), 100.0)


def budget(seconds):
    """How long to wait for something that a plain build does within
    seconds on a busy machine: a deadline, scaled by the time factor.  For
    how soon a thing must happen, use Lateness instead."""
    return seconds * time_factor()


def poll(look, timeout=10.0, done=bool, interval=0.05):
    """look() again until done(what it saw), for at most timeout seconds
    (a budget: scaled by the time factor); what it saw last."""
    deadline = time.monotonic() + budget(timeout)
    seen = look()
    while not done(seen) and time.monotonic() < deadline:
        time.sleep(interval)
        seen = look()
    return seen


class Lateness:
    """How late this process wakes up while the timed events happen: a
    thread sleeps in short steps and keeps the worst delay.  The load that
    delays it delays a daemon's timers and socket wake-ups alike, so a
    bound on how soon something happens is the expected time plus
    slack(): a floor plus three times the delay seen, measured in the same
    run over the very interval the bound judges, never more than a cap,
    so that an event a second late always fails.

        with Lateness() as late:
            ...send, read, note the times...
        ok(took <= expected + late.slack())
    """

    STEP = 0.005

    def __init__(self):
        self.worst = 0.0
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._run, daemon=True)

    def _run(self):
        while not self._stop.is_set():
            t0 = time.monotonic()
            time.sleep(self.STEP)
            self.worst = max(self.worst, time.monotonic() - t0 - self.STEP)

    def __enter__(self):
        self._thread.start()
        return self

    def __exit__(self, *exc):
        self._stop.set()
        self._thread.join()

    def slack(self, floor=0.05, cap=0.5):
        """floor + 3 x the worst delay, at most cap (at least floor)."""
        return max(floor, min(cap, floor + 3 * self.worst))

    def on_time(self, at, want, floor=0.05, cap=0.5):
        """True when every event came no earlier than its wanted time and
        no later than that plus slack(floor, cap): at and want are lists
        of seconds from the same start (a timer never fires early, so the
        lower bound needs no slack)."""
        slack = self.slack(floor, cap)
        return len(at) == len(want) and all(
            w - 0.001 <= a <= w + slack for a, w in zip(at, want))

    def __str__(self):
        return "worst wake-up %.1f ms late" % (self.worst * 1000)


def exchange_to_eof(port, data, timeout=10.0, host="127.0.0.1"):
    """Sends data on a new connection, shuts its sending side and reads
    until the server closes (for at most timeout seconds, scaled by the
    time factor): the lines that came."""
    with socket.create_connection((host, port), budget(5)) as s:
        s.sendall(data)
        s.shutdown(socket.SHUT_WR)
        return [l for _, l in read_lines(s, sys.maxsize, timeout)]


def timed_exchange(port, data, count, timeout=5.0, host="127.0.0.1"):
    """Sends data on a new connection and reads count lines: (the lines,
    when each came in seconds from the send, the Lateness seen meanwhile)."""
    with Lateness() as late:
        with socket.create_connection((host, port), budget(5)) as s:
            t0 = time.monotonic()
            s.sendall(data)
            got = read_lines(s, count, timeout)
    return [l for _, l in got], [w - t0 for w, _ in got], late


def wrapper(reexec=False):
    """The command prefix of make check-valgrind (CLOCKWORK_WRAPPER), or
    nothing.  A daemon that re-executes itself (reload) keeps its PID, so
    under valgrind each generation would overwrite the last one's %p.log:
    with reexec, valgrind follows the execve and every generation appends
    to one log of its own (--log-fd on a file opened for appending).
    Without its gdbserver (--vgdb=no): a generation that dropped root
    cannot make again the FIFOs root's first one left in /tmp."""
    words = shlex.split(os.environ.get("CLOCKWORK_WRAPPER", ""))
    if not reexec or not words:
        return words
    out, logdir = [], None
    for w in words:
        if w.startswith("--log-file="):
            logdir = os.path.dirname(w[len("--log-file="):])
        else:
            out.append(w)
    if logdir is None:
        return words
    fd, log = tempfile.mkstemp(prefix="reexec-", suffix=".log", dir=logdir)
    os.close(fd)
    return (["sh", "-c", 'exec 9>>"$0"; exec "$@"', log] + out[:1] +
            ["--trace-children=yes", "--log-fd=9", "--vgdb=no"] + out[1:])


def sanitizer_env():
    """Variables a sanitizer build needs to keep across socket activation."""
    return [k for k in ("ASAN_OPTIONS", "UBSAN_OPTIONS", "LSAN_OPTIONS")
            if k in os.environ]


class Daemon:
    """A real daemon process.  argv[0] is a path relative to the build dir.
    With activate=True it runs under systemd-socket-activate on port, which
    binds, waits for the first client and execs the daemon (same PID).
    reexec=True: the test will make it re-execute itself (see wrapper)."""

    def __init__(self, argv, env=None, activate=False, port=None,
                 host="127.0.0.1", wait=True, keep_env=(), reexec=False):
        self.port = port
        self.host = host
        self.log = tempfile.NamedTemporaryFile(prefix="daemon-", suffix=".log",
                                               delete=False)
        full_env = dict(os.environ)
        full_env.update(env or {})
        # make check-valgrind runs every daemon under this prefix.
        cmd = wrapper(reexec) + [binary(argv[0])] + list(argv[1:])
        if activate:
            names = list(keep_env) + list((env or {}).keys()) + sanitizer_env()
            pre = ["systemd-socket-activate", "-l", "%s:%d" % (
                "[%s]" % host if ":" in host else host, port)]
            for name in names:
                pre += ["-E", name]
            cmd = pre + cmd
        self.proc = subprocess.Popen(cmd, env=full_env, stdin=subprocess.DEVNULL,
                                     stdout=self.log, stderr=subprocess.STDOUT)
        if activate:
            # The activator listens at once; give it a moment to bind.
            deadline = time.monotonic() + budget(5)
            while time.monotonic() < deadline and not self._listening():
                time.sleep(0.02)
        elif wait and port is not None:
            wait_port(port, host)

    def _listening(self):
        try:
            out = subprocess.run(["ss", "-Hltn", "sport = :%d" % self.port],
                                 capture_output=True, text=True).stdout
            return bool(out.strip())
        except OSError:
            time.sleep(0.2)
            return True

    @property
    def pid(self):
        return self.proc.pid

    def alive(self):
        return self.proc.poll() is None

    def signal(self, sig):
        if self.alive():
            os.kill(self.proc.pid, sig)

    def stop(self, timeout=10.0):
        """SIGTERM, then the exit status (None if it had to be killed
        within timeout seconds, scaled by the time factor)."""
        if self.alive():
            os.kill(self.proc.pid, signal.SIGTERM)
        try:
            return self.proc.wait(budget(timeout))
        except subprocess.TimeoutExpired:
            self.proc.kill()
            self.proc.wait()
            return None

    def output(self):
        with open(self.log.name, errors="replace") as f:
            return f.read()

    def __enter__(self):
        return self

    def __exit__(self, *exc):
        self.stop()
        try:
            os.unlink(self.log.name)
        except OSError:
            pass


def proc_ids(pid):
    """What /proc/PID/status says of a process's identity: Uid and Gid
    (real, effective, saved, file system), Groups and the capability sets
    as lists of strings, keyed by those names."""
    keys = ("Uid", "Gid", "Groups", "CapInh", "CapPrm", "CapEff", "CapAmb")
    out = {}
    with open("/proc/%d/status" % pid) as f:
        for line in f:
            k, _, v = line.partition(":")
            if k in keys:
                out[k] = v.split()
    return out


def check_dropped(t, d, name, what, timeout=10.0):
    """One check: the daemon d (started as root) now runs as user name
    alone: every uid and gid that user's, its groups those of the group
    database, no capability left."""
    pw = pwd.getpwnam(name)
    want = {"Uid": [str(pw.pw_uid)] * 4, "Gid": [str(pw.pw_gid)] * 4,
            "Groups": sorted(str(g) for g in
                             os.getgrouplist(name, pw.pw_gid))}
    deadline = time.monotonic() + timeout
    while True:
        try:
            ids = proc_ids(d.pid)
        except OSError as e:
            ids = {"error": str(e)}
        got = {k: ids.get(k) for k in ("Uid", "Gid")}
        got["Groups"] = sorted(ids.get("Groups") or [])
        caps = [ids.get(k) for k in ("CapPrm", "CapEff", "CapAmb")]
        ok = got == want and all(c == ["0000000000000000"] for c in caps)
        if ok or time.monotonic() > deadline or not d.alive():
            break
        time.sleep(0.05)
    return t.ok(ok, "%s: runs as %s (uid %d, gid %d, groups %s), no "
                "capabilities" % (what, name, pw.pw_uid, pw.pw_gid,
                                  " ".join(want["Groups"])),
                "status: %r\nwant: %r\noutput: %s" % (ids, want, d.output()))


def read_lines(sock, count, timeout):
    """Reads up to count lines, for at most timeout seconds (scaled by the
    time factor) or until the peer closes or resets the connection;
    returns [(monotonic time, bytes line)]."""
    timeout = budget(timeout)
    sock.settimeout(timeout)
    buf = b""
    out = []
    deadline = time.monotonic() + timeout
    while len(out) < count and time.monotonic() < deadline:
        try:
            sock.settimeout(max(0.01, deadline - time.monotonic()))
            chunk = sock.recv(65536)
        except (socket.timeout, ConnectionResetError):
            break
        if not chunk:
            break
        buf += chunk
        while b"\n" in buf and len(out) < count:
            line, buf = buf.split(b"\n", 1)
            out.append((time.monotonic(), line + b"\n"))
    return out


def rss_kib(pid):
    """VmRSS of a process in KiB (0 when it is gone)."""
    try:
        with open("/proc/%d/status" % pid) as f:
            for line in f:
                if line.startswith("VmRSS:"):
                    return int(line.split()[1])
    except OSError:
        pass
    return 0


def check_common_cli(t, prog, options, timeout=10):
    """What every daemon's command line does alike: --help lists the given
    options and exits 0, --version names the program and the version, an
    unknown flag and nowhere to listen are usage errors (64)."""
    name = os.path.basename(prog)

    def run(args):
        return subprocess.run([binary(prog)] + args, capture_output=True,
                              text=True, timeout=timeout)
    r = run(["--help"])
    t.ok(r.returncode == 0 and all(o in r.stdout for o in options),
         "--help exits 0 and lists the options", r)
    r = run(["--version"])
    t.ok(r.returncode == 0 and re.match(r"%s \(clockwork\) \d" % re.escape(name),
                                        r.stdout),
         "--version names the program and version", r)
    r = run(["--bogus"])
    t.ok(r.returncode == 64 and "bogus" in r.stderr,
         "a bad flag exits 64 with a message", r)
    r = run([])
    t.ok(r.returncode == 64 and "--port" in r.stderr,
         "no port and no socket handed over: usage error 64", r)
