#!/usr/bin/env python3
# SPDX-License-Identifier: ISC
"""clockwall across hosts: the multi-host rig (rig.py), in network, mount
and PID namespaces made for this test with unshare, never touching the
machine's own network.  The scenario (wall_on_rig.py) runs in them and its
checks are relayed here as TAP.  Then three short runs prove the teardown:
the rig ended by SIGTERM, by its deadline, and killed outright (the PID
namespace takes everything with it).  After each run, no process of the
rig may be left anywhere: every one of them carries a marker in its
environment, and the rig's namespaces and TUN devices live only as long
as its processes.

Skipped where network namespaces, /dev/net/tun or faketime are missing."""

import ctypes
import os
import re
import select
import shutil
import signal
import subprocess
import sys
import tempfile
import time

sys.path.insert(0, os.path.join(os.environ.get("top_srcdir", "."), "tests"))
sys.path.insert(0, os.path.join(os.environ.get("top_srcdir", "."), "tests",
                                "clockwall"))
from common import faketime_env  # noqa: E402
from taplib import SRCDIR, Tap, binary, under_valgrind  # noqa: E402

INNER = os.path.join(SRCDIR, "tests", "multihost", "wall_on_rig.py")
NETDELAY = binary("tests/multihost/netdelay")
UNSHARE = ["unshare", "--net", "--pid", "--fork", "--kill-child", "--mount",
           "--mount-proc", "--propagation", "private", "--"]
DEADLINE = 240 * (3 if under_valgrind() else 1)

t = Tap()
runs = 0
current = None


def prerequisites():
    """Why the rig cannot run here, or None."""
    if os.geteuid() != 0:
        return "needs root for network namespaces and TUN devices"
    if shutil.which("unshare") is None:
        return "unshare is not installed (util-linux)"
    r = subprocess.run(UNSHARE + ["true"], capture_output=True, text=True)
    if r.returncode != 0:
        return ("network namespaces are not available here (unshare: %s)"
                % r.stderr.strip())
    try:
        os.close(os.open("/dev/net/tun", os.O_RDWR))
    except OSError as e:
        return "/dev/net/tun is not available here (%s)" % e.strerror
    if faketime_env("+0s") is None:
        return "libfaketime is not installed (Debian package faketime)"
    if not os.access(NETDELAY, os.X_OK):
        return "%s is not built (make check builds it)" % NETDELAY
    return None


def die_with_parent():
    """The namespaces' first process dies with this test, whatever kills
    it: unshare --kill-child then takes the rest."""
    libc = ctypes.CDLL(None, use_errno=True)
    libc.prctl(1, signal.SIGKILL)		# PR_SET_PDEATHSIG


def relay(line):
    """One line of the scenario: its checks become ours."""
    m = re.match(r"^(not ok|ok) - (.*)$", line)
    if m:
        t.ok(m.group(1) == "ok", m.group(2))
    elif line.startswith("#"):
        print(line, flush=True)
    elif line:
        print("# " + line, flush=True)


def inner_pid(outer):
    """The scenario's PID, as seen from here: unshare's only child."""
    try:
        with open("/proc/%d/task/%d/children" % (outer, outer)) as f:
            kids = f.read().split()
        return int(kids[0]) if kids else None
    except (OSError, ValueError):
        return None


def run(mode, env=None, when_up=None, timeout=DEADLINE + 60):
    """Runs the scenario in new namespaces; returns (exit status, marker,
    seen "rig up")."""
    global runs, current
    runs += 1
    marker = "%d-%d" % (os.getpid(), runs)
    # The scenario's files go in a folder of ours, removed below even when
    # the scenario itself was killed before it could remove them.
    tmp = tempfile.mkdtemp(prefix="clockwork-rig-run-")
    full = dict(os.environ, CLOCKWORK_RIG=marker, TMPDIR=tmp)
    full.update(env or {})
    current = subprocess.Popen(UNSHARE + [sys.executable, INNER, mode],
                               stdout=subprocess.PIPE,
                               stderr=subprocess.STDOUT, env=full,
                               stdin=subprocess.DEVNULL,
                               preexec_fn=die_with_parent)
    up = False
    buf = b""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        ready, _, _ = select.select([current.stdout], [], [], 1)
        if not ready:
            continue
        chunk = os.read(current.stdout.fileno(), 65536)
        if not chunk:
            break
        buf += chunk
        while b"\n" in buf:
            line, buf = buf.split(b"\n", 1)
            line = line.decode(errors="replace")
            relay(line)
            if line == "# rig up":
                up = True
                if when_up:
                    when_up(current)
    else:
        print("# the scenario did not end in %d s: killed" % timeout)
        current.kill()
    rc = current.wait()
    current = None
    shutil.rmtree(tmp, ignore_errors=True)
    return rc, marker, up


def leftovers(marker, wait=10.0):
    """Processes anywhere on the machine that carry the run's marker, and
    TUN devices of the rig in this namespace; waits for the kernel to
    finish a teardown it started."""
    tag = ("CLOCKWORK_RIG=%s" % marker).encode() + b"\0"
    deadline = time.monotonic() + wait
    while True:
        procs = []
        for d in os.listdir("/proc"):
            if not d.isdigit():
                continue
            try:
                with open("/proc/%s/environ" % d, "rb") as f:
                    if tag in f.read():
                        with open("/proc/%s/comm" % d) as c:
                            procs.append("%s (%s)" % (d, c.read().strip()))
            except OSError:
                continue
        links = subprocess.run(["ip", "-o", "link", "show"],
                               capture_output=True, text=True).stdout
        devs = [x.split(":")[1].strip() for x in links.splitlines()
                if ":" in x and x.split(":")[1].strip().startswith("cw-")]
        if (not procs and not devs) or time.monotonic() > deadline:
            return procs + devs
        time.sleep(0.2)


def on_signal(sig, frame):
    if current is not None and current.poll() is None:
        current.kill()
    sys.exit(1)


why = prerequisites()
if why:
    t.skip_all(why)
signal.signal(signal.SIGTERM, on_signal)
signal.signal(signal.SIGHUP, on_signal)

# --- the scenario ----------------------------------------------------------
rc, marker, _ = run("main")
t.eq(rc, 0, "the scenario ran to its end")
left = leftovers(marker)
t.ok(not left, "after it, nothing of the rig is left (processes, so "
     "namespaces; TUN devices)", left)

# --- teardown on a signal, at the deadline, when killed -----------------------


def term_inner(outer):
    pid = inner_pid(outer.pid)
    if pid:
        os.kill(pid, signal.SIGTERM)


rc, marker, up = run("hold", when_up=term_inner, timeout=120)
t.ok(up and rc == 3, "SIGTERM to the scenario: it tears the rig down and "
     "says so (exit %s)" % rc)
left = leftovers(marker)
t.ok(not left, "after SIGTERM, nothing of the rig is left", left)

rc, marker, up = run("hold", env={"CLOCKWORK_RIG_DEADLINE": "15"},
                     timeout=120)
t.ok(up and rc == 3, "its deadline passed: the rig is torn down (exit %s)"
     % rc)
left = leftovers(marker)
t.ok(not left, "after the deadline, nothing of the rig is left", left)

rc, marker, up = run("hold", when_up=lambda p: p.kill(), timeout=120)
t.ok(up and rc == -signal.SIGKILL, "the whole rig killed (SIGKILL to "
     "unshare, exit %s)" % rc)
left = leftovers(marker)
t.ok(not left, "after SIGKILL, the kernel has taken every process, "
     "namespace and TUN device of the rig", left)

t.done()
