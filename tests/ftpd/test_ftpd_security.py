#!/usr/bin/env python3
# SPDX-License-Identifier: ISC
"""clockwork-ftpd cannot be escaped: every way out of the root (.., absolute
paths, repeated slashes, backslashes, %2e, NUL bytes, symlinks out) is
refused; PORT/EPRT go only to the client and ports >= 1024; a passive data
connection from another address (127.0.0.2) is refused while the client
still gets its data; anonymous writes change nothing on disk; a file the
daemon cannot read gives 550."""

import os
import socket
import subprocess
import sys
import time

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from ftptest import Tree, start, login, cmd, retr, raw, read_reply  # noqa
sys.path.insert(0, os.path.join(os.environ.get("top_srcdir", "."), "tests"))
from taplib import Tap, budget, under_valgrind  # noqa: E402

SECRET = b"outside the root\n"
t = Tap()
tree = Tree()
before = tree.snapshot()


def no_secret(data):
    return SECRET not in data and b"root:" not in data


try:
    with start(tree) as d:
        f = login(d)
        escapes = ["../secret.txt", "../../secret.txt", "/../secret.txt",
                   "pub/../../secret.txt", "//../secret.txt",
                   "..//..//secret.txt", "pub/./../../secret.txt",
                   "..\\secret.txt", "..\\..\\etc\\passwd",
                   "%2e%2e/secret.txt", "%2e%2e%2fsecret.txt",
                   "..%2fsecret.txt", "/etc/passwd", "////etc/passwd",
                   "pub/abs", "pub/up", "topdir/secret.txt",
                   "../root/../secret.txt", "~/../secret.txt",
                   "~root/.bashrc"]
        for p in escapes:
            r, data = retr(f, p)
            t.ok(r.startswith("550 ") and no_secret(data),
                 "RETR %s: 550" % p, r)
            t.ok(cmd(f, "SIZE " + p).startswith("550 "), "SIZE %s: 550" % p)
        for p in ["..", "../..", "/..", "pub/../..", "topdir", "..\\..",
                  "%2e%2e", "pub/../.."]:
            r = cmd(f, "CWD " + p)
            t.ok(r.startswith("550 ") and f.pwd() == "/",
                 "CWD %s: 550, still at /" % p, r)
        for c in ("LIST ..", "NLST ../", "MLSD /..", "LIST topdir"):
            lines = []
            try:
                r = f.retrlines(c, lines.append)
            except Exception as e:
                r = str(e)
            t.ok(r.startswith("550 ") and not any("secret" in l
                                                  for l in lines),
                 "%s: 550, nothing listed" % c, (r, lines))
        for c in ("MLST ../secret.txt", "MDTM ../secret.txt",
                  "STAT ..", "MLST pub/up"):
            t.ok(cmd(f, c).startswith("550 "), "%s: 550" % c)
        # A symlink that stays inside is fine.
        r, data = retr(f, "pub/ok")
        if under_valgrind():
            # Valgrind lacks openat2: the walk refuses every symlink.
            t.ok(True, "# SKIP a symlink inside the root works (refused "
                 "under valgrind, as without openat2)")
        else:
            t.ok(data == b"hello\n", "a symlink inside the root works")

        # NUL bytes: the whole command is refused.
        s = raw("127.0.0.1", d.ftp_port)
        s.sendall(b"USER anonymous\r\nPASS x\r\n")
        read_reply(s)
        read_reply(s)
        s.sendall(b"SIZE hello.txt\x00../secret.txt\r\n")
        r = read_reply(s)
        t.ok(r.startswith("501 "), "a NUL byte in a command: 501", r)
        s.sendall(b"CWD pub\x00/../..\r\nPWD\r\n")
        t.ok(read_reply(s).startswith("501 "), "CWD with a NUL: 501")
        t.ok(read_reply(s) == '257 "/" is the current directory.',
             "still at the root")

        # FTP bounce: PORT/EPRT to someone else, or to a low port.
        for c in ("PORT 127,0,0,2,200,10", "PORT 10,0,0,1,200,10",
                  "PORT 127,0,0,1,0,21", "PORT 127,0,0,1,3,255",
                  "EPRT |1|127.0.0.2|5000|", "EPRT |1|127.0.0.1|80|",
                  "EPRT |2|::1|5000|"):
            s.sendall(c.encode() + b"\r\n")
            r = read_reply(s)
            t.ok(r.startswith("504 "), "%s refused: 504" % c, r)
            s.sendall(b"RETR hello.txt\r\n")
            t.ok(read_reply(s).startswith("425 "),
                 "and no transfer follows it")
        s.sendall(b"PORT 127,0,0,1,4,0\r\n")
        t.ok(read_reply(s).startswith("200 "), "PORT to itself at 1024: 200")
        s.close()

        # A passive data connection from 127.0.0.2 is refused; the real
        # client still connects and gets its data.
        f.sendcmd("TYPE I")
        host, port = f.makepasv()
        thief = socket.socket()
        thief.bind(("127.0.0.2", 0))
        thief.settimeout(5)
        thief.connect((host, port))
        stolen = b""
        try:
            f.sock.sendall(b"RETR hello.txt\r\n")
            time.sleep(0.3)
            stolen = thief.recv(100)
        except OSError:
            pass
        thief.close()
        t.eq(stolen, b"", "a data connection from 127.0.0.2 gets nothing")
        real = socket.create_connection((host, port), timeout=10)
        data = b""
        while True:
            c = real.recv(65536)
            if not c:
                break
            data += c
        real.close()
        t.ok(f.getresp().startswith("150"), "150 for the real client")
        t.ok(f.getresp().startswith("226") and data == b"hello\n",
             "the real client gets its data: 226")
        t.ok("refused a data connection" in d.output(),
             "the refused data connection is logged")

        # Anonymous writes: refused, and nothing on disk changes.
        for c in ("STOR new.txt", "STOR hello.txt", "APPE hello.txt",
                  "STOU", "DELE hello.txt", "MKD newdir", "XMKD newdir",
                  "RMD empty", "XRMD empty", "RNFR hello.txt",
                  "RNTO moved.txt", "SITE CHMOD 777 hello.txt",
                  "MDTM 20000101000000 hello.txt", "DELE ../secret.txt"):
            r = cmd(f, c)
            t.ok(r[:3] in ("550", "500", "502", "503"),
                 "anonymous %s refused" % c, r)
        try:
            f.storbinary("STOR upload.bin", open("/etc/hostname", "rb"))
            r = "stored"
        except Exception as e:
            r = str(e)
        t.ok(r.startswith("550"), "storbinary refused", r)
        f.quit()
        t.eq(tree.snapshot(), before, "nothing on disk changed")
        t.ok(d.alive(), "the daemon is alive")

    # A file the daemon cannot read: 550, never a crash.  Started as root
    # it serves as --user nobody (start() says so), for whom a mode-000
    # file is unreadable, as it is for anyone else.
    unread = tree.write("pub/unreadable.bin", b"x" * 100)
    os.chmod(unread, 0)
    os.mkfifo(tree.path("pub/fifo"))
    os.mkdir(tree.path("pub/locked"), 0)
    with start(tree) as d:
        f = login(d)
        r, data = retr(f, "pub/unreadable.bin")
        t.ok(r.startswith("550 ") and data == b"",
             "an unreadable file (mode 000): 550", r)
        t.ok(cmd(f, "CWD pub/locked").startswith("550 "),
             "CWD into a directory without search right: 550")
        lines = []
        try:
            r = f.retrlines("LIST pub/locked", lines.append)
        except Exception as e:
            r = str(e)
        t.ok(r.startswith("550 "), "LIST of an unreadable dir: 550", r)
        t0 = time.monotonic()
        r, data = retr(f, "pub/fifo")
        t.ok(r.startswith("550 ") and time.monotonic() - t0 < budget(5),
             "a FIFO: 550 at once, no hang", r)
        r, data = retr(f, "hello.txt")
        t.ok(data == b"hello\n", "the session still works", r)
        f.quit()
        t.ok(d.alive(), "the daemon is alive")
finally:
    tree.cleanup()
t.done()
