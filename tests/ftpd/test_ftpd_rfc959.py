#!/usr/bin/env python3
# SPDX-License-Identifier: ISC
"""RFC 959 details users meet: TYPE A is the type until the client names
another (a download without TYPE gets CR LF line ends, STAT says ASCII);
an idle session is told 421 before it is closed, whether logged in or
not; RNTO without RNFR just before it is 503, for every session that may
send it.  And what the standard clients do about TYPE A: each sends TYPE
I before a binary transfer (their downloads are checked by checksum in
test_ftpd_clients.py; here the daemon's log shows the command)."""

import os
import shutil
import socket
import subprocess
import sys
import tempfile
import time

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from ftptest import (Tree, start, login, cmd, raw, read_reply,  # noqa
                     recv_all, writable, sha256_file)
sys.path.insert(0, os.path.join(os.environ.get("top_srcdir", "."), "tests"))
from taplib import Tap, binary, under_valgrind  # noqa: E402

PASSWD = "daemons/ftpd/clockwork-ftpd-passwd"
IDLE = 3.0 if under_valgrind() else 1.0
t = Tap()
tree = Tree(big=64 * 1024)
home = os.path.join(tree.top, "home-rw")
os.mkdir(home)
writable(home)
users = os.path.join(tree.top, "users")
subprocess.run([binary(PASSWD), "-f", users, "add", "rw", "--home", home,
                "--rw"], input=b"rw-pw\n", check=True, capture_output=True)
out = tempfile.mkdtemp(prefix="ftpd-rfc959-")


def pasv_retr(s, path):
    """RETR over a PASV data connection on a raw control socket: (final
    reply, bytes)."""
    s.sendall(b"PASV\r\n")
    r = read_reply(s)
    nums = r[r.index("(") + 1:r.index(")")].split(",")
    port = int(nums[4]) * 256 + int(nums[5])
    data = socket.create_connection(("127.0.0.1", port), timeout=10)
    s.sendall(b"RETR " + path.encode() + b"\r\n")
    first = read_reply(s)
    got = recv_all(data)
    data.close()
    return first + " / " + read_reply(s), got


def idle_close(s):
    """What an idle session receives before the server closes it, and
    whether it closed: (text, closed)."""
    s.settimeout(IDLE * 10 + 10)
    got = b""
    try:
        while True:
            chunk = s.recv(4096)
            if not chunk:
                return got.decode("utf-8", "replace"), True
            got += chunk
    except OSError:
        return got.decode("utf-8", "replace"), False


try:
    with start(tree, "--users", users, "--idle-timeout", str(IDLE)) as d:
        # TYPE A by default: the file's LF go out as CR LF.
        s = raw("127.0.0.1", d.ftp_port)
        s.sendall(b"USER anonymous\r\nPASS x@y\r\n")
        read_reply(s)
        t.ok(read_reply(s).startswith("230"), "anonymous logs in")
        s.sendall(b"STAT\r\n")
        t.ok("TYPE: ASCII" in read_reply(s), "STAT: TYPE ASCII at first")
        r, got = pasv_retr(s, "pub/text.txt")
        t.eq(got, b"one\r\ntwo\r\nthree\r\n",
             "RETR before any TYPE: CR LF line ends (TYPE A)")
        t.ok("ASCII" in r, "150 says ASCII mode", r)
        s.sendall(b"TYPE I\r\n")
        read_reply(s)
        r, got = pasv_retr(s, "pub/text.txt")
        t.eq(got, b"one\ntwo\nthree\n", "after TYPE I: the bytes as they are")

        # RNTO without RNFR just before: 503 for anonymous (read-only)...
        s.sendall(b"RNTO moved.txt\r\n")
        t.ok(read_reply(s).startswith("503 "),
             "RNTO without RNFR, anonymous: 503 (not 550)")
        s.sendall(b"QUIT\r\n")
        read_reply(s)
        s.close()
        s = raw("127.0.0.1", d.ftp_port)
        s.sendall(b"RNTO moved.txt\r\n")
        t.ok(read_reply(s).startswith("530 "), "RNTO before login: 530")
        s.close()
        # ...and for a user who may write; RNFR then another command first
        # is no RNFR either.
        f = login(d, "rw", "rw-pw")
        f.storbinary("STOR a.txt", open(tree.path("hello.txt"), "rb"))
        t.ok(cmd(f, "RNTO b.txt").startswith("503 "),
             "RNTO without RNFR, read-write user: 503")
        t.ok(cmd(f, "RNFR a.txt").startswith("350 ") and
             cmd(f, "NOOP").startswith("200") and
             cmd(f, "RNTO b.txt").startswith("503 "),
             "RNFR, NOOP, RNTO: 503")
        t.ok(cmd(f, "RNFR a.txt").startswith("350 ") and
             cmd(f, "RNTO b.txt").startswith("250 ") and
             os.path.exists(os.path.join(home, "b.txt")),
             "RNFR then RNTO: 250, renamed")
        f.quit()

        # Idle: 421, then the close; before login and after.
        s = raw("127.0.0.1", d.ftp_port)
        t0 = time.monotonic()
        text, closed = idle_close(s)
        el = time.monotonic() - t0
        t.ok(text.startswith("421 ") and closed and el >= IDLE * 0.8,
             "idle before login: 421, then closed (%.1f s)" % el, text)
        s.close()
        s = raw("127.0.0.1", d.ftp_port)
        s.sendall(b"USER rw\r\nPASS rw-pw\r\n")
        read_reply(s)
        t.ok(read_reply(s).startswith("230"), "rw logs in")
        text, closed = idle_close(s)
        t.ok(text.startswith("421 ") and closed,
             "idle when logged in: 421, then closed", text)
        s.close()
        t.ok("idle timeout" in d.output(), "the idle close is logged")

    # What the standard clients send before a binary download: the log
    # of a -v daemon, one client at a time.
    clients = []
    if shutil.which("curl"):
        clients.append(("curl", lambda u: ["curl", "-sS", "-o", "c.bin",
                                           u + "/pub/big.bin"], "c.bin"))
    if shutil.which("wget"):
        clients.append(("wget", lambda u: ["wget", "-q", "-O", "w.bin",
                                           u + "/pub/big.bin"], "w.bin"))
    if shutil.which("lftp"):
        clients.append(("lftp", lambda u: [
            "lftp", "-c", "set net:max-retries 1; open %s; get pub/big.bin "
            "-o l.bin" % u], "l.bin"))
    ftp = shutil.which("tnftp") or shutil.which("ftp")
    if ftp:
        # No "binary" in the script: what tnftp does on its own.
        clients.append(("tnftp", lambda u: [
            ftp, "-n", "-V", u.replace("ftp://", "ftp://anonymous:x@") +
            "/pub/big.bin", "-o", "t.bin"], "t.bin"))
    clients.append(("ftplib", lambda u: [
        sys.executable, "-c", "import ftplib, sys\n"
        "f = ftplib.FTP(); f.connect('127.0.0.1', int(sys.argv[1]))\n"
        "f.login()\n"
        "f.retrbinary('RETR pub/big.bin', open('p.bin', 'wb').write)\n"
        "f.quit()\n", u.rsplit(":", 1)[1]], "p.bin"))
    want = sha256_file(tree.path("pub/big.bin"))
    for name, argv, fn in clients:
        with start(tree, "-v") as d:
            url = "ftp://127.0.0.1:%d" % d.ftp_port
            p = subprocess.run(argv(url), cwd=out, capture_output=True,
                               timeout=60)
            log = d.output()
            i, r = log.find("TYPE I"), log.find("RETR ")
            ok = p.returncode == 0 and 0 <= i < r and \
                sha256_file(os.path.join(out, fn)) == want
            t.ok(ok, "%s sends TYPE I before RETR: the file intact" % name,
                 p.stderr + log.encode()[-2000:])
finally:
    tree.cleanup()
    shutil.rmtree(out, ignore_errors=True)
t.done()
