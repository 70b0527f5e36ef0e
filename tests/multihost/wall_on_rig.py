#!/usr/bin/env python3
# SPDX-License-Identifier: ISC
"""clockwall over the multi-host rig (rig.py): run by test_multihost.py
inside namespaces of its own (network, mount, PID), never on its own.

  wall_on_rig.py main   the whole scenario: paths, offsets, a lossy path,
                        a cut link, a host name that moves, --once
  wall_on_rig.py hold   the rig and a wall, then wait for a signal or the
                        deadline (to prove the teardown)

It prints "ok - ..." / "not ok - ..." lines and "# ..." comments, which
the outer test numbers as TAP.  SIGTERM, SIGINT, SIGHUP and the deadline
(CLOCKWORK_RIG_DEADLINE seconds, SIGALRM) all end it through the same
teardown, which then checks that nothing of the rig is left; exit status 0
when the scenario ran to its end, 3 when it was interrupted.
"""

import os
import re
import shlex
import shutil
import signal
import socket
import statistics
import struct
import subprocess
import sys
import tempfile
import time

here = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, here)
sys.path.insert(0, os.path.join(os.path.dirname(here), "clockwall"))
sys.path.insert(0, os.path.dirname(here))
from common import (CLOCKWALL, PlainWall, split_time,  # noqa: E402
                    tmux_env, zone_skew)
from rig import PORT, Host, Rig  # noqa: E402
from taplib import binary, under_valgrind  # noqa: E402

HOSTS = [
    Host(1, "Paris", "Europe/Paris", rtt_ms=40),
    Host(2, "New York", "America/New_York", rtt_ms=150, jitter_ms=20),
    Host(3, "Tokyo", "Asia/Tokyo", rtt_ms=300, loss_pct=2),
    Host(4, "Sydney", "Australia/Sydney", rtt_ms=100, jitter_ms=20,
         fake="+2.5s"),
]
HONEST_BOUND = 0.020	# seconds: an honest clock's offset, once settled
FAKED_BOUND = 0.050	# seconds: the faked clock's, around its +2.5 s
SETTLE = 13.0		# seconds of lines: the median window (9) full, and more
SILENT_S, DOWN_S = 3.0, 10.0		# clockwall(1): silent, down (+ 2 RTT)
BACKOFF_MAX_S, CONNECT_S = 8.0, 4.0	# clockwall(1): retries, connecting
TCP_INFO_RTT = 68	# offset of tcpi_rtt in struct tcp_info


class Interrupted(BaseException):
    pass


class Report:
    """Checks as "ok - ..." lines; test_multihost.py numbers them."""

    def __init__(self):
        self.failed = 0

    def ok(self, cond, desc, diag=None):
        print("%s - %s" % ("ok" if cond else "not ok", desc), flush=True)
        if not cond:
            self.failed += 1
            if diag is not None:
                self.diag(diag)
        return bool(cond)

    def skip(self, desc, why):
        print("ok - %s # SKIP %s" % (desc, why), flush=True)

    def diag(self, text):
        for line in str(text).splitlines() or [""]:
            print("# " + line, flush=True)


def on_signal(sig, frame):
    raise Interrupted(signal.Signals(sig).name)


def timer_lag():
    """How late a short sleep wakes on this machine now (the worst of 10):
    the slack given to timing bounds beside the documented times."""
    worst = 0.0
    for _ in range(10):
        t = time.monotonic()
        time.sleep(0.02)
        worst = max(worst, time.monotonic() - t - 0.02)
    return worst


def connect_rtt(addr, port):
    """(seconds to connect, tcpi_rtt in seconds) of one TCP connection."""
    t = time.monotonic()
    with socket.create_connection((addr, port), timeout=10) as s:
        took = time.monotonic() - t
        ti = s.getsockopt(socket.IPPROTO_TCP, socket.TCP_INFO, 104)
        return took, struct.unpack_from("I", ti, TCP_INFO_RTT)[0] / 1e6


def loopback_baseline():
    """The median time to connect on loopback here and now."""
    srv = socket.socket()
    srv.bind(("127.0.0.1", 0))
    srv.listen(16)
    got = [connect_rtt("127.0.0.1", srv.getsockname()[1])[0]
           for _ in range(5)]
    srv.close()
    return statistics.median(got)


def udp_burst(addr, count):
    """count datagrams to addr's discard port, paced so that no queue on
    the way overflows."""
    with socket.socket(socket.AF_INET, socket.SOCK_DGRAM) as s:
        for i in range(count):
            s.sendto(b"x" * 32, (addr, 9))
            if i % 50 == 49:
                time.sleep(0.01)
    time.sleep(0.5)


class Tmux:
    """The live view in a real terminal (tmux), for what it shows."""

    def __init__(self, tmp, args):
        self.sock = os.path.join(tmp, "tmux")
        self.env = tmux_env(tmp, LANG="C.UTF-8")
        cmd = " ".join(shlex.quote(a) for a in [CLOCKWALL] + args)
        self.ok = self.run("-f", "/dev/null", "new-session", "-d", "-s",
                           "wall", "-x", "80", "-y", "12", cmd).returncode == 0

    def run(self, *args):
        return subprocess.run(["tmux", "-S", self.sock] + list(args),
                              capture_output=True, text=True, env=self.env,
                              timeout=10)

    def screen(self):
        return self.run("capture-pane", "-p", "-t", "wall").stdout

    def wait(self, pred, timeout):
        deadline = time.monotonic() + timeout
        while True:
            s = self.screen()
            if pred(s) or time.monotonic() > deadline:
                return s
            time.sleep(0.2)

    def stop(self):
        self.run("kill-server")


def row(screen, name):
    """The row of the live view that starts with name."""
    for line in screen.splitlines():
        if line.startswith("  %s  " % name):
            return line
    return ""


def shown_offset(line):
    """The offset in a row of the live view (seconds; NaN if none)."""
    m = re.search(r"  ([-+]\d+\.\d+)s  ", line)
    return float(m.group(1)) if m else float("nan")


def offsets(wall, name, since):
    """[(time, offset)] of name's time lines since a moment."""
    out = []
    for t, n, text in wall.since(since):
        if n == name:
            _, off, _ = split_time(text)
            if off is not None:
                out.append((t, off))
    return out


def check_paths(r, rig):
    """Each path delays packets as configured: TCP's own round trip."""
    base = loopback_baseline()
    r.diag("loopback connect baseline: %.3f ms" % (base * 1000))
    for h in rig.hosts:
        got = [connect_rtt(h.addr, PORT) for _ in range(3)]
        took = statistics.median(g[0] for g in got)
        rtt = statistics.median(g[1] for g in got)
        lo = (h.rtt_ms - h.jitter_ms) / 1000 - 0.002
        hi = (h.rtt_ms + h.jitter_ms) / 1000 + 0.030 + 20 * base
        r.ok(lo <= took <= hi and lo <= rtt <= hi,
             "%s: TCP sees the path's round trip (connect %.0f ms, "
             "tcpi_rtt %.0f ms; %.0f-%.0f ms expected)"
             % (h.describe(), took * 1000, rtt * 1000, lo * 1000, hi * 1000))


def check_loss(r, rig, lossy, clean):
    """The lossy path drops about its share of packets, the others none."""
    before = rig.path_stats(lossy)["a>b"]
    udp_burst(lossy.addr, 1000)
    after = rig.path_stats(lossy)["a>b"]
    lost = after["lost"] - before["lost"]
    seen = after["in"] - before["in"]
    r.ok(seen >= 1000 and 1 <= lost <= 50,
         "%s: the path drops packets (%d of %d, %g %% set)"
         % (lossy.name, lost, seen, lossy.loss_pct))
    before = rig.path_stats(clean)["a>b"]
    udp_burst(clean.addr, 200)
    after = rig.path_stats(clean)["a>b"]
    r.ok(after["in"] - before["in"] >= 200 and after["lost"] == before["lost"],
         "%s: a path without loss drops nothing (%d packets)"
         % (clean.name, after["in"] - before["in"]))


def scenario(r, rig, tmp):
    by = {h.name: h for h in rig.hosts}
    paris, newyork, tokyo, sydney = (by[n] for n in
                                     ("Paris", "New York", "Tokyo", "Sydney"))
    lag = timer_lag()
    slack = 0.5 + 20 * lag
    r.diag("timer lag here now %.1f ms: timing slack %.2f s"
           % (lag * 1000, slack))
    check_paths(r, rig)
    check_loss(r, rig, tokyo, paris)

    # A name for Paris in a private /etc/hosts, resolved from files only.
    hosts_file = os.path.join(tmp, "hosts")
    with open(hosts_file, "w") as f:
        f.write("127.0.0.1 localhost\n%s moving.test\n" % paris.addr)
    nss = os.path.join(tmp, "nsswitch.conf")
    with open(nss, "w") as f:
        f.write("hosts: files\n")
    r.ok(subprocess.run(["mount", "--bind", hosts_file, "/etc/hosts"]
                        ).returncode == 0 and
         subprocess.run(["mount", "--bind", nss, "/etc/nsswitch.conf"]
                        ).returncode == 0,
         "a private /etc/hosts names moving.test (%s, Paris)" % paris.addr)

    args = ["%s=%s:%d" % (h.name, h.addr, PORT) for h in rig.hosts]
    args.append("Moving=moving.test:%d" % PORT)
    names = [h.name for h in rig.hosts] + ["Moving"]
    zones = {h.name: h.zone for h in rig.hosts}
    zones["Moving"] = paris.zone
    wall = PlainWall(args)
    tmux = Tmux(tmp, args) if shutil.which("tmux") else None
    try:
        scenario_wall(r, rig, wall, tmux, names, zones, slack, hosts_file,
                      paris, newyork, tokyo, sydney)
    finally:
        if tmux is not None:
            tmux.stop()
        wall.stop()


def scenario_wall(r, rig, wall, tmux, names, zones, slack, hosts_file,
                  paris, newyork, tokyo, sydney):
    # --- every clock ticks; the offsets settle -------------------------------
    first = {}
    deadline = time.monotonic() + 30
    while len(first) < len(names) and time.monotonic() < deadline:
        ln = wall.wait_for(lambda n, s: split_time(s)[0] is not None and
                           n not in first, deadline - time.monotonic())
        if ln:
            first[ln[1]] = ln[0]
    r.ok(len(first) == len(names), "every clock's time arrives over its "
         "path (%s)" % ", ".join(sorted(first)), wall.lines[-10:])
    start = max(first.values()) if first else time.monotonic()
    wall.wait_for(lambda n, s: False, SETTLE)
    settled = time.monotonic()

    for name in names:
        shown = [s for _, n, s in wall.since(start) if n == name]
        skew = zone_skew(shown[-1], zones[name]) if shown else None
        want = 3 if name == "Sydney" else 0
        r.ok(skew is not None and abs(skew - want) <= 1.5,
             "%s shows %s's time (%s, %s s from it now)"
             % (name, zones[name], shown[-1] if shown else None, skew))
    bad = [(n, s) for _, n, s in wall.lines if split_time(s)[0] is None]
    r.ok(not bad, "no clock went silent or down on its bad path "
         "(up to 300 ms and 2 %% loss) in %.0f s" % (settled - start), bad)
    n_tokyo = len([1 for _, n, s in wall.since(start) if n == "Tokyo"])
    r.ok(n_tokyo >= 0.7 * (settled - start),
         "Tokyo, behind 300 ms and loss, keeps its row ticking (%d lines "
         "in %.0f s)" % (n_tokyo, settled - start))
    st = rig.path_stats(tokyo)
    r.diag("Tokyo's path so far: %d of %d packets lost to the host, %d of "
           "%d from it" % (st["a>b"]["lost"], st["a>b"]["in"],
                           st["b>a"]["lost"], st["b>a"]["in"]))

    # The offsets, once the median window holds this connection's lines.
    r.diag("offsets after %.0f s of lines (settled value; range of the "
           "last 5 s):" % SETTLE)
    for name in names:
        got = offsets(wall, name, start)
        tail = [o for t, o in got if t >= settled - 5]
        last = got[-1][1] if got else None
        want = 2.5 if name == "Sydney" else 0.0
        bound = FAKED_BOUND if name == "Sydney" else HONEST_BOUND
        desc = ("%s: offset %s within %.0f ms of %+.1f s"
                % (name, "%+.3f s" % last if last is not None else "none",
                   bound * 1000, want))
        r.diag("  %-8s %+.3f s  (%+.3f .. %+.3f, %d lines)"
               % (name, last if last is not None else float("nan"),
                  min(tail) if tail else float("nan"),
                  max(tail) if tail else float("nan"), len(got)))
        if under_valgrind() and name != "Sydney":
            r.skip(desc, "clockd runs under valgrind, which delays its ticks")
        else:
            r.ok(last is not None and abs(last - want) <= bound, desc,
                 got[-10:])
    offs = {n: [s for _, nm, s in wall.since(settled - 3) if nm == n]
            for n in names}
    r.ok(offs["Sydney"] and all(split_time(s)[2] for s in offs["Sydney"]),
         "Sydney (+2.5 s) is shown off", offs["Sydney"])
    r.ok(all(not split_time(s)[2] for n in names if n != "Sydney"
             for s in offs[n]), "the honest clocks are not shown off")

    # --- the live view --------------------------------------------------------
    if tmux is None or not tmux.ok:
        r.skip("the live view over the rig", "tmux is not available")
    else:
        shot = tmux.wait(lambda s: "5 up, 0 down, 1 off" in s and
                         row(s, "Sydney").rstrip().endswith("off"), 10)
        r.ok("5 clocks, 5 up, 0 down, 1 off" in shot and
             "OFFSET" in shot and
             abs(shown_offset(row(shot, "Sydney")) - 2.5) <= FAKED_BOUND and
             all(abs(shown_offset(row(shot, n))) <= (
                 0.5 if under_valgrind() else HONEST_BOUND)
                 for n in names if n != "Sydney") and
             row(shot, "Sydney").rstrip().endswith("off") and
             all(row(shot, n).rstrip().endswith("up") for n in names
                 if n != "Sydney"),
             "the live view shows each offset, Sydney off", shot)
        r.diag("the live view over the rig (tmux capture-pane, 80x12):")
        for line in shot.rstrip("\n").splitlines():
            r.diag("  | " + line)

    # --- a cut link; a name that moves ------------------------------------------
    with open(hosts_file, "w") as f:
        f.write("127.0.0.1 localhost\n%s moving.test\n" % newyork.addr)
    rig.cut(paris)
    cut = time.monotonic()
    r.diag("Paris's link cut; moving.test now names %s (New York)"
           % newyork.addr)
    live = tmux is not None and tmux.ok
    shots = []
    silent = wall.wait_for(lambda n, s: n == "Paris" and s == "silent",
                           SILENT_S + 1 + slack + 2)
    if live:
        shots.append(("Paris silent", tmux.wait(
            lambda x: "silent" in row(x, "Paris"), 2)))
    down = wall.wait_for(lambda n, s: n == "Paris" and s.startswith("down"),
                         DOWN_S + slack + 2)
    if live:
        shots.append(("Paris down", tmux.wait(
            lambda x: "down" in row(x, "Paris"), 2)))
    moved = wall.wait_for(lambda n, s: n == "Moving" and
                          zone_skew(s, newyork.zone) is not None and
                          zone_skew(s, newyork.zone) <= 2,
                          0.5 + CONNECT_S + 2 + slack)
    if live:
        shots.append(("Moving found at New York's address", tmux.screen()))
    last = [t for t, n, s in wall.lines if n == "Paris" and
            split_time(s)[0] is not None and t < (silent or down or
                                                  (0, 0))[0]]
    last = last[-1] if last else cut
    rtt2 = 2 * paris.rtt_ms / 1000
    if silent:
        took = silent[0] - last
        r.ok(SILENT_S - 0.05 <= took <= SILENT_S + rtt2 + slack,
             "a cut link: silent %.2f s after the last line (%.2f s "
             "documented)" % (took, SILENT_S + rtt2))
    else:
        r.ok(False, "a cut link: shown silent", wall.lines[-10:])
    if down:
        took = down[0] - last
        r.ok(down[2] == "down (silent)" and
             DOWN_S - 0.05 <= took <= DOWN_S + rtt2 + slack,
             "then down %.2f s after the last line (%.2f s documented): %r"
             % (took, DOWN_S + rtt2, down[2]))
    else:
        r.ok(False, "then down", wall.lines[-10:])
    moving_down = [t for t, n, s in wall.lines if n == "Moving" and
                   s.startswith("down")]
    r.ok(moved is not None and moving_down,
         "Moving, whose name now points to New York, is found there on the "
         "next reconnect (%s, %.1f s after it was down)"
         % (moved and moved[2], moved[0] - moving_down[-1]
            if moved and moving_down else -1))
    during = wall.since(cut + 0.5)
    for h in (newyork, tokyo, sydney):
        n = len([1 for _, nm, s in during if nm == h.name and
                 split_time(s)[0] is not None])
        r.ok(n >= 0.6 * (time.monotonic() - cut - 0.5),
             "%s keeps ticking meanwhile (%d lines)" % (h.name, n))
    for label, shot in shots:
        r.diag("the live view with Paris's link cut: %s" % label)
        for line in shot.rstrip("\n").splitlines()[:8]:
            r.diag("  | " + line)

    rig.mend(paris)
    mended = time.monotonic()
    back = wall.wait_for(lambda n, s: n == "Paris" and
                         split_time(s)[0] is not None,
                         BACKOFF_MAX_S + CONNECT_S + 1 + slack + 2)
    limit = BACKOFF_MAX_S + CONNECT_S + 1 + slack
    r.ok(back is not None and back[0] - mended <= limit,
         "the link back: Paris ticks again %.1f s later (at most %.1f s: a "
         "retry after the back-off, a connection, a line)"
         % ((back[0] - mended) if back else -1, limit))
    r.ok(not [1 for t, n, s in wall.lines if n == "Paris" and
              cut + 0.2 < t < mended and split_time(s)[0] is not None],
         "Paris showed no time while its link was cut")

    rc = wall.stop()
    err = wall.proc.stderr.read().decode(errors="replace")
    r.ok(rc == 0 and err == "", "SIGTERM ends the wall with exit 0, "
         "nothing on stderr (%r, %r)" % (rc, err[:200]))

    # --- --once over the rig ----------------------------------------------------
    once = [CLOCKWALL, "--once", "--timeout", "8"] + args_of(rig)
    t0 = time.monotonic()
    res = subprocess.run(once, capture_output=True, text=True, timeout=30)
    took = time.monotonic() - t0
    rows = {}
    for line in res.stdout.splitlines():
        name, _, text = line.partition("  ")
        rows[name.strip()] = split_time(text.strip())
    r.ok(res.returncode == 1 and rows.get("Sydney", (0, 0, 0))[2] and
         not any(rows.get(h.name, (0, 0, 1))[2] for h in rig.hosts
                 if h.name != "Sydney"),
         "--once: Sydney off, the others not, exit 1 (%.1f s)" % took,
         res.stdout + res.stderr)
    res = subprocess.run(once[:2] + ["--max-offset", "3"] + once[2:],
                         capture_output=True, text=True, timeout=30)
    r.ok(res.returncode == 0 and "off" not in res.stdout,
         "--once --max-offset 3: nobody off, exit 0", res.stdout + res.stderr)
    for h in rig.hosts:
        st = rig.path_stats(h)
        r.diag("path to %s: to it %d packets, %d lost; from it %d, %d lost"
               % (h.name, st["a>b"]["in"], st["a>b"]["lost"],
                  st["b>a"]["in"], st["b>a"]["lost"]))


def args_of(rig):
    return ["%s=%s:%d" % (h.name, h.addr, PORT) for h in rig.hosts]


def main():
    mode = sys.argv[1] if len(sys.argv) > 1 else "main"
    deadline = int(float(os.environ.get("CLOCKWORK_RIG_DEADLINE", "240")))
    for sig in (signal.SIGTERM, signal.SIGINT, signal.SIGHUP,
                signal.SIGALRM):
        signal.signal(sig, on_signal)
    signal.alarm(max(1, deadline))
    r = Report()
    tmp = tempfile.mkdtemp(prefix="clockwork-rig-")
    wrapper = os.environ.get("CLOCKWORK_WRAPPER", "").split()
    rig = Rig(HOSTS, binary("tests/multihost/netdelay"),
              binary("daemons/clockd/clockd"), tmp,
              wrapper=wrapper if mode == "main" else (),
              paths=os.environ.get("CLOCKWORK_RIG_PATHS", "auto"))
    interrupted = None
    wall = None
    try:
        r.diag("rig: %d hosts, deadline %d s" % (len(HOSTS), deadline))
        # libfaketime keeps state in /dev/shm: a private one goes with us.
        subprocess.run(["mount", "-t", "tmpfs", "-o", "size=1m,mode=1777",
                        "tmpfs", "/dev/shm"], check=True)
        rig.start()
        r.diag("paths: %s" % ("veth pairs with netem" if rig.netem else
                              "TUN devices joined by netdelay"))
        for h in rig.hosts:
            r.diag("  " + h.describe())
        r.ok(True, "the rig is up: %d hosts, each clockd answering through "
             "its path" % len(HOSTS))
        if mode == "hold":
            wall = PlainWall(args_of(rig))
            print("# rig up", flush=True)
            while True:
                signal.pause()
        scenario(r, rig, tmp)
    except Interrupted as e:
        interrupted = str(e)
        r.diag("interrupted by %s: tearing the rig down" % interrupted)
    except Exception as e:		# a broken rig is a failed check
        r.ok(False, "the scenario ran to its end", "%s: %s"
             % (type(e).__name__, e))
    finally:
        for sig in (signal.SIGTERM, signal.SIGINT, signal.SIGHUP,
                    signal.SIGALRM):
            signal.signal(sig, signal.SIG_IGN)
        signal.alarm(0)
        if wall is not None:
            wall.stop()
        status = rig.stop()
        if mode == "main" and interrupted is None:
            r.ok(all(v == 0 for v in status.values()) and
                 len(status) == len(HOSTS),
                 "every clockd stopped cleanly on SIGTERM (%s)" % status,
                 "\n".join(rig.clockd_log(h) for h in rig.hosts))
        procs, devs = rig.leftovers()
        r.ok(not procs and not devs, "torn down%s: no process and no TUN "
             "device of the rig left" % (" after %s" % interrupted
                                         if interrupted else ""),
             "\n".join(procs + devs))
        subprocess.run(["rm", "-rf", tmp])
    sys.exit(3 if interrupted else 0)


if __name__ == "__main__":
    main()
