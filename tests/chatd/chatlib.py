# SPDX-License-Identifier: ISC
"""What the chatd tests share: a chatd on a free port (with --port or
through systemd-socket-activate) and a line client that knows its own WHO."""

import os
import select
import socket
import sys
import time

sys.path.insert(0, os.path.join(os.environ.get("top_srcdir", "."), "tests"))
from taplib import Daemon, free_port, time_factor, under_valgrind  # noqa: E402

CHATD = "daemons/chatd/chatd"
# The tests' deadlines are scaled by the build's time factor (make check
# sets it); under valgrind, where a chatd of hundreds of clients crawls,
# by at least 20.
SLOW = max(time_factor(), 20 if under_valgrind() else 1)


def serve(args, activate=False, host="127.0.0.1", port_flag="--port"):
    """A chatd on a free port: (port, Daemon).  Another process may take
    the port between free_port() and bind; then try another one."""
    d = None
    for _ in range(5):
        port = free_port()
        argv = [CHATD] + args
        if not activate:
            argv += [port_flag, str(port)]
        d = Daemon(argv, activate=activate, port=port, host=host)
        time.sleep(0.05)
        if d.alive():
            wait_greeting(port)
            return port, d
        d.__exit__(None, None, None)
    raise RuntimeError("chatd does not start: " + (d.output() if d else ""))


def wait_greeting(port, timeout=10.0 * SLOW):
    """Until chatd answers a client: it listens before its loop runs and
    its signal handlers are in.  The probe then leaves and waits for
    chatd to close it, so that no test finds it still in the room."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        try:
            with socket.create_connection(("127.0.0.1", port), timeout=2) as c:
                c.settimeout(2 * SLOW)
                if not c.recv(1):
                    continue
                c.shutdown(socket.SHUT_WR)
                while c.recv(65536):
                    pass
                return True
        except OSError:
            time.sleep(0.05)
    return False


def who_of(addr):
    """WHO as chatd shows a peer: host:port, [v6]:port."""
    host, port = addr[0], addr[1]
    return ("[%s]:%d" % (host, port) if ":" in host else "%s:%d" % (host, port))


class Client:
    """One chat client: a TCP connection and the lines read from it."""

    def __init__(self, port, host="127.0.0.1", rcvbuf=None, timeout=5.0):
        fam = socket.AF_INET6 if ":" in host else socket.AF_INET
        self.s = socket.socket(fam, socket.SOCK_STREAM)
        if rcvbuf is not None:
            self.s.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, rcvbuf)
        self.s.settimeout(timeout * SLOW)
        self.s.connect((host, port))
        self.s.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
        self.who = who_of(self.s.getsockname())
        self.buf = b""
        self.eof = False

    def send(self, data):
        self.s.sendall(data)

    def say(self, text):
        self.send(text + b"\n")

    def _fill(self, deadline):
        """Reads what is there (waiting until deadline); False at EOF or
        when nothing came."""
        left = deadline - time.monotonic()
        if self.eof or left <= 0:
            return False
        r, _, _ = select.select([self.s], [], [], left)
        if not r:
            return False
        try:
            chunk = self.s.recv(1 << 20)
        except (ConnectionResetError, socket.timeout):
            chunk = b""
        if not chunk:
            self.eof = True
            return False
        self.buf += chunk
        return True

    def lines(self, n, timeout=5.0):
        """Up to n lines (bytes, each with its newline)."""
        deadline = time.monotonic() + timeout * SLOW
        out = []
        while len(out) < n:
            if b"\n" in self.buf:
                line, self.buf = self.buf.split(b"\n", 1)
                out.append(line + b"\n")
                continue
            if not self._fill(deadline):
                break
        return out

    def line(self, timeout=5.0):
        got = self.lines(1, timeout)
        return got[0] if got else None

    def until(self, want, timeout=5.0):
        """Lines read up to and including want (or all read by the
        deadline)."""
        deadline = time.monotonic() + timeout * SLOW
        out = []
        while True:
            if b"\n" in self.buf:
                line, self.buf = self.buf.split(b"\n", 1)
                out.append(line + b"\n")
                if out[-1] == want:
                    return out
                continue
            if not self._fill(deadline):
                return out

    def quiet(self, wait=0.2):
        """True when nothing more arrives within wait seconds."""
        if self.buf:
            return False
        self._fill(time.monotonic() + wait * SLOW)
        return not self.buf

    def closed(self, timeout=5.0):
        """Reads to EOF: (rest, True) when the server closed in time."""
        deadline = time.monotonic() + timeout * SLOW
        while not self.eof and self._fill(deadline):
            pass
        rest, self.buf = self.buf, b""
        return rest, self.eof

    def close(self):
        self.s.close()


def seated(port, n=2, **kw):
    """n clients in the room, each past its greeting and the arrivals of
    those after it: a quiet start."""
    cs = [Client(port, **kw) for _ in range(n)]
    for i, c in enumerate(cs):
        c.lines(2 + n - 1 - i)
    return cs
