#!/usr/bin/env python3
# SPDX-License-Identifier: ISC
"""Memory of reverbd with many lines in flight (a measurement, not a test).

Starts reverbd (a separate process: each process may hold only ~20,000
descriptors), connects N clients spread over several source addresses
127.0.0.x, lets each send K lines, and while every line is in flight reads
the daemon's resident memory (VmRSS) and its own count of pending echoes
(the STATUS= it sends to NOTIFY_SOCKET).  Then it checks that every echo
came back right.

    tests/reverbd/load.py BUILD/daemons/reverbd/reverbd [-n 10000] [-k 1]

With --peer, the first argument is another echo server's command line
instead (e.g. the book's reverb2), with {port} and {delay} in it; it is
measured the same way, without the daemon's own counts.
"""

import argparse
import os
import re
import selectors
import signal
import socket
import subprocess
import sys
import tempfile
import time


def rss_kib(pid):
    with open("/proc/%d/status" % pid) as f:
        for line in f:
            if line.startswith("VmRSS:"):
                return int(line.split()[1])
    return None


def free_port():
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


class Notify:
    """The daemon's sd_notify messages, as systemd would receive them."""

    def __init__(self, path):
        self.sock = socket.socket(socket.AF_UNIX, socket.SOCK_DGRAM)
        self.sock.bind(path)
        self.sock.setblocking(False)
        self.status = None
        self.ready = False

    def poll(self):
        while True:
            try:
                msg = self.sock.recv(4096).decode(errors="replace")
            except BlockingIOError:
                return
            for line in msg.splitlines():
                if line == "READY=1":
                    self.ready = True
                elif line.startswith("STATUS="):
                    self.status = (time.monotonic(), line[7:])

    def wait_status(self, timeout):
        """The first STATUS= sent from now on (the daemon sends one every
        few seconds)."""
        self.poll()
        after = time.monotonic()
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            self.poll()
            if self.status is not None and self.status[0] > after:
                return self.status[1]
            time.sleep(0.05)
        return None


def main():
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("reverbd")
    ap.add_argument("-n", "--clients", type=int, default=10000)
    ap.add_argument("-k", "--lines", type=int, default=1,
                    help="lines in flight per client")
    ap.add_argument("-d", "--delay", type=float, default=8.0)
    ap.add_argument("--length", type=int, default=16, help="bytes per line")
    ap.add_argument("--sources", type=int, default=4,
                    help="source addresses 127.0.0.1..N")
    ap.add_argument("--peer", action="store_true",
                    help="the argument is a peer's command line")
    args = ap.parse_args()

    tmp = tempfile.mkdtemp(prefix="reverb-load-")
    notify = Notify(os.path.join(tmp, "notify"))
    port = free_port()
    env = dict(os.environ, NOTIFY_SOCKET=os.path.join(tmp, "notify"))
    log = open(os.path.join(tmp, "log"), "w+")
    if args.peer:
        argv = args.reverbd.format(port=port, delay=args.delay).split()
    else:
        argv = [args.reverbd, "-v", "-d", str(args.delay),
                "--idle-timeout", str(4 * args.delay + 60),
                "--max-clients", "19000",
                "--max-pending", str(max(32, args.lines)),
                "-l", "127.0.0.1:%d" % port]
    d = subprocess.Popen(argv, env=env, stdout=log, stderr=subprocess.STDOUT)
    deadline = time.monotonic() + 10
    while not notify.ready and time.monotonic() < deadline:
        if args.peer:
            try:
                socket.create_connection(("127.0.0.1", port), 1).close()
                notify.ready = True
            except OSError:
                pass
        notify.poll()
        time.sleep(0.02)
    if not notify.ready:
        sys.exit("the server did not become ready")
    out = {"rss_start_kib": rss_kib(d.pid)}

    sel = selectors.DefaultSelector()
    socks = []
    t0 = time.monotonic()
    for i in range(args.clients):
        s = socket.socket()
        s.bind(("127.0.0.%d" % (1 + i % args.sources), 0))
        s.connect(("127.0.0.1", port))
        s.setblocking(False)
        socks.append(s)
        sel.register(s, selectors.EVENT_READ, [bytearray(), i])
    out["connect_s"] = round(time.monotonic() - t0, 2)
    # Every client accepted before the idle figure is taken.
    st = notify.wait_status(15) if not args.peer else time.sleep(3)
    out["status_idle"] = st
    out["rss_idle_kib"] = rss_kib(d.pid)

    pad = "x" * max(0, args.length - 12)
    lines = {}
    t_send = time.monotonic()
    for s in socks:
        i = sel.get_key(s).data[1]
        ls = [("C%05dL%03d%s" % (i, j, pad)).encode()[:args.length]
              for j in range(args.lines)]
        lines[s] = ls
        s.sendall(b"".join(l + b"\n" for l in ls))
    out["send_s"] = round(time.monotonic() - t_send, 2)

    def pump(until, timeout):
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if until():
                return True
            for key, _ in sel.select(0.2):
                try:
                    key.data[0].extend(key.fileobj.recv(65536))
                except BlockingIOError:
                    pass
        return until()

    # All upper-case echoes back: every line is now in flight.
    want_upper = args.lines
    got_upper = pump(lambda: all(k.data[0].count(b"\n") >= want_upper
                                 for k in sel.get_map().values()),
                     args.delay * 0.7)
    out["all_upper_back"] = got_upper
    out["upper_back_s"] = round(time.monotonic() - t_send, 2)
    out["rss_in_flight_kib"] = rss_kib(d.pid)
    st = notify.wait_status(6) if not args.peer else time.sleep(1)
    out["rss_in_flight_later_kib"] = rss_kib(d.pid)
    out["status_in_flight"] = st
    out["in_flight_at_status_s"] = round(time.monotonic() - t_send, 2)
    m = re.search(r"(\d+) lines in flight", st or "")
    out["lines_in_flight"] = int(m.group(1)) if m else None
    m = re.search(r"(\d+) echoes owed", st or "")
    out["echoes_owed"] = int(m.group(1)) if m else None

    total = 3 * args.lines
    done = pump(lambda: all(k.data[0].count(b"\n") >= total
                            for k in sel.get_map().values()),
                3 * args.delay + 30)
    out["all_echoes_back"] = done
    bad = 0
    for s in socks:
        got = bytes(sel.get_key(s).data[0]).splitlines()
        exp = sorted([b"\t " + l.upper() for l in lines[s]] +
                     [b"\t " + l for l in lines[s]] +
                     [b"\t " + l.lower() for l in lines[s]])
        if sorted(got) != exp:
            bad += 1
    out["clients_with_wrong_echoes"] = bad
    out["rss_after_kib"] = rss_kib(d.pid)
    out["status_after"] = notify.wait_status(6) if not args.peer else None
    for s in socks:
        s.close()
    d.send_signal(signal.SIGTERM)
    out["exit"] = d.wait(30)
    log.seek(0)
    for line in log:
        if "echo timers" in line:
            out["echo_timers"] = line.split("echo timers: ", 1)[1].strip()
    in_flight = out["lines_in_flight"] or (args.clients * args.lines
                                           if args.peer else None)
    if out["rss_in_flight_kib"] and out["rss_idle_kib"] and in_flight:
        out["bytes_per_line_in_flight_from_rss"] = round(
            (out["rss_in_flight_kib"] - out["rss_idle_kib"]) * 1024 /
            in_flight, 1)
    if out["rss_idle_kib"] and out["rss_start_kib"]:
        out["bytes_per_idle_client_from_rss"] = round(
            (out["rss_idle_kib"] - out["rss_start_kib"]) * 1024 / args.clients, 1)
    for k, v in out.items():
        print("%s: %s" % (k, v))
    return 0 if done and bad == 0 and out["exit"] == 0 else 1


if __name__ == "__main__":
    sys.exit(main())
