# SPDX-License-Identifier: ISC
"""Helpers for the clockwork-ftpd tests: a served tree made at run time,
the daemon on a free loopback port, and ftplib sessions."""

import ftplib
import hashlib
import os
import pwd
import random
import shutil
import socket
import ssl
import sys
import tempfile

sys.path.insert(0, os.path.join(os.environ.get("top_srcdir", "."), "tests"))
from taplib import Daemon, budget, free_port  # noqa: E402

FTPD = "daemons/ftpd/clockwork-ftpd"

# Started as root (as CI runs the tests), the daemon serves as an
# unprivileged user once listening: the tests name it (--user), and give
# it what it must write (writable()).  Run as anybody else, it stays who
# it is.
SERVE_AS = "nobody" if os.geteuid() == 0 else None


def serve_as_args():
    """The --user the tests start a daemon with, if any."""
    return ["--user", SERVE_AS] if SERVE_AS else []


def writable(*paths):
    """Gives paths to the user the daemon serves as (when root)."""
    if SERVE_AS:
        pw = pwd.getpwnam(SERVE_AS)
        for p in paths:
            os.chown(p, pw.pw_uid, pw.pw_gid)


def pattern(size, seed=1):
    """size bytes of a fixed pseudo-random pattern (same every run)."""
    rnd = random.Random(seed)
    chunk = rnd.randbytes(1 << 20)
    out = bytearray()
    i = 0
    while len(out) < size:
        # Vary each MiB so that a misplaced chunk is caught.
        out += hashlib.sha256(b"%d" % i).digest() + chunk[32:]
        i += 1
    return bytes(out[:size])


def sha256_file(path):
    h = hashlib.sha256()
    with open(path, "rb") as f:
        for block in iter(lambda: f.read(1 << 20), b""):
            h.update(block)
    return h.hexdigest()


class Tree:
    """top/root is served; top/secret.txt is outside it."""

    def __init__(self, big=3 * 1024 * 1024):
        self.top = tempfile.mkdtemp(prefix="ftpd-test-")
        os.chmod(self.top, 0o755)
        self.root = os.path.join(self.top, "root")
        os.makedirs(os.path.join(self.root, "pub", "sub dir"))
        os.makedirs(os.path.join(self.root, "empty"))
        self.write("secret.txt", b"outside the root\n", top=True)
        self.write("hello.txt", b"hello\n")
        self.write("pub/text.txt", b"one\ntwo\nthree\n")
        self.write("pub/sub dir/caf\u00e9.txt",
                   b"utf-8 name\n")
        self.big = pattern(big)
        self.write("pub/big.bin", self.big)
        os.symlink("/etc/passwd", os.path.join(self.root, "pub", "abs"))
        os.symlink("../../secret.txt", os.path.join(self.root, "pub", "up"))
        os.symlink("../hello.txt", os.path.join(self.root, "pub", "ok"))
        os.symlink(self.top, os.path.join(self.root, "topdir"))

    def path(self, rel):
        return os.path.join(self.root, rel)

    def write(self, rel, data, top=False):
        p = os.path.join(self.top if top else self.root, rel)
        with open(p, "wb") as f:
            f.write(data)
        return p

    def snapshot(self):
        """(path, size, mtime, mode) of everything under top."""
        out = []
        for d, dirs, files in os.walk(self.top):
            for n in sorted(dirs + files):
                st = os.lstat(os.path.join(d, n))
                out.append((os.path.join(d, n), st.st_size,
                            st.st_mtime_ns, st.st_mode))
        return sorted(out)

    def cleanup(self):
        shutil.rmtree(self.top, ignore_errors=True)


def start(tree, *extra, host="127.0.0.1", activate=False, wrap=None):
    port = free_port(host)
    hp = "[%s]:%d" % (host, port) if ":" in host else "%s:%d" % (host, port)
    argv = [FTPD, "-r", tree.root, "--login-delay", "0.2"] + serve_as_args()
    if not activate:
        argv += ["-l", hp]
    argv += list(extra)
    d = Daemon(argv, port=port, host=host, activate=activate)
    d.ftp_port = port
    d.ftp_host = host
    return d


def login(d, user="anonymous", passwd="test@example.com", timeout=20):
    f = ftplib.FTP(timeout=budget(timeout))
    f.connect(d.ftp_host, d.ftp_port)
    if user is not None:
        f.login(user, passwd)
    return f


def cmd(f, line):
    """Sends a command; returns the whole reply text whatever its code."""
    try:
        return f.sendcmd(line)
    except ftplib.all_errors as e:
        return str(e)


def retr(f, path, rest=None):
    """RETR into memory; (reply, bytes)."""
    chunks = []
    try:
        r = f.retrbinary("RETR " + path, chunks.append, rest=rest)
    except ftplib.all_errors as e:
        r = str(e)
    return r, b"".join(chunks)


def recv_all(s):
    """Everything a data connection sends, up to its close."""
    got = b""
    while True:
        chunk = s.recv(65536)
        if not chunk:
            return got
        got += chunk


def raw(host, port, timeout=10):
    """A plain socket to the control port, greeting read."""
    s = socket.create_connection((host, port), timeout=budget(timeout))
    s.recv(4096)
    return s


_pending = {}


def read_reply(s, timeout=10):
    """Reads one full (possibly multi-line) reply from a raw socket; bytes
    after it are kept for the next call (timeout scaled by the time
    factor)."""
    s.settimeout(budget(timeout))
    buf = _pending.pop(id(s), b"")
    while True:
        lines = buf.split(b"\r\n")
        for i, l in enumerate(lines[:-1]):
            if len(l) >= 4 and l[:3].isdigit() and l[3:4] == b" " and \
                    (i == 0 or l[:3] == lines[0][:3]):
                _pending[id(s)] = b"\r\n".join(lines[i + 1:])
                return b"\r\n".join(lines[:i + 1]).decode("utf-8",
                                                             "replace")
        chunk = s.recv(65536)
        if not chunk:
            return buf.decode("utf-8", "replace")
        buf += chunk


def rss_kib(pid):
    """The resident set of a process, from /proc (KiB)."""
    with open("/proc/%d/status" % pid) as f:
        for line in f:
            if line.startswith("VmRSS:"):
                return int(line.split()[1])
    return 0


class ReuseFTP_TLS(ftplib.FTP_TLS):
    """FTP_TLS whose data connections resume the control session (plain
    FTP_TLS does not, and the server refuses them with 522)."""

    def ntransfercmd(self, cmd, rest=None):
        conn, size = ftplib.FTP.ntransfercmd(self, cmd, rest)
        if self._prot_p:
            conn = self.context.wrap_socket(conn,
                                            server_hostname=self.host,
                                            session=self.sock.session)
        return conn, size


def tls_context():
    """A client context that takes the test's self-signed certificate."""
    ctx = ssl.SSLContext(ssl.PROTOCOL_TLS_CLIENT)
    ctx.check_hostname = False
    ctx.verify_mode = ssl.CERT_NONE
    return ctx
