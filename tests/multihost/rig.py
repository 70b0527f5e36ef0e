# SPDX-License-Identifier: ISC
"""The multi-host rig: "hosts" as network namespaces, each running a real
clockd in its own zone, joined to the wall's namespace by a path with its
own delay, jitter and loss.

The caller runs in a namespace of its own (the wall's), made for the test
with unshare (see test_multihost.py); every host is a further network
namespace, held by a process of the rig.  Addresses come from the ranges
RFC 5737 reserves for documentation and never leave these namespaces:
host N is 198.51.100.N (TEST-NET-2), and the wall's end of the path to it
is 192.0.2.N (TEST-NET-1), point to point on devices cw-wN (wall) and
cw-hN (host).

Each path holds every packet for half the path's round trip, give or
take half its jitter (uniform, drawn for each packet on its own), and
drops the given share of them, in each direction: a host "150 ms +- 20
ms" answers a ping in 130-170 ms.
Where the kernel has the netem qdisc, a path is a veth pair with netem on
both ends.  Where it has not (as here), a path is two TUN devices joined
by netdelay (netdelay.c), a packet-level forwarder that does the same,
at a real-time priority so that a busy machine does not add its own
delays.  CLOCKWORK_RIG_PATHS=netdelay chooses it anyway.

One host can run its clockd under libfaketime (as `faketime -f +2.5s`
would), so that its clock is wrong on purpose.

stop() ends everything in reverse order and says how each part ended;
leftovers() lists what would still be there (processes, devices).
"""

import os
import re
import select
import signal
import socket
import subprocess
import sys
import time

sys.path.insert(0, os.path.join(os.path.dirname(os.path.dirname(
    os.path.abspath(__file__))), "clockwall"))
from common import faketime_env  # noqa: E402

PORT = 8010


def ns_inode(path):
    """The inode that names a namespace, e.g. of /proc/PID/ns/net."""
    try:
        return os.stat(path).st_ino
    except OSError:
        return None


class Host:
    """One host: its zone, its path from the wall, maybe a faked clock."""

    def __init__(self, index, name, zone, rtt_ms, jitter_ms=0, loss_pct=0,
                 fake=None):
        self.index = index
        self.name = name
        self.zone = zone
        self.rtt_ms = rtt_ms
        self.jitter_ms = jitter_ms
        self.loss_pct = loss_pct
        self.fake = fake
        self.addr = "198.51.100.%d" % index
        self.wall_addr = "192.0.2.%d" % index
        self.dev_wall = "cw-w%d" % index
        self.dev_host = "cw-h%d" % index
        self.holder = None
        self.path = None
        self.clockd = None
        self.stats_file = None

    @property
    def netns(self):
        return "/proc/%d/ns/net" % self.holder.pid

    def describe(self):
        s = "%s (%s) at %s: round trip %d ms" % (
            self.name, self.zone, self.addr, self.rtt_ms)
        if self.jitter_ms:
            s += " +- %d ms" % self.jitter_ms
        if self.loss_pct:
            s += ", %g %% loss each way" % self.loss_pct
        if self.fake:
            s += ", clock faked %s" % self.fake
        return s


class Rig:
    """The hosts, their paths and their clockd, started and stopped."""

    def __init__(self, hosts, netdelay, clockd, tmpdir, wrapper=(),
                 seed=None, paths="auto"):
        """paths: "netem" where the kernel has it ("auto"), else
        "netdelay"."""
        self.hosts = hosts
        self.netdelay = netdelay
        self.clockd = clockd
        self.tmpdir = tmpdir
        self.wrapper = list(wrapper)
        self.seed = seed if seed is not None else int(time.time())
        self.paths = paths
        self.netem = False
        self.stopped = False

    # --- helpers -------------------------------------------------------------
    @staticmethod
    def run(tool, *args, host=None):
        """A command (ip, tc) in the wall's namespace, or in host's; its
        output, or RuntimeError with what it said."""
        pre = ["nsenter", "--net=" + host.netns] if host else []
        r = subprocess.run(pre + [tool] + list(args), capture_output=True,
                           text=True, timeout=10)
        if r.returncode != 0:
            raise RuntimeError("%s %s: %s" % (tool, " ".join(args), r.stderr))
        return r.stdout

    def ip(self, *args, host=None):
        return self.run("ip", *args, host=host)

    def tc(self, *args, host=None):
        return self.run("tc", *args, host=host)

    def netem_works(self):
        """Whether this kernel has netem: tried on a veth pair of our own."""
        try:
            self.ip("link", "add", "cw-probe0", "type", "veth", "peer",
                    "name", "cw-probe1")
        except (RuntimeError, OSError):
            return False
        try:
            self.tc("qdisc", "add", "dev", "cw-probe0", "root", "netem",
                    "delay", "1ms")
            return True
        except (RuntimeError, OSError):
            return False
        finally:
            self.ip("link", "del", "cw-probe0")

    def in_host(self, host, argv, **kw):
        """Starts argv in host's network namespace."""
        return subprocess.Popen(["nsenter", "--net=" + host.netns] + argv,
                                **kw)

    # --- start ---------------------------------------------------------------
    def start(self, wait=30.0):
        """Every host with its path and its clockd, answering."""
        self.ip("link", "set", "lo", "up")
        self.netem = self.paths == "netem" or (self.paths == "auto" and
                                               self.netem_works())
        for h in self.hosts:
            self._start_host(h)
        deadline = time.monotonic() + wait
        for h in self.hosts:
            if not self.wait_clock(h, max(1.0, deadline - time.monotonic())):
                raise RuntimeError("%s: clockd does not answer through its "
                                   "path" % h.name)

    def _start_host(self, h):
        h.holder = subprocess.Popen(["unshare", "--net", "--", "sleep",
                                     "infinity"], stdin=subprocess.DEVNULL)
        # The holder's namespace exists once it differs from ours.
        mine = ns_inode("/proc/self/ns/net")
        deadline = time.monotonic() + 10
        while ns_inode(h.netns) in (None, mine):
            if time.monotonic() > deadline or h.holder.poll() is not None:
                raise RuntimeError("%s: no network namespace" % h.name)
            time.sleep(0.01)
        if self.netem:
            self._netem_path(h)
        else:
            self._netdelay_path(h)
        self._address(h)
        self._start_clockd(h)

    def _netdelay_path(self, h):
        """Two TUN devices joined by netdelay."""
        h.stats_file = os.path.join(self.tmpdir, "path-%d.log" % h.index)
        err = open(h.stats_file, "w")
        h.path = subprocess.Popen(
            [self.netdelay, "-a", "/proc/%d/ns/net" % os.getpid(), "-A",
             h.dev_wall, "-b", h.netns, "-B", h.dev_host,
             "-d", "%g" % (h.rtt_ms / 2), "-j", "%g" % (h.jitter_ms / 2),
             "-l", "%g" % h.loss_pct, "-s", str(self.seed + h.index), "-r"],
            stdout=subprocess.PIPE, stderr=err, stdin=subprocess.DEVNULL)
        err.close()
        ready, _, _ = select.select([h.path.stdout], [], [], 10)
        if not ready or h.path.stdout.readline().strip() != b"ready":
            raise RuntimeError("%s: netdelay did not start: %s"
                               % (h.name, open(h.stats_file).read()))

    def _netem_path(self, h):
        """A veth pair, netem on each end."""
        self.ip("link", "add", h.dev_wall, "type", "veth", "peer", "name",
                h.dev_host, "netns", str(h.holder.pid))
        for host in (None, h):
            self.tc(*self._netem_args(h, h.dev_host if host else h.dev_wall),
                    host=host)

    @staticmethod
    def _netem_args(h, dev):
        args = ["qdisc", "add", "dev", dev, "root", "netem", "delay",
                "%gms" % (h.rtt_ms / 2)]
        if h.jitter_ms:
            args.append("%gms" % (h.jitter_ms / 2))
        if h.loss_pct:
            args += ["loss", "%g%%" % h.loss_pct]
        return args

    def _address(self, h):
        """Both ends of the path up, point to point."""
        self.ip("link", "set", h.dev_wall, "up")
        self.ip("addr", "add", h.wall_addr, "peer", h.addr, "dev", h.dev_wall)
        self.ip("link", "set", "lo", "up", host=h)
        self.ip("link", "set", h.dev_host, "up", host=h)
        self.ip("addr", "add", h.addr, "peer", h.wall_addr, "dev",
                h.dev_host, host=h)

    def _start_clockd(self, h):
        env = dict(os.environ, TZ=h.zone)
        argv = [self.clockd, "-q", "-p", str(PORT)]
        if h.fake:
            fake = faketime_env(h.fake)
            if fake is None:
                raise RuntimeError("libfaketime is not installed")
            env.update(fake)
        else:
            argv = self.wrapper + argv
        log = open(os.path.join(self.tmpdir, "clockd-%d.log" % h.index), "w")
        h.clockd = self.in_host(h, argv, env=env, stdin=subprocess.DEVNULL,
                                stdout=log, stderr=subprocess.STDOUT)
        log.close()

    def wait_clock(self, h, timeout):
        """True once h's clockd sends a line through its path."""
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            try:
                with socket.create_connection((h.addr, PORT), timeout=5) as s:
                    s.settimeout(5)
                    if s.recv(64):
                        return True
            except OSError:
                time.sleep(0.2)
        return False

    def clockd_log(self, h):
        try:
            with open(os.path.join(self.tmpdir, "clockd-%d.log" % h.index)) as f:
                return f.read()
        except OSError:
            return ""

    # --- on the way ----------------------------------------------------------
    def cut(self, h):
        """The host's link goes down (its end of the path)."""
        self.ip("link", "set", h.dev_host, "down", host=h)

    def mend(self, h):
        """The link comes back; its address and route come with it."""
        self.ip("link", "set", h.dev_host, "up", host=h)

    def path_stats(self, h):
        """{'a>b': {...}, 'b>a': {...}} counters of the path (a>b is from
        the wall to the host): packets in, lost, out, and for netdelay
        the overflow and undeliverable ones."""
        if self.netem:
            return {"a>b": self._netem_stats(h.dev_wall, None),
                    "b>a": self._netem_stats(h.dev_host, h)}
        if h.path is not None and h.path.poll() is None:
            before = len(self._stats_lines(h))
            h.path.send_signal(signal.SIGUSR1)
            deadline = time.monotonic() + 5
            while (len(self._stats_lines(h)) < before + 2 and
                   time.monotonic() < deadline):
                time.sleep(0.02)
        out = {}
        for line in self._stats_lines(h):
            m = re.match(r"netdelay (\S+): (\d+) in, (\d+) lost, (\d+) "
                         r"overflow, (\d+) undeliverable, (\d+) out", line)
            if m:
                out[m.group(1)] = dict(zip(
                    ("in", "lost", "overflow", "undeliverable", "out"),
                    (int(x) for x in m.groups()[1:])))
        return out

    def _netem_stats(self, dev, host):
        """One end's netem counters: what it sent and what it dropped."""
        text = self.tc("-s", "qdisc", "show", "dev", dev, host=host)
        m = re.search(r"Sent \d+ bytes (\d+) pkt \(dropped (\d+)", text)
        sent, dropped = (int(m.group(1)), int(m.group(2))) if m else (0, 0)
        return {"in": sent + dropped, "lost": dropped, "overflow": 0,
                "undeliverable": 0, "out": sent}

    def _stats_lines(self, h):
        try:
            with open(h.stats_file) as f:
                return [x for x in f.read().splitlines()
                        if x.startswith("netdelay ")]
        except (OSError, TypeError):
            return []

    # --- stop ----------------------------------------------------------------
    def stop(self):
        """Ends every clockd (SIGTERM), path and holder, in that order.
        Returns {host name: clockd exit status} (None: had to be killed)."""
        status = {}
        if self.stopped:
            return status
        self.stopped = True
        for h in self.hosts:
            if h.clockd is not None:
                status[h.name] = self._end(h.clockd, signal.SIGTERM)
        for h in self.hosts:
            if h.path is not None:
                self._end(h.path, signal.SIGTERM)
            if h.holder is not None:
                self._end(h.holder, signal.SIGKILL)
        return status

    @staticmethod
    def _end(proc, sig, timeout=10):
        if proc.poll() is None:
            try:
                proc.send_signal(sig)
            except ProcessLookupError:
                pass
        try:
            return proc.wait(timeout)
        except subprocess.TimeoutExpired:
            proc.kill()
            proc.wait()
            return None

    def leftovers(self):
        """What is still there after stop(): processes other than this one
        (orphans reaped first) and TUN devices of the rig."""
        while True:
            try:
                pid, _ = os.waitpid(-1, os.WNOHANG)
            except ChildProcessError:
                break
            if pid == 0:
                break
        procs = []
        for d in os.listdir("/proc"):
            if d.isdigit() and int(d) != os.getpid():
                try:
                    with open("/proc/%s/cmdline" % d, "rb") as f:
                        cmd = f.read().replace(b"\0", b" ").decode(
                            errors="replace").strip()
                except OSError:
                    continue
                procs.append("%s %s" % (d, cmd))
        # A veth pair goes with the host's namespace, which the kernel
        # cleans up in the background: give it a moment.
        deadline = time.monotonic() + 5
        while True:
            devs = [ln.split(":")[1].strip().split("@")[0] for ln in
                    self.ip("-o", "link", "show").splitlines()
                    if ":" in ln and
                    ln.split(":")[1].strip().startswith("cw-")]
            if not devs or time.monotonic() > deadline:
                return procs, devs
            time.sleep(0.1)
