#!/usr/bin/env python3
# SPDX-License-Identifier: ISC
"""Out of file descriptors: clockd pauses accepting instead of spinning,
keeps its clients ticking, and serves newcomers once descriptors free up."""

import os
import resource
import socket
import subprocess
import sys
import time

sys.path.insert(0, os.path.join(os.environ.get("top_srcdir", "."), "tests"))
from taplib import Tap, binary, budget, free_port, read_lines, wait_port  # noqa: E402

t = Tap()


def cpu_seconds(pid):
    with open("/proc/%d/stat" % pid) as f:
        fields = f.read().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


def limit_fds():
    resource.setrlimit(resource.RLIMIT_NOFILE, (48, 48))


port = free_port()
# --max-clients above the descriptor limit, so that accept meets EMFILE.
proc = subprocess.Popen([binary("daemons/clockd/clockd"), "--port", str(port),
                         "--max-clients", "1000"], preexec_fn=limit_fds,
                        stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, text=True)
try:
    t.ok(wait_port(port), "clockd listens with only 48 descriptors")
    socks = []
    for _ in range(80):
        try:
            socks.append(socket.create_connection(("127.0.0.1", port), timeout=2))
        except OSError:
            break
    # The kernel completes handshakes into the backlog even when clockd
    # cannot accept; give the loop time to meet EMFILE.
    time.sleep(1.5)
    c0 = cpu_seconds(proc.pid)
    time.sleep(2.0)
    used = cpu_seconds(proc.pid) - c0
    t.ok(used < 0.5, "no busy loop while out of descriptors (%.2f s CPU in 2 s)" % used)
    first = socks[0]
    lines = read_lines(first, 1, 3)
    t.ok(len(lines) == 1, "an accepted client keeps ticking", lines)
    for s in socks:
        s.close()
    time.sleep(1.5)
    late = socket.create_connection(("127.0.0.1", port), timeout=2)
    lines = read_lines(late, 1, 4)
    t.ok(len(lines) == 1, "once descriptors free up a new client is served", lines)
    late.close()
finally:
    proc.terminate()
    try:
        _, err = proc.communicate(timeout=budget(5))
    except subprocess.TimeoutExpired:
        proc.kill()
        _, err = proc.communicate()
t.ok("pausing" in err and "Too many open files" in err,
     "the pause is logged with its reason", err[-600:])
t.eq(proc.returncode, 0, "SIGTERM still exits 0")
t.done()
